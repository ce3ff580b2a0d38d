"""Analytics (graphstore/analytics.py): every figure is one aggregation over the committed runs
of a window (`$since <= startedAt < $until`, through the range index on
OrchestrationRun.startedAt). Days are UTC calendar days of `startedAt`. Every statement comes in
two scopes (graphstore/scope.py): "all" runs, or the runs "owned" by `$ownerId`.

PURE: imports neither django, neo4j, celery nor the clock.
"""

from __future__ import annotations

from ..codecs import ISSUE_LISTS
from ..scope import ALL, OWNED

# The window every statement starts with: over every run (range index
# orchestration_run_started), or over one owner's runs (graphstore/scope.py; range index
# orchestration_run_owner_started on (ownerId, startedAt)).
_WINDOWS = {
    ALL: (
        "MATCH (r:OrchestrationRun)\n"
        "WHERE r.startedAt >= $since AND r.startedAt < $until AND r.commitChecksum IS NOT NULL\n"
    ),
    OWNED: (
        "MATCH (r:OrchestrationRun)\n"
        "WHERE r.ownerId = $ownerId AND r.startedAt >= $since AND r.startedAt < $until "
        "AND r.commitChecksum IS NOT NULL\n"
    ),
}


def _scoped(body: str) -> dict[str, str]:
    """A statement over the window, in both scopes: {"all": ..., "owned": ...}."""
    return {scope: window + body for scope, window in _WINDOWS.items()}

# The UTC calendar day a run started on (startedAt keeps the offset it was recorded with).
_DAY = "date(datetime({datetime: r.startedAt, timezone: 'UTC'}))"

RUN_TOTALS = _scoped(
    "RETURN count(r) AS runs,\n"
    "       count(CASE WHEN r.status = 'failed' THEN 1 END) AS failed,\n"
    "       count(CASE WHEN size(coalesce(r.budgetBreaches, [])) > 0 THEN 1 END) AS breached,\n"
    "       percentileDisc(r.totalDuration, 0.5) AS p50, percentileDisc(r.totalDuration, 0.95)"
    " AS p95"
)

AGENT_STATS = _scoped(
    "MATCH (r)-[:HAS_AGENT_INVOCATION]->(a:AgentInvocation)\n"
    "WITH r, a WHERE a.status <> 'skipped'\n"
    "RETURN a.agent AS agent, count(a) AS invocations, count(DISTINCT r) AS runs,\n"
    "       count(CASE WHEN a.status = 'failed' THEN 1 END) AS failures,\n"
    "       percentileDisc(a.duration, 0.5) AS p50, percentileDisc(a.duration, 0.95) AS p95,\n"
    "       avg(a.duration) AS mean, max(a.duration) AS max\n"
    "ORDER BY agent"
)

BUDGET_BREACHES = _scoped(
    "UNWIND r.budgetBreaches AS breach\n"
    "WITH r, split(breach, '.') AS parts\n"
    "RETURN parts[0] AS stage, parts[1] AS kind, count(*) AS breaches,\n"
    "       count(DISTINCT r) AS runs\n"
    "ORDER BY breaches DESC, stage, kind"
)

BUDGET_BREACHES_BY_DAY = _scoped(
    "UNWIND r.budgetBreaches AS breach\n"
    f"WITH r, breach, {_DAY} AS day\n"
    "RETURN day, count(breach) AS breaches, count(DISTINCT r) AS runs\n"
    "ORDER BY day"
)

# The name is the one the counted runs' recipes gave (on HAS_INGREDIENT), not the shared
# Ingredient node's, which another run (of another owner) may have named first.
TOP_INGREDIENTS = _scoped(
    "MATCH (r)-[:USED_RECIPE]->(rv:RecipeVersion)-[h:HAS_INGREDIENT]->(i:Ingredient)\n"
    "RETURN i.ingredientId AS ingredientId, min(h.name) AS name, count(DISTINCT r) AS runs,\n"
    "       count(DISTINCT rv.recipeId) AS recipes, avg(h.percentage) AS avgPercentage\n"
    "ORDER BY runs DESC, name, ingredientId\n"
    "LIMIT $limit"
)

