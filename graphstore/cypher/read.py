"""Reading runs back: replay's one-round-trip load and the commit-marker verification
(graphstore/replay.py; retention counts a condensed run with VERIFY_RUN too).

PURE: imports neither django, neo4j, celery nor the clock.
"""

from __future__ import annotations

from collections.abc import Callable

from ..codecs import (
    AgentInvocationCodec,
    CalculationResultCodec,
    Codec,
    GraphSnapshotCodec,
    HasIngredientCodec,
    OrchestrationRunCodec,
    RecipeVersionCodec,
    UIConfigCodec,
    UserRequestCodec,
    ValidationReportCodec,
)
from ..codecs.base import DATETIME, RETENTION
from ..schema import RUN_OUTGOING

# What the graph holds for the run `r`, counted as the commit marker counts (the CALLs, then the
# two totals): VERIFY_RUN for one run, retention's SET_COUNTS for a batch (cypher/retention.py).
VERIFY_COUNTS = (
    "CALL (r) { OPTIONAL MATCH (u:UserRequest)-[t:TRIGGERED]->(r)\n"
    "           RETURN count(DISTINCT u) AS requests, count(t) AS triggered }\n"
    "CALL (r) { OPTIONAL MATCH (r)-[o]->(x) WHERE type(o) IN $outgoing\n"
    "           RETURN count(DISTINCT x) AS owned, count(o) AS ownedRels }\n"
    "CALL (r) { OPTIONAL MATCH (r)-[:USED_RECIPE]->(:RecipeVersion)-[h:HAS_INGREDIENT]->(i)\n"
    "           RETURN count(DISTINCT i) AS ingredients, count(h) AS hasIngredient }\n"
)
VERIFY_NODES = "1 + requests + owned + ingredients"
VERIFY_RELATIONSHIPS = "triggered + ownedRels + hasIngredient"

# What the graph holds for one run, to compare with its commit marker.
VERIFY_RUN = (
    "MATCH (r:OrchestrationRun {runId: $runId})\n"
    + VERIFY_COUNTS +
    "RETURN r.commitChecksum AS checksum, r.commitNodeCount AS markerNodes,\n"
    "       r.commitRelationshipCount AS markerRelationships,\n"
    f"       {VERIFY_NODES} AS nodes,\n"
    f"       {VERIFY_RELATIONSHIPS} AS relationships"
)
VERIFY_PARAMS = {"outgoing": list(RUN_OUTGOING)}



def _load(match: str, project: Callable[[str, type[Codec]], str] = lambda var, codec: ".*"
          ) -> str:
    """The run `r` of `match` and everything it links to, one row per run; `project` gives
    each node's (and HAS_INGREDIENT's) map projection (default: every property)."""
    return (
        f"{match}\n"
        "OPTIONAL MATCH (u:UserRequest)-[:TRIGGERED]->(r)\n"
        "OPTIONAL MATCH (r)-[:USED_RECIPE]->(rv:RecipeVersion)\n"
        "OPTIONAL MATCH (r)-[:PRODUCED_CALCULATION]->(c:CalculationResult)\n"
        "OPTIONAL MATCH (r)-[:PRODUCED_GRAPH]->(g:GraphSnapshot)\n"
        "OPTIONAL MATCH (r)-[:PRODUCED_VALIDATION]->(v:ValidationReport)\n"
        "OPTIONAL MATCH (r)-[:PRODUCED_UI]->(ui:UIConfig)\n"
        "CALL (rv) { OPTIONAL MATCH (rv)-[h:HAS_INGREDIENT]->(i:Ingredient)\n"
        "            WITH h, i ORDER BY h.position\n"
        "            RETURN collect(CASE WHEN h IS NULL THEN NULL ELSE\n"
        f"                   h {{{project('h', HasIngredientCodec)}, ingredientId: i.ingredientId}}"
        " END) AS ingredients }\n"
        "CALL (r) { OPTIONAL MATCH (r)-[:HAS_AGENT_INVOCATION]->(a:AgentInvocation)\n"
        "           WITH a ORDER BY a.sequence\n"
        f"           RETURN collect(a {{{project('a', AgentInvocationCodec)}}}) AS invocations }}\n"
        f"RETURN r {{{project('r', OrchestrationRunCodec)}}} AS run, "
        f"u {{{project('u', UserRequestCodec)}}} AS request, "
        f"rv {{{project('rv', RecipeVersionCodec)}}} AS recipe, ingredients,\n"
        f"       c {{{project('c', CalculationResultCodec)}}} AS calculation, "
        f"g {{{project('g', GraphSnapshotCodec)}}} AS graph, "
        f"v {{{project('v', ValidationReportCodec)}}} AS validation, "
        f"ui {{{project('ui', UIConfigCodec)}}} AS ui,\n"
        "       invocations"
    )


def _decoded(var: str, codec: type[Codec]) -> str:
    """The properties of `codec`'s table that replay's decode reads: all but the time stamps
    it never reads (createdAt, committedAt, startedAt; condensedAt is read). Each DateTime
    costs the Python driver about 0.1 ms to hydrate, some twenty per run."""
    return ", ".join(f".{p.name}" for p in codec.props
                     if p.type != DATETIME or p.set_by == RETENTION)


# Replay: the run and everything it links to, in one round trip.
LOAD_RUN = _load("MATCH (r:OrchestrationRun {runId: $runId})")
# The same for a batch of runs (retention's ledger catch-up): one row per runId found, with the
# properties replay decodes and no others (_decoded): rows that decode to the same runs.
LOAD_RUNS = _load("UNWIND $runIds AS runId\nMATCH (r:OrchestrationRun {runId: runId})",
                  _decoded)
# LOAD_RUNS of the condensed runs only (retention's catch-up wants no other): a full run's
# payload is not read at all.
LOAD_CONDENSED_RUNS = _load("UNWIND $runIds AS runId\n"
                            "MATCH (r:OrchestrationRun {runId: runId}) WHERE r.condensed = true",
                            _decoded)

# VERIFY_RUN and the condensation's counts (graphstore/retention.py), in one round trip: what
# `verify_run` reads.
VERIFY_RUN_WITH_CONDENSATION = (
    VERIFY_RUN + ",\n       coalesce(r.condensed, false) AS condensed, "
    "r.condensedNodeCount AS condensedNodes,\n"
    "       r.condensedRelationshipCount AS condensedRelationships")

# How many runs the graph holds under each runId (0 or 1, by the uniqueness constraint): the
# scale-out demo's audit that every accepted run was persisted exactly once (tools/scale_out.py).
RUN_COPIES = (
    "UNWIND $runIds AS runId\n"
    "OPTIONAL MATCH (r:OrchestrationRun {runId: runId})\n"
    "RETURN runId, count(r) AS copies"
)
