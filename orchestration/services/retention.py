"""Retention (design section 6): condense the runs older than the full-retention period, in Neo4j
and in the ledger; and collect the blobs no run references.

The period is the admin's RetentionSettings (full_retention_days, default 30). The graph side is
graphstore/retention.py (what is kept and removed, the Formulation link, batches, blobs: see its
docstring). The ledger follows: each ledger row of a run that Neo4j holds condensed gets the
condensed RunResult, exactly as replay reads the run back from Neo4j, in `result` (so the removed
artifacts' payloads are gone from the Django database too) and `condensed_at`. Batch by batch,
right after each condensing transaction committed, derived without reading Neo4j: the row's
full copy (its `result`, the normalized run the writer wrote: the row's checksum is the run
node's) less what the batch's plan says was removed, with metadata.condensed
(OrchestrationRunCodec.condense_wire; a row whose checksum differs, or whose run was condensed
by an earlier pass, is left to the catch-up). The copies are derived while Neo4j applies and
commits the batch (condense_runs' `on_plans`: the transaction runs in a thread of its own), and
written once it committed, when the committed plans say the same (else derived again). Then a
catch-up driven by the ledger itself (rows not condensed yet, started before the cutoff, through
the partial index runrecord_full_started_idx), which reads those runs from Neo4j, so a row
missed by an interrupted pass is caught by the next one. Both sides are idempotent: a
second run changes nothing.

Called by `manage.py condense_runs [--dry-run]` and by the Celery beat job
`orchestration.condense_runs` (`runs_condense_scheduled`: nothing while `condense_enabled` is
off). `blobs_collect` is the hourly blob garbage collection (`orchestration.gc_blobs`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connections, transaction
from django.db.models import Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from contracts import Condensation, RunResult
from graphstore.blob_gc import collect_garbage
from graphstore.codecs import OrchestrationRunCodec
from graphstore.connection import database, get_blob_store, get_driver
from graphstore.errors import ReplayError
from graphstore.retention import CondenseReport, RunPlan, condense_runs
from orchestration.models import RetentionSettings, RunRecord
from orchestration.selectors import SYSTEM, runs_replay_condensed

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
                  dry_run: bool = False, batch_size: int = 500) -> RetentionOutcome:
    """Condense, in Neo4j and then in the ledger, every run started more than `days` (default:
    the retention settings) before `now`. `dry_run` changes nothing and says what would be
    done."""
    now = now or timezone.now()
    days = RetentionSettings.load().full_retention_days if days is None else days
    cutoff = now - timedelta(days=days)
    followed: list[str] = []

    derived: _Derived = {}

    def ledger_prepares(plans: list[RunPlan]) -> None:
        # while Neo4j applies and commits the batch: its rows' condensed copies
        derived.clear()
        derived.update(_ledger_derive(plans, cutoff=cutoff, condensed_at=now))

    def ledger_follows(plans: list[RunPlan]) -> None:
        # the rows of a batch just condensed in Neo4j, from their full copies
        followed.extend(_ledger_follow(plans, derived, cutoff=cutoff, condensed_at=now))
        derived.clear()

    report = condense_runs(driver=get_driver(), database=database(),
                           blob_store=get_blob_store(), cutoff=cutoff, now=now,
                           batch_size=batch_size, dry_run=dry_run,
                           on_batch=None if dry_run else ledger_follows,
                           on_plans=None if dry_run else ledger_prepares)
    outcome = RetentionOutcome(days, cutoff, dry_run, report)
    if not dry_run:  # the condensed runs' days changed: their analytics rollups are stale
        runs_changed(started=[datetime.fromisoformat(p.started_at) for p in report.runs])
    outcome.ledger = followed + _ledger_condense(
        cutoff=cutoff, dry_run=dry_run, batch_size=batch_size,
        condensing={p.run_id for p in report.runs})
    logger.info("retention pass", extra={"event": "retention", "dryRun": dry_run,
                                         **outcome.as_dict(), "runIds": None})
    return outcome


def _full_rows() -> QuerySet[RunRecord]:
    """The ledger rows that hold a full persisted run: not condensed yet, persisted, with a
    result."""
    return RunRecord.objects.filter(condensed_at__isnull=True, persisted_at__isnull=False,
                                    result__isnull=False)


def _ledger_rows(cutoff: datetime) -> QuerySet[RunRecord]:
    """The ledger rows the ledger side condenses: full rows started before the cutoff (and
    LEDGER_MARGIN)."""
    horizon = cutoff + LEDGER_MARGIN
    return _full_rows().filter(Q(started_at__lt=horizon)
                               | Q(started_at__isnull=True, created_at__lt=horizon))


def _ledger_pages(cutoff: datetime, batch_size: int) -> Iterator[list[tuple[int, str]]]:
    """`_ledger_rows` as pages of (pk, runId), read through the index of the rows not condensed
    yet (runrecord_full_started_idx, on started_at): the rows that started, in (started_at, pk)
    order, then those without a start, in pk order. Each page is a seek from the last one: a
    pass reads what it condenses, not the table."""
    horizon = cutoff + LEDGER_MARGIN
    rows = _full_rows()
    started = rows.filter(started_at__lt=horizon).order_by("started_at", "pk")
    page = started
    while batch := list(page.values_list("pk", "run_id", "started_at")[:batch_size]):
        yield [(pk, run_id) for pk, run_id, _ in batch]
        last_pk, _, last_started = batch[-1]
        page = started.filter(Q(started_at__gt=last_started)
                              | Q(started_at=last_started, pk__gt=last_pk))
    unstarted = rows.filter(started_at__isnull=True, created_at__lt=horizon).order_by("pk")
    last = 0
    while batch2 := list(unstarted.filter(pk__gt=last).values_list("pk", "run_id")
                         [:batch_size]):
        yield batch2
        last = batch2[-1][0]


def _ledger_condense(*, cutoff: datetime, dry_run: bool, batch_size: int,
                     condensing: set[str]) -> list[str]:
    """The ledger rows (not condensed yet, started before the cutoff) of runs that Neo4j holds
    condensed get the condensed RunResult and `condensed_at`: per batch of rows, one read of
    the batch's runs from Neo4j and one UPDATE (a row condensed meanwhile is left alone).
    After a real pass, the rows of the runs it condensed were done batch by batch already
    (`runs_condense`, derived from their own full copies): this catches the rest (a row missed
    by an interrupted pass, one whose checksum is not its run's, one of a run condensed
    before)."""
    done: list[str] = []
    for batch in _ledger_pages(cutoff, batch_size):
        # A dry run counts the rows of the runs the graph pass would condense without reading
        # them (Neo4j does not hold them condensed yet).
        to_read = [run_id for _, run_id in batch if not (dry_run and run_id in condensing)]
        runs = runs_replay_condensed(viewer=SYSTEM, run_ids=to_read)
        done += _ledger_batch(batch, runs, dry_run=dry_run, condensing=condensing)
    return done


# What a plan says of a run's condensed copy: (removed, checksum) of a run condensed for the
# first time; a derived copy is used only for a committed plan that says the same.
_PlanKey = tuple[tuple[str, ...], str]
_Derived = dict[str, tuple[_PlanKey, int, dict[str, Any]]]  # runId -> (key, pk, condensed wire)


def _plan_key(plan: RunPlan) -> _PlanKey | None:
    if plan.condensed_before or not plan.checksum:
        return None
    return plan.removed_total, plan.checksum


def _ledger_derive(plans: list[RunPlan], *, cutoff: datetime,
                   condensed_at: datetime) -> _Derived:
    """The condensed copies of the ledger rows of runs condensed for the first time by these
    plans, derived from the rows' own full copies (one read of the rows, no write). A row is
    derived only when its checksum is the run node's (the row holds what the graph was written
    from) and what the condensation adds reads into the contract (`Condensation`); any other
    row stays for the catch-up, which reads its run from Neo4j."""
    first = {p.run_id: (key, p) for p in plans if (key := _plan_key(p)) is not None}
    # `result` read as its JSON text and parsed here: a third of what the JSONField's own
    # decoding of the same rows costs
    rows = (_ledger_rows(cutoff).filter(run_id__in=list(first)).order_by("pk")
            .annotate(text=Cast("result", output_field=TextField()))
            .values_list("pk", "run_id", "checksum", "text"))
    derived: _Derived = {}
    for pk, run_id, checksum, text in rows:
        key, plan = first[run_id]
        if checksum != plan.checksum:
            continue
        try:
            wire = OrchestrationRunCodec.condense_wire(
                json.loads(text), removed=plan.removed_total, condensed_at=condensed_at)
            # What the condensation adds is validated and serialized as the contract does; the
            # rest is the row's own copy less what was removed, which the checksum says the
            # graph was written from (a whole RunResult's validation and dump cost a third of
            # the ledger side's time; the copies' equality with replay's read-back is tested).
            metadata = wire["metadata"]
            metadata["condensed"] = Condensation.model_validate(metadata["condensed"]).to_wire()
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            logger.warning("retention: the ledger row of run %s is condensed from Neo4j's "
                           "copy (its own does not condense: %s)", run_id, exc)
            continue
        derived[run_id] = (key, pk, wire)
    return derived


def _ledger_follow(plans: list[RunPlan], derived: _Derived, *, cutoff: datetime,
                   condensed_at: datetime) -> list[str]:
    """The ledger rows of a committed batch written (one UPDATE executed per row): the copies
    `derived` while the batch's transaction committed when its committed plans say the same,
    derived now otherwise. The runIds of the rows condensed."""
    stale = [p for p in plans if (key := _plan_key(p)) is not None
             and derived.get(p.run_id, (None,))[0] != key]
    if stale:
        derived = {**derived, **_ledger_derive(stale, cutoff=cutoff, condensed_at=condensed_at)}
    updates: list[tuple[int, dict[str, Any], datetime]] = []
    done: list[str] = []
    for plan in plans:
        key = _plan_key(plan)
        if key is not None and (row := derived.get(plan.run_id)) is not None and row[0] == key:
            updates.append((row[1], row[2], condensed_at))
            done.append(plan.run_id)
    _ledger_rows_condense(updates)
    return done


def _ledger_batch(batch: list[tuple[int, str]], runs: dict[str, RunResult | ReplayError], *,
                  dry_run: bool, condensing: set[str]) -> list[str]:
    """Rows (pk, runId) given their runs as Neo4j holds them condensed: one UPDATE (none on a
    dry run); the runIds of the rows condensed (or, on a dry run, to be)."""
    done: list[str] = []
    updates: list[tuple[int, dict[str, Any], datetime]] = []
    for pk, run_id in batch:
        if dry_run and run_id in condensing:
            done.append(run_id)
            continue
        run = runs.get(run_id)
        if run is None:
            continue  # not in Neo4j (pending or refused write), or not condensed there
        if isinstance(run, ReplayError):
            logger.error("retention: run %s cannot be read back, its ledger row is left "
                         "as it is: %s", run_id, run)
            continue
        condensed = run.metadata.condensed
        if condensed is None:
            continue
        updates.append((pk, run.to_wire(), condensed.condensed_at))
        done.append(run_id)
    if updates and not dry_run:
        _ledger_rows_condense(updates)
    return done


def _ledger_rows_condense(updates: list[tuple[int, dict[str, Any], datetime]]) -> None:
    """`result` and `condensed_at` of many rows, (pk, result wire, condensed_at) each: one
    UPDATE by pk, executed for every row in one `executemany` and one transaction (the values
    adapted by the fields, as the ORM adapts them); a row already condensed (by a concurrent
    pass) is not touched. A CASE over the batch's pks (QuerySet.bulk_update's form) cost about
    four times as much in Django's compiling of 1,000 When clauses as in the database."""
    if not updates:
        return
    using = RunRecord.objects.db
    connection = connections[using]
    meta = RunRecord._meta
    result_field, at_field = meta.get_field("result"), meta.get_field("condensed_at")
    quote = connection.ops.quote_name
    sql = (f"UPDATE {quote(meta.db_table)} SET {quote(result_field.column)} = %s, "
           f"{quote(at_field.column)} = %s WHERE {quote(meta.pk.column)} = %s "
           f"AND {quote(at_field.column)} IS NULL")
    params = [(result_field.get_db_prep_save(wire, connection),
               at_field.get_db_prep_save(at, connection), pk) for pk, wire, at in updates]
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.executemany(sql, params)


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