# The `limit` recipes with the most costed runs in the window (or the one asked for), then their
# cost per UTC day and currency.
COST_PER_RECIPE_DAY = _scoped(
    "MATCH (r)-[:USED_RECIPE]->(rv:RecipeVersion)\n"
    "WHERE $recipe IS NULL OR rv.recipeId = $recipe\n"
    "MATCH (r)-[:PRODUCED_CALCULATION]->(c:CalculationResult)\n"
    f"WITH rv.recipeId AS recipeId, rv.name AS name, c.currency AS currency, {_DAY} AS day,\n"
    "     c.totalCost AS cost\n"
    "WITH recipeId, collect({name: name, currency: currency, day: day, cost: cost}) AS rows,\n"
    "     count(*) AS recipeRuns\n"
    "ORDER BY recipeRuns DESC, recipeId\n"
    "LIMIT $limit\n"
    "UNWIND rows AS row\n"
    "WITH recipeId, recipeRuns, row.currency AS currency, row.day AS day, row.name AS name,\n"
    "     row.cost AS cost\n"
    "RETURN recipeId, recipeRuns, min(name) AS name, currency, day, count(*) AS runs,\n"
    "       avg(cost) AS avgCost, min(cost) AS minCost, max(cost) AS maxCost,\n"
    "       sum(cost) AS totalCost\n"
    "ORDER BY recipeRuns DESC, recipeId, currency, day"
)

# The issue lists of the kind asked for ($kind: 'errors' or 'warnings'), read directly: the writer
# stores each issue's agent, field and severity in parallel string lists beside the JSON text
# (graphstore/codecs/validation.py, ISSUE_LISTS).
_ERRORS, _WARNINGS = ISSUE_LISTS["errors"], ISSUE_LISTS["warnings"]


def _of_kind(i: int) -> str:
    return f"CASE $kind WHEN 'warnings' THEN v.{_WARNINGS[i]} ELSE v.{_ERRORS[i]} END"


VALIDATION_TOTALS = _scoped(
    "MATCH (r)-[:PRODUCED_VALIDATION]->(v:ValidationReport)\n"
    "WITH v, CASE $kind WHEN 'warnings' THEN v.warningCount ELSE v.errorCount END AS n,\n"
    f"     {_of_kind(0)} AS agents\n"
    "RETURN count(v) AS validated, count(CASE WHEN n > 0 THEN 1 END) AS withIssues,\n"
    "       count(CASE WHEN n > 0 AND agents IS NULL THEN 1 END) AS detailsRemoved"
)

# One row per issue of the kind asked for, with its run: agent, severity, and the field path with
# its array indices folded (both VALIDATION_ISSUES and VALIDATION_ISSUE_PARTS count these).
_ISSUE_ROWS = (
    f"WITH r, {_of_kind(0)} AS agents,\n"
    f"     {_of_kind(1)} AS fields,\n"
    f"     {_of_kind(2)} AS severities\n"
    "UNWIND range(0, size(coalesce(agents, [])) - 1) AS i\n"
    "WITH r, agents[i] AS agent, severities[i] AS severity, split(fields[i], '[') AS parts\n"
    "WITH r, agent, severity, reduce(f = head(parts), p IN tail(parts) |\n"
    "     f + '[*]' + substring(p, size(split(p, ']')[0]) + 1)) AS field\n"
)

# Array indices in field paths are folded (`recipe.ingredients[3].percentage` ->
# `recipe.ingredients[*].percentage`), so that one kind of issue is counted once.
VALIDATION_ISSUES = _scoped(
    "MATCH (r)-[:PRODUCED_VALIDATION]->(v:ValidationReport)\n"
    + _ISSUE_ROWS
    + "RETURN agent, field, severity, count(*) AS occurrences, count(DISTINCT r) AS runs\n"
    "ORDER BY occurrences DESC, runs DESC, agent, field, severity\n"
    "LIMIT $limit"
)


# --- parts: the same figures per UTC day and owner, in a form that adds up (graphstore/rollup.py)
# Over a list of ranges (`$ranges`: [{since, until}, ...], disjoint), each found through the same
# range indexes as the window above: the rollup job reads one whole day, a window read with
# rollups reads the ranges the rollups do not cover (its partial edge days, today, any day whose
# rollup is missing or stale). Durations are returned as lists (percentiles of a union of days
# need the values); everything else is counted, summed, or taken as a minimum or maximum.
_RANGES = {
    ALL: (
        "UNWIND $ranges AS w\n"
        "MATCH (r:OrchestrationRun)\n"
        "WHERE r.startedAt >= w.since AND r.startedAt < w.until AND r.commitChecksum IS NOT NULL\n"
    ),
    OWNED: (
        "UNWIND $ranges AS w\n"
        "MATCH (r:OrchestrationRun)\n"
        "WHERE r.ownerId = $ownerId AND r.startedAt >= w.since AND r.startedAt < w.until "
        "AND r.commitChecksum IS NOT NULL\n"
    ),
}


def _parts(body: str) -> dict[str, str]:
    return {scope: window + body for scope, window in _RANGES.items()}


_KEYS = f"{_DAY} AS day, r.ownerId AS owner"

