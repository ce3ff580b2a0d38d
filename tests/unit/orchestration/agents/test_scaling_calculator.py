"""Unit tests for the ScalingCalculator: mass and volume targets, units, costs, yield, warnings."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from contracts import Calculation, Ingredient, Recipe, UIConfig
from orchestration.agents import AgentContext, MissingArtifact, ScalingCalculator

MakeContext = Callable[..., AgentContext]
RunStages = Callable[[AgentContext], tuple[AgentContext, UIConfig]]
GALLON_ML = 3785.411784


def _recipe(*lines: tuple[str, float], metadata: dict | None = None) -> Recipe:
    return Recipe(id="recipe-test", name="Test", total_percentage=100.0, metadata=metadata or {},
                  ingredients=[Ingredient(id=iid, name=iid.removeprefix("ing-").title(),
                                          percentage=p) for iid, p in lines])


def _quantities(calculation: Calculation) -> dict[str, float]:
    return {s.ingredient_id: s.scaled_quantity for s in calculation.scaled_ingredients}


def test_mass_target_right_to_the_gram(make_context: MakeContext, run_stages: RunStages) -> None:
    """5 kg of lemon vinaigrette: each ingredient is its percentage of 5 kg, costs per kg."""
    ctx, _ = run_stages(make_context("lemon vinaigrette, 5 kg", 5.0, "kg"))
    calculation = ctx.calculation

    assert _quantities(calculation) == pytest.approx({
        "ing-olive-oil": 3.000, "ing-lemon-juice": 1.000, "ing-white-wine-vinegar": 0.400,
        "ing-dijon-mustard": 0.250, "ing-honey": 0.200, "ing-salt": 0.075, "ing-garlic": 0.050,
        "ing-black-pepper": 0.025,
    }, abs=1e-6)
    assert {s.scaled_unit for s in calculation.scaled_ingredients} == {"kg"}
    # 3 x 9.50 + 1 x 4.00 + 0.4 x 2.20 + 0.25 x 6.00 + 0.2 x 8.00 + 0.075 x 0.50 + 0.05 x 5.00
    # + 0.025 x 18.00 = 37.2175 USD
    assert calculation.costs.by_ingredient["ing-olive-oil"] == pytest.approx(28.5)
    assert calculation.costs.total == pytest.approx(37.2175)
    assert calculation.costs.per_unit == pytest.approx(7.4435)
    assert calculation.costs.missing == []
    assert (calculation.yield_.quantity, calculation.yield_.unit) == (4.95, "kg")  # 1 % loss
    assert calculation.timestamp == ctx.now
    assert calculation.warnings == []


def test_us_volume_target_uses_density(make_context: MakeContext) -> None:
    """2 gal of 50/50 water and glycerin (1.25 g/ml from densityMap) splits by volume share."""
    recipe = _recipe(("ing-water", 50.0), ("ing-glycerin", 50.0))
    ctx = make_context("custom", 2.0, "gal", recipe=recipe,
                       densities={"ing-water": 1.0, "ing-glycerin": 1.25},
                       costs={"ing-water": 1.0, "ing-glycerin": 2.0})
    calculation = ScalingCalculator().run(ctx)

    # 1 g of the mix takes 0.5/1.0 + 0.5/1.25 = 0.9 ml, so 2 gal = 7570.823568 ml weighs
    # 8412.026 g: 4206.013 g of each; water is 4206.013 ml = 10/9 gal, glycerin 3364.811 ml
    # = 8/9 gal
    assert _quantities(calculation) == pytest.approx(
        {"ing-water": 1.111111, "ing-glycerin": 0.888889}, abs=1e-6)
    assert sum(_quantities(calculation).values()) == pytest.approx(2.0, abs=1e-6)
    assert [s.density for s in calculation.scaled_ingredients] == [1.0, 1.25]
    assert calculation.costs.by_ingredient == pytest.approx(
        {"ing-water": 4.206013, "ing-glycerin": 8.412026}, abs=1e-5)
    assert calculation.costs.total == pytest.approx(12.6180, abs=1e-4)
    assert calculation.costs.per_unit == pytest.approx(6.3090, abs=1e-4)


@pytest.mark.parametrize(("size", "unit", "kilograms"), [
    (1.0, "lb", 0.45359237), (16.0, "oz", 0.45359237), (500.0, "g", 0.5), (0.5, "t", 500.0),
    (2.0, "l", 2.0), (16.0, "fl_oz", 0.473176473), (3.0, "cup", 0.7097647095),
    (1.0, "gal", GALLON_ML / 1000),
])
def test_unit_conversions(make_context: MakeContext, size: float, unit: str,
                          kilograms: float) -> None:
    """Water (1 g/ml, 1 USD/kg) in lb, oz, g, t, l, fl_oz, cup and gal costs its mass in kg."""
    ctx = make_context("water", size, unit, recipe=_recipe(("ing-water", 100.0)),
                       costs={"ing-water": 1.0}, densities={"ing-water": 1.0})
    calculation = ScalingCalculator().run(ctx)

    assert _quantities(calculation) == {"ing-water": size}
    assert calculation.costs.total == pytest.approx(kilograms, rel=1e-5)


def test_pounds_keep_mass_shares(make_context: MakeContext, run_stages: RunStages) -> None:
    """10 lb of vinaigrette holds 6 lb of olive oil, costed as 2.7216 kg at 9.50 USD/kg."""
    ctx, _ = run_stages(make_context("lemon vinaigrette", 10.0, "lb"))
    olive = ctx.calculation.scaled_ingredients[0]

    assert (olive.ingredient_id, olive.scaled_quantity, olive.scaled_unit) == (
        "ing-olive-oil", 6.0, "lb")
    assert olive.cost == pytest.approx(6 * 0.45359237 * 9.5, rel=1e-5)


def test_request_cost_map_overrides_default(make_context: MakeContext,
                                            run_stages: RunStages) -> None:
    """context.costMap replaces the catalogue cost of the ingredients it names."""
    ctx, _ = run_stages(make_context("lemon vinaigrette", 5.0, "kg",
                                     costs={"ing-olive-oil": 20.0}))

    assert ctx.calculation.costs.by_ingredient["ing-olive-oil"] == pytest.approx(60.0)
    assert ctx.calculation.costs.by_ingredient["ing-salt"] == pytest.approx(0.0375)


def test_missing_cost_is_a_warning(make_context: MakeContext, run_stages: RunStages) -> None:
    """An ingredient with no cost gets cost None, is listed as missing and warned about."""
    recipe = _recipe(("ing-water", 99.0), ("ing-saffron", 1.0))
    ctx, _ = run_stages(make_context("custom", 1.0, "kg", recipe=recipe))
    calculation, validation = ctx.calculation, ctx.validation

    saffron = calculation.scaled_ingredients[1]
    assert (saffron.scaled_quantity, saffron.cost, saffron.unit_cost) == (0.01, None, None)
    assert calculation.costs.missing == ["ing-saffron"]
    assert calculation.costs.total == pytest.approx(0.0099)
    assert calculation.warnings == [
        "calculation.scaledIngredients[1].cost: no cost for ing-saffron (Saffron); costs.total "
        "leaves it out. Add it to context.costMap (USD per kg)."]
    assert validation.valid and validation.can_proceed
    assert {w.field for w in validation.warnings} == {"calculation.costs.missing",
                                                      "calculation.warnings[0]"}


def test_missing_density_for_volume_target(make_context: MakeContext,
                                           run_stages: RunStages) -> None:
    """With no density, a volume target converts the ingredient as water, warns, and QA errs."""
    recipe = _recipe(("ing-water", 99.0), ("ing-saffron", 1.0))
    ctx, _ = run_stages(make_context("custom", 1.0, "l", recipe=recipe,
                                     costs={"ing-saffron": 5000.0}))
    calculation, validation = ctx.calculation, ctx.validation

    saffron = calculation.scaled_ingredients[1]
    assert (saffron.density, saffron.cost, saffron.scaled_quantity) == (None, None, 0.01)
    assert calculation.costs.missing == ["ing-saffron"]
    assert "densityMap" in calculation.warnings[0] and "ing-saffron" in calculation.warnings[0]
    assert [e.field for e in validation.errors] == ["calculation.scaledIngredients[1].density"]
    assert "calculation.warnings[0]" in {w.field for w in validation.warnings}
    assert not validation.valid and validation.can_proceed


def test_bad_process_loss_is_a_warning(make_context: MakeContext) -> None:
    """A processLossPercentage that is not a percentage gives no loss and a warning."""
    recipe = _recipe(("ing-water", 100.0), metadata={"processLossPercentage": "a lot"})
    calculation = ScalingCalculator().run(make_context("water", 3.0, "kg", recipe=recipe))

    assert calculation.yield_.quantity == 3.0
    assert calculation.warnings[0].startswith("recipe.metadata.processLossPercentage: 'a lot'")


def test_needs_a_recipe(make_context: MakeContext) -> None:
    """Run without a recipe, it raises MissingArtifact naming recipe and the RecipeEngineer."""
    with pytest.raises(MissingArtifact, match=r"^recipe: absent .* RecipeEngineer produces"):
        ScalingCalculator().run(make_context())
