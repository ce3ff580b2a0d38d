"""Daily rollups of the analytics figures: what a closed UTC day (of one owner, or of every run)
holds, in a form that adds up exactly, and the arithmetic of windows made of whole days.

PURE: imports neither django, neo4j, celery nor the clock (`now` is passed in).

A *part* is what one statement of graphstore/cypher/analytics.py (`PARTS`) returns for one UTC day
and one owner: counts, and the observed durations themselves (so that a percentile over many days
is the percentile of their union, exactly as `percentileDisc` over the raw runs gives it). Parts
merge by adding counts, taking minima and maxima, joining duration lists and recipe sets; every
figure of graphstore/analytics.py is then computed from the merged parts of a window the same way
Cypher computes it from the raw runs (graphstore/analytics.py: `_totals_of`, `_agents_of`, ...).

A part as stored (orchestration's AnalyticsRollup, one JSON value per section):

    totals       {"runs", "failed", "breached", "durations"}        (durations of whole runs)
    agents       {agent: {"invocations", "runs", "failures", "durations"}}
    breaches     [[stage, kind, breaches, runs], ...]
    ingredients  [[ingredientId, name, runs, [recipeId, ...], nPercentages, sumPercentages], ...]
    costs        [[recipeId, currency, name, rows, nCosts, sumCosts, minCost, maxCost], ...]
    validation   {kind: {"validated", "withIssues", "detailsRemoved",
                         "issues": [[agent, field, severity, occurrences, runs], ...]}}

Durations are stored packed (`pack`: little-endian float64, base64): a day of a thousand runs is
a few thousand of them, and unpacking is a copy where parsing JSON numbers is not.
"""

from __future__ import annotations

import base64
import sys
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

SECTIONS = ("totals", "agents", "breaches", "ingredients", "costs", "validation")
KINDS = ("errors", "warnings")
# The sections each analytics endpoint reads.
SECTIONS_OF: dict[str, tuple[str, ...]] = {
    "agents": ("totals", "agents"),
    "breaches": ("totals", "breaches"),
    "ingredients": ("totals", "ingredients"),
    "costs": ("costs",),
    "validation": ("validation",),
}
# A day is rolled up only once it ended this long ago, and a change to a day is recorded (the
# day's generation moves, graphstore's callers: orchestration/services/rollups.py) from this long
# before it ends: a write whose clock said "the day is still open" committed before any rollup
# of that day read it, with clocks that agree within this margin.
GRACE = timedelta(minutes=10)
DAY = timedelta(days=1)



# --- days and windows ---------------------------------------------------------------------------


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def day_of(moment: datetime) -> date:
    """The UTC calendar day of an aware datetime (as Cypher's date(datetime({..., timezone:
    'UTC'})) gives it)."""
    return moment.astimezone(UTC).date()


def whole_day_range(since: datetime, until: datetime) -> tuple[date, date] | None:
    """The first and last UTC day lying entirely inside [since, until), or None."""
    try:
        first = day_of(since)
        if day_start(first) < since:
            first += DAY
        last = day_of(until) - DAY
    except OverflowError:  # a window at the ends of the calendar: no rollup there
        return None
    return (first, last) if first <= last else None


def whole_days(since: datetime, until: datetime) -> list[date]:
    """The UTC days lying entirely inside [since, until), in order."""
    bounds = whole_day_range(since, until)
    if bounds is None:
        return []
    first, last = bounds
    return [first + DAY * i for i in range((last - first).days + 1)]


def gaps(since: datetime, until: datetime, covered: Iterable[date]) -> list[tuple[datetime,
                                                                                 datetime]]:
    """[since, until) less the covered days, as ordered, disjoint, non-empty ranges (adjacent
    ones joined): what must be read from the raw runs."""
    ranges: list[tuple[datetime, datetime]] = []
    start = since
    for day in sorted(set(covered)):
        lo, hi = day_start(day), day_start(day) + DAY
        if lo < since or hi > until:
            raise ValueError(f"{day} is not a whole day inside the window.")
        if start < lo:
            ranges.append((start, lo))
        start = max(start, hi)
    if start < until:
        ranges.append((start, until))
    return ranges


