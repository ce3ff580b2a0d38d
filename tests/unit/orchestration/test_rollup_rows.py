"""Which analytics rollup rows a window reads (orchestration/selectors.py, analytics_rolled):
only rows of the scope, of whole closed days inside the window, carrying their day's current
generation; today never; the change marks of services/rollups.py (ledger database only)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from graphstore import rollup
from graphstore.scope import RunScope
from orchestration import selectors
from orchestration.models import EVERY_OWNER, AnalyticsDay, AnalyticsRollup
from orchestration.services.rollups import days_changed, rollups_invalidate

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)
DAYS = [date(2026, 11, d) for d in (25, 26, 27, 28)]


def _totals(runs: int) -> dict[str, object]:
    return rollup.stored("totals", rollup.merge_totals(
        [{"runs": runs, "failed": 0, "breached": 0, "durations": [1.5] * runs}]))


@pytest.fixture
def rows() -> None:
    for d in DAYS:
        AnalyticsDay.objects.create(day=d, generation=2, rolled_generation=2)
        AnalyticsRollup.objects.create(day_id=d, owner=EVERY_OWNER, generation=2,
                                       totals=_totals(10))
        AnalyticsRollup.objects.create(day_id=d, owner="7", generation=2, totals=_totals(3))
    AnalyticsDay.objects.create(day=date(2026, 11, 29))  # today: never rolled up


def _rolled(scope: RunScope, since: datetime, until: datetime = NOW) -> set[date] | None:
    rolled = selectors.analytics_rolled(scope=scope, since=since, until=until,
                                        endpoint="agents", now=NOW)
    return None if rolled is None else set(rolled.days)


def test_a_window_reads_the_current_rows_of_its_whole_days(rows: None) -> None:
    """Whole days inside the window, of the scope's rows; a partial edge day is not read."""
    assert _rolled(RunScope.every_run(), NOW - timedelta(days=3, hours=13)) == set(DAYS[1:])
    assert _rolled(RunScope.every_run(), NOW - timedelta(days=3, hours=11)) == set(DAYS[2:])
    assert _rolled(RunScope.owned_by("7"), NOW - timedelta(days=30)) == set(DAYS)
    assert _rolled(RunScope.owned_by("8"), NOW - timedelta(days=30)) is None
    rolled = selectors.analytics_rolled(scope=RunScope.owned_by("7"), since=NOW - timedelta(
        days=30), until=NOW, endpoint="agents", now=NOW)
    assert rolled is not None
    assert {p["totals"]["runs"] for _, p in rolled.parts} == {3}
    assert all(set(p) == {"totals", "agents"} for _, p in rolled.parts)


def test_a_changed_day_is_not_read_until_rolled_up_again(rows: None) -> None:
    """A day whose generation moved (a late write, a retention pass) is left out."""
    assert days_changed(days=[DAYS[1], date(2026, 11, 29)], now=NOW) == [DAYS[1]]
    assert _rolled(RunScope.every_run(), NOW - timedelta(days=30)) == {DAYS[0], *DAYS[2:]}
    assert rollups_invalidate(since=DAYS[2]) == 3  # the 27th, 28th and today
    assert _rolled(RunScope.every_run(), NOW - timedelta(days=30)) == {DAYS[0]}


def test_a_change_to_an_open_day_records_nothing() -> None:
    """A write into a day that is still open (more than GRACE before its end) marks nothing."""
    assert days_changed(days=[date(2026, 11, 29)], now=NOW) == []
    assert not AnalyticsDay.objects.exists()
    late = NOW.replace(hour=23, minute=55)
    assert days_changed(days=[date(2026, 11, 29)], now=late) == [date(2026, 11, 29)]
    assert AnalyticsDay.objects.get(day=date(2026, 11, 29)).generation == 1


def test_today_and_a_just_closed_day_are_never_read(rows: None) -> None:
    """Rows for today, or a day closed less than GRACE ago, are not used whatever they say."""
    AnalyticsDay.objects.filter(day=date(2026, 11, 29)).update(generation=0)
    AnalyticsRollup.objects.create(day_id=date(2026, 11, 29), owner=EVERY_OWNER, generation=0,
                                   totals=_totals(1))
    tomorrow = NOW + timedelta(days=1)
    rolled = selectors.analytics_rolled(scope=RunScope.every_run(), since=NOW - timedelta(days=2),
                                        until=tomorrow, endpoint="agents", now=NOW)
    assert rolled is not None and rolled.days == {date(2026, 11, 28)}
    just_after = datetime(2026, 11, 30, 0, 5, tzinfo=UTC)
    rolled = selectors.analytics_rolled(
        scope=RunScope.every_run(), since=datetime(2026, 11, 29, tzinfo=UTC), until=tomorrow,
        endpoint="agents", now=just_after)
    assert rolled is None


def test_rollups_off_reads_nothing(rows: None, settings: object) -> None:
    """CAP01_ANALYTICS_ROLLUPS=0: every window is read raw."""
    settings.CAP01_ANALYTICS_ROLLUPS = False  # type: ignore[attr-defined]
    assert _rolled(RunScope.every_run(), NOW - timedelta(days=30)) is None
