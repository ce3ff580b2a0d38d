"""map_run_to_graph(run) -> GraphWriteSet: the persistence contract of design section 6.

PURE: imports neither django, neo4j, celery nor the clock; no I/O. It normalizes the run first
(section 5.2): transient keys dropped, configSnapshot bounded (with a flag saying so), agentHistory
ordered by sequence with outputRef filled in; then computes canonical JSON and SHA-256 checksums,
deduplicates RecipeVersion and UserRequest by content checksum, and lays out the node merges and
relationships the writer sends in a few fixed UNWIND statements. Large cypherCommands are marked
for the blob store instead of being inlined.

Node properties hold scalars for querying and canonical JSON text for nested artifact parts; replay
(graphstore/replay.py) reads them back into an equal RunResult.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from contracts import (
    ARTIFACT_OF,
    WIRE_NAME,
    RunMetadata,
    RunResult,
    canonical_json,
    checksum,
    sha256_hex,
    strip_transient,
)

from .schema import GRAPH_SCHEMA_VERSION, LABELS, REL_TYPES

MAX_WRITE_SET_ELEMENTS = 500  # design section 7: "no more than 500 nodes/edges per run"
BLOB_THRESHOLD_BYTES = 32_768  # design section 5.6: cypherCommands over 32 KB go to the blob store
CONFIG_SNAPSHOT_MAX_BYTES = 4_096  # design section 3: configSnapshot "truncated to avoid oversize"

_LABEL_ORDER = {label.name: i for i, label in enumerate(LABELS)}
_REL_ORDER = {rel.name: i for i, rel in enumerate(REL_TYPES)}


class MappingError(ValueError):
    """A run that cannot be mapped to the graph. Nothing is written."""


class WriteSetTooLarge(MappingError):
    def __init__(self, run_id: str, nodes: int, relationships: int, limit: int) -> None:
        self.run_id, self.limit = run_id, limit
        self.nodes, self.relationships = nodes, relationships
        super().__init__(
            f"Run {run_id} maps to {nodes} nodes and {relationships} relationships "
            f"({nodes + relationships} in all), over the limit of {limit} per run (design "
            "section 7); nothing was written. Split the run or shorten its agentHistory."
        )


@dataclass(frozen=True)
class NodeMerge:
    label: str
    key: str  # value of the label's merge key
    on_create: Mapping[str, Any]
    on_match: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RelationshipMerge:
    type: str
    start: str  # merge key of the start node (its label is fixed by the type)
    end: str
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BlobOffload:
    """Bytes the writer puts in the blob store before the transaction (GraphSnapshot.blobUri)."""

    sha256: str
    data: bytes


@dataclass(frozen=True)
class GraphWriteSet:
    run_id: str
    checksum: str  # of the normalized run; equals the checksum of its replay
    schema_version: str
    normalized: RunResult
    nodes: tuple[NodeMerge, ...]
    relationships: tuple[RelationshipMerge, ...]
    blob: BlobOffload | None = None

    @property
    def size(self) -> int:
        return len(self.nodes) + len(self.relationships)

    def nodes_of(self, label: str) -> list[NodeMerge]:
        return [n for n in self.nodes if n.label == label]

    def relationships_of(self, rel_type: str) -> list[RelationshipMerge]:
        return [r for r in self.relationships if r.type == rel_type]


# --- normalization -----------------------------------------------------------------------------


def _bounded_snapshot(snapshot: Mapping[str, Any], limit: int) -> tuple[dict[str, Any], bool]:
    """Keep whole top-level keys (sorted) while the canonical JSON stays within `limit` bytes."""
    if len(canonical_json(snapshot).encode("utf-8")) <= limit:
        return dict(snapshot), False
    kept: dict[str, Any] = {}
    for key in sorted(snapshot):
        candidate = {**kept, key: snapshot[key]}
        if len(canonical_json(candidate).encode("utf-8")) <= limit:
            kept = candidate
    return kept, True


def normalize_run(run: RunResult) -> RunResult:
    """The run as it is stored: transient keys dropped, bounded, ordered, outputRefs filled."""
    wire = run.to_wire()
    wire = strip_transient(wire)  # free-form objects carry "_"-prefixed transient keys
    assert isinstance(wire, dict)
    meta = wire["metadata"]
    snapshot, truncated = _bounded_snapshot(meta.get("configSnapshot", {}),
                                            CONFIG_SNAPSHOT_MAX_BYTES)
    meta["configSnapshot"] = snapshot
    meta["configSnapshotTruncated"] = bool(meta.get("configSnapshotTruncated")) or truncated
    history = sorted(wire.get("agentHistory", []), key=lambda e: e["sequence"])
    for entry in history:
        artifact = wire.get(_wire_artifact(entry["agent"]))
        if "outputRef" not in entry and entry["status"] == "succeeded" and artifact is not None:
            entry["outputRef"] = f"sha256:{checksum(artifact)}"
    wire["agentHistory"] = history
    return RunResult.model_validate(wire)


def _wire_artifact(agent: str) -> str:
    return WIRE_NAME[ARTIFACT_OF[agent]]


def _json(value: Any) -> str:
    return canonical_json(value)


# --- mapping -----------------------------------------------------------------------------------


def map_run_to_graph(run: RunResult, *, max_elements: int = MAX_WRITE_SET_ELEMENTS,
                     blob_threshold: int = BLOB_THRESHOLD_BYTES) -> GraphWriteSet:
    """Lay out one run as node merges and relationships. Refuses a write set over the limit."""
    run = normalize_run(run)
    wire = run.to_wire()
    run_id = run.run_id
    run_checksum = checksum(wire)
    nodes: list[NodeMerge] = []
    rels: list[RelationshipMerge] = []
    blob: BlobOffload | None = None

    meta: RunMetadata = run.metadata
    nodes.append(NodeMerge("OrchestrationRun", run_id, {
        "status": meta.status,
        "totalDuration": meta.total_duration,
        "timestamp": wire["metadata"]["timestamp"],
        "startedAt": meta.timestamp,
        "configSnapshot": _json(wire["metadata"]["configSnapshot"]),
        "configSnapshotTruncated": meta.config_snapshot_truncated,
        "failedAgent": meta.failed_agent,
        "replayOf": meta.replay_of,
        "peakRssMb": meta.peak_rss_mb,
        "budgetBreaches": list(meta.budget_breaches),
        "budgetBreached": bool(meta.budget_breaches),
        "checksum": run_checksum,
        "schemaVersion": GRAPH_SCHEMA_VERSION,
        "contractVersion": run.request.config.version,
    }))

    request = wire["request"]
    request_key = checksum(request)
    nodes.append(NodeMerge("UserRequest", request_key, {
        "userRequest": request["userRequest"],
        "targetBatchSize": request["targetBatchSize"],
        "targetUnit": request["targetUnit"],
        "context": _json(request.get("context", {})),
        "config": _json(request.get("config", {})),
    }))
    rels.append(RelationshipMerge("TRIGGERED", request_key, run_id, {"runId": run_id}))

    if run.recipe is not None:
        recipe = wire["recipe"]
        recipe_key = checksum(recipe)
        nodes.append(NodeMerge("RecipeVersion", recipe_key, {
            "recipeId": recipe["id"],
            "name": recipe["name"],
            "totalPercentage": recipe["totalPercentage"],
            "ingredientCount": len(recipe["ingredients"]),
            "metadata": _json(recipe.get("metadata", {})),
        }))
        rels.append(RelationshipMerge("USED_RECIPE", run_id, recipe_key))
        for position, ing in enumerate(recipe["ingredients"]):
            nodes.append(NodeMerge("Ingredient", ing["id"], {"name": ing["name"]}))
            rels.append(RelationshipMerge("HAS_INGREDIENT", recipe_key, ing["id"], {
                "position": position,
                "name": ing["name"],
                "percentage": ing["percentage"],
                "function": ing.get("function"),
                "category": ing.get("category"),
            }))

    if run.calculation is not None:
        calc = wire["calculation"]
        nodes.append(NodeMerge("CalculationResult", run_id, {
            "checksum": checksum(calc),
            "recipeId": calc["recipeId"],
            "targetBatchSize": calc["targetBatchSize"],
            "targetUnit": calc["targetUnit"],
            "totalCost": calc["costs"]["total"],
            "currency": calc["costs"]["currency"],
            "timestamp": calc["timestamp"],
            "scaledIngredients": _json(calc["scaledIngredients"]),
            "costs": _json(calc["costs"]),
            "yield": _json(calc["yield"]),
            "warnings": _json(calc.get("warnings", [])),
        }))
        rels.append(RelationshipMerge("PRODUCED_CALCULATION", run_id, run_id))

    if run.graph is not None:
        graph = wire["graph"]
        commands = _json(graph["cypherCommands"]).encode("utf-8")
        props: dict[str, Any] = {
            "checksum": checksum(graph),
            "nodeCount": len(graph["nodes"]),
            "edgeCount": len(graph["edges"]),
            "nodes": _json(graph["nodes"]),
            "edges": _json(graph["edges"]),
            "metadata": _json(graph.get("metadata", {})),
            "cypherCommandCount": len(graph["cypherCommands"]),
            "cypherCommandsSize": len(commands),
        }
        if len(commands) > blob_threshold:
            blob = BlobOffload(sha256_hex(commands), commands)
            props["blobSha256"] = blob.sha256
            props["blobSize"] = len(commands)  # blobUri is added by the writer after the put
        else:
            props["cypherCommands"] = commands.decode("utf-8")
        nodes.append(NodeMerge("GraphSnapshot", run_id, props))
        rels.append(RelationshipMerge("PRODUCED_GRAPH", run_id, run_id))

    if run.validation is not None:
        val = wire["validation"]
        nodes.append(NodeMerge("ValidationReport", run_id, {
            "checksum": checksum(val),
            "valid": val["valid"],
            "canProceed": val["canProceed"],
            "summary": val["summary"],
            "timestamp": val["timestamp"],
            "errorCount": len(val["errors"]),
            "warningCount": len(val["warnings"]),
            "criticalCount": len(val["criticalErrors"]),
            "errors": _json(val["errors"]),
            "warnings": _json(val["warnings"]),
            "criticalErrors": _json(val["criticalErrors"]),
            "checks": _json(val["checks"]),
        }))
        rels.append(RelationshipMerge("PRODUCED_VALIDATION", run_id, run_id))

    if run.ui_config is not None:
        ui = wire["uiConfig"]
        nodes.append(NodeMerge("UIConfig", run_id, {
            "checksum": checksum(ui),
            "componentCount": len(ui["components"]),
            "layout": _json(ui["layout"]),
            "components": _json(ui["components"]),
            "theme": _json(ui["theme"]),
        }))
        rels.append(RelationshipMerge("PRODUCED_UI", run_id, run_id))

    for entry in wire["agentHistory"]:
        invocation_id = f"{run_id}#{entry['sequence']:04d}"
        nodes.append(NodeMerge("AgentInvocation", invocation_id, {
            "runId": run_id,
            "sequence": entry["sequence"],
            "agent": entry["agent"],
            "timestamp": entry["timestamp"],
            "duration": entry["duration"],
            "status": entry["status"],
            "error": entry.get("error"),
            "outputRef": entry.get("outputRef"),
            "memoryMb": entry.get("memoryMb"),
            "rssMb": entry.get("rssMb"),
            "budgetDurationMs": entry.get("budgetDurationMs"),
            "budgetMemoryMb": entry.get("budgetMemoryMb"),
            "budgetBreaches": entry.get("budgetBreaches", []),
            "budgetBreached": bool(entry.get("budgetBreaches")),
            **({"transcriptPrompt": entry["transcript"]["prompt"],
                "transcriptResponse": entry["transcript"]["response"],
                "transcriptRedacted": entry["transcript"]["redacted"]}
               if entry.get("transcript") else {}),
        }))
        rels.append(RelationshipMerge("HAS_AGENT_INVOCATION", run_id, invocation_id,
                                      {"sequence": entry["sequence"]}))

    size = len(nodes) + len(rels)
    if size > max_elements:
        raise WriteSetTooLarge(run_id, len(nodes), len(rels), max_elements)
    # Stable order: labels in schema order, keys sorted within a label (lock order for writers).
    nodes.sort(key=lambda n: (_LABEL_ORDER[n.label], n.key))
    rels.sort(key=lambda r: (_REL_ORDER[r.type], r.start, r.end))
    return GraphWriteSet(
        run_id=run_id,
        checksum=run_checksum,
        schema_version=GRAPH_SCHEMA_VERSION,
        normalized=run,
        nodes=tuple(_drop_nulls(n) for n in nodes),
        relationships=tuple(rels),
        blob=blob,
    )


def _drop_nulls(node: NodeMerge) -> NodeMerge:
    """Neo4j stores no nulls; an absent property reads back as None."""
    present = {k: v for k, v in node.on_create.items() if v is not None}
    return NodeMerge(node.label, node.key, present, node.on_match)


def parse_json_property(value: str | None, default: Any) -> Any:
    """Inverse of the JSON text properties written above (used by replay)."""
    return default if value is None else json.loads(value)
