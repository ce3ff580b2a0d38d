"""Run analytics computed inside Neo4j: per-agent duration percentiles and failure rates, budget
breaches, the most used ingredients, cost per recipe per day, validation error frequency.
I/O (Neo4j reads).

Every figure is an aggregation in a fixed, parameterised Cypher statement; Python receives the
aggregated rows only (a handful per agent, recipe-day or error kind), never the runs. Each
function runs its statements in one read transaction, so the totals and the breakdowns of one
answer come from the same snapshot.

The window: committed runs (commit marker set) with `since <= startedAt < until`, found through
the range index on OrchestrationRun.startedAt; within the scope every function is given
(graphstore/scope.py): every run, or one owner's runs (through the index on ownerId,
startedAt). Days are UTC calendar days of `startedAt`.

Condensed runs (graphstore/retention.py) keep their run node, invocations and the validation
outcome, so timings, failures and budget breaches stay complete; they lose the recipe link and
the calculation (unless a formulation holds them) and the validation issue texts, so ingredient,
cost and issue figures cover the runs that still have them (`detailsRemoved` counts the runs
whose issue texts are gone).

Percentiles are `percentileDisc` (nearest rank: an observed duration, the smallest one with at
least p of the invocations at or below it). Skipped invocations count in neither percentiles
nor failure rates.

Validation error frequency reads the issue lists the writer stores beside the issues' JSON text
(ValidationReport.errorAgents / errorFields / errorSeverities, and the same for warnings; see
graphstore/codecs/validation.py): Cypher reads them directly, no JSON is parsed. Array indices in
field paths are folded (`recipe.ingredients[3].percentage` -> `recipe.ingredients[*].percentage`)
so that one kind of error is counted once, whatever the row.

The statements live in graphstore/cypher/analytics.py.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeGuard

from neo4j import Driver, ManagedTransaction

from contracts.stages import stage_index

from . import rollup
from .cypher.analytics import (
    AGENT_STATS,
    BUDGET_BREACHES,
    BUDGET_BREACHES_BY_DAY,
    COST_PER_RECIPE_DAY,
    FIRST_RUN_STARTED,
    PARTS,
    POOLED_PARTS,
    POOLED_VALIDATION_ISSUE_PARTS,
    POOLED_VALIDATION_TOTAL_PARTS,
    RUN_TOTALS,
    TOP_INGREDIENTS,
    VALIDATION_ISSUE_PARTS,
    VALIDATION_ISSUES,
    VALIDATION_TOTAL_PARTS,
    VALIDATION_TOTALS,
)
from .errors import InvalidAnalyticsQuery
from .rollup import null_last
from .scope import RunScope

# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    since: datetime
    until: datetime


@dataclass(frozen=True)
class RunTotals:
    runs: int
    failed: int
    breached: int  # runs with at least one budget breach
    p50: float | None  # of totalDuration, ms
    p95: float | None

    @property
    def failure_rate(self) -> float | None:
        return None if self.runs == 0 else self.failed / self.runs


@dataclass(frozen=True)
class AgentStats:
    agent: str
    invocations: int  # not skipped
    runs: int
    failures: int
    p50: float  # duration, ms
    p95: float
    mean: float
    max: float

    @property
    def failure_rate(self) -> float:
        return self.failures / self.invocations if self.invocations else 0.0


@dataclass(frozen=True)
class AgentReport:
    window: Window
    totals: RunTotals
    agents: list[AgentStats]


@dataclass(frozen=True)
class BreachCount:
    stage: str  # an agent, or "run" for the whole run
    kind: str | None  # "duration" or "memory"
    breaches: int
    runs: int


@dataclass(frozen=True)
class DayCount:
    day: date
    breaches: int
    runs: int


@dataclass(frozen=True)
class BreachReport:
    window: Window
    totals: RunTotals
    breaches: list[BreachCount]
    by_day: list[DayCount]


@dataclass(frozen=True)
class IngredientUse:
    ingredient_id: str
    name: str
    runs: int
    recipes: int
    avg_percentage: float


@dataclass(frozen=True)
class IngredientReport:
    window: Window
    totals: RunTotals
    ingredients: list[IngredientUse]


@dataclass(frozen=True)
class CostPoint:
    day: date
    runs: int
    avg_cost: float
    min_cost: float
    max_cost: float
    total_cost: float


@dataclass(frozen=True)
class CostSeries:
    recipe_id: str
    name: str
    currency: str
    runs: int
    points: list[CostPoint]


@dataclass(frozen=True)
class CostReport:
    window: Window
    recipe: str | None
    series: list[CostSeries]


@dataclass(frozen=True)
class IssueCount:
    agent: str
    field: str
    severity: str
    occurrences: int
    runs: int


@dataclass(frozen=True)
class ValidationReportStats:
    window: Window
    kind: str  # "errors" or "warnings"
    validated: int  # runs in the window with a ValidationReport
    with_issues: int  # of them, runs with at least one issue of this kind
    details_removed: int  # of those, condensed runs whose issue texts retention removed
    issues: list[IssueCount]


# --- reads -------------------------------------------------------------------------------------


def _read(driver: Driver, database: str, scope: RunScope,
          statements: list[tuple[dict[str, str], dict[str, Any]]]) -> list[list[Any]]:
    """Run the statements (each in the variant of `scope`, with its parameter) in one managed
    read transaction; their records, in order."""
    chosen = [(scope.statement(variants), {**params, **scope.params()})
              for variants, params in statements]

    def work(tx: ManagedTransaction) -> list[list[Any]]:
        return [list(tx.run(query, params)) for query, params in chosen]

    with driver.session(database=database, default_access_mode="READ") as session:
        return session.execute_read(work)


def _window(window: Window) -> dict[str, Any]:
    return {"since": window.since, "until": window.until}


def _totals(record: Any) -> RunTotals:
    return RunTotals(runs=record["runs"], failed=record["failed"], breached=record["breached"],
                     p50=record["p50"], p95=record["p95"])


def _day(value: Any) -> date:
    return value.to_native() if hasattr(value, "to_native") else value


def agent_report(window: Window, *, scope: RunScope, driver: Driver,
                 database: str, rolled: Rolled | None = None) -> AgentReport:
    """Per agent (in stage order): invocations, runs, failures (and rate), p50/p95/mean/max
    duration; and the same for whole runs."""
    if _rolls(rolled):
        parts = _window_parts(window, scope, rolled, "agents", driver=driver, database=database)
        return AgentReport(window, _totals_of(parts), _agents_of(parts))
    params = _window(window)
    totals, agents = _read(driver, database, scope,
                           [(RUN_TOTALS, params), (AGENT_STATS, params)])
    stats = [AgentStats(agent=r["agent"], invocations=r["invocations"], runs=r["runs"],
                        failures=r["failures"], p50=r["p50"], p95=r["p95"], mean=r["mean"],
                        max=r["max"]) for r in agents]
    stats.sort(key=lambda a: (stage_index(a.agent), a.agent))
    return AgentReport(window, _totals(totals[0]), stats)


def breach_report(window: Window, *, scope: RunScope, driver: Driver,
                  database: str, rolled: Rolled | None = None) -> BreachReport:
    """Budget breaches by stage and kind (`run` for the whole run) and per UTC day."""
    if _rolls(rolled):
        parts = _window_parts(window, scope, rolled, "breaches", driver=driver,
                              database=database)
        return _breaches_of(window, parts)
    params = _window(window)
    totals, breaches, days = _read(driver, database, scope, [
        (RUN_TOTALS, params), (BUDGET_BREACHES, params), (BUDGET_BREACHES_BY_DAY, params)])
    return BreachReport(
        window, _totals(totals[0]),
        [BreachCount(stage=r["stage"], kind=r["kind"], breaches=r["breaches"], runs=r["runs"])
         for r in breaches],
        [DayCount(day=_day(r["day"]), breaches=r["breaches"], runs=r["runs"]) for r in days])


def ingredient_report(window: Window, *, scope: RunScope, limit: int, driver: Driver,
                      database: str, rolled: Rolled | None = None) -> IngredientReport:
    """The `limit` ingredients used by the most runs (ties by name)."""
    if _rolls(rolled):
        parts = _window_parts(window, scope, rolled, "ingredients", driver=driver,
                              database=database)
        return IngredientReport(window, _totals_of(parts), _ingredients_of(parts, limit))
    params = _window(window)
    totals, rows = _read(driver, database, scope, [
        (RUN_TOTALS, params), (TOP_INGREDIENTS, {**params, "limit": limit})])
    return IngredientReport(window, _totals(totals[0]), [
        IngredientUse(ingredient_id=r["ingredientId"], name=r["name"], runs=r["runs"],
                      recipes=r["recipes"], avg_percentage=r["avgPercentage"]) for r in rows])


def cost_report(window: Window, *, scope: RunScope, recipe: str | None, limit: int,
                driver: Driver, database: str, rolled: Rolled | None = None) -> CostReport:
    """Total cost of the runs of each recipe per UTC day (average, min, max, sum), for the
    `limit` recipes with the most costed runs, or for the recipe id `recipe` only."""
    if _rolls(rolled):
        parts = _window_parts(window, scope, rolled, "costs", driver=driver, database=database)
        return _costs_of(window, parts, recipe=recipe, limit=limit)
    (rows,) = _read(driver, database, scope, [
        (COST_PER_RECIPE_DAY, {**_window(window), "recipe": recipe, "limit": limit})])
    grouped: dict[tuple[str, str], list[Any]] = {}
    for r in rows:  # ordered by recipe, currency, day: one series per recipe and currency
        grouped.setdefault((r["recipeId"], r["currency"]), []).append(r)
    series = [
        CostSeries(recipe_id=recipe_id, name=min(r["name"] for r in group), currency=currency,
                   runs=sum(r["runs"] for r in group),
                   points=[CostPoint(day=_day(r["day"]), runs=r["runs"], avg_cost=r["avgCost"],
                                     min_cost=r["minCost"], max_cost=r["maxCost"],
                                     total_cost=r["totalCost"]) for r in group])
        for (recipe_id, currency), group in grouped.items()
    ]
    return CostReport(window, recipe, series)


def validation_report(window: Window, *, scope: RunScope, kind: str, limit: int,
                      driver: Driver, database: str,
                      rolled: Rolled | None = None) -> ValidationReportStats:
    """How often each kind of validation issue (agent, field path with indices folded, severity)
    occurred, and in how many runs. `kind` is "errors" (critical included) or "warnings"."""
    if kind not in ("errors", "warnings"):
        raise InvalidAnalyticsQuery(f"kind must be 'errors' or 'warnings', got {kind!r}.")
    if _rolls(rolled):
        parts = _window_parts(window, scope, rolled, "validation", driver=driver,
                              database=database, kinds=(kind,))
        return _validation_of(window, parts, kind=kind, limit=limit)
    params = {**_window(window), "kind": kind}
    totals, rows = _read(driver, database, scope, [
        (VALIDATION_TOTALS, params), (VALIDATION_ISSUES, {**params, "limit": limit})])
    return ValidationReportStats(
        window, kind, validated=totals[0]["validated"], with_issues=totals[0]["withIssues"],
        details_removed=totals[0]["detailsRemoved"],
        issues=[IssueCount(agent=r["agent"], field=r["field"],
                           severity=r["severity"], occurrences=r["occurrences"], runs=r["runs"])
                for r in rows])


# --- the same figures from parts: daily rollups plus the raw ranges they do not cover ----------
# graphstore/rollup.py holds the parts' arithmetic; orchestration/services/rollups.py keeps the
# rollups; orchestration/selectors.py hands a report the rolled days of its window (`Rolled`).
# Counts, minima, maxima and percentiles come out identical to the raw statements'; sums and
# means equal up to the order of floating-point additions.

Part = dict[str, Any]  # {section: part} of one UTC day and owner (graphstore/rollup.py)


@dataclass(frozen=True)
class Rolled:
    """The whole UTC days of a window whose figures come from daily rollups, and their parts in
    the read's scope: (day, {section: part}) for each rollup row (a day without a row for the
    scope, such as an owner with no run that day, is not in `days`: it is read raw)."""

    days: frozenset[date]
    parts: list[tuple[date, Mapping[str, Any]]]


def _rolls(rolled: Rolled | None) -> TypeGuard[Rolled]:
    return rolled is not None and bool(rolled.days)


def read_parts(*, driver: Driver, database: str, scope: RunScope,
               ranges: list[tuple[datetime, datetime]], sections: tuple[str, ...],
               kinds: tuple[str, ...] = rollup.KINDS,
               pooled: bool = False) -> dict[tuple[date, str | None], Part]:
    """The parts of the committed runs started in `ranges` (disjoint [since, until) pairs), per
    UTC day and owner, for `sections` (graphstore/rollup.py), in one read transaction. With
    `pooled`, every run's parts are per UTC day only (owner None: POOLED_PARTS), for a window
    read that merges them anyway; the rollup job needs them per owner."""
    params: dict[str, Any] = {"ranges": [{"since": a, "until": b} for a, b in ranges]}
    parts = POOLED_PARTS if pooled else PARTS
    totals_parts = POOLED_VALIDATION_TOTAL_PARTS if pooled else VALIDATION_TOTAL_PARTS
    issue_parts = POOLED_VALIDATION_ISSUE_PARTS if pooled else VALIDATION_ISSUE_PARTS
    statements: list[tuple[dict[str, str], dict[str, Any]]] = []
    for section in sections:
        if section == "validation":
            for kind in kinds:
                statements += [(totals_parts, {**params, "kind": kind}),
                               (issue_parts, {**params, "kind": kind})]
        else:
            statements.append((parts[section], params))
    results = iter(_read(driver, database, scope, statements))
    out: dict[tuple[date, str | None], Part] = {}

    def part(rec: Any) -> Part:
        return out.setdefault((_day(rec["day"]), rec["owner"]), {})

    for section in sections:
        if section == "validation":
            for kind in kinds:
                totals, issues = next(results), next(results)
                for r in totals:
                    part(r).setdefault("validation", {})[kind] = {
                        "validated": r["validated"], "withIssues": r["withIssues"],
                        "detailsRemoved": r["detailsRemoved"], "issues": []}
                for r in issues:
                    part(r)["validation"][kind]["issues"].append(
                        [r["agent"], r["field"], r["severity"], r["occurrences"], r["runs"]])
            continue
        for r in next(results):
            p = part(r)
            if section == "totals":
                p["totals"] = {"runs": r["runs"], "failed": r["failed"],
                               "breached": r["breached"], "durations": r["durations"]}
            elif section == "agents":
                p.setdefault("agents", {})[r["agent"]] = {
                    "invocations": r["invocations"], "runs": r["runs"],
                    "failures": r["failures"], "durations": r["durations"]}
            elif section == "breaches":
                p.setdefault("breaches", []).append(
                    [r["stage"], r["kind"], r["breaches"], r["runs"]])
            elif section == "ingredients":
                p.setdefault("ingredients", []).append(
                    [r["ingredientId"], r["name"], r["runs"], sorted(r["recipes"]), r["n"],
                     r["total"]])
            else:  # costs
                p.setdefault("costs", []).append(
                    [r["recipeId"], r["currency"], r["name"], r["rows"], r["n"], r["total"],
                     r["minCost"], r["maxCost"]])
    return out


def first_run_started(*, driver: Driver, database: str) -> datetime | None:
    """When the earliest committed run started (None for an empty graph)."""
    def work(tx: ManagedTransaction) -> Any:
        return tx.run(FIRST_RUN_STARTED).single()

    with driver.session(database=database, default_access_mode="READ") as session:
        record = session.execute_read(work)
    if record is None:
        return None
    value = record["startedAt"]
    return value.to_native() if hasattr(value, "to_native") else value


def _window_parts(window: Window, scope: RunScope, rolled: Rolled, endpoint: str, *,
                  driver: Driver, database: str, kinds: tuple[str, ...] = rollup.KINDS
                  ) -> list[tuple[date, Mapping[str, Any]]]:
    """The rolled days' parts and the parts of the rest of the window, read raw."""
    ranges = rollup.gaps(window.since, window.until, rolled.days)
    raw = read_parts(driver=driver, database=database, scope=scope, ranges=ranges,
                     sections=rollup.SECTIONS_OF[endpoint], kinds=kinds,
                     pooled=True) if ranges else {}
    return [*rolled.parts, *((day, part) for (day, _), part in raw.items())]


