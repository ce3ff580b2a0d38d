"""The write: one fixed, parameterised statement per run (graphstore/writer.py).

PURE: imports neither django, neo4j, celery nor the clock. Every statement is built once, at
import, from the schema tables; the text never varies with the data (so Neo4j's plan cache holds)
and no label, type or property name ever comes from input. Rows travel in `$rows`.
"""

from __future__ import annotations

from ..schema import LABEL_BY_NAME, LABELS, REL_TYPES


def node_param(label: str) -> str:
    return f"n_{label}"


def rel_param(rel_type: str) -> str:
    return f"r_{rel_type}"


# One UNWIND block per label: ON CREATE sets the properties and a timestamp, ON MATCH moves
# only the counter (a re-written run leaves the graph as it was but for writeCount).
NODE_MERGE: dict[str, str] = {
    label.name: (
        f"UNWIND ${node_param(label.name)} AS row\n"
        f"MERGE (n:{label.name} {{{label.key}: row.key}})\n"
        "ON CREATE SET n += row.create, n.createdAt = $now, n.writeCount = 1\n"
        "ON MATCH SET n += row.match, n.writeCount = n.writeCount + 1"
    )
    for label in LABELS
}

# One UNWIND block per relationship type; both ends are merged earlier in the same statement.
REL_MERGE: dict[str, str] = {
    rel.name: (
        f"UNWIND ${rel_param(rel.name)} AS row\n"
        f"MATCH (a:{rel.start} {{{LABEL_BY_NAME[rel.start].key}: row.start}})\n"
        f"MATCH (b:{rel.end} {{{LABEL_BY_NAME[rel.end].key}: row.end}})\n"
        f"MERGE (a)-[r:{rel.name}]->(b)\n"
        "ON CREATE SET r += row.props"
    )
    for rel in REL_TYPES
}


def _unit_subquery(block: str) -> str:
    # A subquery without RETURN keeps the outer row whatever its UNWIND yields (even nothing).
    return "CALL () {\n  " + block.replace("\n", "\n  ") + "\n}"


# The whole run in one statement, and one round trip: first what is already committed under the
# runId (its commit checksum, whether retention condensed it), returned to the writer; then, only
# when nothing is committed or the same content is and the run is not condensed, the write: the
# node blocks in schema order (shared nodes first, each batch sorted by key, so concurrent writers
# lock in the same order), the relationship blocks, then the commit marker (what this transaction
# wrote), so that a marker only ever describes a complete run. Another run's content under this
# runId, or a condensed run, changes nothing (the writer raises RunConflict on the first). The
# owner ($ownerId, not part of the content or its checksum) is set with the marker. The text is
# fixed, so its plan is cached.
_WRITE_BLOCKS = "\n".join(
    [_unit_subquery(NODE_MERGE[label.name]) for label in LABELS]
    + [_unit_subquery(REL_MERGE[rel.name]) for rel in REL_TYPES]
    + [
        # A replay links to the run it re-executed (outside the write set: that run is not
        # merged here, only matched; no link is made if it is unknown).
        _unit_subquery(
            "WITH $replayOf AS original WHERE original IS NOT NULL\n"
            "MATCH (o:OrchestrationRun {runId: original})\n"
            "MATCH (r:OrchestrationRun {runId: $runId})\n"
            "MERGE (r)-[:REPLAY_OF]->(o)"),
        "WITH 1 AS done",
        "MATCH (r:OrchestrationRun {runId: $runId})",
        "SET r.commitChecksum = $checksum, r.commitSchemaVersion = $schemaVersion,",
        "    r.commitNodeCount = $nodeCount, r.commitRelationshipCount = $relationshipCount,",
        "    r.committedAt = coalesce(r.committedAt, $now),",
        # The owner the writer was given; a write without one keeps the stored owner.
        "    r.ownerId = coalesce($ownerId, r.ownerId)",
    ]
)
WRITE_RUN = "\n".join([
    "OPTIONAL MATCH (existing:OrchestrationRun {runId: $runId})",
    "WITH existing.commitChecksum AS stored, coalesce(existing.condensed, false) AS condensed",
    "CALL (stored, condensed) {",
    "  WITH stored, condensed",
    "  WHERE (stored IS NULL OR stored = $checksum) AND NOT condensed",
    "  " + _WRITE_BLOCKS.replace("\n", "\n  "),
    "}",
    "RETURN stored AS checksum, condensed",
])
WRITE_RUN_PARAMS = tuple(node_param(label.name) for label in LABELS) + tuple(
    rel_param(rel.name) for rel in REL_TYPES)
