"""Persistence: the outbox and the Neo4j write.

A finished run enters the outbox (its ledger row's `result`) in one form only: normalized as the
graph store stores it, with the checksum of that form, which equals the write's and the replay's
checksum. Both ways in use it: `run_outbox_commit` (the pipeline's last stage) and
`run_result_ingest` (a RunResult from an external orchestrator: POST /api/orchestration/runs and
`manage.py ingest_run`). `run_persist` then writes the outbox copy to Neo4j (idempotent); the
write is enqueued by task name (services/enqueue.py) and retried by the reconciler.
"""

from __future__ import annotations

import logging
import random
import tracemalloc
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone

from contracts import ALREADY_VALIDATED, RunResult, checksum
from graphstore.connection import get_writer
from graphstore.errors import MappingError, Neo4jWriteFailed, WriteSetTooLarge
from graphstore.errors import RunConflict as GraphRunConflict
from graphstore.mapper import map_run_to_graph, normalize_wire
from graphstore.writer import RetryPolicy, RunWriter, WriteSummary
from orchestration import metrics, segments
from orchestration.errors import BatchRefused, RunConflict
from orchestration.history import ledger_columns
from orchestration.models import RunRecord, RunSource, RunStatus, owner_key

from . import config, enqueue
from .intake import batch_columns, submitter
from .rollups import runs_changed

logger = logging.getLogger(__name__)

# One attempt within an HTTP request: when Neo4j is down or slow the run is already safe in the
# outbox, the answer is 202 and the worker (and the reconciler) write it later.
ONE_ATTEMPT = RetryPolicy(max_attempts=1)
# The write right after a run finishes, in the worker that ran it: transient failures (a deadlock
# with another run's write on a shared Ingredient) are retried at once; longer outages go to the
# persist task, whose backoff does not hold a worker process.
INLINE_RETRY = RetryPolicy(max_attempts=3, base_delay_s=0.02, max_delay_s=0.2)


# --- the outbox copy (pure) --------------------------------------------------------------------


@dataclass(frozen=True)
class OutboxCopy:
    """A finished run as the outbox holds it: the normalized RunResult (wire form) and its
    checksum."""

    result: dict[str, Any]
    checksum: str


def outbox_copy(run: RunResult) -> OutboxCopy:
    """Normalize the run once (graphstore.mapper.normalize_run) and checksum that form."""
    return outbox_from_wire(run.to_wire())[1]


def outbox_from_wire(wire: Mapping[str, Any]) -> tuple[RunResult, OutboxCopy]:
    """A finished run in wire form (the pipeline's), normalized and validated once
    (graphstore.mapper.normalize_wire): the RunResult and its outbox copy."""
    run, result = normalize_wire(wire)
    return run, OutboxCopy(result, checksum(result))


