"""The graph schema of design section 4, as data: labels with their merge keys, relationship types
with their endpoints, the full-text indexes.

PURE: imports neither django, neo4j, celery nor the clock. Everything else (the Cypher text in
graphstore/cypher/, the neomodel classes, the installer) is derived from these tables, so labels
and relationship types never come from input. A label's properties are in graphstore/codecs/.
"""

from __future__ import annotations

from dataclasses import dataclass

GRAPH_SCHEMA_VERSION = "cap01.graph.v1"


@dataclass(frozen=True)
class Label:
    name: str
    key: str  # the property MERGE matches on, backed by a uniqueness constraint
    # Shared by many runs (merged on content); otherwise the node belongs to one run (its key is
    # the runId or derived from it) and exists exactly when that run's write committed.
    shared: bool = False


@dataclass(frozen=True)
class RelType:
    name: str
    start: str  # label
    end: str  # label


# Node labels in the order the writer merges them: the shared nodes first (UserRequest,
# RecipeVersion, Ingredient), each batch sorted by key, so that concurrent writers take their
# locks in the same order.
LABELS: tuple[Label, ...] = (
    Label("UserRequest", "checksum", shared=True),
    Label("RecipeVersion", "checksum", shared=True),
    Label("Ingredient", "ingredientId", shared=True),
    Label("OrchestrationRun", "runId"),
    Label("CalculationResult", "runId"),
    Label("GraphSnapshot", "runId"),
    Label("ValidationReport", "runId"),
    Label("UIConfig", "runId"),
    Label("AgentInvocation", "invocationId"),
)
LABEL_BY_NAME = {label.name: label for label in LABELS}

REL_TYPES: tuple[RelType, ...] = (
    RelType("TRIGGERED", "UserRequest", "OrchestrationRun"),
    RelType("USED_RECIPE", "OrchestrationRun", "RecipeVersion"),
    RelType("HAS_INGREDIENT", "RecipeVersion", "Ingredient"),
    RelType("PRODUCED_CALCULATION", "OrchestrationRun", "CalculationResult"),
    RelType("PRODUCED_GRAPH", "OrchestrationRun", "GraphSnapshot"),
    RelType("PRODUCED_VALIDATION", "OrchestrationRun", "ValidationReport"),
    RelType("PRODUCED_UI", "OrchestrationRun", "UIConfig"),
    RelType("HAS_AGENT_INVOCATION", "OrchestrationRun", "AgentInvocation"),
)
REL_BY_NAME = {rel.name: rel for rel in REL_TYPES}


def rel_shared(rel: RelType) -> bool:
    """Whether a relationship joins two shared nodes (it may exist before a run writes it);
    any other belongs to the run at one of its ends."""
    return LABEL_BY_NAME[rel.start].shared and LABEL_BY_NAME[rel.end].shared
# Relationships that leave the run node (used to verify a run's commit marker).
RUN_OUTGOING = tuple(r.name for r in REL_TYPES if r.start == "OrchestrationRun")

@dataclass(frozen=True)
class FulltextIndex:
    name: str
    label: str
    property: str


# Retrieval (graphstore/retrieval.py): one full-text index per searched field, English analyzer.
FULLTEXT_INDEXES: tuple[FulltextIndex, ...] = (
    FulltextIndex("cap01_request_text", "UserRequest", "userRequest"),
    FulltextIndex("cap01_recipe_name", "RecipeVersion", "name"),
    FulltextIndex("cap01_ingredient_name", "Ingredient", "name"),
)

@dataclass(frozen=True)
class VectorIndex:
    name: str
    label: str
    property: str
    dimensions: int


# Retrieval by vectors (graphstore/embedding.py): one embedding per run, cosine similarity.
EMBEDDING_DIMENSIONS = 256
VECTOR_INDEX = VectorIndex("cap01_run_embedding", "OrchestrationRun", "embedding",
                           EMBEDDING_DIMENSIONS)

# Relationships made outside a run's write set, by fixed statements of their own:
# (replay)-[:REPLAY_OF]->(original run), see cypher.write.WRITE_RUN.
AUX_REL_TYPES: tuple[RelType, ...] = (RelType("REPLAY_OF", "OrchestrationRun", "OrchestrationRun"),)

# The constraints and indexes as Cypher (CONSTRAINTS, INDEXES, AUX_SCHEMA_STATEMENTS,
# SCHEMA_STATEMENTS) are built from these tables in graphstore/cypher/schema.py; they are
# reachable here too, as before.
_STATEMENTS = ("CONSTRAINTS", "INDEXES", "AUX_SCHEMA_STATEMENTS", "SCHEMA_STATEMENTS")


def __getattr__(name: str) -> tuple[str, ...]:
    if name in _STATEMENTS:
        from .cypher import schema as statements

        value: tuple[str, ...] = getattr(statements, name)
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
