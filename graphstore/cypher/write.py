"""The write: one fixed, parameterised statement per run (graphstore/writer.py).

PURE: imports neither django, neo4j, celery nor the clock. Every statement is built once, at
import, from the schema tables; the text never varies with the data (so Neo4j's plan cache holds)
and no label, type or property name ever comes from input. Rows travel in `$rows`.
"""

from __future__ import annotations

from ..schema import LABEL_BY_NAME, LABELS, REL_TYPES, rel_shared


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


# A run's first write: the nodes and relationships that belong to the run cannot exist yet (its
# commit marker is absent, and a write is one transaction), so they are CREATEd, which skips
# MERGE's lookup and lock of a pattern that is known to be missing; a uniqueness constraint
# still guards every key. Only what several runs share is merged.
NODE_CREATE: dict[str, str] = {
    label.name: (
        f"UNWIND ${node_param(label.name)} AS row\n"
        f"CREATE (n:{label.name} {{{label.key}: row.key}})\n"
        "SET n += row.create, n.createdAt = $now, n.writeCount = 1"
    )
    for label in LABELS
}
REL_CREATE: dict[str, str] = {
    rel.name: (
        f"UNWIND ${rel_param(rel.name)} AS row\n"
        f"MATCH (a:{rel.start} {{{LABEL_BY_NAME[rel.start].key}: row.start}})\n"
        f"MATCH (b:{rel.end} {{{LABEL_BY_NAME[rel.end].key}: row.end}})\n"
        f"CREATE (a)-[r:{rel.name}]->(b)\n"
        "SET r += row.props"
    )
    for rel in REL_TYPES
}


def _unit_subquery(block: str) -> str:
    # A subquery without RETURN keeps the outer row whatever its UNWIND yields (even nothing).
    return "CALL () {\n  " + block.replace("\n", "\n  ") + "\n}"


def _blocks(*, first: bool) -> str:
    """The node blocks in schema order (shared nodes first, each batch sorted by key, so that
    concurrent writers lock in the same order), the relationship blocks, the replay link and
    the commit marker (what this transaction wrote), so that a marker only ever describes a
    complete run. `first`: the run's first write (owned nodes and relationships created);
    otherwise a rewrite of the same content (everything merged: the graph stays as it was but
    for writeCount)."""
    nodes = [NODE_MERGE[label.name] if label.shared or not first else NODE_CREATE[label.name]
             for label in LABELS]
    rels = [REL_MERGE[rel.name] if rel_shared(rel) or not first else REL_CREATE[rel.name]
            for rel in REL_TYPES]
    return "\n".join(
        [_unit_subquery(block) for block in nodes + rels]
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
            "    r.committedAt = coalesce(r.committedAt, $now)",
        ]
    )


def _indent(text: str) -> str:
    return "  " + text.replace("\n", "\n  ")


# The whole run in one statement, and one round trip: first what is already committed under the
# runId (its commit checksum, whether retention condensed it), returned to the writer; then the
# first write when nothing is committed, or the rewrite when the same content is (a retried
# write whose commit answer was lost), never when the run is condensed. Another run's content
# under this runId, or a condensed run, changes nothing (the writer raises RunConflict on the
# first). The text is fixed, so its plan is cached.
WRITE_RUN = "\n".join([
    "OPTIONAL MATCH (existing:OrchestrationRun {runId: $runId})",
    "WITH existing.commitChecksum AS stored, coalesce(existing.condensed, false) AS condensed",
    "CALL (stored, condensed) {",
    "  WITH stored, condensed",
    "  WHERE stored IS NULL AND NOT condensed",
    _indent(_blocks(first=True)),
    "}",
    "CALL (stored, condensed) {",
    "  WITH stored, condensed",
    "  WHERE stored = $checksum AND NOT condensed",
    _indent(_blocks(first=False)),
    "}",
    "RETURN stored AS checksum, condensed",
])
WRITE_RUN_PARAMS = tuple(node_param(label.name) for label in LABELS) + tuple(
    rel_param(rel.name) for rel in REL_TYPES)
