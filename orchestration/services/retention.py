"""Retention (design section 6): condense the runs older than the full-retention period, in Neo4j
and in the ledger; and collect the blobs no run references.

The period is the admin's RetentionSettings (full_retention_days, default 30). The graph side is
graphstore/retention.py (what is kept and removed, the Formulation link, batches, blobs: see its
docstring). After it, the ledger follows: each ledger row of a run that Neo4j holds condensed gets
the condensed RunResult as read back from Neo4j in `result` (so the removed artifacts' payloads
are gone from the Django database too) and `condensed_at`. The ledger pass is driven by the
ledger itself (rows not condensed yet, started before the cutoff), so a row missed by an
interrupted pass is caught by the next one. Both passes are idempotent: a second run changes
nothing.

Called by `manage.py condense_runs [--dry-run]` and by the Celery beat job
`orchestration.condense_runs` (`runs_condense_scheduled`: nothing while `condense_enabled` is
off). `blobs_collect` is the hourly blob garbage collection (`orchestration.gc_blobs`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone

from graphstore.blob_gc import collect_garbage
from graphstore.connection import database, get_blob_store, get_driver
from graphstore.errors import ReplayError, RunNotFound
from graphstore.retention import CondenseReport, condense_runs
from orchestration.models import RetentionSettings, RunRecord
from orchestration.selectors import SYSTEM, run_replay

from .rollups import runs_changed

logger = logging.getLogger(__name__)

# The ledger's started_at is when the first stage started; Neo4j's startedAt is when the run
# was dispatched, a little earlier. Rows up to this much past the cutoff are looked at, and Neo4j
# decides.
LEDGER_MARGIN = timedelta(minutes=10)


@dataclass
class RetentionOutcome:
    days: int
    cutoff: datetime
    dry_run: bool
    graph: CondenseReport
    ledger: list[str] = field(default_factory=list)  # runIds whose ledger row was condensed

    def lines(self) -> list[str]:
        verb = "would be" if self.dry_run else "were"
        return [f"Full retention: {self.days} day(s); cutoff {self.cutoff.isoformat()}.",
                *self.graph.lines(),
                f"{len(self.ledger)} ledger row(s) {verb} condensed."]

    def as_dict(self) -> dict[str, Any]:
        return {"days": self.days, **self.graph.as_dict(), "ledgerRows": len(self.ledger),
                "runIds": [p.run_id for p in self.graph.runs]}


def runs_condense(*, now: datetime | None = None, days: int | None = None,
                  dry_run: bool = False, batch_size: int = 100) -> RetentionOutcome:
    """Condense, in Neo4j and then in the ledger, every run started more than `days` (default:
    the retention settings) before `now`. `dry_run` changes nothing and says what would be
    done."""
    now = now or timezone.now()
    days = RetentionSettings.load().full_retention_days if days is None else days
    cutoff = now - timedelta(days=days)
    report = condense_runs(driver=get_driver(), database=database(),
                           blob_store=get_blob_store(), cutoff=cutoff, now=now,
                           batch_size=batch_size, dry_run=dry_run)
    outcome = RetentionOutcome(days, cutoff, dry_run, report)
    if not dry_run:  # the condensed runs' days changed: their analytics rollups are stale
        runs_changed(started=[datetime.fromisoformat(p.started_at) for p in report.runs])
    outcome.ledger = _ledger_condense(cutoff=cutoff, dry_run=dry_run, batch_size=batch_size,
                                      condensing={p.run_id for p in report.runs})
    logger.info("retention pass", extra={"event": "retention", "dryRun": dry_run,
                                         **outcome.as_dict(), "runIds": None})
    return outcome


def _ledger_condense(*, cutoff: datetime, dry_run: bool, batch_size: int,
                     condensing: set[str]) -> list[str]:
    horizon = cutoff + LEDGER_MARGIN
    rows = RunRecord.objects.filter(
        condensed_at__isnull=True, persisted_at__isnull=False, result__isnull=False,
    ).filter(Q(started_at__lt=horizon) | Q(started_at__isnull=True, created_at__lt=horizon))
    done: list[str] = []
    last = 0
    while True:
        batch = list(rows.filter(pk__gt=last).order_by("pk").values_list("pk", "run_id")
                     [:batch_size])
        if not batch:
            return done
        last = batch[-1][0]
        for pk, run_id in batch:
            if dry_run and run_id in condensing:
                done.append(run_id)
                continue
            try:
                run = run_replay(viewer=SYSTEM, run_id=run_id)
            except RunNotFound:
                continue  # not in Neo4j (the write is pending or was refused): nothing to follow
            except ReplayError as exc:
                logger.error("retention: run %s cannot be read back, its ledger row is left "
                             "as it is: %s", run_id, exc)
                continue
            condensed = run.metadata.condensed
            if condensed is None:
                continue
            if not dry_run:
                RunRecord.objects.filter(pk=pk, condensed_at__isnull=True).update(
                    result=run.to_wire(), condensed_at=condensed.condensed_at)
            done.append(run_id)


def runs_condense_scheduled() -> dict[str, object] | None:
    """The periodic pass: `runs_condense` with the retention settings, or nothing (None) while
    they switch it off."""
    if not RetentionSettings.load().condense_enabled:
        return None
    return runs_condense().as_dict()


def blobs_collect(*, grace_s: float = 3600) -> str:
    """Delete blobs no run references, older than `grace_s`; a one-line report."""
    return collect_garbage(driver=get_driver(), database=database(), store=get_blob_store(),
                           grace_s=grace_s, now=time.time).line()