def rollable(day: date, *, now: datetime) -> bool:
    """Whether `day` is closed long enough to be rolled up at `now`."""
    return now >= day_start(day) + DAY + GRACE


def change_recorded(day: date, *, now: datetime) -> bool:
    """Whether a change made at `now` to a run of `day` must move the day's generation (the day
    may be rolled up already, or before the change commits)."""
    return now >= day_start(day) + DAY - GRACE


# --- percentiles, durations ---------------------------------------------------------------------


def percentile_disc(ordered: list[float], p: float) -> float | None:
    """Cypher's percentileDisc over sorted values: the value at rank ceil(p * n) (1-based; the
    first for p = 0), None when there is none."""
    n = len(ordered)
    if n == 0:
        return None
    if p >= 1.0 or n == 1:
        return ordered[-1]
    at = p * n
    index = int(at)
    if at == index and index != 0:
        index -= 1
    return ordered[index]


def durations(value: Any) -> array[float]:
    """A part's durations as an array('d'), whether packed (stored), a list (read from Neo4j) or
    an array already."""
    if isinstance(value, array):
        return value
    if isinstance(value, str):
        out = array("d")
        out.frombytes(base64.b64decode(value))
        if sys.byteorder != "little":
            out.byteswap()
        return out
    return array("d", (float(v) for v in value or ()))


def sorted_runs(value: Any) -> list[array[float]]:
    """A part's durations as sorted arrays ("runs"): packed ones are stored sorted, a list read
    from Neo4j is sorted here, merged durations are already a list of runs."""
    if isinstance(value, str):
        return [durations(value)]
    if isinstance(value, array):
        return [value]
    if value and all(isinstance(v, array) for v in value):
        return list(value)
    return [array("d", sorted(float(v) for v in value or ()))]


def pack(values: Any) -> str:
    """Durations (a list, an array or runs of them) packed sorted."""
    runs = sorted_runs(values)
    out = runs[0] if len(runs) == 1 else array("d", sorted(v for r in runs for v in r))
    if sys.byteorder != "little":
        out = array("d", out)
        out.byteswap()
    return base64.b64encode(out.tobytes()).decode("ascii")


def kth(runs: list[array[float]], k: int) -> float:
    """The k-th smallest value (0-based) of the union of sorted runs, without merging them: for
    each run, a binary search for a value with fewer than k+1 values below it and at least k+1
    at or below it (bisect over every run)."""
    for run in runs:
        lo, hi = 0, len(run) - 1
        while lo <= hi:
            mid = (lo + hi) // 2
            value = run[mid]
            below = sum(bisect_left(r, value) for r in runs)
            if below > k:
                hi = mid - 1
                continue
            if sum(bisect_right(r, value) for r in runs) <= k:
                lo = mid + 1
                continue
            return value
    raise IndexError(f"no {k}-th value in {sum(len(r) for r in runs)} values")


def percentile_of_runs(runs: list[array[float]], p: float) -> float | None:
    """percentile_disc over the union of sorted runs."""
    n = sum(len(r) for r in runs)
    if n == 0:
        return None
    if p >= 1.0 or n == 1:
        return max(r[-1] for r in runs if len(r))
    at = p * n
    index = int(at)
    if at == index and index != 0:
        index -= 1
    return kth([r for r in runs if len(r)], index)


# --- merging parts ------------------------------------------------------------------------------


def _min(a: Any, b: Any) -> Any:
    if a is None:
        return b
    return a if b is None or a <= b else b


def _max(a: Any, b: Any) -> Any:
    if a is None:
        return b
    return a if b is None or a >= b else b


def _add(a: Any, b: Any) -> Any:
    return b if a is None else a if b is None else a + b