def finished_fields(run: RunResult, wire: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The ledger columns a finished run fills in from its RunResult: a failed run's error is
    that of the invocation that failed it (its last failed one; earlier ones were retried); the
    run history's columns (orchestration/history.py). `wire`: the run's wire form when the
    caller has it (the outbox copy), not dumped again."""
    failed = [e for e in run.agent_history if e.status == "failed"]
    last = max(failed, key=lambda e: e.sequence) if failed else None
    return {"failed_agent": run.metadata.failed_agent or "",
            "error": (last.error or "") if last and run.metadata.status == "failed" else "",
            "total_duration_ms": run.metadata.total_duration,
            **ledger_columns(run.to_wire() if wire is None else wire)}


def stage_entry(entry: Mapping[str, Any]) -> dict[str, Any]:
    """What the ledger keeps of a finished stage, from its agentHistory entry (wire form)."""
    return {"status": entry["status"], "sequence": entry["sequence"],
            "durationMs": entry["duration"], "memoryMb": entry.get("memoryMb"),
            "error": entry.get("error") or ""}


def ledger_stages(run: RunResult) -> dict[str, dict[str, Any]]:
    """The ledger's per-stage map of a run that finished elsewhere (its agentHistory): each
    stage as its last invocation left it."""
    return {e.agent: stage_entry(e.to_wire())
            for e in sorted(run.agent_history, key=lambda e: e.sequence)}


def outbox_backoff(attempts: int, *, jitter: Callable[[], float] = random.random) -> timedelta:
    """How long the reconciler waits before trying a failed write again: 5 s doubling to 5 min,
    with up to 20% jitter so that a recovering Neo4j is not hit by every run at once."""
    base = min(300.0, 5.0 * 2 ** max(attempts - 1, 0))
    return timedelta(seconds=base * (1 + 0.2 * jitter()))


# --- into the outbox ---------------------------------------------------------------------------


def run_outbox_commit(*, run: RunResult, copy: OutboxCopy | None = None
                      ) -> tuple[RunRecord, OutboxCopy | None]:
    """Commit the pipeline's finished run to its ledger row (the outbox); (row, the copy
    committed). The caller writes it next (`outbox_write`); should that never happen (the
    process dies now), the reconciler enqueues the write once `persist_next_at` passes.
    (row, None) when the row already holds a result: a redelivered last stage, whose first
    finish stands. `copy`: the run's outbox copy when the caller has it (outbox_from_wire)."""
    copy = copy or outbox_copy(run)
    finished = finished_fields(run, copy.result)
    fields = ["result", "checksum", "status", *finished, "finished_at", "persist_next_at",
              "stages"]
    with transaction.atomic():
        # Only the columns it writes (and run_id): not the request's JSON, read and written back.
        record = (RunRecord.objects.select_for_update().only("pk", "run_id", *fields)
                  .get(run_id=run.run_id))
        if record.result is not None:
            return record, None
        record.result, record.checksum = copy.result, copy.checksum
        record.status = RunStatus.PERSISTING
        # Every stage's result (the inline pipeline writes progress only now and then).
        record.stages = {**record.stages, **{
            e.agent: {**record.stages.get(e.agent, {}), **stage_entry(e.to_wire())}
            for e in run.agent_history}}
        for name, value in finished.items():
            setattr(record, name, value)
        record.finished_at = timezone.now()
        # Should the write never happen (this process dies), the reconciler sends it.
        record.persist_next_at = record.finished_at + outbox_backoff(1)
        record.save(update_fields=fields)
    return record, copy


def outbox_write(*, run_id: str, copy: OutboxCopy | None = None) -> WriteSummary | None:
    """The write right after the outbox commit, in the process that finished the run: with the
    copy just committed (no second read or validation of the run), a short retry policy for
    the transient failures of a busy graph (deadlocks on shared Ingredients). When it still
    fails (Neo4j down or slow), the persist task takes over with its own backoff; nothing is
    lost, the run is in the outbox."""
    try:
        return run_persist(run_id=run_id, copy=copy, retry=INLINE_RETRY)
    except Neo4jWriteFailed:
        enqueue.persist_enqueue(run_id)
        return None


@dataclass(frozen=True)
class IngestOutcome:
    run_id: str
    created: bool  # False: the same run was already persisted
    persisted: bool  # False: safely in the outbox, the write will follow (Neo4j down or slow)
    summary: WriteSummary | None


