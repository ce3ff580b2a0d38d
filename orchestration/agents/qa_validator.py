"""QAValidator: checks the recipe and its calculation and reports what it finds, never raises.

Each check takes (recipe, calculation) and yields ValidationIssues that name the agent owning
the field and the field's contract path:

    check                  owner              finds
    percentage_total       RecipeEngineer     critical: percentages do not total 100 +- 0.01
                                              error: totalPercentage disagrees with them
    percentage_ranges      RecipeEngineer     critical: outside 0..100; warning: exactly 0
    duplicate_ingredients  RecipeEngineer     error: an ingredient id listed twice
    recipe_match           ScalingCalculator  error: another recipe, or ingredients missing/extra
    unit_conversions       ScalingCalculator  error: a unit other than the target unit, or no
                                              density for a volume target
    scaled_total           ScalingCalculator  error: quantities do not add up to the batch size
    cost_coverage          ScalingCalculator  warning: ingredients without a cost
                                              error: costs.total is not the sum of byIngredient
    calculation_warnings   ScalingCalculator  warning: each of calculation.warnings

valid = no error (critical included); canProceed = no critical error.

PURE: imports neither django, neo4j, celery nor the clock (`now` comes from the context).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator

from contracts import Calculation, Check, Recipe, Validation, ValidationIssue
from contracts.artifacts import Severity
from contracts.units import is_volume

from .base import AgentContext, require

PERCENTAGE_TOLERANCE = 0.01  # percentage points
SCALED_TOLERANCE = 1e-5  # relative to the batch size; quantities carry 6 significant digits
COST_TOLERANCE = 1e-4  # relative to costs.total (at least 1 USD)
BLOCKING: frozenset[Severity] = frozenset({"critical", "error"})

Issues = Iterator[ValidationIssue]
CheckFunction = Callable[[Recipe, Calculation], Iterable[ValidationIssue]]


def _recipe_issue(field: str, severity: Severity, message: str) -> ValidationIssue:
    return ValidationIssue(agent="RecipeEngineer", field=field, message=message,
                           severity=severity)


def _calculation_issue(field: str, severity: Severity, message: str) -> ValidationIssue:
    return ValidationIssue(agent="ScalingCalculator", field=field, message=message,
                           severity=severity)


def check_percentage_total(recipe: Recipe, calculation: Calculation) -> Issues:
    total = math.fsum(i.percentage for i in recipe.ingredients)
    if not abs(total - 100) <= PERCENTAGE_TOLERANCE:
        yield _recipe_issue("recipe.ingredients", "critical",
                            f"the percentages total {total:g}, not 100 (+-{PERCENTAGE_TOLERANCE}); "
                            "correct the formula so that it adds up to 100.")
    if not abs(recipe.total_percentage - total) <= PERCENTAGE_TOLERANCE:
        yield _recipe_issue("recipe.totalPercentage", "error",
                            f"is {recipe.total_percentage:g} but the ingredient percentages total "
                            f"{total:g}.")


def check_percentage_ranges(recipe: Recipe, calculation: Calculation) -> Issues:
    for n, ingredient in enumerate(recipe.ingredients):
        field = f"recipe.ingredients[{n}].percentage"
        if not 0 <= ingredient.percentage <= 100:
            yield _recipe_issue(field, "critical",
                                f"must be between 0 and 100, got {ingredient.percentage!r}.")
        elif ingredient.percentage == 0:
            yield _recipe_issue(field, "warning", f"is 0, so {ingredient.id} adds nothing; remove "
                                "it or give it a share.")


def check_duplicate_ingredients(recipe: Recipe, calculation: Calculation) -> Issues:
    first: dict[str, int] = {}
    for n, ingredient in enumerate(recipe.ingredients):
        if (at := first.setdefault(ingredient.id, n)) != n:
            yield _recipe_issue(f"recipe.ingredients[{n}].id", "error",
                                f"repeats {ingredient.id!r} of recipe.ingredients[{at}]; merge the "
                                "two lines into one.")


def check_recipe_match(recipe: Recipe, calculation: Calculation) -> Issues:
    if calculation.recipe_id != recipe.id:
        yield _calculation_issue("calculation.recipeId", "error",
                                 f"is {calculation.recipe_id!r} but recipe.id is {recipe.id!r}; "
                                 "the calculation belongs to another recipe.")
    in_recipe = {i.id for i in recipe.ingredients}
    scaled = {s.ingredient_id for s in calculation.scaled_ingredients}
    for iid in sorted(in_recipe - scaled):
        yield _calculation_issue("calculation.scaledIngredients", "error",
                                 f"has no entry for {iid}, which the recipe contains.")
    for n, s in enumerate(calculation.scaled_ingredients):
        if s.ingredient_id not in in_recipe:
            yield _calculation_issue(f"calculation.scaledIngredients[{n}].ingredientId", "error",
                                     f"names {s.ingredient_id}, which is not in the recipe.")


def check_unit_conversions(recipe: Recipe, calculation: Calculation) -> Issues:
    unit = calculation.target_unit
    for n, s in enumerate(calculation.scaled_ingredients):
        if s.scaled_unit != unit:
            yield _calculation_issue(f"calculation.scaledIngredients[{n}].scaledUnit", "error",
                                     f"is {s.scaled_unit} but the target unit is {unit}.")
        elif is_volume(unit) and s.density is None:
            yield _calculation_issue(f"calculation.scaledIngredients[{n}].density", "error",
                                     f"is missing, so {s.ingredient_id} cannot be converted to "
                                     f"{unit} reliably; add it to context.densityMap (g/ml).")


def check_scaled_total(recipe: Recipe, calculation: Calculation) -> Issues:
    unit, batch = calculation.target_unit, calculation.target_batch_size
    total = math.fsum(s.scaled_quantity for s in calculation.scaled_ingredients
                      if s.scaled_unit == unit)
    if not abs(total - batch) <= SCALED_TOLERANCE * batch:
        yield _calculation_issue("calculation.scaledIngredients", "error",
                                 f"the scaled quantities total {total:g} {unit}, not the batch "
                                 f"size of {batch:g} {unit}.")


def check_cost_coverage(recipe: Recipe, calculation: Calculation) -> Issues:
    costs = calculation.costs
    if costs.missing:
        shown = ", ".join(costs.missing[:5]) + (", ..." if len(costs.missing) > 5 else "")
        yield _calculation_issue("calculation.costs.missing", "warning",
                                 f"{len(costs.missing)} of {len(calculation.scaled_ingredients)} "
                                 f"ingredients have no cost ({shown}); costs.total covers only "
                                 "the others.")
    listed = math.fsum(costs.by_ingredient.values())
    if not abs(costs.total - listed) <= COST_TOLERANCE * max(1.0, costs.total):
        yield _calculation_issue("calculation.costs.total", "error",
                                 f"is {costs.total:g} but costs.byIngredient adds up to "
                                 f"{listed:g}.")


def check_calculation_warnings(recipe: Recipe, calculation: Calculation) -> Issues:
    for n, text in enumerate(calculation.warnings):
        yield _calculation_issue(f"calculation.warnings[{n}]", "warning", text)


CHECKS: tuple[tuple[str, CheckFunction], ...] = (
    ("percentage_total", check_percentage_total),
    ("percentage_ranges", check_percentage_ranges),
    ("duplicate_ingredients", check_duplicate_ingredients),
    ("recipe_match", check_recipe_match),
    ("unit_conversions", check_unit_conversions),
    ("scaled_total", check_scaled_total),
    ("cost_coverage", check_cost_coverage),
    ("calculation_warnings", check_calculation_warnings),
)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _detail(issues: list[ValidationIssue]) -> str | None:
    if not issues:
        return None
    first = f"{issues[0].field}: {issues[0].message}"
    return (first if len(issues) == 1 else f"{len(issues)} issues, the first: {first}")[:2000]


class QAValidator:
    name = "QAValidator"

    def run(self, ctx: AgentContext) -> Validation:
        recipe = require(ctx.recipe, "recipe", self.name)
        calculation = require(ctx.calculation, "calculation", self.name)
        checks: dict[str, Check] = {}
        issues: list[ValidationIssue] = []
        for name, check in CHECKS:
            found = list(check(recipe, calculation))
            checks[name] = Check(passed=not any(i.severity in BLOCKING for i in found),
                                 detail=_detail(found))
            issues += found
        errors = [i for i in issues if i.severity in BLOCKING]
        critical = [i for i in errors if i.severity == "critical"]
        warnings = [i for i in issues if i.severity not in BLOCKING]
        passed = sum(c.passed for c in checks.values())
        summary = (f"{passed} of {len(checks)} checks passed with "
                   f"{_plural(len(critical), 'critical error')}, "
                   f"{_plural(len(errors) - len(critical), 'other error')} and "
                   f"{_plural(len(warnings), 'warning')}; the run "
                   f"{'can' if not critical else 'cannot'} proceed.")
        return Validation(valid=not errors, errors=errors, warnings=warnings, checks=checks,
                          summary=summary, timestamp=ctx.now, can_proceed=not critical,
                          critical_errors=critical)
