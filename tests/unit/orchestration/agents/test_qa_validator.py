"""Unit tests for the QAValidator: each check, severities, valid / canProceed and the summary."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from contracts import Ingredient, Recipe, UIConfig
from orchestration.agents import AgentContext, MissingArtifact, QAValidator, RecipeEngineer
from orchestration.agents.qa_validator import (
    CHECKS,
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

    assert list(validation.checks) == [name for name, _ in CHECKS]
    assert all(c.passed and c.detail is None for c in validation.checks.values())
    assert (validation.valid, validation.can_proceed) == (True, True)
    assert validation.summary == ("8 of 8 checks passed with 0 critical errors, 0 other errors "
                                  "and 0 warnings; the run can proceed.")
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