def run_result_ingest(*, user: AbstractBaseUser | AnonymousUser | None, run: RunResult,
                      retry: RetryPolicy | None = ONE_ATTEMPT) -> IngestOutcome:
    """Accept a RunResult from an external orchestrator, owned by `user` (the posting user; no
    owner when None): outbox first, then the write (with `retry`; None: the connection's
    policy). RunConflict when the runId is already taken by different content, or by a run of
    another owner (whatever its content: the answer tells nothing about a run the poster may not
    see); MappingError (WriteSetTooLarge) before anything is stored when the run cannot be laid
    out as a graph."""
    write_set = map_run_to_graph(run)  # refuses an oversized run; normalizes it, once
    copy = OutboxCopy(write_set.normalized.to_wire(), write_set.checksum)
    owner = submitter(user)
    with transaction.atomic():
        existing = RunRecord.objects.select_for_update().filter(run_id=run.run_id).first()
        if existing is not None and existing.submitted_by_id != (owner.pk if owner else None):
            raise RunConflict(run.run_id, f"The runId {run.run_id} is already taken; a runId "
                              "names one run: send this run under a new runId.")
        if existing is not None and existing.checksum not in ("", copy.checksum):
            raise RunConflict(run.run_id, f"Run {run.run_id} already exists with different "
                              "content; a runId names one run: send changed content under a "
                              "new runId.")
        if existing is None:
            existing = RunRecord.objects.create(
                run_id=run.run_id, source=RunSource.EXTERNAL, submitted_by=owner,
                request_text=run.request.user_request, request=run.request.to_wire(),
                status=RunStatus.PERSISTING, result=copy.result, checksum=copy.checksum,
                failed_agent=run.metadata.failed_agent or "",
                started_at=run.metadata.timestamp, finished_at=timezone.now(),
                total_duration_ms=run.metadata.total_duration, stages=ledger_stages(run),
                **batch_columns(run.request), **ledger_columns(copy.result))
    if existing.condensed_at is not None:
        # The same run, condensed by retention (services/retention.py): it is persisted, and
        # what retention removed is not written back.
        return IngestOutcome(run.run_id, created=False, persisted=True, summary=None)
    try:
        summary = run_persist(run_id=run.run_id, retry=retry, rewrite=True)
    except Neo4jWriteFailed:
        enqueue.persist_enqueue(run.run_id)
        return IngestOutcome(run.run_id, created=True, persisted=False, summary=None)
    if summary is None:
        existing.refresh_from_db()
        raise RunConflict(run.run_id, existing.persist_error or f"Run {run.run_id} conflicts.")
    return IngestOutcome(run.run_id, created=summary.created, persisted=True, summary=summary)


def run_results_check(*, runs: Sequence[tuple[str, RunResult]]) -> None:
    """Check runs given together (`manage.py ingest_run`'s document), each with its label
    ("line 2"), for everything that would refuse one of them before the first is written, so
    that the batch is written whole or not at all: each run's write set (MappingError: over
    the graph-element limit), a runId given twice with different content, a runId the ledger
    holds with different content. Raises BatchRefused naming every problem (the field prefixed
    with the run's label); writes nothing. (A run given twice with the same content is one
    run, written once and confirmed once.)"""
    errors: list[dict[str, str]] = []
    checksums: dict[int, str] = {}
    first: dict[str, tuple[str, str]] = {}  # runId -> (label, checksum) of its first run

    def add(label: str, field: str, message: str, kind: str) -> None:
        errors.append({"field": f"{label}: {field}" if label else field, "message": message,
                       "type": kind})

    for i, (label, run) in enumerate(runs):
        try:
            checksums[i] = map_run_to_graph(run).checksum
        except MappingError as exc:
            add(label, "(run)", str(exc), "write_set_too_large"
                if isinstance(exc, WriteSetTooLarge) else "unmappable_run")
            continue
        seen = first.setdefault(run.run_id, (label, checksums[i]))
        if seen[1] != checksums[i]:
            add(label, "metadata.id", f"is {run.run_id!r}, which {seen[0] or 'another run'} "
                "gives with different content; a runId names one run", "run_conflict")
    stored = dict(RunRecord.objects.filter(run_id__in=list(first))
                  .values_list("run_id", "checksum"))
    for i, (label, run) in enumerate(runs):
        held = stored.get(run.run_id)
        if i in checksums and held is not None and held != checksums[i]:
            what = "with different content" if held else "for a run that has not finished"
            add(label, "metadata.id", f"is {run.run_id!r}, which the ledger already holds "
                f"{what}; send this run under a new runId", "run_conflict")
    if errors:
        raise BatchRefused(errors)


# --- the write ---------------------------------------------------------------------------------


