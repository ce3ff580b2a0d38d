"""graphstore/rollup.py: Cypher's percentileDisc, the days of a window and its raw ranges, when a
day may be rolled up and when a change must be recorded, and merging parts."""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, timedelta

import pytest

from graphstore import rollup


def _nearest_rank(values: list[float], p: float) -> float:
    """The textbook nearest rank: the ceil(p * n)-th smallest (the smallest for p = 0)."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p * len(ordered))) - 1]


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 19, 20, 21, 40, 100, 101, 997])
@pytest.mark.parametrize("p", [0.0, 0.25, 0.5, 0.95, 0.99, 1.0])
def test_percentile_disc_is_the_nearest_rank(n: int, p: float) -> None:
    """percentile_disc gives the nearest-rank value for every size and percentile."""
    rng = random.Random(n)
    values = [round(rng.uniform(1, 50), 3) for _ in range(n)]
    assert rollup.percentile_disc(sorted(values), p) == _nearest_rank(values, p)


def test_percentile_disc_of_nothing_is_none() -> None:
    """No values, no percentile (Cypher's null)."""
    assert rollup.percentile_disc([], 0.5) is None


def _at(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def test_whole_days_are_the_days_entirely_inside_the_window() -> None:
    """A window from 10:00 on the 1st to 06:00 on the 5th holds the 2nd, 3rd and 4th whole."""
    assert rollup.whole_days(_at(1, 10), _at(5, 6)) == [date(2026, 11, d) for d in (2, 3, 4)]
    assert rollup.whole_days(_at(1), _at(3)) == [date(2026, 11, 1), date(2026, 11, 2)]
    assert rollup.whole_days(_at(1, 1), _at(1, 23)) == []


def test_gaps_are_the_window_less_the_covered_days() -> None:
    """Partial edge days and an uncovered middle day are the raw ranges; adjacent ones join."""
    covered = [date(2026, 11, 2), date(2026, 11, 4)]
    assert rollup.gaps(_at(1, 10), _at(5, 6), covered) == [
        (_at(1, 10), _at(2)), (_at(3), _at(4)), (_at(5), _at(5, 6))]
    assert rollup.gaps(_at(1), _at(3), [date(2026, 11, 1), date(2026, 11, 2)]) == []
    assert rollup.gaps(_at(1, 10), _at(5, 6), []) == [(_at(1, 10), _at(5, 6))]


def test_gaps_refuse_a_day_outside_the_window() -> None:
    """A covered day that is not whole inside the window is a caller's error."""
    with pytest.raises(ValueError, match="not a whole day"):
        rollup.gaps(_at(1, 10), _at(5, 6), [date(2026, 11, 1)])


def test_a_day_is_rolled_up_only_after_it_ended_and_the_grace() -> None:
    """The 1st may be rolled up from 00:10 on the 2nd, not before."""
    day = date(2026, 11, 1)
    assert not rollup.rollable(day, now=_at(1, 23, 59))
    assert not rollup.rollable(day, now=_at(2, 0, 9))
    assert rollup.rollable(day, now=_at(2, 0, 10))


def test_every_change_that_can_meet_a_rollup_is_recorded() -> None:
    """A change is recorded from GRACE before the day ends, not earlier; and at any moment a
    rollup job whose clock runs up to GRACE ahead could roll the day up, a change is recorded."""
    day = date(2026, 11, 1)
    assert not rollup.change_recorded(day, now=_at(1, 23, 49))
    assert rollup.change_recorded(day, now=_at(1, 23, 50))
    for minutes in range(0, 3 * 24 * 60, 7):
        now = _at(1) + timedelta(minutes=minutes)
        if rollup.rollable(day, now=now + rollup.GRACE):
            assert rollup.change_recorded(day, now=now)


def test_durations_pack_and_unpack_exactly() -> None:
    """Packed durations come back bit for bit, sorted."""
    values = [0.1, 1e-300, 12.345, 49.999, 3.0]
    assert list(rollup.durations(rollup.pack(values))) == sorted(values)  # stored sorted
    assert list(rollup.durations(values)) == values


def test_merged_parts_hold_the_union() -> None:
    """Merging parts adds counts, joins durations and recipe sets, keeps minima and maxima."""
    totals = rollup.merge_totals([
        {"runs": 2, "failed": 1, "breached": 0, "durations": [3.0, 1.0]},
        {"runs": 1, "failed": 0, "breached": 1, "durations": rollup.pack([2.0])}])
    assert (totals["runs"], totals["failed"], totals["breached"]) == (3, 1, 1)
    assert sorted(v for r in totals["durations"] for v in r) == [1.0, 2.0, 3.0]
    agents = rollup.merge_agents([
        {"A": {"invocations": 2, "runs": 2, "failures": 1, "durations": [5.0, 6.0]}},
        {"A": {"invocations": 1, "runs": 1, "failures": 0, "durations": [7.0]},
         "B": {"invocations": 1, "runs": 1, "failures": 1, "durations": []}}])
    assert agents["A"]["invocations"] == 3
    assert sorted(v for r in agents["A"]["durations"] for v in r) == [5, 6, 7]
    assert agents["B"]["failures"] == 1
    assert sorted(rollup.merge_breaches([[["run", "duration", 2, 1]],
                                         [["run", "duration", 1, 1], ["QA", None, 1, 1]]])) \
        == [["QA", None, 1, 1], ["run", "duration", 3, 2]]
    (ing,) = rollup.merge_ingredients([[["salt", "Salt", 2, ["r1"], 2, 20.0]],
                                       [["salt", "Sea salt", 1, ["r1", "r2"], 1, 10.0]]])
    assert ing == ["salt", "Salt", 3, ["r1", "r2"], 3, 30.0]
    (cost,) = rollup.merge_costs([[["r1", "USD", "B", 2, 2, 20.0, 8.0, 12.0]],
                                  [["r1", "USD", "A", 1, 0, 0, None, None]]])
    assert cost == ["r1", "USD", "A", 3, 2, 20.0, 8.0, 12.0]
    validation = rollup.merge_validation([
        {"errors": {"validated": 2, "withIssues": 1, "detailsRemoved": 0,
                    "issues": [["QA", "x", "error", 2, 1]]}},
        {"errors": {"validated": 1, "withIssues": 1, "detailsRemoved": 1, "issues": []}}])
    assert validation["errors"] == {"validated": 3, "withIssues": 2, "detailsRemoved": 1,
                                    "issues": [["QA", "x", "error", 2, 1]]}


def test_stored_parts_are_json_with_packed_durations() -> None:
    """A stored part's durations are a packed string; other sections are unchanged."""
    part = rollup.merge_totals([{"runs": 1, "failed": 0, "breached": 0, "durations": [4.5]}])
    stored = rollup.stored("totals", part)
    assert isinstance(stored["durations"], str)
    assert list(rollup.durations(stored["durations"])) == [4.5]
    assert rollup.empty("costs") == [] and rollup.empty("agents") == {}


def test_null_last_orders_as_cypher() -> None:
    """Ascending with nulls after every value."""
    assert sorted(["b", None, "a"], key=rollup.null_last) == ["a", "b", None]


def test_whole_day_range_at_the_ends_of_the_calendar() -> None:
    """A window from the first instant of the calendar has no rollup days past its end, and no
    error."""
    start = datetime.min.replace(tzinfo=UTC)
    assert rollup.whole_day_range(start, start + timedelta(hours=5)) is None
    assert rollup.whole_day_range(_at(1, 10), _at(5, 6)) == (date(2026, 11, 2),
                                                             date(2026, 11, 4))
    assert rollup.whole_day_range(_at(1, 10), _at(2, 6)) is None


@pytest.mark.parametrize("seed", range(20))
def test_percentile_over_sorted_runs_is_the_percentile_of_their_union(seed: int) -> None:
    """Percentiles over many sorted runs (days) without merging them equal those of the union,
    duplicates and empty runs included."""
    rng = random.Random(seed)
    runs = [[float(rng.randrange(0, 40)) for _ in range(rng.randrange(0, 30))]
            for _ in range(rng.randrange(1, 8))]
    union = sorted(v for r in runs for v in r)
    stored = [rollup.pack(r) for r in runs]
    merged = rollup.merge_totals({"runs": 0, "failed": 0, "breached": 0, "durations": s}
                                 for s in stored)["durations"]
    for p in (0.0, 0.5, 0.95, 1.0):
        assert rollup.percentile_of_runs(merged, p) == rollup.percentile_disc(union, p)
