"""Replay (design section 2): read a committed run back from Neo4j and the blob store into the v1
contract. I/O. The result's checksum equals the checksum of the normalized original, which
`verify_run` and the tests compare.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from neo4j import Driver
from pydantic import ValidationError

from contracts import RunResult

from . import cypher
from .blobstore import BlobCorrupted, BlobStore
from .errors import ReplayError, RunNotFound


def _j(value: str | None, default: Any = None) -> Any:
    return default if value is None else json.loads(value)


def _present(**fields: Any) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


def load_run(run_id: str, *, driver: Driver, database: str, blob_store: BlobStore) -> RunResult:
    """The committed run `run_id`; RunNotFound when there is none, ReplayError if damaged."""
    records, _, _ = driver.execute_query(cypher.LOAD_RUN, runId=run_id, database_=database,
                                         routing_="r")
    if not records or records[0]["run"].get("commitChecksum") is None:
        raise RunNotFound(run_id)
    rec = records[0]
    run, request = rec["run"], rec["request"]
    # A condensed run (graphstore/retention.py) reads back as a summary: what retention removed
    # is absent, even if a later write put some of it back.
    condensed = _condensation(run, rec["graph"], rec["validation"])
    removed = set(condensed["removed"]) if condensed else set()
    wire: dict[str, Any] = {
        "metadata": _present(
            id=run["runId"], status=run["status"], totalDuration=run["totalDuration"],
            timestamp=run["timestamp"], configSnapshot=_j(run.get("configSnapshot"), {}),
            configSnapshotTruncated=run.get("configSnapshotTruncated", False),
            failedAgent=run.get("failedAgent"), replayOf=run.get("replayOf"),
            peakRssMb=run.get("peakRssMb"),
            budgetBreaches=run.get("budgetBreaches") or [], condensed=condensed,
        ),
        "request": {
            "userRequest": request["userRequest"],
            "targetBatchSize": request["targetBatchSize"],
            "targetUnit": request["targetUnit"],
            "context": _j(request["context"]),
            "config": _j(request["config"]),
        },
        "agentHistory": [
            _present(agent=a["agent"], sequence=a["sequence"], timestamp=a["timestamp"],
                     duration=a["duration"], status=a["status"], error=a.get("error"),
                     outputRef=a.get("outputRef"), memoryMb=a.get("memoryMb"),
                     rssMb=a.get("rssMb"), budgetDurationMs=a.get("budgetDurationMs"),
                     budgetMemoryMb=a.get("budgetMemoryMb"),
                     budgetBreaches=a.get("budgetBreaches") or [],
                     transcript=None if a.get("transcriptRedacted") is None or condensed
                     else {
                         "prompt": a.get("transcriptPrompt", ""),
                         "response": a.get("transcriptResponse", ""),
                         "redacted": a["transcriptRedacted"]})
            for a in rec["invocations"]
        ],
    }
    if (rv := rec["recipe"]) is not None and "recipe" not in removed:
        wire["recipe"] = {
            "id": rv["recipeId"], "name": rv["name"], "totalPercentage": rv["totalPercentage"],
            "metadata": _j(rv.get("metadata"), {}),
            "ingredients": [
                _present(id=h["ingredientId"], name=h["name"], percentage=h["percentage"],
                         function=h.get("function"), category=h.get("category"))
                for h in rec["ingredients"]
            ],
        }
    if (c := rec["calculation"]) is not None and "calculation" not in removed:
        wire["calculation"] = {
            "recipeId": c["recipeId"], "targetBatchSize": c["targetBatchSize"],
            "targetUnit": c["targetUnit"], "scaledIngredients": _j(c["scaledIngredients"]),
            "costs": _j(c["costs"]), "yield": _j(c["yield"]), "timestamp": c["timestamp"],
            "warnings": _j(c.get("warnings"), []),
        }
    if (g := rec["graph"]) is not None and "graph" not in removed:
        wire["graph"] = {
            "nodes": _j(g["nodes"]), "edges": _j(g["edges"]), "metadata": _j(g.get("metadata"), {}),
            "cypherCommands": _cypher_commands(run_id, g, blob_store),
        }
    if (v := rec["validation"]) is not None and "validation" not in removed:
        wire["validation"] = {
            "valid": v["valid"], "errors": _j(v["errors"]), "warnings": _j(v["warnings"]),
            "checks": _j(v["checks"]), "summary": v["summary"], "timestamp": v["timestamp"],
            "canProceed": v["canProceed"], "criticalErrors": _j(v["criticalErrors"]),
        }
    if (ui := rec["ui"]) is not None and "uiConfig" not in removed:
        wire["uiConfig"] = {"layout": _j(ui["layout"]), "components": _j(ui["components"]),
                            "theme": _j(ui["theme"])}
    try:
        return RunResult.model_validate(wire)
    except ValidationError as exc:
        raise ReplayError(f"Run {run_id} is stored but does not read back into the v1 contract: "
                          f"{exc}") from exc


def _condensation(run: dict[str, Any], graph: dict[str, Any] | None,
                  validation: dict[str, Any] | None) -> dict[str, Any] | None:
    """metadata.condensed of a condensed run: when, what was removed, what is kept of it."""
    if not run.get("condensed"):
        return None
    at = run["condensedAt"]
    removed = list(run.get("condensedRemoved") or [])
    out: dict[str, Any] = {"condensedAt": at.to_native().isoformat() if hasattr(
        at, "to_native") else str(at), "removed": removed}
    if graph is not None and "graph" in removed:
        out["graph"] = {"nodeCount": graph.get("nodeCount", 0),
                        "edgeCount": graph.get("edgeCount", 0),
                        "cypherCommandCount": graph.get("cypherCommandCount", 0)}
    if validation is not None and "validation" in removed:
        out["validation"] = {
            "valid": validation["valid"], "canProceed": validation["canProceed"],
            "errorCount": validation.get("errorCount", 0),
            "warningCount": validation.get("warningCount", 0),
            "criticalCount": validation.get("criticalCount", 0),
            "summary": validation.get("summary", "")}
    return out


def _cypher_commands(run_id: str, snapshot: dict[str, Any], blob_store: BlobStore) -> Any:
    if snapshot.get("blobUri") is None:
        return _j(snapshot["cypherCommands"])
    try:
        data = blob_store.get(snapshot["blobUri"], sha256=snapshot["blobSha256"])
    except BlobCorrupted as exc:
        raise ReplayError(f"Run {run_id}: its cypherCommands blob is corrupted and is not "
                          f"served: {exc}") from exc
    return json.loads(data.decode("utf-8"))


@dataclass(frozen=True)
class Verification:
    """The commit marker against the graph. A condensed run is compared with the counts its
    condensation recorded (condensedNodeCount, condensedRelationshipCount); the marker's own
    counts keep describing what the write transaction wrote."""

    run_id: str
    checksum: str | None
    marker_nodes: int | None
    marker_relationships: int | None
    nodes: int
    relationships: int
    condensed: bool = False
    condensed_nodes: int | None = None
    condensed_relationships: int | None = None

    @property
    def complete(self) -> bool:
        expected = ((self.condensed_nodes, self.condensed_relationships) if self.condensed
                    else (self.marker_nodes, self.marker_relationships))
        return self.checksum is not None and expected == (self.nodes, self.relationships)


# VERIFY_RUN and the condensation's counts (graphstore/retention.py), in one round trip.
assert cypher.VERIFY_RUN.endswith("AS relationships")
VERIFY_RUN = (cypher.VERIFY_RUN + ",\n       coalesce(r.condensed, false) AS condensed, "
              "r.condensedNodeCount AS condensedNodes,\n"
              "       r.condensedRelationshipCount AS condensedRelationships")


def verify_run(run_id: str, *, driver: Driver, database: str) -> Verification:
    """Compare a run's commit marker (or, condensed, its condensation's counts) with what the
    graph holds for it."""
    records, _, _ = driver.execute_query(VERIFY_RUN, cypher.VERIFY_PARAMS, runId=run_id,
                                         database_=database, routing_="r")
    if not records:
        raise RunNotFound(run_id)
    r = records[0]
    return Verification(run_id, r["checksum"], r["markerNodes"], r["markerRelationships"],
                        r["nodes"], r["relationships"], r["condensed"], r["condensedNodes"],
                        r["condensedRelationships"])