def run_persist(*, run_id: str, retry: RetryPolicy | None = None, rewrite: bool = False,
                copy: OutboxCopy | None = None) -> WriteSummary | None:
    """Write the run in the outbox to Neo4j (idempotent). Raises Neo4jWriteFailed on a failure
    the caller may retry; returns None when there is nothing (left) to write. A run already
    persisted is skipped (a redelivered task) unless `rewrite` asks to confirm it in Neo4j.
    `copy`: the outbox copy this process has just committed (outbox_write), written as it is
    (graphstore's write_normalized: not read back, not validated again)."""
    columns = ["pk", "run_id", "source", "submitted_by", "created_at", "finished_at",
               "persist_attempts", "persisted_at"]
    record = RunRecord.objects.only(*columns, *([] if copy else ["result"])).get(run_id=run_id)
    result = copy.result if copy is not None else record.result
    if result is None or (record.persisted_at is not None and not rewrite):
        return None
    attempts = record.persist_attempts + 1
    if copy is None:
        # Until the write commits, the reconciler may retry it after the backoff. (The write
        # right after the outbox commit needs no such update: the commit set the backoff.)
        RunRecord.objects.filter(pk=record.pk).update(
            persist_attempts=attempts, persist_next_at=timezone.now() + outbox_backoff(attempts))
    traced = config.memory_sampled(run_id)
    write_started_at = timezone.now()

    owner_id = owner_key(record.submitted_by_id)  # the run node carries its owner

    # The run's embedding is written after the run is persisted (below): the vector index,
    # which has no eventually-consistent mode, is kept up outside the run's write.
    def write(writer: RunWriter) -> WriteSummary:
        if copy is not None:
            return writer.write_normalized(copy.result, checksum=copy.checksum,
                                           owner_id=owner_id, embed=False)
        return writer.write(RunResult.model_validate(result, context=ALREADY_VALIDATED),
                            owner_id=owner_id, embed=False)

    try:
        summary, peak_mb = _measured_write(write, retry, trace=traced)
    except Neo4jWriteFailed as exc:
        metrics.WRITE_FAILURES.inc()
        metrics.WRITE_RETRIES.inc(max(exc.attempts - 1, 0))
        logger.error("write of %s failed", run_id, extra={
            "event": "write", "runId": run_id, "attempts": exc.attempts, "status": "failed",
            "error": str(exc)})
        RunRecord.objects.filter(pk=record.pk).update(persist_error=str(exc)[:2000],
                                                      persist_attempts=attempts)
        raise
    except GraphRunConflict as exc:  # another run holds this runId in Neo4j: never overwrite it
        _mark_persist_failed(record, str(exc))
        return None
    # Verdicts as for the stages (pipeline.run_stage): memory when traced, duration when not.
    judged_ms = summary.latency_ms if settings.CAP01_BUDGET_STRICT or peak_mb is None else None
    breaches = config.budget("Persistence").breaches(duration_ms=judged_ms, memory_mb=peak_mb)
    if peak_mb is None:
        metrics.NEO4J_WRITE_LATENCY_MS.observe(summary.latency_ms)
    metrics.WRITE_RETRIES.inc(summary.attempts - 1)
    for kind in breaches:
        metrics.BUDGET_BREACHES.labels("Persistence", kind).inc()
    logger.log(logging.WARNING if breaches else logging.INFO, "write of %s committed", run_id,
               extra={"event": "write", "runId": run_id, "attempts": summary.attempts,
                      "latency": round(summary.latency_ms, 3),
                      "memoryUsage": round(peak_mb, 3) if peak_mb is not None else None,
                      "new": summary.created, "status": "committed",
                      "budgetBreaches": breaches})
    if summary.ingredient_name_clashes:
        _report_name_clashes(run_id, summary)
    written = {**summary.as_dict(), "budgetBreaches": breaches,
               **({"memoryMb": round(peak_mb, 3)} if peak_mb is not None else {})}
    # A run of a day that has closed (started before midnight, written after; or written late by
    # the outbox): that day's analytics rollup is stale. Before the ledger says "persisted", so
    # a crash here leaves the write to the reconciler, which marks it then.
    runs_changed(started=[_started(result)])
    persisted_at = timezone.now()
    spans = write_segments(record, result["agentHistory"], write_started_at=write_started_at,
                           write=written, persisted_at=persisted_at)
    if peak_mb is None:  # a traced run's times carry the meter: kept, not observed
        for name, value in spans.items():
            metrics.SEGMENT_MS.labels(name).observe(value)
    RunRecord.objects.filter(pk=record.pk).update(
        persisted_at=persisted_at, persist_next_at=None, write_summary=written,
        segments=spans, persist_error="", status=result["metadata"]["status"],
        checksum=summary.checksum, persist_attempts=attempts,
        **({"budget_breached": True} if breaches else {}))
    get_writer().write_embedding(result, run_id=run_id)  # advisory; the backfill covers a miss
    return summary


