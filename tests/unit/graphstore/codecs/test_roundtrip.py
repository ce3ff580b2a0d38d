"""Each label's codec: encode -> (Neo4j keeps no nulls) -> decode gives back the wire part."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings

from contracts import RunResult, checksum
from graphstore.codecs import (
    ISSUE_LISTS,
    NODE_CODECS,
    REL_CODECS,
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
from graphstore.codecs.base import CONTENT
from graphstore.mapper import normalize_run
from tests.strategies import rich_run_results

EXAMPLES = settings(max_examples=25, deadline=None)


def stored(props: dict[str, Any]) -> dict[str, Any]:
    """What Neo4j keeps of a property map: no nulls."""
    return {k: v for k, v in props.items() if v is not None}


def wire_of(run: RunResult) -> dict[str, Any]:
    return normalize_run(run).to_wire()


def encode_run(run: RunResult) -> dict[str, Any]:
    """The run node as stored: the codec's properties and the merge key."""
    normalized = normalize_run(run)
    return {"runId": normalized.run_id, **OrchestrationRunCodec.encode(
        normalized.to_wire()["metadata"], started_at=normalized.metadata.timestamp,
        checksum="c" * 64, schema_version="v", contract_version="1")}


@EXAMPLES
@given(rich_run_results())
def test_orchestration_run_round_trips(run):
    """The run node gives back the wire metadata."""
    assert OrchestrationRunCodec.decode(stored(encode_run(run))) == wire_of(run)["metadata"]


@EXAMPLES
@given(rich_run_results())
def test_user_request_round_trips(run):
    """The UserRequest node gives back the wire request."""
    request = wire_of(run)["request"]
    assert UserRequestCodec.decode(stored(UserRequestCodec.encode(request))) == request


@EXAMPLES
@given(rich_run_results())
def test_recipe_ingredients_and_has_ingredient_round_trip(run):
    """RecipeVersion with its HAS_INGREDIENT properties gives back the wire recipe; an
    Ingredient node gives back its id and name."""
    recipe = wire_of(run).get("recipe")
    if recipe is None:
        return
    uses = [{**stored(HasIngredientCodec.encode(ing, i)), "ingredientId": ing["id"]}
            for i, ing in enumerate(recipe["ingredients"])]
    assert RecipeVersionCodec.decode(stored(RecipeVersionCodec.encode(recipe)), uses) == recipe
    for ing in recipe["ingredients"]:
        props = {**stored(IngredientCodec.encode(ing)), "ingredientId": ing["id"]}
        assert IngredientCodec.decode(props) == {"id": ing["id"], "name": ing["name"]}


@EXAMPLES
@given(rich_run_results())
def test_calculation_round_trips(run):
    """The CalculationResult node gives back the wire calculation."""
    calc = wire_of(run).get("calculation")
    if calc is not None:
        assert CalculationResultCodec.decode(stored(CalculationResultCodec.encode(calc))) == calc


@EXAMPLES
@given(rich_run_results())
def test_graph_snapshot_round_trips_inline_and_through_a_blob(run):
    """The GraphSnapshot gives back the wire graph, with cypherCommands inline or in a blob."""
    graph = wire_of(run).get("graph")
    if graph is None:
        return
    props, blob = GraphSnapshotCodec.encode(graph, blob_threshold=10**9)
    assert blob is None and GraphSnapshotCodec.blob_of(props) is None
    assert GraphSnapshotCodec.decode(stored(props)) == graph
    props, blob = GraphSnapshotCodec.encode(graph, blob_threshold=0)
    assert blob is not None and "cypherCommands" not in props
    props.update(GraphSnapshotCodec.blob_uri("file:///blobs/x"))
    assert GraphSnapshotCodec.blob_of(props) == ("file:///blobs/x", props["blobSha256"])
    assert GraphSnapshotCodec.decode(stored(props), blob) == graph


@EXAMPLES
@given(rich_run_results())
def test_validation_round_trips_and_lists_its_issues(run):
    """The ValidationReport gives back the wire validation; its issue lists hold each issue's
    agent, field and severity in order."""
    val = wire_of(run).get("validation")
    if val is None:
        return
    props = stored(ValidationReportCodec.encode(val))
    assert ValidationReportCodec.decode(props) == val
    for kind, (agents, fields, severities) in ISSUE_LISTS.items():
        assert list(zip(props[agents], props[fields], props[severities], strict=True)) == [
            (i["agent"], i["field"], i["severity"]) for i in val[kind]]


