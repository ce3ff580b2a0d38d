"""map_run_to_graph: normalization, checksums, dedupe, limits, blob threshold, purity."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings

from contracts import (
    RunResult,
    canonical_json,
    checksum,
    output_ref,
    parse_run_result,
    sha256_hex,
)
from graphstore.mapper import (
    BLOB_THRESHOLD_BYTES,
    CONFIG_SNAPSHOT_MAX_BYTES,
    WriteSetTooLarge,
    _normalized,
    map_normalized_to_graph,
    map_run_to_graph,
    normalize_run,
    normalize_wire,
)
from graphstore.schema import LABEL_BY_NAME, REL_BY_NAME
from tests.strategies import rich_run_results, run_results
from tools.synthetic import make_run

ROOT = Path(__file__).resolve().parents[3]


def with_commands_size(run: RunResult, size: int) -> RunResult:
    """The run with cypherCommands whose canonical JSON is exactly `size` bytes of UTF-8."""
    wire = run.to_wire()
    command = {"statement": "RETURN $padding", "parameters": {"padding": ""}}
    wire["graph"]["cypherCommands"] = [command]
    base = len(canonical_json([command]).encode("utf-8"))
    command["parameters"]["padding"] = "é" * ((size - base) // 2) + "x" * ((size - base) % 2)
    result = RunResult.model_validate(wire)
    assert len(canonical_json(result.to_wire()["graph"]["cypherCommands"]).encode()) == size
    return result


@settings(max_examples=60, deadline=None)
@given(run_results())
def test_mapping_is_deterministic(run):
    """The same run always maps to the same write set and checksum."""
    assert map_run_to_graph(run) == map_run_to_graph(RunResult.model_validate(run.to_wire()))


@settings(max_examples=60, deadline=None)
@given(rich_run_results())
def test_the_normalized_wire_is_what_the_normalized_run_serializes_to(run):
    """The mapper serializes and validates a run once: the wire dict it keeps (and hashes) is
    exactly what the validated, normalized run serializes to, and normalizing is idempotent."""
    normalized, wire = _normalized(run)
    assert wire == normalized.to_wire()
    assert _normalized(normalized)[1] == wire


@pytest.fixture
def pydantic_calls(monkeypatch):
    """Counts of RunResult.to_wire and RunResult.model_validate calls from here on."""
    calls = {"to_wire": 0, "model_validate": 0}
    to_wire, model_validate = RunResult.to_wire, RunResult.model_validate.__func__

    def counting_to_wire(self):
        calls["to_wire"] += 1
        return to_wire(self)

    def counting_validate(cls, *args, **kwargs):
        calls["model_validate"] += 1
        return model_validate(cls, *args, **kwargs)

    monkeypatch.setattr(RunResult, "to_wire", counting_to_wire)
    monkeypatch.setattr(RunResult, "model_validate", classmethod(counting_validate))
    return calls


def test_mapping_serializes_and_validates_once(now, pydantic_calls):
    """map_run_to_graph calls to_wire once and model_validate once per run."""
    run = make_run(3, now=now)
    pydantic_calls.update(to_wire=0, model_validate=0)  # count the mapping only
    map_run_to_graph(run)
    assert pydantic_calls == {"to_wire": 1, "model_validate": 1}


@settings(max_examples=60, deadline=None)
@given(run_results())
def test_every_relationship_endpoint_is_a_node_of_the_write_set(run):
    """Each relationship joins two nodes merged in the same write set, with matching labels."""
    ws = map_run_to_graph(run)
    keys = {(n.label, n.key) for n in ws.nodes}
    assert len(keys) == len(ws.nodes), "a node is merged twice"
    for rel in ws.relationships:
        rtype = REL_BY_NAME[rel.type]
        assert (rtype.start, rel.start) in keys and (rtype.end, rel.end) in keys


def test_write_set_shape_of_a_complete_run(now):
    """A complete run: one node per artifact, shared nodes keyed by content, one invocation
    per history entry, HAS_INGREDIENT carrying percentage, function and category."""
    run = make_run(7, now=now, ingredients=6)
    ws = map_run_to_graph(run)
    counts = {label: len(ws.nodes_of(label)) for label in LABEL_BY_NAME}
    assert counts == {"UserRequest": 1, "RecipeVersion": 1, "Ingredient": 6,
                      "OrchestrationRun": 1, "CalculationResult": 1, "GraphSnapshot": 1,
                      "ValidationReport": 1, "UIConfig": 1, "AgentInvocation": 5}
    uses = ws.relationships_of("HAS_INGREDIENT")
    assert [u.properties["position"] for u in uses] != [] and len(uses) == 6
    first = run.recipe.ingredients[0]
    use = next(u for u in uses if u.end == first.id)
    assert (use.properties["percentage"], use.properties["function"],
            use.properties["category"]) == (first.percentage, first.function, first.category)


def test_recipe_and_request_deduplicate_by_content(now):
    """Two runs with the same recipe and request content share those nodes' keys."""
    a = map_run_to_graph(make_run(14, now=now, run_id="run-a"))
    b = map_run_to_graph(make_run(14, now=now, run_id="run-b"))
    assert a.nodes_of("RecipeVersion")[0].key == b.nodes_of("RecipeVersion")[0].key
    assert a.nodes_of("UserRequest")[0].key == b.nodes_of("UserRequest")[0].key
    assert a.nodes_of("OrchestrationRun")[0].key != b.nodes_of("OrchestrationRun")[0].key