def merge_totals(parts: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"runs": 0, "failed": 0, "breached": 0, "durations": []}
    for part in parts:
        out["runs"] += part["runs"]
        out["failed"] += part["failed"]
        out["breached"] += part["breached"]
        out["durations"].extend(sorted_runs(part["durations"]))
    return out


def merge_agents(parts: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for part in parts:
        for agent, s in part.items():
            m = out.setdefault(agent, {"invocations": 0, "runs": 0, "failures": 0,
                                       "durations": []})
            m["invocations"] += s["invocations"]
            m["runs"] += s["runs"]
            m["failures"] += s["failures"]
            m["durations"].extend(sorted_runs(s["durations"]))
    return out


def _keyed(parts: Iterable[Iterable[list[Any]]], width: int) -> dict[tuple[Any, ...], list[Any]]:
    """Rows of many parts by their first `width` columns."""
    out: dict[tuple[Any, ...], list[Any]] = {}
    for part in parts:
        for row in part:
            key = tuple(row[:width])
            if key in out:
                out[key].append(row)
            else:
                out[key] = [row]
    return out


def merge_breaches(parts: Iterable[list[list[Any]]]) -> list[list[Any]]:
    return [[*key, sum(r[2] for r in rows), sum(r[3] for r in rows)]
            for key, rows in _keyed(parts, 2).items()]


def merge_ingredients(parts: Iterable[list[list[Any]]]) -> list[list[Any]]:
    out = []
    for (ingredient,), rows in _keyed(parts, 1).items():
        name = None
        recipes: set[Any] = set()
        n, total = 0, None
        for r in rows:
            name = _min(name, r[1])
            recipes.update(r[3])
            n += r[4]
            total = _add(total, r[5]) if r[4] else total
        out.append([ingredient, name, sum(r[2] for r in rows), sorted(recipes), n, total])
    return out


def merge_costs(parts: Iterable[list[list[Any]]]) -> list[list[Any]]:
    out = []
    for (recipe, currency), rows in _keyed(parts, 2).items():
        name = lo = hi = total = None
        for r in rows:
            name = _min(name, r[2])
            lo, hi = _min(lo, r[6]), _max(hi, r[7])
            total = _add(total, r[5]) if r[4] else total
        out.append([recipe, currency, name, sum(r[3] for r in rows), sum(r[4] for r in rows),
                    total, lo, hi])
    return out


def merge_validation(parts: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    issues: dict[str, list[list[list[Any]]]] = {}
    for part in parts:
        for kind, s in part.items():
            m = out.setdefault(kind, {"validated": 0, "withIssues": 0, "detailsRemoved": 0})
            m["validated"] += s["validated"]
            m["withIssues"] += s["withIssues"]
            m["detailsRemoved"] += s["detailsRemoved"]
            issues.setdefault(kind, []).append(s["issues"])
    for kind, m in out.items():
        m["issues"] = [[*key, sum(r[3] for r in rows), sum(r[4] for r in rows)]
                       for key, rows in _keyed(issues[kind], 3).items()]
    return out


MERGE = {"totals": merge_totals, "agents": merge_agents, "breaches": merge_breaches,
         "ingredients": merge_ingredients, "costs": merge_costs,
         "validation": merge_validation}


def merge(section: str, parts: Iterable[Any]) -> Any:
    """One part out of many of the same section (of any days and owners)."""
    return MERGE[section](parts)  # type: ignore[operator]


def empty(section: str) -> Any:
    return merge(section, [])


def stored(section: str, part: Any) -> Any:
    """A part as JSON (durations packed)."""
    if section == "totals":
        return {**part, "durations": pack(part["durations"])}
    if section == "agents":
        return {agent: {**s, "durations": pack(s["durations"])} for agent, s in part.items()}
    return part


def null_last(value: Any) -> tuple[bool, Any]:
    """A sort key that orders as Cypher's ORDER BY does ascending: nulls after every value."""
    return (value is None, "" if value is None else value)
