"""The cited context for a prompt (graphstore/prompt.py): every line cites its node, the text
never exceeds the budget, facts are kept whole and in priority order."""

from __future__ import annotations

import pytest

from graphstore.prompt import Fact, neighbour_facts, pack, run_facts

CONTEXT = {
    "runId": "r-1", "status": "succeeded", "startedAt": "2026-11-20T09:00:00+00:00",
    "request": {"text": "lemon vinaigrette", "targetBatchSize": 5.0, "targetUnit": "kg"},
    "recipe": {"id": "recipe-v", "name": "Lemon vinaigrette", "totalPercentage": 100.0,
               "ingredients": [{"id": "ing-olive-oil", "name": "Olive oil", "percentage": 60.0,
                                "function": "oil phase", "category": "oil"},
                               {"id": "ing-salt", "name": "Salt", "percentage": 40.0}]},
    "calculation": {"batch": 5.0, "unit": "kg", "costs": {"total": 10.0, "currency": "USD"}},
    "validation": {"valid": True, "errorCount": 0, "warningCount": 0,
                   "summary": "All checks passed."},
}


def test_run_facts_cite_their_nodes_in_order():
    """Run, request, recipe (by its checksum), each ingredient, calculation, validation."""
    facts = run_facts(CONTEXT, recipe_key="abc123")
    assert [f.ref for f in facts] == [
        "OrchestrationRun:r-1", "OrchestrationRun:r-1", "RecipeVersion:abc123",
        "Ingredient:ing-olive-oil", "Ingredient:ing-salt", "CalculationResult:r-1",
        "ValidationReport:r-1"]
    assert facts[3].line == "Olive oil 60 % (oil phase, oil) [Ingredient:ing-olive-oil]"
    assert facts[5].text == "Batch 5 kg, total cost 10 USD"


def test_neighbour_facts_put_both_percentages_side_by_side():
    """A neighbour's line, then one line per shared ingredient with both percentages."""
    facts = neighbour_facts("r-2", recipe="Vinaigrette", summary="3 shared", batch=20.0,
                            unit="kg", cost=40.0, currency="USD",
                            shared=[("ing-olive-oil", "Olive oil", 60.0, 55.5)])
    assert facts[0].ref == "OrchestrationRun:r-2" and "3 shared" in facts[0].text
    assert facts[1].line == ("  r-2 shares Olive oil: 60 % here, 55.5 % there "
                             "[Ingredient:ing-olive-oil]")


@pytest.mark.parametrize("budget", [0, 10, 40, 80, 200, 10_000])
def test_pack_never_exceeds_the_budget_and_keeps_facts_whole(budget):
    """The text fits the budget; each kept line is a whole fact; the rest is counted."""
    facts = run_facts(CONTEXT, recipe_key="abc")
    packed = pack(facts, budget)
    assert len(packed.text) <= budget
    lines = packed.text.split("\n") if packed.text else []
    assert lines == [f.line for f in packed.facts]
    assert packed.omitted == len(facts) - len(packed.facts)
    assert packed.truncated == (packed.omitted > 0)


def test_pack_keeps_priority_order_and_fills_with_shorter_later_facts():
    """A fact too long for what is left is skipped; a later shorter one still goes in."""
    facts = [Fact("A:1", "x" * 10), Fact("B:1", "y" * 50), Fact("C:1", "z")]
    packed = pack(facts, 24)  # "xxxxxxxxxx [A:1]" (16) + newline + "z [C:1]" (7)
    assert [f.ref for f in packed.facts] == ["A:1", "C:1"]
    assert packed.omitted == 1
