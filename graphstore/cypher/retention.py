"""Retention (graphstore/retention.py): finding the runs to condense, planning and applying a
condensation in batches, orphaned recipes, blob references, and the Formulation link.

PURE: imports neither django, neo4j, celery nor the clock. What a condensation removes comes
from the codecs (`Codec.details()`): the properties are named once, in graphstore/codecs/.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from ..codecs import AgentInvocationCodec, GraphSnapshotCodec, ValidationReportCodec
from .read import VERIFY_COUNTS, VERIFY_NODES, VERIFY_RELATIONSHIPS

ACTIVE = "active"  # the Formulation.status that holds recipes and calculations (passed as $active)
FLOOR = datetime(1, 1, 1, tzinfo=UTC)  # CANDIDATES' $afterStartedAt before the first batch


def _props(var: str, names: Iterable[str]) -> str:
    """`v.a, v.b` for a REMOVE clause."""
    return ", ".join(f"{var}.{name}" for name in names)


def _any_present(var: str, names: Iterable[str]) -> str:
    """`v.a IS NOT NULL OR v.b IS NOT NULL`."""
    return " OR ".join(f"{var}.{name} IS NOT NULL" for name in names)


_CALC_HELD = ("EXISTS { MATCH (f:Formulation)-[:USES_CALCULATION]->(c) "
              "WHERE f.status = $active }")
_RECIPE_HELD = "EXISTS { MATCH (f:Formulation)-[:USES_RECIPE]->(rv) WHERE f.status = $active }"

# Runs to condense, oldest first, after the cursor (startedAt, runId), in one row. They are
# sought in the index of `retentionStartedAt`, which only the runs retention has work on carry
# (full runs, and condensed runs that retain something: graphstore/retention.py), so a pass
# never walks the runs it condensed before. A condensed run comes back only when it retains a
# calculation or recipe link that no active formulation holds now. The cursor bounds the index
# seek from below ($afterStartedAt: the last batch's, or retention.FLOOR for the first), so a
# batch reads the index from where the last one stopped, not from the oldest run again.
CANDIDATES = (
    "MATCH (r:OrchestrationRun)\n"
    "WHERE r.retentionStartedAt >= $afterStartedAt AND r.retentionStartedAt < $cutoff\n"
    "  AND r.commitChecksum IS NOT NULL\n"
    # the tie-break as a CASE: an OR here is planned as a union of two seeks and a full sort
    "  AND CASE WHEN r.retentionStartedAt > $afterStartedAt THEN true\n"
    "           ELSE r.runId > $afterRunId END\n"
    "  AND (r.condensed IS NULL OR (r.condensedRetains = true AND (\n"
    "       EXISTS { MATCH (r)-[:PRODUCED_CALCULATION]->(c:CalculationResult)\n"
    f"                WHERE NOT {_CALC_HELD} }}\n"
    "       OR EXISTS { MATCH (r)-[:USED_RECIPE]->(rv:RecipeVersion)\n"
    f"                   WHERE NOT {_RECIPE_HELD}\n"
    "                   AND NOT EXISTS { MATCH (r)-[:PRODUCED_CALCULATION]->(c)\n"
    f"                                    WHERE {_CALC_HELD} }} }})))\n"
    "WITH r.runId AS runId, r.retentionStartedAt AS startedAt\n"
    "ORDER BY startedAt, runId LIMIT $limit\n"
    # one row: the batch's runIds in order, and the last one's start (the next cursor; one
    # DateTime to hydrate, not one per run)
    "RETURN collect(runId) AS runIds, last(collect(startedAt)) AS startedAt"
)

# What each run of a batch holds now (read in the condensing transaction, and by a dry run).
PLAN = (
    "UNWIND $runIds AS runId\n"
    "MATCH (r:OrchestrationRun {runId: runId})\n"
    "OPTIONAL MATCH (r)-[:PRODUCED_UI]->(ui:UIConfig)\n"
    "OPTIONAL MATCH (r)-[:PRODUCED_GRAPH]->(g:GraphSnapshot)\n"
    "OPTIONAL MATCH (r)-[:PRODUCED_VALIDATION]->(v:ValidationReport)\n"
    "OPTIONAL MATCH (r)-[:PRODUCED_CALCULATION]->(c:CalculationResult)\n"
    "OPTIONAL MATCH (r)-[:USED_RECIPE]->(rv:RecipeVersion)\n"
    "RETURN r.runId AS runId, r.startedAt AS startedAt, r.status AS status,\n"
    "       r.checksum AS checksum, r.condensed IS NOT NULL AS condensedBefore,\n"
    "       coalesce(r.condensedRemoved, []) AS removedBefore,\n"
    "       ui IS NOT NULL AS hasUi,\n"
    f"       g IS NOT NULL AND ({_any_present('g', GraphSnapshotCodec.details())})"
    " AS graphPayload,\n"
    "       g.blobUri AS blobUri, g.blobSha256 AS blobSha256,\n"
    f"       v IS NOT NULL AND ({_any_present('v', ValidationReportCodec.details())})"
    " AS validationDetails,\n"
    "       c IS NOT NULL AS hasCalculation,\n"
    f"       c IS NOT NULL AND {_CALC_HELD} AS calculationHeld,\n"
    "       rv.checksum AS recipe,\n"
    f"       rv IS NOT NULL AND {_RECIPE_HELD} AS recipeHeld"
)

# The condensation of a batch; `rows` carry the decisions taken from PLAN in the same
# transaction. Deleting or removing on a missing (null) node is a no-op.
APPLY = (
    "UNWIND $rows AS row\n"
    "MATCH (r:OrchestrationRun {runId: row.runId})\n"
    "CALL (r) { OPTIONAL MATCH (r)-[:PRODUCED_UI]->(ui:UIConfig) DETACH DELETE ui }\n"
    "CALL (r) { OPTIONAL MATCH (r)-[:PRODUCED_GRAPH]->(g:GraphSnapshot)\n"
    f"           REMOVE {_props('g', GraphSnapshotCodec.details())} }}\n"
    "CALL (r) { OPTIONAL MATCH (r)-[:PRODUCED_VALIDATION]->(v:ValidationReport)\n"
    f"           REMOVE {_props('v', ValidationReportCodec.details())} }}\n"
    "CALL (r) { OPTIONAL MATCH (r)-[:HAS_AGENT_INVOCATION]->(a:AgentInvocation)\n"
    f"           REMOVE {_props('a', AgentInvocationCodec.details())} }}\n"
    "CALL (r, row) { OPTIONAL MATCH (r)-[:PRODUCED_CALCULATION]->(c:CalculationResult)\n"
    "                WITH c WHERE c IS NOT NULL AND NOT row.keepCalculation\n"
    "                DETACH DELETE c }\n"
    "CALL (r, row) { OPTIONAL MATCH (r)-[u:USED_RECIPE]->(:RecipeVersion)\n"
    "                WITH u WHERE u IS NOT NULL AND NOT row.keepRecipe\n"
    "                DELETE u }\n"
    "SET r.condensed = true, r.condensedAt = coalesce(r.condensedAt, $now),\n"
    "    r.condensedRemoved = row.removed, r.condensedRetains = row.retains,\n"
    # the next passes seek it only while it retains something (CANDIDATES)
    "    r.retentionStartedAt = CASE WHEN row.retains THEN r.startedAt END"
)

# RecipeVersions whose last user was just unlinked (no run, no active formulation uses them).
RECIPE_GC = (
    "UNWIND $recipes AS key\n"
    "MATCH (rv:RecipeVersion {checksum: key})\n"
    "WHERE NOT EXISTS { MATCH (:OrchestrationRun)-[:USED_RECIPE]->(rv) }\n"
    f"  AND NOT {_RECIPE_HELD}\n"
    "DETACH DELETE rv\n"
    "RETURN key"
)

# What the graph holds for each run of the batch after APPLY, counted in the condensing
# transaction by the very subqueries `verify_run` counts with (cypher.read.VERIFY_COUNTS), and
# recorded on the run: one statement per batch. Parameters: $runIds and read.VERIFY_PARAMS.
SET_COUNTS = (
    "UNWIND $runIds AS runId\n"
    "MATCH (r:OrchestrationRun {runId: runId})\n"
    + VERIFY_COUNTS +
    f"SET r.condensedNodeCount = {VERIFY_NODES},\n"
    f"    r.condensedRelationshipCount = {VERIFY_RELATIONSHIPS}"
)

# Who uses these recipes / blobs now (a dry run's whole-pass decisions; blob checks).
RECIPE_USERS = (
    "UNWIND $recipes AS key\n"
    "MATCH (rv:RecipeVersion {checksum: key})\n"
    "RETURN key, [(o:OrchestrationRun)-[:USED_RECIPE]->(rv) | o.runId] AS runs,\n"
    f"       {_RECIPE_HELD} AS held"
)
BLOB_USERS = (
    "UNWIND $shas AS sha\n"
    "OPTIONAL MATCH (o:OrchestrationRun)-[:PRODUCED_GRAPH]->(g:GraphSnapshot {blobSha256: sha})\n"
    "RETURN sha, collect(o.runId) AS runs"
)

# Declaring a formulation and what it uses (the formulation graph's side of the link).
LINK_FORMULATION = (
    "MATCH (r:OrchestrationRun {runId: $runId})\n"
    "MERGE (f:Formulation {formulationId: $formulationId})\n"
    "ON CREATE SET f.createdAt = $now\n"
    "SET f.status = $status, f.updatedAt = $now\n"
    "WITH f, r\n"
    "CALL (f, r) { OPTIONAL MATCH (r)-[:USED_RECIPE]->(rv:RecipeVersion)\n"
    "              WITH rv WHERE rv IS NOT NULL MERGE (f)-[:USES_RECIPE]->(rv) }\n"
    "CALL (f, r) { OPTIONAL MATCH (r)-[:PRODUCED_CALCULATION]->(c:CalculationResult)\n"
    "              WITH c WHERE c IS NOT NULL AND $withCalculation\n"
    "              MERGE (f)-[:USES_CALCULATION]->(c) }\n"
    "RETURN f.formulationId AS formulationId"
)
SET_FORMULATION_STATUS = (
    "MATCH (f:Formulation {formulationId: $formulationId})\n"
    "SET f.status = $status, f.updatedAt = $now RETURN f.formulationId AS formulationId"
)