def test_agent_history_is_ordered_and_carries_refs_not_payloads(now):
    """AgentInvocations come in sequence order with outputRef = sha256 of the artifact."""
    wire = make_run(5, now=now).to_wire()
    wire["agentHistory"].reverse()
    ws = map_run_to_graph(RunResult.model_validate(wire))
    invocations = ws.nodes_of("AgentInvocation")
    assert [n.on_create["sequence"] for n in invocations] == [1, 2, 3, 4, 5]
    for node in invocations:
        assert node.on_create["outputRef"].startswith("sha256:")
        assert set(node.on_create) <= {"runId", "sequence", "agent", "timestamp", "duration",
                                       "status", "error", "outputRef", "memoryMb", "rssMb",
                                       "budgetDurationMs", "budgetMemoryMb", "budgetBreaches",
                                       "budgetBreached"}


def test_transient_keys_are_dropped(now):
    """Keys starting with "_" in free-form objects are not stored and not checksummed."""
    wire = make_run(5, now=now).to_wire()
    clean = map_run_to_graph(RunResult.model_validate(wire))
    wire["recipe"]["metadata"]["_scratch"] = {"tokens": 123}
    wire["metadata"]["configSnapshot"]["_debug"] = True
    noisy = map_run_to_graph(RunResult.model_validate(wire))
    assert noisy.checksum == clean.checksum
    assert "_scratch" not in noisy.nodes_of("RecipeVersion")[0].on_create["metadata"]


def test_config_snapshot_is_truncated_with_a_flag(now):
    """An oversized configSnapshot is cut to the bound and flagged configSnapshotTruncated."""
    wire = make_run(5, now=now).to_wire()
    wire["metadata"]["configSnapshot"] = {f"k{i:03d}": "v" * 100 for i in range(100)}
    normalized = normalize_run(RunResult.model_validate(wire))
    size = len(canonical_json(normalized.metadata.config_snapshot).encode())
    assert normalized.metadata.config_snapshot_truncated is True
    assert 0 < size <= CONFIG_SNAPSHOT_MAX_BYTES
    assert not normalize_run(make_run(5, now=now)).metadata.config_snapshot_truncated


def test_write_set_over_500_is_refused_with_counts(now):
    """501 nodes plus relationships are refused with both counts; 499 pass. (A run's write set
    is a tree around the run node, so its size is always odd: 500 cannot occur.)"""
    # 1 ingredient: 8 nodes and 7 relationships, plus a node and a relationship per history entry.
    assert map_run_to_graph(make_run(9, now=now, ingredients=1, history=242)).size == 499
    with pytest.raises(WriteSetTooLarge) as info:
        map_run_to_graph(make_run(9, now=now, ingredients=1, history=243))
    err = info.value
    assert (err.nodes, err.relationships, err.limit) == (251, 250, 500)
    assert "251 nodes and 250 relationships (501 in all)" in str(err)


def test_blob_threshold_is_exactly_32768_bytes(now):
    """cypherCommands of 32,768 bytes stay inline; 32,769 bytes go to the blob store."""
    run = make_run(11, now=now)
    inline = map_run_to_graph(with_commands_size(run, BLOB_THRESHOLD_BYTES))
    assert inline.blob is None
    assert "cypherCommands" in inline.nodes_of("GraphSnapshot")[0].on_create
    offload = map_run_to_graph(with_commands_size(run, BLOB_THRESHOLD_BYTES + 1))
    assert offload.blob is not None and len(offload.blob.data) == BLOB_THRESHOLD_BYTES + 1
    props = offload.nodes_of("GraphSnapshot")[0].on_create
    assert "cypherCommands" not in props
    assert props["blobSha256"] == offload.blob.sha256 and props["blobSize"] == 32_769


