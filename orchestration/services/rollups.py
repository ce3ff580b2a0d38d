"""Daily analytics rollups: the figures of each closed UTC day, per owner and over every run,
kept in the ledger database (AnalyticsDay, AnalyticsRollup) so that an analytics window of many
days reads a row per day instead of every run (orchestration/selectors.py; graphstore/analytics.py
adds the raw ranges the rollups do not cover: the window's partial edge days, today, and any day
not rolled up).

When: a closed day is rolled up by the periodic job (`rollups_refresh`, Celery beat every 10
minutes: each day of the last CAP01_ANALYTICS_ROLLUP_DAYS that has no current rollup) once it ended
`rollup.GRACE` ago; `manage.py analytics_rollups` builds or rebuilds them (a backfill). The
write path never touches a rollup (no hot row: concurrent writers share nothing new).

Staying right: a closed day's runs change when a run is written late (it started before midnight
and committed after, or the outbox wrote it after an outage), when retention condenses runs
(their recipe, calculation and issue texts go) or releases what a retired formulation held. Those
paths call `runs_changed` after their change committed, which moves the day's generation; a
rollup is served only while its rows carry the day's current generation, and the job reads the
generation *before* it reads Neo4j, so a change that commits while a day is being rolled up leaves
that rollup stale (read raw, rolled up again by the next pass), never served. Writers that bypass
these services (the bulk fill, a graph migration) rebuild: `analytics_rollups --rebuild`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from graphstore import analytics, rollup
from graphstore.connection import database, get_driver
from graphstore.scope import RunScope
from orchestration.models import EVERY_OWNER, AnalyticsDay, AnalyticsRollup

logger = logging.getLogger(__name__)


def days_changed(*, days: Iterable[date], now: datetime | None = None) -> list[date]:
    """Record that runs of `days` changed (call it after the change committed): each of them
    that may be rolled up already gets a new generation, so its rollup is no longer served.
    The days marked, in order."""
    now = now or timezone.now()
    marked = sorted({d for d in days if rollup.change_recorded(d, now=now)})
    if marked:
        AnalyticsDay.objects.bulk_create([AnalyticsDay(day=d) for d in marked],
                                         ignore_conflicts=True)
        AnalyticsDay.objects.filter(day__in=marked).update(generation=F("generation") + 1)
    return marked


def runs_changed(*, started: Iterable[datetime], now: datetime | None = None) -> list[date]:
    """`days_changed` for runs started at `started` (aware datetimes)."""
    return days_changed(days={rollup.day_of(s) for s in started}, now=now)


def rollups_invalidate(*, since: date | None = None) -> int:
    """Make every rollup (from `since` on) stale, when runs changed in ways nothing recorded per
    day (owners copied onto run nodes by `sync_run_owners`, a graph upgrade). The days marked;
    the periodic job, or `analytics_rollups`, rolls them up again."""
    days = AnalyticsDay.objects.all() if since is None else \
        AnalyticsDay.objects.filter(day__gte=since)
    return days.update(generation=F("generation") + 1)


def day_rollup(*, day: date, now: datetime | None = None) -> int | None:
    """Roll up one closed UTC day from Neo4j: a row over every run and a row per owner. The
    number of runs rolled up, or None when the day changed while it was read (it stays not
    rolled up; the next pass takes it again)."""
    now = now or timezone.now()
    if not rollup.rollable(day, now=now):
        raise ValueError(f"{day} is not closed yet: a day is rolled up {rollup.GRACE} after it "
                         "ends.")
    AnalyticsDay.objects.bulk_create([AnalyticsDay(day=day)], ignore_conflicts=True)
    generation = AnalyticsDay.objects.values_list("generation", flat=True).get(day=day)
    start = rollup.day_start(day)
    parts = analytics.read_parts(driver=get_driver(), database=database(),
                                 scope=RunScope.every_run(), ranges=[(start, start + rollup.DAY)],
                                 sections=rollup.SECTIONS)
    owners = {owner: part for (_, owner), part in parts.items()}
    every = {s: rollup.merge(s, [p[s] for p in owners.values() if s in p])
             for s in rollup.SECTIONS}

    def row(owner: str, part: dict[str, Any]) -> AnalyticsRollup:
        return AnalyticsRollup(day_id=day, owner=owner, generation=generation, **{
            s: rollup.stored(s, part[s] if s in part else rollup.empty(s))
            for s in rollup.SECTIONS})

    # A run without an owner is in every run's row only (graphstore/scope.py).
    rows = [row(EVERY_OWNER, every),
            *(row(owner, part) for owner, part in sorted(owners.items(), key=lambda kv:
                                                           str(kv[0])) if owner)]
    with transaction.atomic():
        current = AnalyticsDay.objects.select_for_update().get(day=day)
        if current.generation != generation:
            return None
        AnalyticsRollup.objects.filter(day=day).delete()
        AnalyticsRollup.objects.bulk_create(rows)
        AnalyticsDay.objects.filter(day=day).update(
            rolled_generation=generation, rolled_at=now, runs=every["totals"]["runs"])
    return int(every["totals"]["runs"])


@dataclass
class RefreshReport:
    first: date | None
    last: date | None
    rolled: list[date] = field(default_factory=list)
    changed: list[date] = field(default_factory=list)  # changed while read: left for next pass
    runs: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"first": self.first and self.first.isoformat(),
                "last": self.last and self.last.isoformat(), "daysRolled": len(self.rolled),
                "changedWhileRead": [d.isoformat() for d in self.changed], "runs": self.runs,
                "seconds": round(self.seconds, 3)}


def rollups_refresh(*, now: datetime | None = None, since: date | None = None,
                    until: date | None = None, rebuild: bool = False,
                    progress: Callable[[date, int | None, int, int], None] | None = None
                    ) -> RefreshReport:
    """Roll up every closed day from `since` (default: the first run's day, at most
    CAP01_ANALYTICS_ROLLUP_DAYS back) to `until` (inclusive; default: the last closed day) that
    has no current rollup, or every one of them with `rebuild`. Idempotent. `progress(day, runs,
    done, total)` after each day."""
    started = time.perf_counter()
    now = now or timezone.now()
    last = rollup.day_of(now - rollup.GRACE) - rollup.DAY
    last = min(until, last) if until else last
    if since is None:
        first_run = analytics.first_run_started(driver=get_driver(), database=database())
        horizon = last - rollup.DAY * (settings.CAP01_ANALYTICS_ROLLUP_DAYS - 1)
        since = max(rollup.day_of(first_run), horizon) if first_run else None
    report = RefreshReport(since, last)
    if since is None or since > last:
        return report
    days = [since + rollup.DAY * i for i in range((last - since).days + 1)]
    if not rebuild:
        fresh = set(AnalyticsDay.objects.filter(day__gte=since, day__lte=last,
                                                rolled_generation=F("generation"))
                    .values_list("day", flat=True))
        days = [d for d in days if d not in fresh]
    for i, day in enumerate(days, start=1):
        runs = day_rollup(day=day, now=now)
        if runs is None:
            report.changed.append(day)
        else:
            report.rolled.append(day)
            report.runs += runs
        if progress is not None:
            progress(day, runs, i, len(days))
    report.seconds = time.perf_counter() - started
    logger.info("analytics rollups", extra={"event": "rollups", **report.as_dict()})
    return report


def rollups_refresh_scheduled() -> dict[str, Any] | None:
    """The periodic pass (Celery beat): nothing while CAP01_ANALYTICS_ROLLUPS is off."""
    if not settings.CAP01_ANALYTICS_ROLLUPS:
        return None
    return rollups_refresh().as_dict()