def _section(parts: list[tuple[date, Mapping[str, Any]]], name: str) -> list[Any]:
    return [p[name] for _, p in parts if name in p]


def _mean(runs: list[Any]) -> float | None:
    n = sum(len(r) for r in runs)
    return math.fsum(v for r in runs for v in r) / n if n else None


def _totals_of(parts: list[tuple[date, Mapping[str, Any]]]) -> RunTotals:
    t = rollup.merge_totals(_section(parts, "totals"))
    runs = t["durations"]
    return RunTotals(runs=t["runs"], failed=t["failed"], breached=t["breached"],
                     p50=rollup.percentile_of_runs(runs, 0.5),
                     p95=rollup.percentile_of_runs(runs, 0.95))


def _agents_of(parts: list[tuple[date, Mapping[str, Any]]]) -> list[AgentStats]:
    stats = []
    for agent, s in rollup.merge_agents(_section(parts, "agents")).items():
        runs = s["durations"]
        stats.append(AgentStats(
            agent=agent, invocations=s["invocations"], runs=s["runs"], failures=s["failures"],
            p50=rollup.percentile_of_runs(runs, 0.5),  # type: ignore[arg-type]
            p95=rollup.percentile_of_runs(runs, 0.95),  # type: ignore[arg-type]
            mean=_mean(runs),  # type: ignore[arg-type]
            max=rollup.percentile_of_runs(runs, 1.0)))  # type: ignore[arg-type]
    stats.sort(key=lambda a: (stage_index(a.agent), a.agent))
    return stats


