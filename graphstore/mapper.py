"""map_run_to_graph(run) -> GraphWriteSet: the persistence contract of design section 6.

PURE: imports neither django, neo4j, celery nor the clock; no I/O. It normalizes the run first
(section 5.2): transient keys dropped, configSnapshot bounded (with a flag saying so), agentHistory
ordered by sequence with outputRef filled in; then computes canonical JSON and SHA-256 checksums,
deduplicates RecipeVersion and UserRequest by content checksum, and lays out the node merges and
relationships the writer sends in a few fixed UNWIND statements. Large cypherCommands are marked
for the blob store instead of being inlined.

Which properties each node and relationship carries is the codecs' business (graphstore/codecs/:
scalars for querying, canonical JSON text for nested artifact parts); replay
(graphstore/replay.py) reads them back with the same codecs into an equal RunResult. The mapper
decides the layout: keys, relationships, order, limits, the blob offload.

The run is serialized once and validated once here (`_normalized`); its wire dict is hashed and
encoded as it is. A run validated and normalized at the boundary is not validated again: the
outbox holds `normalize_run(run).to_wire()` and its checksum, and `map_normalized_to_graph(wire,
checksum=...)` lays that out without pydantic, normalization or a second hash of the whole run
(`map_run_to_graph(run, normalized=True)` does the same from a normalized RunResult).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from pydantic import AwareDatetime, TypeAdapter

from contracts import (
    ALREADY_VALIDATED,
    ARTIFACT_OF,
    CONTRACT_VERSION,
    WIRE_NAME,
    RunResult,
    canonical_json,
    checksum,
    output_ref,
    strip_transient,
)

from .codecs import (
    AgentInvocationCodec,
    CalculationResultCodec,
    GraphSnapshotCodec,
    HasAgentInvocationCodec,
    HasIngredientCodec,
    IngredientCodec,
    OrchestrationRunCodec,
    RecipeVersionCodec,
    TriggeredCodec,
    UIConfigCodec,
    UserRequestCodec,
    ValidationReportCodec,
)
from .errors import MappingError, WriteSetTooLarge
from .schema import GRAPH_SCHEMA_VERSION, LABELS, REL_TYPES

__all__ = [
    "BLOB_THRESHOLD_BYTES", "CONFIG_SNAPSHOT_MAX_BYTES", "MAX_WRITE_SET_ELEMENTS", "BlobOffload",
    "GraphWriteSet", "MappingError", "NodeMerge", "RelationshipMerge", "WriteSetTooLarge",
    "map_normalized_to_graph", "map_run_to_graph", "normalize_run",
]

MAX_WRITE_SET_ELEMENTS = 500  # design section 7: "no more than 500 nodes/edges per run"
BLOB_THRESHOLD_BYTES = 32_768  # design section 5.6: cypherCommands over 32 KB go to the blob store
CONFIG_SNAPSHOT_MAX_BYTES = 4_096  # design section 3: configSnapshot "truncated to avoid oversize"

_LABEL_ORDER = {label.name: i for i, label in enumerate(LABELS)}
_REL_ORDER = {rel.name: i for i, rel in enumerate(REL_TYPES)}


# Named tuples, not frozen dataclasses: a large run lays out ~500 of them, and a frozen
# dataclass's __init__ (object.__setattr__ per field) was a third of the mapping's time.
class NodeMerge(NamedTuple):
    label: str
    key: str  # value of the label's merge key
    on_create: Mapping[str, Any]  # no nulls: Neo4j stores none (an absent property reads None)
    on_match: Mapping[str, Any]


class RelationshipMerge(NamedTuple):
    type: str
    start: str  # merge key of the start node (its label is fixed by the type)
    end: str
    properties: Mapping[str, Any]


def _node(label: str, key: str, props: Mapping[str, Any]) -> NodeMerge:
    """A node merge with the nulls of `props` dropped (Neo4j stores no nulls). Most codecs
    encode none (Codec.encode_carried leaves them out), so `props` is copied only when it holds
    one: a large run lays out ~500 nodes."""
    if None in props.values():
        props = {k: v for k, v in props.items() if v is not None}
    return NodeMerge(label, key, props, {})


def _rel(rel_type: str, start: str, end: str,
         props: Mapping[str, Any] | None = None) -> RelationshipMerge:
    return RelationshipMerge(rel_type, start, end, {} if props is None else props)


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
    wire: Mapping[str, Any]  # the normalized run's wire dict: what is hashed and laid out
    nodes: tuple[NodeMerge, ...]
    relationships: tuple[RelationshipMerge, ...]
    blob: BlobOffload | None = None
    # The normalized RunResult when the mapper had it; else validated from `wire` on first use.
    validated: RunResult | None = field(default=None, compare=False, repr=False)

    @property
    def normalized(self) -> RunResult:
        """The normalized run (validated from `wire` only if asked for and not at hand)."""
        run = self.validated
        if run is None:  # a normalized copy: its outputRefs were verified on its way in
            run = RunResult.model_validate(self.wire, context=ALREADY_VALIDATED)
            object.__setattr__(self, "validated", run)
        return run

    @property
    def replay_of(self) -> str | None:
        value = self.wire["metadata"].get("replayOf")
        return None if value is None else str(value)

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
    return _normalized(run)[0]


def _normalized(run: RunResult) -> tuple[RunResult, dict[str, Any]]:
    """The normalized run and its wire dict: serialized once and validated once."""
    return normalize_wire(run.to_wire(), serialized=True)


def normalize_wire(wire_in: Mapping[str, Any], *, serialized: bool = False
                   ) -> tuple[RunResult, dict[str, Any]]:
    """A run given in wire form (a RunResult's, or one assembled by the pipeline), normalized
    and validated once: the RunResult and its wire dict. `serialized`: `wire_in` is a validated
    RunResult's to_wire() (its outputRefs verified), so the normalized dict is what the
    validated run serializes to (a property test says so) and is not serialized again;
    otherwise (a dict assembled by hand, whose defaults and number forms may differ) the
    validated run is serialized, and the outputRefs it carries are verified. A succeeded
    invocation without an outputRef gets one here, hashed from its artifact as stored
    (contracts.output_ref). Raises pydantic's ValidationError when the run breaks the contract."""
    stripped = strip_transient(dict(wire_in))  # free-form objects carry "_"-prefixed keys
    assert isinstance(stripped, dict)
    wire: dict[str, Any] = stripped
    meta = wire["metadata"]
    snapshot, truncated = _bounded_snapshot(meta.get("configSnapshot", {}),
                                            CONFIG_SNAPSHOT_MAX_BYTES)
    meta["configSnapshot"] = snapshot
    meta["configSnapshotTruncated"] = bool(meta.get("configSnapshotTruncated")) or truncated
    wire["agentHistory"] = sorted(wire.get("agentHistory", []), key=lambda e: e["sequence"])
    run = RunResult.model_validate(wire, context=ALREADY_VALIDATED if serialized else None)
    out = wire if serialized else run.to_wire()
    entries = list(run.agent_history)
    refs: dict[str, str] = {}  # each artifact hashed once
    for i, entry in enumerate(out["agentHistory"]):
        name = _wire_artifact(entry["agent"])
        artifact = out.get(name)
        if "outputRef" not in entry and entry["status"] == "succeeded" and artifact is not None:
            if name not in refs:
                refs[name] = output_ref(artifact)
            entry["outputRef"] = refs[name]
            entries[i] = entries[i].model_copy(update={"output_ref": refs[name]})
    if refs:
        run = run.model_copy(update={"agent_history": entries})
    return run, out


def _wire_artifact(agent: str) -> str:
    return WIRE_NAME[ARTIFACT_OF[agent]]


# --- mapping -----------------------------------------------------------------------------------


def map_run_to_graph(run: RunResult, *, normalized: bool = False, checksum: str | None = None,
                     max_elements: int = MAX_WRITE_SET_ELEMENTS,
                     blob_threshold: int = BLOB_THRESHOLD_BYTES) -> GraphWriteSet:
    """Lay out one run as node merges and relationships. Refuses a write set over the limit.

    `normalized=True`: the run is already `normalize_run`'s output (validated at the boundary),
    so it is serialized once and neither normalized nor validated again; `checksum`, when given,
    is its known checksum (the outbox's) and is not computed again."""
    if normalized:
        wire = run.to_wire()
    else:
        run, wire = _normalized(run)
        checksum = None  # the normalized form's checksum is computed here
    return _layout(wire, run_checksum=checksum, run=run, max_elements=max_elements,
                   blob_threshold=blob_threshold)


def map_normalized_to_graph(wire: Mapping[str, Any], *, checksum: str | None = None,
                            max_elements: int = MAX_WRITE_SET_ELEMENTS,
                            blob_threshold: int = BLOB_THRESHOLD_BYTES) -> GraphWriteSet:
    """Lay out a run given as the wire dict of a normalized run (`normalize_run(run).to_wire()`,
    as the outbox holds it), with its checksum when known. Trusts its input: no pydantic, no
    normalization; the dict is read, never changed. The write set's `normalized` RunResult is
    validated from it only if someone asks for it."""
    return _layout(wire, run_checksum=checksum, run=None, max_elements=max_elements,
                   blob_threshold=blob_threshold)


_TIMESTAMP: TypeAdapter[datetime] = TypeAdapter(AwareDatetime)  # as the contract parses it


def _layout(wire: Mapping[str, Any], *, run_checksum: str | None, run: RunResult | None,
            max_elements: int, blob_threshold: int) -> GraphWriteSet:
    meta = wire["metadata"]
    run_id: str = meta["id"]
    if run_checksum is None:
        run_checksum = checksum(wire)
    if run is not None:
        started_at, contract_version = run.metadata.timestamp, run.request.config.version
    else:
        started_at = _TIMESTAMP.validate_python(meta["timestamp"])
        contract_version = wire["request"].get("config", {}).get("version", CONTRACT_VERSION)
    nodes: list[NodeMerge] = []
    rels: list[RelationshipMerge] = []
    blob: BlobOffload | None = None

    nodes.append(_node("OrchestrationRun", run_id, OrchestrationRunCodec.encode(
        meta, started_at=started_at, checksum=run_checksum,
        schema_version=GRAPH_SCHEMA_VERSION, contract_version=contract_version)))

    request = wire["request"]
    request_key = checksum(request)
    nodes.append(_node("UserRequest", request_key, UserRequestCodec.encode(request)))
    rels.append(_rel("TRIGGERED", request_key, run_id, TriggeredCodec.encode(run_id)))

    if (recipe := wire.get("recipe")) is not None:
        recipe_key = checksum(recipe)
        nodes.append(_node("RecipeVersion", recipe_key, RecipeVersionCodec.encode(recipe)))
        rels.append(_rel("USED_RECIPE", run_id, recipe_key))
        for position, ing in enumerate(recipe["ingredients"]):
            nodes.append(_node("Ingredient", ing["id"], IngredientCodec.encode(ing)))
            rels.append(_rel("HAS_INGREDIENT", recipe_key, ing["id"],
                             HasIngredientCodec.encode(ing, position)))

    if (calc := wire.get("calculation")) is not None:
        nodes.append(_node("CalculationResult", run_id, CalculationResultCodec.encode(calc)))
        rels.append(_rel("PRODUCED_CALCULATION", run_id, run_id))

    if (graph := wire.get("graph")) is not None:
        props, offload = GraphSnapshotCodec.encode(graph, blob_threshold=blob_threshold)
        if offload is not None:
            blob = BlobOffload(props["blobSha256"], offload)
        nodes.append(_node("GraphSnapshot", run_id, props))
        rels.append(_rel("PRODUCED_GRAPH", run_id, run_id))

    if (val := wire.get("validation")) is not None:
        nodes.append(_node("ValidationReport", run_id, ValidationReportCodec.encode(val)))
        rels.append(_rel("PRODUCED_VALIDATION", run_id, run_id))

    if (ui := wire.get("uiConfig")) is not None:
        nodes.append(_node("UIConfig", run_id, UIConfigCodec.encode(ui)))
        rels.append(_rel("PRODUCED_UI", run_id, run_id))

    for entry in wire["agentHistory"]:
        invocation_id = AgentInvocationCodec.invocation_id(run_id, entry["sequence"])
        nodes.append(_node("AgentInvocation", invocation_id,
                           AgentInvocationCodec.encode(entry, run_id=run_id)))
        rels.append(_rel("HAS_AGENT_INVOCATION", run_id, invocation_id,
                         HasAgentInvocationCodec.encode(entry)))

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
        wire=wire,
        nodes=tuple(nodes),
        relationships=tuple(rels),
        blob=blob,
        validated=run,
    )

