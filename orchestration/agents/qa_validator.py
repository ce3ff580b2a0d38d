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

and three checks of the request the run answered (request fields are reported under the agent
that reads them):

    batch_plausibility     ScalingCalculator  error: targetBatchSize outside the plausible range
                                              of its unit (AgentContext.limits, limits.py);
                                              critical: beyond it by more than the critical
                                              factor (1,000: a typo or a unit mix-up)
    context_map_ids        ScalingCalculator  warning: costMap / densityMap entries whose ids
                                              are no ingredient of the recipe (not used)
    size_in_text           RecipeEngineer     warning: userRequest writes a size ("50 kg") that
                                              is not the batch (targetBatchSize, targetUnit)

Why an implausible batch is an error and not a warning: the quantities and costs computed for a
million tonnes or a tenth of a nanogram are not an answer a formulation chemist could use, so
the run is not valid; it can still proceed while the size is only unusual (a pilot plant
larger than the range), because the formula itself is sound. A size a thousand times beyond the
range is no batch anywhere: critical, the run cannot proceed.

valid = no error (critical included); canProceed = no critical error.

PURE: imports neither django, neo4j, celery nor the clock (`now` comes from the context).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal

from contracts import Calculation, Check, InputContract, Recipe, Validation, ValidationIssue
from contracts.artifacts import Severity
from contracts.units import GRAMS_PER, MILLILITRES_PER, is_volume

from .base import AgentContext, require
from .limits import BatchLimits
from .text import Size, sizes_in_text

PERCENTAGE_TOLERANCE = 0.01  # percentage points
SCALED_TOLERANCE = 1e-5  # relative to the batch size; quantities carry 6 significant digits
COST_TOLERANCE = 1e-4  # relative to costs.total (at least 1 USD)
SIZE_TOLERANCE = 0.01  # relative: "2.2 lb" is the batch of 1 kg (0.998 kg)
BLOCKING: frozenset[Severity] = frozenset({"critical", "error"})

Issues = Iterator[ValidationIssue]
CheckFunction = Callable[[Recipe, Calculation], Iterable[ValidationIssue]]
RequestCheckFunction = Callable[[InputContract, Recipe, BatchLimits], Iterable[ValidationIssue]]


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


def amount(x: float) -> str:
    """A quantity as people write it, never in exponent form: 1,000,000,000 and 0.0000001."""
    return f"{Decimal(repr(x)).normalize():,f}"


def check_batch_plausibility(request: InputContract, recipe: Recipe,
                             limits: BatchLimits) -> Issues:
    size, unit = request.target_batch_size, request.target_unit
    verdict = limits.judge(size, unit)
    if verdict is None:
        return
    severity, low, high = verdict
    side = f"above the largest plausible batch ({amount(high)} {unit})" if size > high else \
        f"below the smallest plausible batch ({amount(low)} {unit})"
    if severity == "critical":
        advice = (f"{'no vessel holds it' if size > high else 'no balance weighs its parts'}: "
                  "check the number and the unit.")
    else:
        advice = (f"check the number and the unit, or widen the range for {unit} "
                  "(CAP01_BATCH_LIMITS) if such batches are meant.")
    yield _calculation_issue("request.targetBatchSize", severity,
                             f"{amount(size)} {unit} is {side}; {advice}")


def _listed(ids: list[str], limit: int = 10) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def check_context_map_ids(request: InputContract, recipe: Recipe,
                          limits: BatchLimits) -> Issues:
    in_recipe = [i.id for i in recipe.ingredients]
    known = set(in_recipe)
    for path, mapping in (("request.context.costMap", request.context.cost_map),
                          ("request.context.densityMap", request.context.density_map)):
        unknown = sorted(k for k in mapping if k not in known)
        if not unknown:
            continue
        named = [f"{k} (did you mean {close[0]}?)"
                 if (close := difflib.get_close_matches(k, in_recipe, n=1, cutoff=0.8)) else k
                 for k in unknown]
        entries = "entry names an id" if len(unknown) == 1 else "entries name ids"
        message = (f"{len(unknown)} {entries} that no ingredient of this recipe has, so "
                   f"{'its value was' if len(unknown) == 1 else 'their values were'} not used: "
                   f"{_listed(named)}. The recipe's ingredient ids: {_listed(in_recipe, 20)}.")
        yield _calculation_issue(path, "warning", message[:2000])


def _grams_or_millilitres(quantity: float, unit: str) -> tuple[str, float]:
    if unit in GRAMS_PER:
        return "mass", quantity * GRAMS_PER[unit]
    return "volume", quantity * MILLILITRES_PER[unit]


def _is_batch(size: Size, quantity: float, unit: str) -> bool:
    kind, base = _grams_or_millilitres(quantity, unit)
    written_kind, written = _grams_or_millilitres(size.quantity, size.unit)
    return kind == written_kind and abs(written - base) <= SIZE_TOLERANCE * base


def check_size_in_text(request: InputContract, recipe: Recipe, limits: BatchLimits) -> Issues:
    sizes = sizes_in_text(request.user_request)
    size, unit = request.target_batch_size, request.target_unit
    if not sizes or any(_is_batch(s, size, unit) for s in sizes):
        return
    kind, _ = _grams_or_millilitres(size, unit)
    written = ", ".join(f"“{s.written}”" for s in sizes[:5])
    if all(_grams_or_millilitres(s.quantity, s.unit)[0] != kind for s in sizes):
        other = "a volume" if kind == "mass" else "a mass"
        said = f"says {written}, {other}, but the batch is {amount(size)} {unit}, a {kind}"
    else:
        said = f"says {written} but the batch is {amount(size)} {unit}"
    yield _recipe_issue("request.userRequest", "warning",
                        f"{said} (targetBatchSize, targetUnit); the run is scaled to "
                        f"{amount(size)} {unit}: check which is meant.")


REQUEST_CHECKS: tuple[tuple[str, RequestCheckFunction], ...] = (
    ("batch_plausibility", check_batch_plausibility),
    ("context_map_ids", check_context_map_ids),
    ("size_in_text", check_size_in_text),
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
        found: dict[str, list[ValidationIssue]] = {
            **{name: list(check(recipe, calculation)) for name, check in CHECKS},
            **{name: list(check(ctx.request, recipe, ctx.limits))
               for name, check in REQUEST_CHECKS}}
        for name, own in found.items():
            checks[name] = Check(passed=not any(i.severity in BLOCKING for i in own),
                                 detail=_detail(own))
            issues += own
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
