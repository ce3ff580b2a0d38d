"""The schema as Cypher: a uniqueness constraint per merge key, the indexes of design section
4.3, and the indexes of retention and retrieval (graphstore/installer.py runs them, all
`IF NOT EXISTS`). Built at import from the tables of graphstore/schema.py.

PURE: imports neither django, neo4j, celery nor the clock.
"""

from __future__ import annotations

from ..schema import FULLTEXT_INDEXES, LABELS, VECTOR_INDEX

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
    # Retention's candidates (graphstore/retention.py): the runs it may condense, by start.
    "CREATE INDEX orchestration_run_retention IF NOT EXISTS "
    "FOR (o:OrchestrationRun) ON (o.retentionStartedAt)",
    "CREATE INDEX orchestration_run_status IF NOT EXISTS "
    "FOR (o:OrchestrationRun) ON (o.status)",
    # Reads scoped to one owner (graphstore/scope.py): equality on the owner, range on the start.
    "CREATE INDEX orchestration_run_owner_started IF NOT EXISTS "
    "FOR (o:OrchestrationRun) ON (o.ownerId, o.startedAt)",
)
# Full-text indexes are eventually consistent: Lucene's update leaves the commit path for a
# background thread, which took a typical run's write from ~51 ms to ~18 ms in a plain-CREATE
# floor with the real schema (tools/bench.py). Every full-text read first waits for that
# thread (cypher/retrieval.py, FULLTEXT_FRESH), so a search still sees every committed run.
FULLTEXT_CONFIG: dict[str, object] = {"fulltext.analyzer": "english",
                                      "fulltext.eventually_consistent": True}


def _fulltext_config() -> str:
    def literal(value: object) -> str:
        return ("true" if value else "false") if isinstance(value, bool) else f"'{value}'"

    return ", ".join(f"`{key}`: {literal(value)}" for key, value in FULLTEXT_CONFIG.items())


# Schema for features beyond the per-run write (retention, retrieval): constraints and indexes
# on labels that are not merged by the writer. Each feature module adds its statements here.
AUX_SCHEMA_STATEMENTS: tuple[str, ...] = (
    # Retrieval (graphstore/retrieval.py): full-text indexes, English analyzer (stemming).
    *(f"CREATE FULLTEXT INDEX {ix.name} IF NOT EXISTS FOR (n:{ix.label}) "
      f"ON EACH [n.{ix.property}] OPTIONS {{indexConfig: {{{_fulltext_config()}}}}}"
      for ix in FULLTEXT_INDEXES),
    # Retrieval by composition and vectors: the roles of HAS_INGREDIENT (a free-text query
    # naming a function or category) and the per-run embedding (cosine).
    "CREATE INDEX has_ingredient_function IF NOT EXISTS "
    "FOR ()-[h:HAS_INGREDIENT]-() ON (h.function)",
    "CREATE INDEX has_ingredient_category IF NOT EXISTS "
    "FOR ()-[h:HAS_INGREDIENT]-() ON (h.category)",
    f"CREATE VECTOR INDEX {VECTOR_INDEX.name} IF NOT EXISTS "
    f"FOR (n:{VECTOR_INDEX.label}) ON n.{VECTOR_INDEX.property} "
    f"OPTIONS {{indexConfig: {{`vector.dimensions`: {VECTOR_INDEX.dimensions}, "
    # Exact float vectors: the default int8 quantization clips sparse hashed vectors.
    "`vector.similarity_function`: 'cosine', `vector.quantization.enabled`: false}}",
    # Retention (graphstore/retention.py): formulations that keep recipes and calculations
    # (owned by the formulation graph, which may make formulationId unique), and the
    # content-addressed blob references checked before a blob is deleted.
    "CREATE INDEX formulation_id IF NOT EXISTS FOR (f:Formulation) ON (f.formulationId)",
    "CREATE INDEX formulation_status IF NOT EXISTS FOR (f:Formulation) ON (f.status)",
    "CREATE INDEX graph_snapshot_blob_sha IF NOT EXISTS FOR (g:GraphSnapshot) ON (g.blobSha256)",
)
SCHEMA_STATEMENTS: tuple[str, ...] = CONSTRAINTS + INDEXES + AUX_SCHEMA_STATEMENTS

# The full-text indexes as they are (name -> indexConfig), to find one created with another
# configuration (IF NOT EXISTS leaves such an index as it is): graphstore/installer.py drops
# and creates it again.
FULLTEXT_INDEX_CONFIGS = ("SHOW FULLTEXT INDEXES YIELD name, options "
                          "RETURN name, options.indexConfig AS config")

# Wait until every index is online (seconds).
AWAIT_INDEXES = "CALL db.awaitIndexes(300)"
