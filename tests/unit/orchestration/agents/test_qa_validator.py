"""Unit tests for the QAValidator: each check, severities, valid / canProceed and the summary."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

import pytest

from contracts import Ingredient, Recipe, UIConfig
from contracts.units import GRAMS_PER, MILLILITRES_PER
from orchestration.agents import AgentContext, MissingArtifact, QAValidator, RecipeEngineer
from orchestration.agents.limits import DEFAULT_BATCH_RANGES, batch_limits
from orchestration.agents.qa_validator import (
    CHECKS,
    REQUEST_CHECKS,
    check_duplicate_ingredients,
    check_percentage_ranges,
)

MakeContext = Callable[..., AgentContext]
RunStages = Callable[[AgentContext], tuple[AgentContext, UIConfig]]


def _vinaigrette(make_context: MakeContext, run_stages: RunStages) -> AgentContext:
    ctx, _ = run_stages(make_context("lemon vinaigrette", 5.0, "kg"))
    return ctx


def test_clean_run_passes_every_check(make_context: MakeContext, run_stages: RunStages) -> None:
    """A catalogue recipe passes all checks, and the summary says so in one sentence."""
    validation = _vinaigrette(make_context, run_stages).validation

    assert list(validation.checks) == [name for name, _ in (*CHECKS, *REQUEST_CHECKS)]
    assert all(c.passed and c.detail is None for c in validation.checks.values())
    assert (validation.valid, validation.can_proceed) == (True, True)
    assert validation.summary == ("11 of 11 checks passed with 0 critical errors, 0 other "
                                  "errors and 0 warnings; the run can proceed.")
    assert validation.timestamp == make_context().now


def test_bad_percentage_total_is_critical(make_context: MakeContext,
                                          run_stages: RunStages) -> None:
    """Percentages totalling 90 are a critical error: invalid, and the run cannot proceed."""
    recipe = Recipe(id="recipe-short", name="Short", total_percentage=90.0, ingredients=[
        Ingredient(id="ing-water", name="Water", percentage=60.0),
        Ingredient(id="ing-salt", name="Salt", percentage=30.0)])
    ctx, _ = run_stages(make_context("short", 1.0, "kg", recipe=recipe))
    validation = ctx.validation

    assert [(i.agent, i.field) for i in validation.critical_errors] == [
        ("RecipeEngineer", "recipe.ingredients")]
    assert "total 90, not 100" in validation.critical_errors[0].message
    assert not validation.checks["percentage_total"].passed
    assert not validation.checks["scaled_total"].passed  # 0.9 kg scaled for a 1 kg batch
    assert (validation.valid, validation.can_proceed) == (False, False)
    assert validation.summary.endswith("the run cannot proceed.")


def test_scaled_total_mismatch_is_an_error(make_context: MakeContext,
                                           run_stages: RunStages) -> None:
    """Quantities that do not add up to the batch size are an error, not a critical one."""
    ctx = _vinaigrette(make_context, run_stages)
    first, *rest = ctx.calculation.scaled_ingredients
    bad = ctx.calculation.model_copy(update={"scaled_ingredients": [
        first.model_copy(update={"scaled_quantity": first.scaled_quantity + 0.01}), *rest]})
    validation = QAValidator().run(AgentContext(ctx.run_id, ctx.request, ctx.now,
                                                recipe=ctx.recipe, calculation=bad))

    assert [(i.agent, i.field, i.severity) for i in validation.errors] == [
        ("ScalingCalculator", "calculation.scaledIngredients", "error")]
    assert "total 5.01 kg, not the batch size of 5 kg" in validation.errors[0].message
    assert (validation.valid, validation.can_proceed) == (False, True)


def test_cost_total_and_recipe_mismatch(make_context: MakeContext, run_stages: RunStages) -> None:
    """A costs.total unlike byIngredient and a calculation of another recipe are errors."""
    ctx = _vinaigrette(make_context, run_stages)
    costs = ctx.calculation.costs.model_copy(update={"total": ctx.calculation.costs.total + 1})
    bad = ctx.calculation.model_copy(update={"costs": costs, "recipe_id": "recipe-other"})
    validation = QAValidator().run(AgentContext(ctx.run_id, ctx.request, ctx.now,
                                                recipe=ctx.recipe, calculation=bad))

    assert [i.field for i in validation.errors] == ["calculation.recipeId",
                                                    "calculation.costs.total"]


def test_duplicate_ingredient_is_an_error(make_context: MakeContext,
                                          run_stages: RunStages) -> None:
    """An ingredient id listed twice (built past the contract) is an error naming both lines."""
    ctx = _vinaigrette(make_context, run_stages)
    salt = Ingredient(id="ing-salt", name="Salt", percentage=50.0)
    recipe = Recipe.model_construct(id="recipe-dup", name="Dup", ingredients=[salt, salt],
                                    total_percentage=100.0, metadata={})

    issues = list(check_duplicate_ingredients(recipe, ctx.calculation))

    assert [(i.field, i.severity) for i in issues] == [("recipe.ingredients[1].id", "error")]
    assert "repeats 'ing-salt' of recipe.ingredients[0]" in issues[0].message


def test_out_of_range_percentage_is_critical(make_context: MakeContext,
                                             run_stages: RunStages) -> None:
    """A negative percentage (built past the contract) is critical; a zero one a warning."""
    ctx = _vinaigrette(make_context, run_stages)
    recipe = Recipe.model_construct(id="recipe-bad", name="Bad", total_percentage=100.0,
                                    metadata={}, ingredients=[
        Ingredient.model_construct(id="ing-water", name="Water", percentage=-4.0),
        Ingredient.model_construct(id="ing-salt", name="Salt", percentage=0.0)])

    issues = list(check_percentage_ranges(recipe, ctx.calculation))

    assert [(i.field, i.severity) for i in issues] == [
        ("recipe.ingredients[0].percentage", "critical"),
        ("recipe.ingredients[1].percentage", "warning")]
    assert issues[0].message == "must be between 0 and 100, got -4.0."


def test_needs_recipe_and_calculation(make_context: MakeContext) -> None:
    """Without a calculation, the QAValidator raises MissingArtifact naming the calculation."""
    ctx = make_context()
    ctx = AgentContext(ctx.run_id, ctx.request, ctx.now, recipe=RecipeEngineer().run(ctx))

    with pytest.raises(MissingArtifact, match="^calculation: .* ScalingCalculator produces"):
        QAValidator().run(ctx)


# --- the request: plausible batch size, map ids, the size written in the text ------------------


def _validation(make_context: MakeContext, run_stages: RunStages, text: str, size: float,
                unit: str, **kwargs: object):  # type: ignore[no-untyped-def]
    ctx, _ = run_stages(make_context(text, size, unit, **kwargs))
    return ctx.validation


@pytest.mark.parametrize(("size", "unit", "words"), [
    (1_000_000_000.0, "kg", "1,000,000,000 kg is above the largest plausible batch (100,000 kg)"),
    (0.0000001, "mg", "0.0000001 mg is below the smallest plausible batch (100 mg)"),
])
def test_absurd_batch_is_critical(make_context: MakeContext, run_stages: RunStages,
                                  size: float, unit: str, words: str) -> None:
    """A billion kg or a ten-millionth of a mg is critical: not valid, cannot proceed, and the
    message gives the size, the limit it breaks and what to check."""
    validation = _validation(make_context, run_stages, "lemon vinaigrette", size, unit)

    assert [(i.agent, i.field) for i in validation.critical_errors] == [
        ("ScalingCalculator", "request.targetBatchSize")]
    assert validation.critical_errors[0].message.startswith(words)
    assert "check the number and the unit" in validation.critical_errors[0].message
    assert not validation.checks["batch_plausibility"].passed
    assert (validation.valid, validation.can_proceed) == (False, False)


def test_unusual_batch_is_an_error_that_can_proceed(make_context: MakeContext,
                                                    run_stages: RunStages) -> None:
    """200 t (above the 100 t range, within the critical factor) is an error naming the
    setting that widens the range: not valid, but the run can proceed."""
    validation = _validation(make_context, run_stages, "lemon vinaigrette", 200_000.0, "kg")

    assert [(i.field, i.severity) for i in validation.errors] == [
        ("request.targetBatchSize", "error")]
    assert "CAP01_BATCH_LIMITS" in validation.errors[0].message
    assert (validation.valid, validation.can_proceed) == (False, True)


def test_batch_limits_come_from_the_context(make_context: MakeContext,
                                            run_stages: RunStages) -> None:
    """The ranges the context carries decide: 20 kg passes by default and is an error under a
    kg range of 1 to 10 (critical beyond 10 x 2); other units keep their defaults."""
    limits = batch_limits({"kg": [1, 10]}, critical_factor=2)
    ctx = make_context("lemon vinaigrette", 20.0, "kg")
    assert _validation(make_context, run_stages, "lemon vinaigrette", 20.0, "kg").valid

    judged, _ = run_stages(replace(ctx, limits=limits))
    far, _ = run_stages(replace(make_context("lemon vinaigrette", 21.0, "kg"), limits=limits))
    other, _ = run_stages(replace(make_context("lemon vinaigrette", 20.0, "lb"), limits=limits))

    assert [i.severity for i in judged.validation.errors] == ["error"]
    assert [i.severity for i in far.validation.critical_errors] == ["critical"]
    assert other.validation.valid
    assert limits.ranges["lb"] == DEFAULT_BATCH_RANGES["lb"]


@pytest.mark.parametrize(("overrides", "factor", "message"), [
    ({"kgs": [1, 2]}, 1000.0, "'kgs' is not a unit"),
    ({"kg": [5, 2]}, 1000.0, "kg: needs 0 < low <= high"),
    ({"kg": [0, 2]}, 1000.0, "kg: needs 0 < low <= high"),
    ({"kg": "wide"}, 1000.0, "kg: give [low, high] as two numbers"),
    ({}, 0.5, "the critical factor must be a number of at least 1"),
])
def test_bad_batch_limits_are_refused(overrides: dict[str, object], factor: float,
                                      message: str) -> None:
    """A range for an unknown unit, an empty or non-numeric range, or a factor below 1 is
    refused with a message naming it."""
    with pytest.raises(ValueError, match=re.escape(message)):
        batch_limits(overrides, factor)


def test_default_ranges_span_a_lab_sample_to_a_production_vessel() -> None:
    """Every unit has a range, from about 0.1 g (ml) to about 100 t (m³) written in that unit."""
    assert set(DEFAULT_BATCH_RANGES) == {*GRAMS_PER, *MILLILITRES_PER}
    assert DEFAULT_BATCH_RANGES["kg"] == (0.0001, 100_000.0)
    assert DEFAULT_BATCH_RANGES["mg"] == (100.0, 100_000_000_000.0)
    assert DEFAULT_BATCH_RANGES["lb"] == (0.0002, 300_000.0)
    for unit, (low, high) in DEFAULT_BATCH_RANGES.items():
        factor = GRAMS_PER.get(unit) or MILLILITRES_PER[unit]
        assert 0.05 <= low * factor <= 0.1 and 1e8 <= high * factor <= 3e8, unit


def test_map_entries_for_no_ingredient_are_warned(make_context: MakeContext,
                                                  run_stages: RunStages) -> None:
    """Cost and density map ids that no ingredient of the recipe has get a warning each (per
    map) naming them, with the closest recipe id, and listing the recipe's ids; ids that match
    are not mentioned."""
    validation = _validation(make_context, run_stages, "lemon vinaigrette", 5.0, "kg",
                             costs={"ing-olive-oi": 9.5, "ing-honey": 7.0, "ing-zzz": 1.0},
                             densities={"ing-water": 1.0})

    warned = {i.field: i for i in validation.warnings}
    assert set(warned) == {"request.context.costMap", "request.context.densityMap"}
    cost = warned["request.context.costMap"]
    assert (cost.agent, cost.severity) == ("ScalingCalculator", "warning")
    assert cost.message.startswith("2 entries name ids that no ingredient of this recipe has, "
                                   "so their values were not used: ing-olive-oi (did you mean "
                                   "ing-olive-oil?), ing-zzz.")
    assert "The recipe's ingredient ids: ing-olive-oil, ing-lemon-juice" in cost.message
    assert "ing-honey," not in cost.message.split("not used:")[1].split(".")[0]
    assert warned["request.context.densityMap"].message.startswith(
        "1 entry names an id that no ingredient of this recipe has, so its value was not used: "
        "ing-water.")
    assert validation.checks["context_map_ids"].passed  # warnings do not fail a check
    assert (validation.valid, validation.can_proceed) == (True, True)


@pytest.mark.parametrize(("text", "size", "unit", "said"), [
    ("hummus, 50 kg", 2.0, "lb", "says “50 kg” but the batch is 2 lb"),
    ("lemon vinaigrette, 5 l", 5.0, "kg", "says “5 l”, a volume, but the batch is 5 kg, a mass"),
    ("shampoo, 3 gallons", 3.0, "l", "says “3 gallons” but the batch is 3 l"),
])
def test_size_in_the_text_that_is_not_the_batch_is_warned(
        make_context: MakeContext, run_stages: RunStages, text: str, size: float, unit: str,
        said: str) -> None:
    """A size written in the request that the batch fields contradict is a warning on
    request.userRequest saying both and what the run was scaled to."""
    validation = _validation(make_context, run_stages, text, size, unit)

    assert [(i.agent, i.field, i.severity) for i in validation.warnings] == [
        ("RecipeEngineer", "request.userRequest", "warning")]
    assert validation.warnings[0].message.startswith(said)
    assert f"the run is scaled to {size:g} {unit}" in validation.warnings[0].message


@pytest.mark.parametrize(("text", "size", "unit"), [
    ("hummus, 50 kg", 50.0, "kg"),
    ("hummus, 50 kg", 50_000.0, "g"),  # the same mass in another unit
    ("lemon vinaigrette, 2.2 lb", 1.0, "kg"),  # within 1 %
    ("hummus, 50 kg in 2 lb tubs", 2.0, "lb"),  # one of the sizes written is the batch
    ("hummus with extra garlic", 3.0, "kg"),  # no size written
])
def test_size_in_the_text_that_is_the_batch_is_quiet(
        make_context: MakeContext, run_stages: RunStages, text: str, size: float,
        unit: str) -> None:
    """No warning when the text writes no size, or a size equal (within 1 %) to the batch."""
    validation = _validation(make_context, run_stages, text, size, unit)

    assert validation.warnings == []
