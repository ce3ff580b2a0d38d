"""Unit tests for the GraphBuilder: nodes and edges, deterministic ids, parameterised Cypher."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

import pytest

from contracts import Ingredient, Recipe
from orchestration.agents import AgentContext, GraphBuilder, RecipeEngineer
from orchestration.agents.catalogue import PRODUCTS, Product
from orchestration.agents.graph_builder import EDGE_STATEMENT, ENDPOINTS, NODE_STATEMENT, term_id

MakeContext = Callable[..., AgentContext]
IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:\-]*$")
FIXED_STATEMENTS = {
    *(NODE_STATEMENT.format(label=label) for label in ("Recipe", "Ingredient", "Function",
                                                       "Category")),
    *(EDGE_STATEMENT.format(source=source, target=target, type=type_)
      for type_, (source, target) in ENDPOINTS.items()),
}


def _product_context(make_context: MakeContext, product: Product) -> AgentContext:
    ctx = make_context(" ".join(product.keywords[0]))
    return make_context(" ".join(product.keywords[0]), recipe=RecipeEngineer().run(ctx))


def test_vinaigrette_graph_shape(make_context: MakeContext) -> None:
    """The recipe, its 8 ingredients and their distinct functions and categories, 3 edges each."""
    ctx = _product_context(make_context, PRODUCTS[0])
    recipe, graph = ctx.recipe, GraphBuilder().run(ctx)
    functions = {i.function for i in recipe.ingredients}
    categories = {i.category for i in recipe.ingredients}

    labels = Counter(n.label for n in graph.nodes)
    assert labels == {"Recipe": 1, "Ingredient": 8, "Function": len(functions),
                      "Category": len(categories)}
    assert Counter(e.type for e in graph.edges) == {"CONTAINS": 8, "HAS_FUNCTION": 8,
                                                    "IN_CATEGORY": 8}
    contains = {e.target: e.properties["percentage"] for e in graph.edges if e.type == "CONTAINS"}
    assert contains == {i.id: i.percentage for i in recipe.ingredients}
    assert graph.metadata == {"recipeId": recipe.id, "nodeCount": len(graph.nodes),
                              "edgeCount": len(graph.edges)}


@pytest.mark.parametrize("product", PRODUCTS, ids=lambda p: p.slug)
def test_every_edge_joins_two_nodes(make_context: MakeContext, product: Product) -> None:
    """Every edge endpoint is a node of the graph, and all ids are unique contract identifiers."""
    graph = GraphBuilder().run(_product_context(make_context, product))
    node_ids = [n.id for n in graph.nodes]
    edge_ids = [e.id for e in graph.edges]

    assert len(set(node_ids)) == len(node_ids) and len(set(edge_ids)) == len(edge_ids)
    assert all(IDENTIFIER.match(i) for i in (*node_ids, *edge_ids))
    assert {end for e in graph.edges for end in (e.source, e.target)} <= set(node_ids)


@pytest.mark.parametrize("product", PRODUCTS, ids=lambda p: p.slug)
def test_cypher_holds_values_only_in_parameters(make_context: MakeContext,
                                                product: Product) -> None:
    """Each statement is one of the fixed UNWIND texts; recipe values travel only in $rows."""
    ctx = _product_context(make_context, product)
    graph = GraphBuilder().run(ctx)
    values = {ctx.recipe.id, ctx.recipe.name}
    for i in ctx.recipe.ingredients:
        values |= {i.id, i.name, i.function, i.category, repr(i.percentage)}

    statements = [c.statement for c in graph.cypher_commands]
    assert set(statements) <= FIXED_STATEMENTS
    assert not [v for v in values for s in statements if v in s]
    rows = [row for c in graph.cypher_commands for row in c.parameters["rows"]]
    assert sorted(row["id"] for row in rows) == sorted(
        [n.id for n in graph.nodes] + [e.id for e in graph.edges])


def test_odd_function_names_get_valid_ids(make_context: MakeContext) -> None:
    """Functions and categories in any script still get valid, distinct node ids."""
    recipe = Recipe(id="recipe-odd", name="Odd", total_percentage=100.0, ingredients=[
        Ingredient(id="ing-a", name="A", percentage=60.0, function="乳化剤",
                   category="pH adjuster"),
        Ingredient(id="ing-b", name="B", percentage=40.0, function="保湿剤",
                   category="PH Adjuster"),
    ])
    graph = GraphBuilder().run(make_context("odd", recipe=recipe))

    assert term_id("category", "pH adjuster") == "category:ph-adjuster"
    assert Counter(n.label for n in graph.nodes) == {"Recipe": 1, "Ingredient": 2, "Function": 2,
                                                     "Category": 1}
    assert all(IDENTIFIER.match(n.id) for n in graph.nodes)
