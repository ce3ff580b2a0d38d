"""The graph schema of design section 4, as data: labels with their merge keys, relationship types
with their endpoints, constraints and indexes in Neo4j 5 syntax.

PURE: imports neither django, neo4j, celery nor the clock. Everything else (the Cypher text, the
neomodel classes, the installer) is derived from these tables, so labels and relationship types
never come from input.
"""

from __future__ import annotations

from dataclasses import dataclass

GRAPH_SCHEMA_VERSION = "cap01.graph.v1"


@dataclass(frozen=True)
class Label:
    name: str
    key: str  # the property MERGE matches on, backed by a uniqueness constraint


@dataclass(frozen=True)
class RelType:
    name: str
    start: str  # label
    end: str  # label


# Node labels in the order the writer merges them: the shared nodes first (UserRequest,
# RecipeVersion, Ingredient), each batch sorted by key, so that concurrent writers take their
# locks in the same order.
LABELS: tuple[Label, ...] = (
    Label("UserRequest", "checksum"),
    Label("RecipeVersion", "checksum"),
    Label("Ingredient", "ingredientId"),
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
# Relationships that leave the run node (used to verify a run's commit marker).
RUN_OUTGOING = tuple(r.name for r in REL_TYPES if r.start == "OrchestrationRun")

# Uniqueness constraint on every merge key, plus the indexes of design section 4.3.
CONSTRAINTS: tuple[str, ...] = tuple(
    f"CREATE CONSTRAINT {label.name.lower()}_{label.key.lower()}_unique IF NOT EXISTS "
    f"FOR (n:{label.name}) REQUIRE n.{label.key} IS UNIQUE"
    for label in LABELS
)
INDEXES: tuple[str, ...] = (
    "CREATE INDEX agent_invocation_run_seq IF NOT EXISTS "
    "FOR (a:AgentInvocation) ON (a.runId, a.sequence)",
    "CREATE INDEX graph_snapshot_hash IF NOT EXISTS FOR (g:GraphSnapshot) ON (g.checksum)",
    "CREATE INDEX orchestration_run_started IF NOT EXISTS "
    "FOR (o:OrchestrationRun) ON (o.startedAt)",
    "CREATE INDEX orchestration_run_status IF NOT EXISTS "
    "FOR (o:OrchestrationRun) ON (o.status)",
)
# Relationships made outside a run's write set, by fixed statements of their own:
# (replay)-[:REPLAY_OF]->(original run), see cypher.WRITE_RUN.
AUX_REL_TYPES: tuple[RelType, ...] = (RelType("REPLAY_OF", "OrchestrationRun", "OrchestrationRun"),)
# Schema for features beyond the per-run write (retention, retrieval): constraints and indexes
# on labels that are not merged by the writer. Each feature module adds its statements here.
AUX_SCHEMA_STATEMENTS: tuple[str, ...] = (
    # Retrieval (graphstore/retrieval.py): full-text indexes, English analyzer (stemming).
    "CREATE FULLTEXT INDEX cap01_request_text IF NOT EXISTS FOR (n:UserRequest) "
    "ON EACH [n.userRequest] OPTIONS {indexConfig: {`fulltext.analyzer`: 'english'}}",
    "CREATE FULLTEXT INDEX cap01_recipe_name IF NOT EXISTS FOR (n:RecipeVersion) "
    "ON EACH [n.name] OPTIONS {indexConfig: {`fulltext.analyzer`: 'english'}}",
    "CREATE FULLTEXT INDEX cap01_ingredient_name IF NOT EXISTS FOR (n:Ingredient) "
    "ON EACH [n.name] OPTIONS {indexConfig: {`fulltext.analyzer`: 'english'}}",
    # Retention (graphstore/retention.py): formulations that keep recipes and calculations
    # (owned by the formulation graph, which may make formulationId unique), and the
    # content-addressed blob references checked before a blob is deleted.
    "CREATE INDEX formulation_id IF NOT EXISTS FOR (f:Formulation) ON (f.formulationId)",
    "CREATE INDEX formulation_status IF NOT EXISTS FOR (f:Formulation) ON (f.status)",
    "CREATE INDEX graph_snapshot_blob_sha IF NOT EXISTS FOR (g:GraphSnapshot) ON (g.blobSha256)",
)
SCHEMA_STATEMENTS: tuple[str, ...] = CONSTRAINTS + INDEXES + AUX_SCHEMA_STATEMENTS
