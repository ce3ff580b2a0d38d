"""The write: one fixed, parameterised statement per run (graphstore/writer.py).

PURE: imports neither django, neo4j, celery nor the clock. Every statement is built once, at
import, from the schema tables; the text never varies with the data (so Neo4j's plan cache holds)
and no label, type or property name ever comes from input. Rows travel in `$rows`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..schema import LABEL_BY_NAME, LABELS, REL_TYPES, Label, RelType, rel_shared

# The parameters whose type varies from run to run travel inside one map, `$w`: the rows of every
# label and relationship type (a failed run has no rows for the artifacts it never made, and an
# empty list is another parameter type than a list of maps), the replayed run, the owner and the
# embedding (null or not). Neo4j caches a plan per statement text *and parameter types*: flat,
# every combination of empty lists and nulls was planned anew (1.3-3 s each for this statement
# on a graph of 100,000 runs; measured: a 25-block statement, three shapes, 1.3 s each flat,
# once nested). A map parameter is one type whatever it holds. `statement_args` builds it.
VARYING = "w"
VARYING_REF = f"${VARYING}."
VARYING_SCALARS = ("replayOf", "ownerId", "embedding", "embeddingModel")


def node_param(label: str) -> str:
    return f"n_{label}"


def rel_param(rel_type: str) -> str:
    return f"r_{rel_type}"


def node_block(label: Label, *, create: bool) -> str:
    """One UNWIND block for a label's rows. `create`: the rows cannot exist yet (a run's first
    write of the nodes it owns), so they are CREATEd, which skips MERGE's lookup and lock of a
    pattern known to be missing (a uniqueness constraint still guards every key). Otherwise
    MERGE: ON CREATE sets the properties and a timestamp, ON MATCH moves only the counter (a
    re-written run leaves the graph as it was but for writeCount)."""
    head = f"UNWIND {VARYING_REF}{node_param(label.name)} AS row\n"
    pattern = f"(n:{label.name} {{{label.key}: row.key}})"
    if create:
        return head + f"CREATE {pattern}\nSET n += row.create, n.createdAt = $now, n.writeCount = 1"
    return head + (f"MERGE {pattern}\n"
                   "ON CREATE SET n += row.create, n.createdAt = $now, n.writeCount = 1\n"
                   "ON MATCH SET n += row.match, n.writeCount = n.writeCount + 1")


def rel_block(rel: RelType, *, create: bool) -> str:
    """One UNWIND block for a relationship type's rows; both ends are written earlier in the same
    statement. `create` as for node_block."""
    start, end = LABEL_BY_NAME[rel.start], LABEL_BY_NAME[rel.end]
    return (f"UNWIND {VARYING_REF}{rel_param(rel.name)} AS row\n"
            f"MATCH (a:{start.name} {{{start.key}: row.start}})\n"
            f"MATCH (b:{end.name} {{{end.key}: row.end}})\n"
            + (f"CREATE (a)-[r:{rel.name}]->(b)\nSET r += row.props" if create else
               f"MERGE (a)-[r:{rel.name}]->(b)\nON CREATE SET r += row.props"))


NODE_MERGE: dict[str, str] = {label.name: node_block(label, create=False) for label in LABELS}
REL_MERGE: dict[str, str] = {rel.name: rel_block(rel, create=False) for rel in REL_TYPES}


# Ingredient is a shared catalogue node, merged by ingredientId: its name is the one its first
# writer gave and is never overwritten (every run sees the same node). A run that uses the id
# under another name keeps that name on its own HAS_INGREDIENT (the name replay reads), and the
# Ingredient block returns each such clash (key, the node's name, the run's) to the writer,
# which reports it. An aggregate without grouping keys gives one row even for no ingredients.
NAME_CLASH_LABEL = "Ingredient"
NAME_CLASH_PROPERTY = "name"
NAME_CLASH_BLOCK = (
    NODE_MERGE[NAME_CLASH_LABEL] + "\n"
    f"WITH n, row WHERE n.{NAME_CLASH_PROPERTY} <> row.create.{NAME_CLASH_PROPERTY}\n"
    f"RETURN collect({{key: row.key, stored: n.{NAME_CLASH_PROPERTY}, "
    f"used: row.create.{NAME_CLASH_PROPERTY}}}) AS nameClashes"
)


def _subquery(block: str) -> str:
    # A subquery without RETURN keeps the outer row whatever its UNWIND yields (even nothing);
    # one that returns an aggregate without grouping keys returns exactly one row.
    return "CALL () {\n  " + block.replace("\n", "\n  ") + "\n}"


def _node_block(label: Label, *, first: bool) -> str:
    if label.name == NAME_CLASH_LABEL:  # returns nameClashes (one row), see NAME_CLASH_BLOCK
        return _subquery(NAME_CLASH_BLOCK)
    return _subquery(node_block(label, create=first and not label.shared))


def _blocks(*, first: bool) -> str:
    """The node blocks in schema order (shared nodes first, each batch sorted by key, so that
    concurrent writers lock in the same order), the relationship blocks, the replay link and
    the commit marker (what this transaction wrote), so that a marker only ever describes a
    complete run; returns the Ingredient name clashes. `first`: the run's first write (owned
    nodes and relationships created); otherwise a rewrite of the same content (everything
    merged: the graph stays as it was but for writeCount)."""
    rels = [rel_block(rel, create=first and not rel_shared(rel)) for rel in REL_TYPES]
    return "\n".join(
        [_node_block(label, first=first) for label in LABELS]
        + [_subquery(block) for block in rels]
        + [
            # A replay links to the run it re-executed (outside the write set: that run is not
            # merged here, only matched; no link is made if it is unknown).
            _subquery(
                f"WITH {VARYING_REF}replayOf AS original WHERE original IS NOT NULL\n"
                "MATCH (o:OrchestrationRun {runId: original})\n"
                "MATCH (r:OrchestrationRun {runId: $runId})\n"
                "MERGE (r)-[:REPLAY_OF]->(o)"),
            "WITH nameClashes",
            "MATCH (r:OrchestrationRun {runId: $runId})",
            "SET r.commitChecksum = $checksum, r.commitSchemaVersion = $schemaVersion,",
            "    r.commitNodeCount = $nodeCount, r.commitRelationshipCount = $relationshipCount,",
            "    r.committedAt = coalesce(r.committedAt, $now),",
            # A full run is one retention has work on (retentionStartedAt: graphstore/
            # retention.py); the marker is never written on a condensed run.
            "    r.retentionStartedAt = r.startedAt,",
            # The owner the writer was given; a write without one keeps the stored owner.
            f"    r.ownerId = coalesce({VARYING_REF}ownerId, r.ownerId),",
            # The run's embedding for the vector index (graphstore/embedding.py), if the writer
            # has an embedder; a write without one keeps what is stored.
            f"    r.embedding = coalesce({VARYING_REF}embedding, r.embedding),",
            f"    r.embeddingModel = coalesce({VARYING_REF}embeddingModel, r.embeddingModel)",
            f"RETURN nameClashes AS {'firstClashes' if first else 'againClashes'}",
        ]
    )


# Keep a cached plan when the statistics move. Neo4j replans a statement whose statistics
# (label counts, index selectivity) diverged from those it was planned on; this statement's
# plan is index seeks on uniqueness constraints whatever the counts, but replanning its ~60
# subqueries took 0.3-1.3 s, and a graph growing from empty (a new installation, the tests, a
# benchmark) did so every few seconds: the write's p95/p99 stalls. A schema change still
# replans it.
KEEP_PLAN = "CYPHER replan=skip\n"


def _indent(text: str) -> str:
    return "  " + text.replace("\n", "\n  ")


# The whole run in one statement, and one round trip: first what is already committed under the
# runId (its commit checksum, whether retention condensed it), returned to the writer; then the
# first write when nothing is committed, or the rewrite when the same content is (a retried
# write whose commit answer was lost), never when the run is condensed; each returns the
# Ingredient name clashes (null when it did not run: OPTIONAL CALL keeps the row). Another run's
# content under this runId, or a condensed run, changes nothing (the writer raises RunConflict
# on the first). The owner ($w.ownerId, not part of the content or its checksum) is set with the
# marker. The text is fixed, so its plan is cached, and kept (KEEP_PLAN).
WRITE_RUN = KEEP_PLAN + "\n".join([
    "OPTIONAL MATCH (existing:OrchestrationRun {runId: $runId})",
    "WITH existing.commitChecksum AS stored, coalesce(existing.condensed, false) AS condensed",
    "OPTIONAL CALL (stored, condensed) {",
    "  WITH stored, condensed",
    "  WHERE stored IS NULL AND NOT condensed",
    _indent(_blocks(first=True)),
    "}",
    "OPTIONAL CALL (stored, condensed) {",
    "  WITH stored, condensed",
    "  WHERE stored = $checksum AND NOT condensed",
    _indent(_blocks(first=False)),
    "}",
    "RETURN stored AS checksum, condensed, coalesce(firstClashes, againClashes) AS nameClashes",
])
WRITE_RUN_PARAMS = tuple(node_param(label.name) for label in LABELS) + tuple(
    rel_param(rel.name) for rel in REL_TYPES)


_VARYING_NAMES = (*WRITE_RUN_PARAMS, *VARYING_SCALARS)


def statement_args(params: Mapping[str, Any]) -> dict[str, Any]:
    """WRITE_RUN's arguments from the writer's flat parameters (graphstore.writer.
    statement_params plus `now`, the owner and the embedding): the rows and the nullable values
    moved into `$w` (VARYING), the rest as they are."""
    args = {k: v for k, v in params.items() if k not in _VARYING_NAMES}
    args[VARYING] = {k: params.get(k) for k in _VARYING_NAMES}
    return args