@EXAMPLES
@given(rich_run_results())
def test_ui_config_round_trips(run):
    """The UIConfig node gives back the wire uiConfig."""
    ui = wire_of(run).get("uiConfig")
    if ui is not None:
        assert UIConfigCodec.decode(stored(UIConfigCodec.encode(ui))) == ui


@EXAMPLES
@given(rich_run_results())
def test_agent_invocations_round_trip_and_lose_transcripts_when_condensed(run):
    """An AgentInvocation gives back its agentHistory entry (transcript included); condensed,
    the entry has no transcript."""
    wire = wire_of(run)
    for entry in wire["agentHistory"]:
        props = stored(AgentInvocationCodec.encode(entry, run_id=wire["metadata"]["id"]))
        assert AgentInvocationCodec.decode(props) == entry
        condensed = {k: v for k, v in entry.items() if k != "transcript"}
        assert AgentInvocationCodec.decode(props, condensed=True) == condensed
        assert HasAgentInvocationCodec.encode(entry) == {"sequence": entry["sequence"]}


@EXAMPLES
@given(rich_run_results())
def test_the_codecs_together_rebuild_the_run_with_its_checksum(run):
    """Every codec's decode, assembled, validates into a run with the original checksum."""
    wire = wire_of(run)
    rebuilt: dict[str, Any] = {
        "metadata": OrchestrationRunCodec.decode(stored(encode_run(run))),
        "request": UserRequestCodec.decode(stored(UserRequestCodec.encode(wire["request"]))),
        "agentHistory": [AgentInvocationCodec.decode(stored(AgentInvocationCodec.encode(
            e, run_id="r"))) for e in wire["agentHistory"]],
    }
    for name, codec in (("calculation", CalculationResultCodec), ("validation",
                        ValidationReportCodec), ("uiConfig", UIConfigCodec)):
        if name in wire:
            rebuilt[name] = codec.decode(stored(codec.encode(wire[name])))
    if "graph" in wire:
        rebuilt["graph"] = GraphSnapshotCodec.decode(
            stored(GraphSnapshotCodec.encode(wire["graph"], blob_threshold=10**9)[0]))
    if "recipe" in wire:
        rebuilt["recipe"] = RecipeVersionCodec.decode(
            stored(RecipeVersionCodec.encode(wire["recipe"])),
            [{**HasIngredientCodec.encode(i, n), "ingredientId": i["id"]}
             for n, i in enumerate(wire["recipe"]["ingredients"])])
    assert checksum(RunResult.model_validate(rebuilt).to_wire()) == checksum(wire)


@EXAMPLES
@given(rich_run_results())
def test_encode_writes_only_declared_content_properties(run):
    """What each encode returns is declared in its codec's table as set by the content."""
    wire = wire_of(run)
    encoded: dict[str, list[dict[str, Any]]] = {
        "OrchestrationRun": [OrchestrationRunCodec.encode(
            wire["metadata"], started_at=run.metadata.timestamp, checksum="c", schema_version="v",
            contract_version="1")],
        "UserRequest": [UserRequestCodec.encode(wire["request"])],
        "AgentInvocation": [AgentInvocationCodec.encode(e, run_id="r")
                            for e in wire["agentHistory"]],
        "TRIGGERED": [TriggeredCodec.encode("r")],
        "HAS_AGENT_INVOCATION": [HasAgentInvocationCodec.encode(e)
                                 for e in wire["agentHistory"]],
    }
    if "recipe" in wire:
        encoded["RecipeVersion"] = [RecipeVersionCodec.encode(wire["recipe"])]
        encoded["Ingredient"] = [IngredientCodec.encode(i) for i in wire["recipe"]["ingredients"]]
        encoded["HAS_INGREDIENT"] = [HasIngredientCodec.encode(i, 0)
                                     for i in wire["recipe"]["ingredients"]]
    for name, codec in (("CalculationResult", CalculationResultCodec),
                        ("ValidationReport", ValidationReportCodec), ("UIConfig", UIConfigCodec)):
        part = wire.get({"CalculationResult": "calculation", "ValidationReport": "validation",
                         "UIConfig": "uiConfig"}[name])
        if part is not None:
            encoded[name] = [codec.encode(part)]
    if "graph" in wire:
        encoded["GraphSnapshot"] = [GraphSnapshotCodec.encode(wire["graph"], blob_threshold=0)[0]]
    codecs = {**NODE_CODECS, **REL_CODECS}
    for name, maps in encoded.items():
        declared = set(codecs[name].names(set_by=CONTENT))
        for props in maps:
            assert set(props) <= declared, (name, set(props) - declared)
