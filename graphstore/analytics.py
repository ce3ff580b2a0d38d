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

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from neo4j import Driver, ManagedTransaction

from contracts.stages import stage_index

from .cypher.analytics import (
    AGENT_STATS,
    BUDGET_BREACHES,
    BUDGET_BREACHES_BY_DAY,
    COST_PER_RECIPE_DAY,
    RUN_TOTALS,
    TOP_INGREDIENTS,
    VALIDATION_ISSUES,
    VALIDATION_TOTALS,
)
from .errors import InvalidAnalyticsQuery
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
                 database: str) -> AgentReport:
    """Per agent (in stage order): invocations, runs, failures (and rate), p50/p95/mean/max
    duration; and the same for whole runs."""
    params = _window(window)
    totals, agents = _read(driver, database, scope,
                           [(RUN_TOTALS, params), (AGENT_STATS, params)])
    stats = [AgentStats(agent=r["agent"], invocations=r["invocations"], runs=r["runs"],
                        failures=r["failures"], p50=r["p50"], p95=r["p95"], mean=r["mean"],
                        max=r["max"]) for r in agents]
    stats.sort(key=lambda a: (stage_index(a.agent), a.agent))
    return AgentReport(window, _totals(totals[0]), stats)


def breach_report(window: Window, *, scope: RunScope, driver: Driver,
                  database: str) -> BreachReport:
    """Budget breaches by stage and kind (`run` for the whole run) and per UTC day."""
    params = _window(window)
    totals, breaches, days = _read(driver, database, scope, [
        (RUN_TOTALS, params), (BUDGET_BREACHES, params), (BUDGET_BREACHES_BY_DAY, params)])
    return BreachReport(
        window, _totals(totals[0]),
        [BreachCount(stage=r["stage"], kind=r["kind"], breaches=r["breaches"], runs=r["runs"])
         for r in breaches],
        [DayCount(day=_day(r["day"]), breaches=r["breaches"], runs=r["runs"]) for r in days])


def ingredient_report(window: Window, *, scope: RunScope, limit: int, driver: Driver,
                      database: str) -> IngredientReport:
    """The `limit` ingredients used by the most runs (ties by name)."""
    params = _window(window)
    totals, rows = _read(driver, database, scope, [
        (RUN_TOTALS, params), (TOP_INGREDIENTS, {**params, "limit": limit})])
    return IngredientReport(window, _totals(totals[0]), [
        IngredientUse(ingredient_id=r["ingredientId"], name=r["name"], runs=r["runs"],
                      recipes=r["recipes"], avg_percentage=r["avgPercentage"]) for r in rows])


def cost_report(window: Window, *, scope: RunScope, recipe: str | None, limit: int,
                driver: Driver, database: str) -> CostReport:
    """Total cost of the runs of each recipe per UTC day (average, min, max, sum), for the
    `limit` recipes with the most costed runs, or for the recipe id `recipe` only."""
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
                      driver: Driver, database: str) -> ValidationReportStats:
    """How often each kind of validation issue (agent, field path with indices folded, severity)
    occurred, and in how many runs. `kind` is "errors" (critical included) or "warnings"."""
    if kind not in ("errors", "warnings"):
        raise InvalidAnalyticsQuery(f"kind must be 'errors' or 'warnings', got {kind!r}.")
    params = {**_window(window), "kind": kind}
    totals, rows = _read(driver, database, scope, [
        (VALIDATION_TOTALS, params), (VALIDATION_ISSUES, {**params, "limit": limit})])
    return ValidationReportStats(
        window, kind, validated=totals[0]["validated"], with_issues=totals[0]["withIssues"],
        details_removed=totals[0]["detailsRemoved"],
        issues=[IssueCount(agent=r["agent"], field=r["field"],
                           severity=r["severity"], occurrences=r["occurrences"], runs=r["runs"])
                for r in rows])