def test_mapper_is_pure():
    """The mapper, codecs, Cypher and schema modules import neither neo4j, django nor celery."""
    code = ("import sys, graphstore.mapper, graphstore.cypher, graphstore.schema,"
            " graphstore.codecs;"
            "bad = [m for m in ('django', 'neo4j', 'celery') if m in sys.modules];"
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


# --- a run normalized at the boundary is mapped without validating it again -------------------


@settings(max_examples=60, deadline=None)
@given(rich_run_results())
def test_a_normalized_run_maps_to_the_same_write_set_without_revalidation(run):
    """The outbox's wire dict (and its checksum), or the normalized RunResult, lay out exactly
    the write set of the raw run: same keys, properties, order, checksum, blob."""
    expected = map_run_to_graph(run)
    normalized = normalize_run(run)
    wire = normalized.to_wire()
    from_wire = map_normalized_to_graph(wire, checksum=checksum(wire))
    assert from_wire == expected
    assert map_normalized_to_graph(wire) == expected  # checksum computed when not given
    assert map_run_to_graph(normalized, normalized=True) == expected
    assert from_wire.nodes_of("OrchestrationRun")[0].on_create["startedAt"] == \
        expected.nodes_of("OrchestrationRun")[0].on_create["startedAt"]
    assert from_wire.normalized == expected.normalized == normalized
    assert from_wire.replay_of == normalized.metadata.replay_of


def test_the_normalized_entry_points_neither_validate_nor_serialize_again(now, pydantic_calls):
    """map_normalized_to_graph uses no pydantic model at all; normalized=True serializes once
    and validates nothing."""
    wire = normalize_run(make_run(3, now=now)).to_wire()
    normalized = normalize_run(make_run(3, now=now))
    pydantic_calls.update(to_wire=0, model_validate=0)  # count the mapping only
    map_normalized_to_graph(wire, checksum="0" * 64)
    assert pydantic_calls == {"to_wire": 0, "model_validate": 0}
    map_run_to_graph(normalized, normalized=True)
    assert pydantic_calls == {"to_wire": 1, "model_validate": 0}


def test_the_outbox_wire_is_read_not_changed(now):
    """Mapping the outbox's dict leaves it as it was (the ledger keeps it)."""
    wire = normalize_run(make_run(4, now=now, ingredients=12)).to_wire()
    before = copy.deepcopy(wire)
    map_normalized_to_graph(wire)
    assert wire == before


def test_each_artifact_is_hashed_once_for_output_refs(now, monkeypatch):
    """Filling in the outputRefs of a run with a long agentHistory (failed attempts retried)
    hashes each artifact once, and only there: the validation does not hash them too."""
    import contracts.run
    import graphstore.mapper as mapper

    run = make_run(9, now=now, ingredients=1, history=242)
    assert all(e.output_ref is None for e in run.agent_history)
    hashed: list[str] = []
    real = mapper.output_ref

    def counting(value):  # type: ignore[no-untyped-def]
        hashed.append(canonical_json(value))
        return real(value)

    monkeypatch.setattr(mapper, "output_ref", counting)
    monkeypatch.setattr(contracts.run, "output_ref", counting)
    normalized, _ = _normalized(run)
    assert len(hashed) == len(set(hashed)) == 5
    assert all(e.output_ref for e in normalized.agent_history if e.status == "succeeded")
    hashed.clear()
    _normalized(normalized)  # a validated run's outputRefs are not verified again
    assert hashed == []


def test_output_refs_are_filled_from_the_stored_artifact(now):
    """An outputRef filled in is the hash of the artifact as stored: its transient keys dropped
    and its numbers as the contract writes them (a hand-made 5 is 5.0), so it verifies."""
    wire = make_run(9, now=now).to_wire()
    wire["recipe"]["metadata"]["_debug"] = {"trace": [1, 2, 3]}
    wire["recipe"]["totalPercentage"] = 100  # an int where the contract writes 100.0
    run, out = normalize_wire(wire)
    stored = {k: v for k, v in wire["recipe"].items()}
    stored["metadata"] = {k: v for k, v in stored["metadata"].items() if k != "_debug"}
    stored["totalPercentage"] = 100.0
    ref = next(e["outputRef"] for e in out["agentHistory"] if e["agent"] == "RecipeEngineer")
    assert ref == f"sha256:{sha256_hex(canonical_json(stored))}" == output_ref(run.recipe)
    assert run.agent_history[0].output_ref == ref
    assert parse_run_result(out) == run