PARTS = {
    "totals": _parts(
        f"RETURN {_KEYS}, count(r) AS runs,\n"
        "       count(CASE WHEN r.status = 'failed' THEN 1 END) AS failed,\n"
        "       count(CASE WHEN size(coalesce(r.budgetBreaches, [])) > 0 THEN 1 END)"
        " AS breached,\n"
        "       collect(r.totalDuration) AS durations"
    ),
    "agents": _parts(
        "MATCH (r)-[:HAS_AGENT_INVOCATION]->(a:AgentInvocation)\n"
        "WITH r, a WHERE a.status <> 'skipped'\n"
        f"RETURN {_KEYS}, a.agent AS agent, count(a) AS invocations,\n"
        "       count(DISTINCT r) AS runs,\n"
        "       count(CASE WHEN a.status = 'failed' THEN 1 END) AS failures,\n"
        "       collect(a.duration) AS durations"
    ),
    "breaches": _parts(
        "UNWIND r.budgetBreaches AS breach\n"
        "WITH r, split(breach, '.') AS parts\n"
        f"RETURN {_KEYS}, parts[0] AS stage, parts[1] AS kind, count(*) AS breaches,\n"
        "       count(DISTINCT r) AS runs"
    ),
    "ingredients": _parts(
        "MATCH (r)-[:USED_RECIPE]->(rv:RecipeVersion)-[h:HAS_INGREDIENT]->(i:Ingredient)\n"
        f"RETURN {_KEYS}, i.ingredientId AS ingredientId, min(h.name) AS name,\n"
        "       count(DISTINCT r) AS runs, collect(DISTINCT rv.recipeId) AS recipes,\n"
        "       count(h.percentage) AS n, sum(h.percentage) AS total"
    ),
    "costs": _parts(
        "MATCH (r)-[:USED_RECIPE]->(rv:RecipeVersion)\n"
        "MATCH (r)-[:PRODUCED_CALCULATION]->(c:CalculationResult)\n"
        f"RETURN {_KEYS}, rv.recipeId AS recipeId, c.currency AS currency,\n"
        "       min(rv.name) AS name, count(*) AS rows, count(c.totalCost) AS n,\n"
        "       sum(c.totalCost) AS total, min(c.totalCost) AS minCost,\n"
        "       max(c.totalCost) AS maxCost"
    ),
}

# Validation, for the kind asked for ($kind), as VALIDATION_TOTALS and VALIDATION_ISSUES.
VALIDATION_TOTAL_PARTS = _parts(
    "MATCH (r)-[:PRODUCED_VALIDATION]->(v:ValidationReport)\n"
    "WITH r, v, CASE $kind WHEN 'warnings' THEN v.warningCount ELSE v.errorCount END AS n,\n"
    f"     {_of_kind(0)} AS agents\n"
    f"RETURN {_KEYS}, count(v) AS validated, count(CASE WHEN n > 0 THEN 1 END) AS withIssues,\n"
    "       count(CASE WHEN n > 0 AND agents IS NULL THEN 1 END) AS detailsRemoved"
)
VALIDATION_ISSUE_PARTS = _parts(
    "MATCH (r)-[:PRODUCED_VALIDATION]->(v:ValidationReport)\n"
    + _ISSUE_ROWS
    + f"RETURN {_KEYS}, agent, field, severity, count(*) AS occurrences,\n"
    "       count(DISTINCT r) AS runs"
)

# The same parts pooled over the owners (`owner` null) for a read of every run: a window read
# of every run wants the figures of the ranges its rollups do not cover (its partial edge days,
# today), not one row per owner, which the rollup job needs (it keeps a rollup per owner) and
# which multiplied the rows an auditor's window read aggregated and fetched (ingredients: 1,056
# rows for 138 at 100,000 runs, 330 ms for 180). The owned variant is the owned part as is.
_POOLED_KEYS = f"{_DAY} AS day, null AS owner"


def _pooled(variants: dict[str, str]) -> dict[str, str]:
    every = variants[ALL]
    if every.count(_KEYS) != 1:
        raise ValueError("a part statement returns its day and owner keys exactly once")
    return {ALL: every.replace(_KEYS, _POOLED_KEYS), OWNED: variants[OWNED]}


POOLED_PARTS = {name: _pooled(variants) for name, variants in PARTS.items()}
POOLED_VALIDATION_TOTAL_PARTS = _pooled(VALIDATION_TOTAL_PARTS)
POOLED_VALIDATION_ISSUE_PARTS = _pooled(VALIDATION_ISSUE_PARTS)

# The earliest start of a committed run (in index order: one index entry read, or a few).
FIRST_RUN_STARTED = (
    "MATCH (r:OrchestrationRun)\n"
    "WHERE r.startedAt IS NOT NULL AND r.commitChecksum IS NOT NULL\n"
    "RETURN r.startedAt AS startedAt ORDER BY startedAt LIMIT 1"
)