def _started(result: Mapping[str, Any]) -> datetime:
    """When the run started (its metadata.timestamp, as the graph's startedAt), aware."""
    started = datetime.fromisoformat(result["metadata"]["timestamp"])
    return started if started.tzinfo is not None else started.replace(tzinfo=UTC)


def _report_name_clashes(run_id: str, summary: WriteSummary) -> None:
    """Ingredient ids the run used under another name than the graph's Ingredient node: the
    node keeps its name, the run's is on its HAS_INGREDIENT. Logged at WARNING on every write
    that reports them (the summary and the ledger carry them too); counted once per run, when
    the write committed it (a rewrite of the same run reports them again, uncounted)."""
    clashes = summary.ingredient_name_clashes
    if summary.created:
        metrics.INGREDIENT_NAME_CLASHES.inc(len(clashes))
    logger.warning(
        "run %s names %d ingredient id(s) otherwise than the graph's Ingredient nodes, which "
        "keep their names (the run's names are on its HAS_INGREDIENT relationships): %s",
        run_id, len(clashes),
        "; ".join(f"{c.ingredient_id}: {c.run_name!r} here, {c.canonical_name!r} in the graph"
                  for c in clashes),
        extra={"event": "ingredient_name_clash", "runId": run_id,
               "clashes": [c.as_dict() for c in clashes]})


def write_segments(record: RunRecord, history: list[dict[str, Any]], *,
                   write_started_at: datetime, write: dict[str, Any],
                   persisted_at: datetime) -> dict[str, float]:
    """The run's segments (orchestration/segments.py) once its write committed. A run posted by
    an external orchestrator has only the write's: its history's clock is not ours."""
    if record.source != RunSource.PIPELINE:
        return segments.run_segments(created_at=None, history=[], write=write)
    return segments.run_segments(created_at=record.created_at, history=history,
                                 outbox_at=record.finished_at, write_started_at=write_started_at,
                                 write=write, persisted_at=persisted_at)


def _measured_write(write: Callable[[RunWriter], WriteSummary], retry: RetryPolicy | None, *,
                    trace: bool = True) -> tuple[WriteSummary, float | None]:
    """The write, and its tracemalloc peak in MB (the persistence budget's memory); untraced
    (peak None) unless `trace`: tracemalloc roughly doubles the write's time."""
    if not trace:
        return write(get_writer(retry=retry)), None
    already = tracemalloc.is_tracing()
    if not already:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    try:
        summary = write(get_writer(retry=retry))
        return summary, max(tracemalloc.get_traced_memory()[1] - base, 0) / 2**20
    finally:
        if not already:
            tracemalloc.stop()


def _mark_persist_failed(record: RunRecord, error: str) -> None:
    """A write that can never succeed (the runId is taken): stop retrying, say why."""
    RunRecord.objects.filter(pk=record.pk).update(status=RunStatus.FAILED, persist_error=error,
                                                  persist_next_at=None)