def _by_day(parts: list[tuple[date, Mapping[str, Any]]]
            ) -> dict[date, list[Mapping[str, Any]]]:
    days: dict[date, list[Mapping[str, Any]]] = {}
    for day, part in parts:
        days.setdefault(day, []).append(part)
    return days


def _breaches_of(window: Window, parts: list[tuple[date, Mapping[str, Any]]]) -> BreachReport:
    rows = rollup.merge_breaches(_section(parts, "breaches"))
    rows.sort(key=lambda r: (-r[2], null_last(r[0]), null_last(r[1])))
    by_day = []
    for day, day_parts in sorted(_by_day(parts).items()):
        breaches = sum(r[2] for p in day_parts for r in p.get("breaches", ()))
        if breaches:
            by_day.append(DayCount(day=day, breaches=breaches, runs=sum(
                p["totals"]["breached"] for p in day_parts if "totals" in p)))
    return BreachReport(
        window, _totals_of(parts),
        [BreachCount(stage=r[0], kind=r[1], breaches=r[2], runs=r[3]) for r in rows], by_day)


def _ingredients_of(parts: list[tuple[date, Mapping[str, Any]]],
                    limit: int) -> list[IngredientUse]:
    rows = rollup.merge_ingredients(_section(parts, "ingredients"))
    rows.sort(key=lambda r: (-r[2], null_last(r[1]), null_last(r[0])))
    return [IngredientUse(ingredient_id=r[0], name=r[1], runs=r[2], recipes=len(r[3]),
                          avg_percentage=r[5] / r[4] if r[4] else None)  # type: ignore[arg-type]
            for r in rows[:limit]]


