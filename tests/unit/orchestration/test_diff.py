"""orchestration/diff.py: the diff of two runs' artifacts, and the condensed runs it reads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from contracts import ContractError, RunResult, parse_run_result
from orchestration.diff import diff_rows, diff_runs
from tests.strategies import NOW
from tools.synthetic import make_run

ROOT = Path(__file__).resolve().parents[3]


def _run(seed: int = 1, run_id: str = "run-a", **kwargs: Any) -> RunResult:
    return make_run(seed, now=NOW, run_id=run_id, **kwargs)


def _edit(run: RunResult, change: Any, run_id: str = "run-b") -> RunResult:
    wire = run.to_wire()
    wire["metadata"]["id"] = run_id
    change(wire)
    return RunResult.model_validate(wire)


def _condensed(run: RunResult, *, keep_calculation: bool = False) -> RunResult:
    """The run as retention leaves it (what graphstore.replay.load_run reads back)."""
    wire = run.to_wire()
    removed = ["graph", "validation", "uiConfig"]
    if not keep_calculation:
        removed = ["recipe", "calculation", *removed]
    validation = wire["validation"]
    for name in removed:
        wire.pop(name, None)
    wire["metadata"]["condensed"] = {
        "condensedAt": NOW.isoformat(), "removed": removed,
        "validation": {"valid": validation["valid"], "canProceed": validation["canProceed"],
                       "errorCount": len(validation["errors"]),
                       "warningCount": len(validation["warnings"]),
                       "criticalCount": len(validation["criticalErrors"]),
                       "summary": validation["summary"]}}
    return RunResult.model_validate(wire)


def test_identical_artifacts_give_an_empty_diff():
    """Two runs with the same artifacts (other runId, other times) differ in nothing."""
    base = _run()
    head = _edit(base, lambda w: w["metadata"].update(totalDuration=999.0))
    diff = diff_runs(base, head)
    assert diff["identical"] is True and diff["changeCount"] == 0
    assert diff["ingredients"] == {"added": [], "removed": [], "changed": []}
    assert diff["quantities"] == {"changed": []}
    assert diff["costs"] == {"byIngredient": [], "missing": {"added": [], "removed": []}}
    assert diff["validation"] == {} and diff["outcome"] == {} and diff["unavailable"] == []
    assert diff["base"] == {"runId": "run-a", "status": "succeeded", "condensed": False}
    assert diff_rows(diff) == []


def test_ingredient_changes_are_listed_by_id():
    """Added, removed and re-weighted ingredients are listed with their percentages."""
    base = _run(ingredients=4)

    def change(w: dict[str, Any]) -> None:
        ings = w["recipe"]["ingredients"]
        dropped = ings.pop()
        ings[0]["percentage"] = round(ings[0]["percentage"] + dropped["percentage"] - 1, 2)
        ings.append({"id": "ing-new", "name": "New thing", "percentage": 1.0})
        w["calculation"]["scaledIngredients"] = [
            s for s in w["calculation"]["scaledIngredients"]
            if s["ingredientId"] != dropped["id"]]

    head = _edit(base, change)
    diff = diff_runs(base, head)
    removed = base.recipe.ingredients[-1]
    first = base.recipe.ingredients[0]
    assert diff["ingredients"]["removed"] == [{"id": removed.id, "name": removed.name,
                                               "percentage": removed.percentage}]
    assert diff["ingredients"]["added"] == [{"id": "ing-new", "name": "New thing",
                                             "percentage": 1.0}]
    [changed] = diff["ingredients"]["changed"]
    assert changed["id"] == first.id
    assert changed["percentage"]["delta"] == pytest.approx(removed.percentage - 1)
    assert not diff["identical"] and diff["changeCount"] == 3


def test_a_renamed_ingredient_keeps_its_name_and_reports_the_change_as_renamed():
    """An ingredient whose name changed keeps `name` (a string, the head's; typed clients read
    it as one) and reports the change as `renamed` {base, head}; the row says so."""
    base = _run(ingredients=3)
    old_name = base.recipe.ingredients[1].name
    head = _edit(base, lambda w: w["recipe"]["ingredients"][1].update(name="Renamed thing"))
    diff = diff_runs(base, head)
    [changed] = diff["ingredients"]["changed"]
    assert changed == {"id": base.recipe.ingredients[1].id, "name": "Renamed thing",
                       "renamed": {"base": old_name, "head": "Renamed thing"}}
    [row] = [r for r in diff_rows(diff) if r["section"] == "ingredients"]
    assert row["field"] == "renamed" and row["item"].startswith("Renamed thing (")


def test_quantities_costs_and_validation_changes_carry_base_head_and_delta():
    """Scaled quantities, the batch, costs (total, per unit, by ingredient, missing) and the
    validation outcome are compared field by field."""
    base = _run()
    first = base.calculation.scaled_ingredients[0].ingredient_id

    def change(w: dict[str, Any]) -> None:
        calc = w["calculation"]
        calc["scaledIngredients"][0]["scaledQuantity"] += 0.5
        calc["costs"]["total"] += 2.0
        calc["costs"]["perUnit"] += 0.1
        calc["costs"]["byIngredient"][first] += 2.0
        calc["costs"]["missing"] = ["ing-unpriced"]
        w["validation"]["valid"] = False
        w["validation"]["errors"] = [{"agent": "QAValidator", "field": "recipe", "message": "x",
                                      "severity": "error"}]

    diff = diff_runs(base, _edit(base, change))
    [qty] = diff["quantities"]["changed"]
    assert qty["id"] == first and qty["scaledQuantity"]["delta"] == pytest.approx(0.5)
    assert diff["costs"]["total"]["delta"] == pytest.approx(2.0)
    assert diff["costs"]["perUnit"]["delta"] == pytest.approx(0.1)
    assert diff["costs"]["byIngredient"][0]["id"] == first
    assert diff["costs"]["missing"] == {"added": ["ing-unpriced"], "removed": []}
    assert diff["validation"] == {"valid": {"base": True, "head": False},
                                  "errorCount": {"base": 0, "head": 1, "delta": 1}}
    assert diff["changeCount"] == 7
    rows = diff_rows(diff)
    assert {r["section"] for r in rows} == {"quantities", "costs", "validation"}
    assert len(rows) == 7
    assert next(r for r in rows if r["field"] == "total")["delta"] == "+2"


def test_numbers_within_the_tolerance_are_equal():
    """Float noise (1e-12) is not a change."""
    base = _run()
    head = _edit(base, lambda w: w["calculation"]["costs"].update(
        total=w["calculation"]["costs"]["total"] + 1e-12))
    assert diff_runs(base, head)["identical"]


def test_a_failed_run_makes_its_missing_sections_unavailable():
    """A run that failed at GraphBuilder has no validation: that section is null and said so;
    the outcome lists the status and the failed agent."""
    diff = diff_runs(_run(), _run(run_id="run-f", failed_agent="GraphBuilder"))
    assert diff["outcome"] == {"status": {"base": "succeeded", "head": "failed"},
                               "failedAgent": {"base": None, "head": "GraphBuilder"}}
    assert diff["validation"] is None
    assert diff["unavailable"] == [{"section": "validation", "reason":
                                    "the head run (run-f) failed at GraphBuilder and has no "
                                    "validation"}]
    assert diff["identical"] is False


def test_a_condensed_run_is_compared_on_what_it_kept():
    """Against a condensed original, the sections it lost are unavailable (condensed, said
    so) and the validation outcome is still compared from its summary."""
    original = _condensed(_run())
    replay = _run(run_id="run-r")
    diff = diff_runs(original, replay)
    assert diff["base"]["condensed"] is True
    assert diff["ingredients"] is None and diff["costs"] is None and diff["quantities"] is None
    assert {g["section"] for g in diff["unavailable"]} == {"ingredients", "quantities", "costs"}
    assert all("condensed by retention" in g["reason"] for g in diff["unavailable"])
    assert diff["validation"] == {} and diff["changeCount"] == 0 and not diff["identical"]
    kept = diff_runs(_condensed(_run(), keep_calculation=True), replay)
    assert kept["costs"] is not None and kept["unavailable"] == [] and kept["identical"]


def test_request_and_agent_differences_are_context_not_changes():
    """Another cost map or another agent for a stage explains a diff but is not counted."""
    base = _run()

    def change(w: dict[str, Any]) -> None:
        w["request"]["context"]["costMap"] = {"ing-water": 0.5}
        w["metadata"]["configSnapshot"] = {"agents": {"RecipeEngineer": "my.Agent"}}

    base = _edit(base, lambda w: w["metadata"].update(
        configSnapshot={"agents": {"RecipeEngineer": "ref.Agent"}}), run_id="run-a")
    diff = diff_runs(base, _edit(base, change))
    assert diff["identical"] and diff["changeCount"] == 0
    assert diff["context"]["request"]["costMap"] == {"ing-water": {"base": None, "head": 0.5}}
    assert diff["context"]["agents"] == {"RecipeEngineer": {"base": "ref.Agent",
                                                            "head": "my.Agent"}}


# --- the condensed run in the contract ---------------------------------------------------------


def test_condensed_succeeded_run_may_lack_only_what_was_removed():
    """metadata.condensed lets a succeeded run lack the artifacts it names as removed, and
    only those; a removed artifact cannot be present."""
    condensed = _condensed(_run()).to_wire()
    assert parse_run_result(condensed).metadata.condensed is not None
    lacking = {**condensed, "metadata": {**condensed["metadata"], "condensed": {
        **condensed["metadata"]["condensed"], "removed": ["recipe", "calculation", "graph"]}}}
    with pytest.raises(ContractError) as info:
        parse_run_result(lacking)
    assert "validation, uiConfig is absent" in str(info.value)
    present = _run().to_wire()
    present["metadata"]["condensed"] = {"condensedAt": NOW.isoformat(), "removed": ["graph"]}
    with pytest.raises(ContractError) as info:
        parse_run_result(present)
    assert {e["field"] for e in info.value.errors} == {"graph"}


def test_diff_module_is_pure():
    """orchestration.diff imports neither django, neo4j nor celery."""
    code = ("import sys, orchestration.diff;"
            "bad = [m for m in ('django', 'neo4j', 'celery') if m in sys.modules];"
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
