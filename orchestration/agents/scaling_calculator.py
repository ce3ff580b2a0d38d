"""ScalingCalculator: a recipe scaled to the requested batch, with costs and yield.

Percentages are by mass (w/w). For a mass target each ingredient gets percentage/100 x batch
size. For a volume target the batch mass is found from the batch volume, assuming volumes add
up (batch mass = batch volume / sum(share / density)); each ingredient's mass is then turned back
into a volume with its own density, so the quantities still sum to the batch size. Densities
(g/ml) and costs (USD per kg) come from request.context.densityMap / costMap, else from the
catalogue defaults. A missing density or cost becomes a warning, never an error: the ingredient
is converted as if it were water (1.0 g/ml) and left out of the costs.

Quantities and money are rounded to 6 significant digits (to the milligram for a 5 kg batch).

PURE: imports neither django, neo4j, celery nor the clock (`now` comes from the context).
"""

from __future__ import annotations

from contracts import Calculation, Costs, Recipe, ScaledIngredient, Yield
from contracts.units import GRAMS_PER, MILLILITRES_PER, is_volume

from .base import AgentContext, require
from .catalogue import COST_PER_KG, DENSITY

WATER_DENSITY = 1.0  # g/ml, assumed for an ingredient without a density


def significant(x: float, digits: int = 6) -> float:
    return float(f"{x:.{digits}g}")


def _process_loss(recipe: Recipe, warnings: list[str]) -> float:
    loss = recipe.metadata.get("processLossPercentage", 0.0)
    if isinstance(loss, int | float) and not isinstance(loss, bool) and 0 <= loss < 100:
        return float(loss)
    warnings.append(f"recipe.metadata.processLossPercentage: {loss!r} is not a percentage from 0 "
                    "to below 100; the yield assumes no process loss.")
    return 0.0


class ScalingCalculator:
    name = "ScalingCalculator"

    def run(self, ctx: AgentContext) -> Calculation:
        recipe = require(ctx.recipe, "recipe", self.name)
        batch, unit = ctx.request.target_batch_size, ctx.request.target_unit
        # The request's own figures first, the catalogue's for the rest.
        densities = {**DENSITY, **ctx.request.context.density_map}
        unit_costs = {**COST_PER_KG, **ctx.request.context.cost_map}
        volume = is_volume(unit)
        warnings: list[str] = []
        shares = [i.percentage / 100 for i in recipe.ingredients]
        if volume:
            ml_per_gram = sum(share / densities.get(i.id, WATER_DENSITY)
                              for share, i in zip(shares, recipe.ingredients, strict=True))
            batch_grams = batch * MILLILITRES_PER[unit] / ml_per_gram if ml_per_gram else 0.0
        else:
            batch_grams = batch * GRAMS_PER[unit]

        scaled: list[ScaledIngredient] = []
        by_ingredient: dict[str, float] = {}
        missing: list[str] = []
        for n, (share, ingredient) in enumerate(zip(shares, recipe.ingredients, strict=True)):
            grams = share * batch_grams
            density = densities.get(ingredient.id) if volume else None
            if volume:
                quantity = grams / (WATER_DENSITY if density is None else density)
                quantity /= MILLILITRES_PER[unit]
            else:
                quantity = share * batch
            unit_cost = unit_costs.get(ingredient.id)
            cost = None
            if volume and density is None:
                warnings.append(
                    f"calculation.scaledIngredients[{n}].density: no density for {ingredient.id} "
                    f"({ingredient.name}); it is converted to {unit} as if it were water "
                    f"({WATER_DENSITY} g/ml), so the quantities are estimates and its cost is left "
                    "out. Add it to context.densityMap (g/ml).")
            elif unit_cost is None:
                warnings.append(
                    f"calculation.scaledIngredients[{n}].cost: no cost for {ingredient.id} "
                    f"({ingredient.name}); costs.total leaves it out. Add it to context.costMap "
                    "(USD per kg).")
            else:
                cost = significant(grams / 1000 * unit_cost)
            if cost is None:
                missing.append(ingredient.id)
            else:
                by_ingredient[ingredient.id] = cost
            scaled.append(ScaledIngredient(
                ingredient_id=ingredient.id, name=ingredient.name,
                percentage=ingredient.percentage, scaled_quantity=significant(quantity),
                scaled_unit=unit, density=density, unit_cost=unit_cost, cost=cost))

        total = sum(by_ingredient.values())
        loss = _process_loss(recipe, warnings)
        return Calculation(
            recipe_id=recipe.id, target_batch_size=batch, target_unit=unit,
            scaled_ingredients=scaled,
            costs=Costs(total=significant(total), per_unit=significant(total / batch),
                        by_ingredient=by_ingredient, missing=missing),
            yield_=Yield(quantity=significant(batch * (1 - loss / 100)), unit=unit,
                         loss_percentage=loss),
            timestamp=ctx.now,
            warnings=warnings,
        )