def _costs_of(window: Window, parts: list[tuple[date, Mapping[str, Any]]], *,
              recipe: str | None, limit: int) -> CostReport:
    points: dict[tuple[Any, Any], list[tuple[date, list[Any]]]] = {}
    recipe_runs: dict[Any, int] = {}
    for day, day_parts in _by_day(parts).items():
        for r in rollup.merge_costs(p["costs"] for p in day_parts if "costs" in p):
            if recipe is not None and r[0] != recipe:
                continue
            points.setdefault((r[0], r[1]), []).append((day, r))
            recipe_runs[r[0]] = recipe_runs.get(r[0], 0) + r[3]
    top = sorted(recipe_runs, key=lambda k: (-recipe_runs[k], null_last(k)))[:limit]
    chosen = set(top)
    order = {k: i for i, k in enumerate(top)}
    series = []
    for (recipe_id, currency), group in sorted(
            ((k, g) for k, g in points.items() if k[0] in chosen),
            key=lambda kg: (order[kg[0][0]], null_last(kg[0][1]))):
        group.sort(key=lambda dr: dr[0])
        name = None
        for _, r in group:
            name = rollup._min(name, r[2])
        series.append(CostSeries(
            recipe_id=recipe_id, name=name, currency=currency,  # type: ignore[arg-type]
            runs=sum(r[3] for _, r in group),
            points=[CostPoint(day=day, runs=r[3],
                              avg_cost=r[5] / r[4] if r[4] else None,  # type: ignore[arg-type]
                              min_cost=r[6], max_cost=r[7],
                              total_cost=r[5] if r[4] else 0) for day, r in group]))
    return CostReport(window, recipe, series)


def _validation_of(window: Window, parts: list[tuple[date, Mapping[str, Any]]], *, kind: str,
                   limit: int) -> ValidationReportStats:
    merged = rollup.merge_validation(
        {kind: p[kind]} for p in _section(parts, "validation") if kind in p)
    m = merged.get(kind) or {"validated": 0, "withIssues": 0, "detailsRemoved": 0,
                             "issues": []}
    rows = sorted(m["issues"], key=lambda r: (-r[3], -r[4], null_last(r[0]), null_last(r[1]),
                                              null_last(r[2])))
    return ValidationReportStats(
        window, kind, validated=m["validated"], with_issues=m["withIssues"],
        details_removed=m["detailsRemoved"],
        issues=[IssueCount(agent=r[0], field=r[1], severity=r[2], occurrences=r[3], runs=r[4])
                for r in rows[:limit]])
