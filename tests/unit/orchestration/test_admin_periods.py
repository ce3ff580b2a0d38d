"""orchestration/admin.py: the periods the ledger's date hierarchy probes (by index seeks instead
of a DISTINCT over the ledger) cover every year, month or day from the first row's to the last's,
back to back, in the admin's time zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from orchestration.admin import _periods


def test_months_run_back_to_back_across_a_year_end():
    """From November to January: three months, each ending where the next starts."""
    periods = _periods(datetime(2025, 11, 30, 5, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC),
                       "month", UTC)
    assert [start.month for start, _ in periods] == [11, 12, 1]
    assert all(end == nxt for (_, end), (nxt, _) in zip(periods, periods[1:], strict=False))
    assert periods[-1][1] == datetime(2026, 2, 1, tzinfo=UTC)


def test_years_and_days_include_the_last_row_s():
    """The last row's year and day are probed, and nothing past them."""
    years = _periods(datetime(2024, 6, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC),
                     "year", UTC)
    assert [start.year for start, _ in years] == [2024, 2025, 2026]
    days = _periods(datetime(2026, 2, 27, 23, tzinfo=UTC), datetime(2026, 3, 1, 0, 30,
                                                                    tzinfo=UTC), "day", UTC)
    assert [(s.month, s.day) for s, _ in days] == [(2, 27), (2, 28), (3, 1)]


def test_days_follow_the_local_clock_across_a_daylight_saving_change():
    """Days start at local midnight in the admin's zone, 23 hours long on the spring change."""
    paris = ZoneInfo("Europe/Paris")
    days = _periods(datetime(2026, 3, 28, 12, tzinfo=paris), datetime(2026, 3, 29, 12,
                                                                      tzinfo=paris), "day", paris)
    assert [(s.hour, s.day) for s, _ in days] == [(0, 28), (0, 29)]
    assert days[1][1].timestamp() - days[1][0].timestamp() == 23 * 3600
