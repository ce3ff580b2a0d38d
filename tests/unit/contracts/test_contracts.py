"""The v1 data contract: wire format, field-path errors, consistency rules, hand-off envelope."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from contracts import (
    ContractError,
    EnvelopeError,
    InputContract,
    RunResult,
    generate_schemas,
    open_envelope,
    parse_input,
    parse_run_result,
    parse_run_results_document,
    seal,
)
from tests.conftest import ENVELOPE_KEYS
from tools.synthetic import make_run

ROOT = Path(__file__).resolve().parents[3]


def _wire(now, **kw):  # type: ignore[no-untyped-def]
    return make_run(1, now=now, **kw).to_wire()


def _fields(exc: ContractError) -> list[str]:
    return [e["field"] for e in exc.errors]


def test_wire_format_is_camel_case_and_round_trips(now):
    """Models read and write camelCase and a dump parses back to an equal model."""
    run = make_run(1, now=now)
    wire = run.to_wire()
    assert {"metadata", "request", "recipe", "uiConfig", "agentHistory"} <= wire.keys()
    assert "targetBatchSize" in wire["request"] and "totalPercentage" in wire["recipe"]
    assert parse_run_result(wire) == run


def test_input_defaults_version_v1():
    """config.version defaults to v1 and the context maps default to empty."""
    request = parse_input({"userRequest": "lemon vinaigrette", "targetBatchSize": 5,
                           "targetUnit": "kg"})
    assert request.config.version == "v1"
    assert request.context.cost_map == {} and request.context.density_map == {}


@pytest.mark.parametrize(
    ("mutate", "field", "fragment"),
    [
        (lambda w: w["recipe"]["ingredients"][3].update(percentage=-4),
         "recipe.ingredients[3].percentage", "greater than or equal to 0"),
        (lambda w: w["recipe"]["ingredients"][1].update(percentage="12.5"),
         "recipe.ingredients[1].percentage", "valid number"),
        (lambda w: w["request"].update(targetBatchSize=float("nan")),
         "request.targetBatchSize", "finite"),
        (lambda w: w["request"].update(targetUnit="furlong"), "request.targetUnit", "furlong"),
        (lambda w: w["recipe"]["ingredients"][2].pop("name"), "recipe.ingredients[2].name",
         "required"),
        (lambda w: w["recipe"]["ingredients"][4].update(id=w["recipe"]["ingredients"][0]["id"]),
         "recipe.ingredients[4].id", "duplicate"),
        (lambda w: w["graph"]["edges"][0].update(target="nowhere"), "graph.edges[0].target",
         "not in graph.nodes"),
        (lambda w: w["calculation"].update(recipeId="other"), "calculation.recipeId",
         "recipe.id"),
        (lambda w: w["metadata"].update(surprise=1), "metadata.surprise", "not permitted"),
    ],
)
def test_errors_name_the_field_path(now, mutate, field, fragment):
    """Every validation error names the camelCase field path of the bad value."""
    wire = _wire(now)
    mutate(wire)
    with pytest.raises(ContractError) as info:
        parse_run_result(wire)
    assert field in _fields(info.value)
    message = next(e["message"] for e in info.value.errors if e["field"] == field)
    assert fragment in message
    assert field in str(info.value)


def test_twenty_ingredients_accepted_twenty_one_refused(now):
    """Section 7 caps a recipe at 20 ingredients: 20 pass, 21 are refused naming the field."""
    assert len(make_run(2, now=now, ingredients=20).recipe.ingredients) == 20
    wire = make_run(2, now=now, ingredients=20).to_wire()
    wire["recipe"]["ingredients"].append({"id": "ing-extra", "name": "Extra", "percentage": 0})
    with pytest.raises(ContractError) as info:
        parse_run_result(wire)
    assert "recipe.ingredients" in _fields(info.value)
    assert "at most 20" in str(info.value)


def test_failed_run_may_lack_later_artifacts(now):
    """A run failed at GraphBuilder carries recipe and calculation but no later artifacts."""
    run = make_run(3, now=now, failed_agent="GraphBuilder")
    assert run.metadata.status == "failed" and run.metadata.failed_agent == "GraphBuilder"
    assert run.calculation is not None and run.graph is None and run.ui_config is None


def test_artifacts_form_a_prefix_of_the_stage_order(now):
    """An artifact after a missing one is refused (a graph without its calculation)."""
    wire = _wire(now, failed_agent="UIDesigner")
    del wire["calculation"]
    with pytest.raises(ContractError) as info:
        parse_run_result(wire)
    assert "graph" in _fields(info.value)


def test_succeeded_run_needs_every_artifact(now):
    """A run marked succeeded without its uiConfig is refused at metadata.status."""
    wire = _wire(now)
    del wire["uiConfig"]
    with pytest.raises(ContractError) as info:
        parse_run_result(wire)
    assert "metadata.status" in _fields(info.value)


def test_non_ascii_text_is_kept_exactly(now):
    """Accents, CJK and emoji survive validation and the wire format unchanged."""
    wire = _wire(now)
    wire["request"]["userRequest"] = "vinaigrette au citron 🍋, 5 kg — 柠檬"
    run = parse_run_result(wire)
    assert run.to_wire()["request"]["userRequest"] == "vinaigrette au citron 🍋, 5 kg — 柠檬"


def test_json_lines_document_reports_line_numbers(now):
    """A JSON Lines document with a bad second line names that line and the field."""
    good = make_run(1, now=now).model_dump_json(by_alias=True, exclude_none=True)
    bad = _wire(now)
    bad["request"]["targetBatchSize"] = 0
    import json

    with pytest.raises(ContractError) as info:
        parse_run_results_document(good + "\n" + json.dumps(bad) + "\n")
    assert "line 2: request.targetBatchSize" in _fields(info.value)
    assert len(parse_run_results_document(good + "\n" + good + "\n")) == 2


def test_empty_document_is_refused():
    """An empty document is an error, not zero runs."""
    with pytest.raises(ContractError):
        parse_run_results_document("  \n")


def test_envelope_signature_and_expiry(now):
    """A sealed envelope opens; a tampered payload or a passed deadline is refused."""
    envelope = seal({"a": 1}, agent="RecipeEngineer", run_id="run-1", sequence=1,
                    expires_at=now + timedelta(minutes=5), keys=ENVELOPE_KEYS)
    assert open_envelope(envelope, now=now, keys=ENVELOPE_KEYS) == {"a": 1}
    tampered = envelope.model_copy(update={"payload": {"a": 2}})
    with pytest.raises(EnvelopeError, match="fails its signature"):
        open_envelope(tampered, now=now, keys=ENVELOPE_KEYS)
    with pytest.raises(EnvelopeError, match="expired"):
        open_envelope(envelope, now=now + timedelta(minutes=6), keys=ENVELOPE_KEYS)


def test_input_refuses_blank_request():
    """A request of only white space is refused at userRequest."""
    with pytest.raises(ContractError) as info:
        parse_input({"userRequest": "   ", "targetBatchSize": 1, "targetUnit": "kg"})
    assert "userRequest" in _fields(info.value)


def test_schemas_committed_match_the_models():
    """schemas/v1 holds exactly what the models generate (regenerate with export_schemas)."""
    folder = ROOT / "schemas" / "v1"
    generated = generate_schemas()
    assert sorted(p.name for p in folder.glob("*.json")) == sorted(generated)
    for name, text in generated.items():
        assert (folder / name).read_text("utf-8") == text, f"{name} drifted"


def test_contract_is_pure():
    """The contract package imports neither django, neo4j nor celery."""
    code = ("import sys, contracts, tools.synthetic;"
            "bad = [m for m in ('django', 'neo4j', 'celery') if m in sys.modules];"
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_models_are_exported():
    """RunResult and InputContract are the public entry points."""
    assert RunResult.model_fields["ui_config"].alias == "uiConfig"
    assert InputContract.model_fields["target_batch_size"].alias == "targetBatchSize"


def test_nul_characters_are_refused_with_their_path(now):
    """A NUL character in any string (which PostgreSQL's jsonb cannot store) is refused,
    naming where it is; in a key too."""
    wire = _wire(now)
    wire["recipe"]["ingredients"][2]["name"] = "Olive\x00oil"
    wire["recipe"]["metadata"]["bad\x00key"] = 1
    with pytest.raises(ContractError) as info:
        parse_run_result(wire)
    assert set(_fields(info.value)) == {"recipe.ingredients[2].name", "recipe.metadata"}
    with pytest.raises(ContractError) as info:
        parse_input('{"userRequest": "lemon\\u0000", "targetBatchSize": 1, "targetUnit": "kg"}')
    assert _fields(info.value) == ["userRequest"]
