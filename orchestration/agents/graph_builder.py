"""GraphBuilder: the recipe as a property graph, and the parameterised Cypher that writes it.

    (:Recipe)-[:CONTAINS {percentage}]->(:Ingredient)
    (:Ingredient)-[:HAS_FUNCTION {recipeId}]->(:Function)
    (:Ingredient)-[:IN_CATEGORY]->(:Category)

Node ids are the recipe and ingredient ids, and "function:<slug>" / "category:<slug>" for each
distinct function and category; edge ids are "edge-" + 16 hex digits of a hash of (source, type,
target). The same recipe always gives the same graph.

cypherCommands holds one fixed `UNWIND $rows` statement per node label and relationship type
(STYLE section 3): the statement text never contains data, the values travel in `rows`. They are
stored with the run, never executed by CAP-01. Nodes and edges are produced by generators.

PURE: imports neither django, neo4j, celery nor the clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import cast

from pydantic import JsonValue

from contracts import CypherCommand, Graph, GraphEdge, GraphNode, Recipe, sha256_hex

from .base import AgentContext, require
from .text import slug

NODE_STATEMENT = "UNWIND $rows AS row MERGE (n:{label} {{id: row.id}}) SET n += row.properties"
EDGE_STATEMENT = (
    "UNWIND $rows AS row MATCH (a:{source} {{id: row.source}}) "
    "MATCH (b:{target} {{id: row.target}}) "
    "MERGE (a)-[r:{type} {{id: row.id}}]->(b) SET r += row.properties"
)
ENDPOINTS = {"CONTAINS": ("Recipe", "Ingredient"), "HAS_FUNCTION": ("Ingredient", "Function"),
             "IN_CATEGORY": ("Ingredient", "Category")}
_TERMS = (("function", "Function"), ("category", "Category"))


def term_id(kind: str, name: str) -> str:
    """The node id of a function or category: term_id("function", "pH adjuster") is
    "function:ph-adjuster"; a hash stands in for a name with no ASCII letters or digits."""
    return f"{kind}:{slug(name)[:100] or sha256_hex(name)[:16]}"


def _edge(source: str, type_: str, target: str, properties: dict[str, JsonValue]) -> GraphEdge:
    key = sha256_hex(f"{source}\n{type_}\n{target}")[:16]
    return GraphEdge(id=f"edge-{key}", source=source, target=target, type=type_,
                     properties=properties)


def nodes(recipe: Recipe) -> Iterator[GraphNode]:
    yield GraphNode(id=recipe.id, label="Recipe", type="recipe",
                    properties={"name": recipe.name, "totalPercentage": recipe.total_percentage})
    for ingredient in recipe.ingredients:
        yield GraphNode(id=ingredient.id, label="Ingredient", type="ingredient",
                        properties={"name": ingredient.name})
    seen: set[str] = set()
    for kind, label in _TERMS:
        for ingredient in recipe.ingredients:
            name = getattr(ingredient, kind)
            if name is not None and (node_id := term_id(kind, name)) not in seen:
                seen.add(node_id)
                yield GraphNode(id=node_id, label=label, type=kind, properties={"name": name})


def edges(recipe: Recipe) -> Iterator[GraphEdge]:
    for ingredient in recipe.ingredients:
        yield _edge(recipe.id, "CONTAINS", ingredient.id, {"percentage": ingredient.percentage})
        if ingredient.function is not None:
            yield _edge(ingredient.id, "HAS_FUNCTION", term_id("function", ingredient.function),
                        {"recipeId": recipe.id})
        if ingredient.category is not None:
            yield _edge(ingredient.id, "IN_CATEGORY", term_id("category", ingredient.category), {})


Row = dict[str, JsonValue]


def _command(statement: str, rows: list[Row]) -> CypherCommand:
    ordered: list[Row] = sorted(rows, key=lambda row: str(row["id"]))
    return CypherCommand(statement=statement, parameters={"rows": cast(list[JsonValue], ordered)})


def cypher_commands(graph_nodes: Iterable[GraphNode], graph_edges: Iterable[GraphEdge]
                    ) -> Iterator[CypherCommand]:
    """One UNWIND statement per label, then one per relationship type; rows sorted by id."""
    node_rows: dict[str, list[Row]] = {}
    for node in graph_nodes:
        node_rows.setdefault(node.label, []).append({"id": node.id, "properties": node.properties})
    edge_rows: dict[str, list[Row]] = {}
    for edge in graph_edges:
        edge_rows.setdefault(edge.type, []).append(
            {"id": edge.id, "source": edge.source, "target": edge.target,
             "properties": edge.properties})
    for label, rows in node_rows.items():
        yield _command(NODE_STATEMENT.format(label=label), rows)
    for type_, rows in edge_rows.items():
        source, target = ENDPOINTS[type_]
        yield _command(EDGE_STATEMENT.format(source=source, target=target, type=type_), rows)


class GraphBuilder:
    name = "GraphBuilder"

    def run(self, ctx: AgentContext) -> Graph:
        recipe = require(ctx.recipe, "recipe", self.name)
        graph_nodes, graph_edges = list(nodes(recipe)), list(edges(recipe))
        return Graph(
            nodes=graph_nodes,
            edges=graph_edges,
            cypher_commands=list(cypher_commands(graph_nodes, graph_edges)),
            metadata={"recipeId": recipe.id, "nodeCount": len(graph_nodes),
                      "edgeCount": len(graph_edges)},
        )
