"""The v1 data contract: wire format, field-path errors, consistency rules, hand-off envelope."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import get_args, get_origin

import pytest
from pydantic import AwareDatetime, BaseModel, ValidationError

import contracts
from contracts import (
    ContractError,
    EnvelopeError,
    InputContract,
    RunResult,
    envelope_from_wire,
    envelope_to_wire,
    generate_schemas,
    open_envelope,
    parse_input,
    parse_run_result,
    parse_run_results_document,
    seal,
)
from contracts.base import _representable_in_utc
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


# --- timestamps: every one can be converted to UTC ------------------------------------------------

# Every datetime field of the contract, as a wire path (list items as []): checked against the
# models by test_every_datetime_field_is_listed.
DATETIME_FIELDS = {
    "RunResult": {"metadata.timestamp", "metadata.condensed.condensedAt", "calculation.timestamp",
                  "validation.timestamp", "agentHistory[].timestamp"},
    "HandoffEnvelope": {"expiresAt"},
}


def _datetime_paths(model: type, prefix: str = "") -> set[str]:
    """Wire paths of the datetime fields of `model` and of the models inside it; "(unchecked)"
    after those that do not check that the time can be converted to UTC."""
    out: set[str] = set()
    for name, info in model.model_fields.items():  # type: ignore[attr-defined]
        path = f"{prefix}{info.alias or name}"
        stack, suffix = [info.annotation], ""
        checked = any(getattr(m, "func", None) is _representable_in_utc for m in info.metadata)
        while stack:
            annotation = stack.pop()
            if annotation in (datetime, AwareDatetime):
                out.add(path + suffix + ("" if checked else " (unchecked)"))
            elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
                out |= _datetime_paths(annotation, f"{path}{suffix}.")
            else:
                if get_origin(annotation) is list:
                    suffix = "[]"
                stack += [a for a in get_args(annotation) if a is not type(None)]
    return out


def test_every_datetime_field_is_listed():
    """The datetime fields tested below are every datetime field of the contract."""
    assert {name: _datetime_paths(getattr(contracts, name))
            for name in DATETIME_FIELDS} == DATETIME_FIELDS


def _condensed(wire: dict) -> dict:  # type: ignore[type-arg]
    for name in ("graph", "validation", "uiConfig"):
        del wire[name]
    wire["metadata"]["condensed"] = {"condensedAt": "2026-12-30T00:00:00Z",
                                     "removed": ["graph", "validation", "uiConfig"]}
    return wire


@pytest.mark.parametrize("value", ["9999-12-31T22:00:00-05:00", "9999-12-31T23:59:59-00:01",
                                   "0001-01-01T03:00:00+05:00", "0001-01-01T00:00:00+00:01"])
@pytest.mark.parametrize("path", [("metadata", "timestamp"), ("agentHistory", 2, "timestamp"),
                                  ("calculation", "timestamp"), ("validation", "timestamp"),
                                  ("metadata", "condensed", "condensedAt")])
def test_a_timestamp_outside_utc_range_is_refused_naming_the_field(now, path, value):
    """A timestamp whose UTC time falls outside years 1 to 9999 (the ledger and every reader
    convert to UTC) is refused naming its field path, wherever it is."""
    wire = _wire(now)
    if path[1] == "condensed":
        wire = _condensed(wire)
    target = wire
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    with pytest.raises(ContractError) as info:
        parse_run_result(wire)
    field = ".".join(str(p) for p in path).replace(".2.", "[2].")
    assert _fields(info.value) == [field]
    assert "cannot be represented in UTC" in info.value.errors[0]["message"]


@pytest.mark.parametrize("value", ["9999-12-31T23:59:59.999999Z", "9999-12-31T18:59:59-05:00",
                                   "0001-01-01T00:00:00Z", "0001-01-01T05:00:00+05:00"])
def test_timestamps_at_the_edges_of_utc_are_accepted(now, value):
    """The first and last instants that UTC can hold are accepted, with an offset too."""
    wire = _wire(now)
    wire["metadata"]["timestamp"] = value
    wire["agentHistory"][0]["timestamp"] = value
    run = parse_run_result(wire)
    assert run.metadata.timestamp.astimezone(UTC).year in (1, 9999)


def test_an_envelope_deadline_outside_utc_range_is_refused():
    """A hand-off envelope whose expiresAt cannot be converted to UTC does not open."""
    envelope = seal({"a": 1}, agent="RecipeEngineer", run_id="run-1", sequence=1,
                    expires_at=datetime(2026, 1, 1, tzinfo=UTC), keys=ENVELOPE_KEYS)
    wire = {**envelope_to_wire(envelope), "expiresAt": "9999-12-31T22:00:00-05:00"}
    with pytest.raises(ValidationError, match="cannot be represented in UTC"):
        envelope_from_wire(wire)


# --- documents: ingest_run's parsing --------------------------------------------------------------


@pytest.mark.parametrize("depth", [250, 900, 100_000])
def test_a_document_nested_too_deeply_is_a_contract_error_naming_the_line(now, depth):
    """Nesting beyond the JSON parser's limit is refused as POST /runs refuses it (not a
    RecursionError), naming the line, for JSON Lines and for a one-line document."""
    deep = "[" * depth + "1" + "]" * depth
    good = make_run(1, now=now).model_dump_json(by_alias=True, exclude_none=True)
    bad = good.replace('"metadata":{"domain"', f'"metadata":{{"deep":{deep},"domain"', 1)
    assert bad != good
    for text, line in [(bad, 1), (good + "\n" + bad + "\n", 2)]:
        with pytest.raises(ContractError) as info:
            parse_run_results_document(text)
        assert _fields(info.value) == [f"line {line}: (root)"]
        assert "recursion limit exceeded" in info.value.errors[0]["message"]


def test_a_multi_line_document_too_deep_names_the_line_inside_it(now):
    """One pretty-printed run nested too deeply is one error, naming its line and column."""
    wire = _wire(now)
    nested: object = 1
    for _ in range(300):
        nested = [nested]
    wire["recipe"]["metadata"]["deep"] = nested
    text = json.dumps(wire, indent=1)
    with pytest.raises(ContractError) as info:
        parse_run_results_document(text)
    assert len(info.value.errors) == 1
    assert "recursion limit exceeded at line" in info.value.errors[0]["message"]


def test_a_pretty_printed_run_is_one_document(now):
    """A RunResult written over many lines is read as one run, as POST /runs reads it."""
    text = json.dumps(_wire(now), indent=2)
    assert [r.run_id for r in parse_run_results_document(text)] == ["run-synthetic-000001"]
