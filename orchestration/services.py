"""Writes of the orchestration app: take a request, run a stage, finish a run, persist it.

Functions take keyword-only, typed arguments; views, APIs, the admin and Celery tasks call them
and stay thin. The ledger row (orchestration.models.RunRecord) follows every step; the finished
RunResult is committed to it (the outbox) before the Neo4j write is attempted.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import time
import tracemalloc
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone

from contracts import HandoffEnvelope, InputContract, RunResult, checksum
from graphstore.connection import get_writer
from graphstore.errors import Neo4jWriteFailed, RunConflict
from graphstore.writer import RetryPolicy, WriteSummary
from orchestration.agents import Agent, load_agents

from . import metrics, pipeline
from .backpressure import Admission, Limits, QueueFull
from .errors import RunIdConflict
from .models import RunRecord, RunSource, RunStatus

logger = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


def _ttl() -> timedelta:
    return timedelta(seconds=settings.CAP01_HANDOFF_TTL_S)


@cache
def agents() -> dict[str, Agent]:
    """The agents configured in settings.CAP01_AGENTS (a dotted path per stage)."""
    return load_agents(settings.CAP01_AGENTS)


def budget(name: str) -> pipeline.Budget:
    duration_ms, memory_mb = settings.CAP01_BUDGETS[name]
    return pipeline.Budget(duration_ms=duration_ms, memory_mb=memory_mb)


def process_rss_mb() -> float:
    """Resident memory of this process now (Linux /proc), in MB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def new_run_id() -> str:
    return f"run-{uuid.uuid4().hex}"


# --- intake ------------------------------------------------------------------------------------


@cache
def admission() -> Admission:
    import redis

    return Admission(redis.Redis.from_url(settings.CELERY_BROKER_URL), Limits(
        max_running=settings.CAP01_MAX_CONCURRENT_RUNS, queue_limit=settings.CAP01_QUEUE_LIMIT,
        slot_ttl_s=settings.CAP01_SLOT_TTL_S, memory_budget_mb=settings.CAP01_BUDGETS["Run"][1],
        high_water=settings.CAP01_MEMORY_HIGH_WATER,
        retry_after_s=settings.CAP01_RETRY_AFTER_S))


def run_request_create(*, user: AbstractBaseUser | AnonymousUser | None,
                       request: InputContract, replay_of: str = "") -> RunRecord:
    """Record the request in the ledger and queue it; it starts as soon as a slot is free.
    The runId is known (and returned) before any stage runs. QueueFull (HTTP 429) when the
    queue is at its limit: then nothing is recorded. `replay_of` names the run this one
    re-executes (orchestration/replays.py): the run is then linked to it in Neo4j."""
    run_id = new_run_id()
    with transaction.atomic():
        record = RunRecord.objects.create(
            run_id=run_id, source=RunSource.PIPELINE,
            submitted_by=user if user is not None and user.is_authenticated else None,
            request_text=request.user_request, request=request.to_wire(),
            status=RunStatus.QUEUED, replay_of=replay_of,
            stages={name: {"status": "pending"} for name in pipeline.STAGE_NAMES})
        try:
            record.queue_position = admission().enqueue(run_id)
        except QueueFull:
            metrics.REJECTED.inc()
            raise
        record.save(update_fields=["queue_position"])
        transaction.on_commit(_dispatch_after_commit)
    return record


def _dispatch_after_commit() -> None:
    """The run is accepted (ledger and queue); starting it may wait for the periodic dispatcher
    if the broker hiccups now."""
    try:
        runs_dispatch()
    except Exception:
        logger.exception("dispatch after intake failed; the periodic dispatcher will retry")


def runs_dispatch() -> list[str]:
    """Start the queued runs that may start now (free slots, memory below its high water)."""
    from .tasks import start_pipeline  # the Celery edge; imported late to keep services testable

    gate = admission()
    started = gate.start_ready()
    for run_id in started:
        record = RunRecord.objects.filter(run_id=run_id, status=RunStatus.QUEUED).first()
        if record is None:  # finished, or never committed: nothing to start
            gate.release(run_id)
            continue
        request = InputContract.model_validate(record.request)
        envelope = pipeline.first_envelope(
            run_id=run_id, request=request, now=_now(), ttl=_ttl(),
            snapshot=pipeline.config_snapshot(request, agents=settings.CAP01_AGENTS),
            replay_of=record.replay_of or None)
        try:
            start_pipeline(envelope.model_dump(mode="json", by_alias=True))
        except Exception:
            gate.requeue_front([run_id])
            raise
        RunRecord.objects.filter(pk=record.pk).update(queue_position=None)
    queued = gate.queued()
    for position, run_id in enumerate(queued, start=1):
        RunRecord.objects.filter(run_id=run_id).exclude(queue_position=position).update(
            queue_position=position)
    metrics.QUEUE_DEPTH.set(len(queued))
    metrics.RUNNING.set(gate.running())
    return started


# --- stages ------------------------------------------------------------------------------------


def stage_run(*, agent_name: str, envelope: dict[str, Any]) -> dict[str, Any] | None:
    """Run one stage on its envelope; returns the next envelope, or None when the run is
    finished (after the last stage, or after a failure: the partial run is then finished as
    failed and handed to the persistence step all the same)."""
    try:
        parsed = HandoffEnvelope.model_validate(envelope)
    except Exception as exc:  # an unreadable envelope: fail this stage, keep the run
        return _stage_unreadable(agent_name=agent_name, envelope=envelope, error=str(exc))
    run_id = parsed.metadata.run_id
    if not RunRecord.objects.filter(run_id=run_id).exists():
        # No ledger row: nothing accepted this run (or it was deleted). Free its slot, stop.
        logger.error("stage %s of unknown run %s dropped", agent_name, run_id,
                     extra={"event": "stage", "agent": agent_name, "runId": run_id,
                            "status": "dropped"})
        admission().release(run_id)
        runs_dispatch()
        return None
    _bookkeeping(admission().refresh, run_id)
    _record_stage(run_id, agent_name, {"status": "running", "sequence": parsed.metadata.sequence,
                                       "startedAt": _now().isoformat()}, RunStatus.RUNNING)
    outcome = pipeline.run_stage(parsed, agents()[agent_name], now=_now(), ttl=_ttl(),
                                 timer=time.perf_counter, budget=budget(agent_name),
                                 strict=settings.CAP01_BUDGET_STRICT, rss_mb=process_rss_mb,
                                 transcripts=pipeline.TranscriptPolicy(
                                     store=settings.CAP01_STORE_TRANSCRIPTS,
                                     patterns=tuple(settings.CAP01_REDACT_PATTERNS)))
    entry = outcome.entry
    if entry.get("rssMb") is not None:
        _bookkeeping(admission().report_memory, f"{socket.gethostname()}:{os.getpid()}",
                     entry["rssMb"])
    _observe_stage(run_id, entry)
    _record_stage(run_id, agent_name, {
        "status": entry["status"], "sequence": entry["sequence"],
        "durationMs": entry["duration"], "memoryMb": entry.get("memoryMb"),
        "error": entry.get("error", ""),
    })
    if outcome.next_envelope is not None:
        return outcome.next_envelope.model_dump(mode="json", by_alias=True)
    run_finish(state=outcome.state)
    return None


def _bookkeeping(call: Any, *args: Any) -> None:
    """A lease renewal or memory report: advisory. Redis unreachable for a moment (a restart)
    must not fail the stage, which would end the run's chain for good; the next stage reports
    again."""
    from redis.exceptions import RedisError

    try:
        call(*args)
    except RedisError as exc:
        logger.warning("backpressure bookkeeping skipped: %s", exc)


def _observe_stage(run_id: str, entry: dict[str, Any]) -> None:
    agent = entry["agent"]
    metrics.STAGE_DURATION_MS.labels(agent).observe(entry["duration"])
    if entry.get("memoryMb") is not None:
        metrics.STAGE_MEMORY_MB.labels(agent).observe(entry["memoryMb"])
    for kind in entry.get("budgetBreaches", []):
        metrics.BUDGET_BREACHES.labels(agent, kind).inc()
    level = logging.WARNING if entry.get("budgetBreaches") or entry["status"] != "succeeded" \
        else logging.INFO
    logger.log(level, "stage %s %s", agent, entry["status"], extra={
        "event": "stage", "agent": agent, "runId": run_id, "duration": entry["duration"],
        "memoryUsage": entry.get("memoryMb"), "rssMb": entry.get("rssMb"),
        "status": entry["status"], "budgetBreaches": entry.get("budgetBreaches", []),
        "error": entry.get("error")})


def _stage_unreadable(*, agent_name: str, envelope: dict[str, Any], error: str) -> None:
    payload = envelope.get("payload") if isinstance(envelope, dict) else None
    meta = envelope.get("metadata", {}) if isinstance(envelope, dict) else {}
    if not isinstance(payload, dict) or "runId" not in payload:
        logger.error("stage %s received an envelope without a run: %s", agent_name, error)
        return None
    state = pipeline.failed_state(payload, agent=agent_name, sequence=int(meta.get("sequence", 1)),
                                  now=_now(), error=f"The hand-off envelope is unreadable: {error}")
    _record_stage(payload["runId"], agent_name, {"status": "failed", "error": error})
    run_finish(state=state)
    return None


def _record_stage(run_id: str, agent_name: str, info: dict[str, Any],
                  status: RunStatus | None = None) -> None:
    with transaction.atomic():
        record = RunRecord.objects.select_for_update().get(run_id=run_id)
        record.stages = {**record.stages, agent_name: {**record.stages.get(agent_name, {}),
                                                       **info}}
        fields = ["stages"]
        if status is not None and record.status == RunStatus.QUEUED:
            record.status, record.started_at = status, timezone.now()
            fields += ["status", "started_at"]
        record.save(update_fields=fields)


def run_finish(*, state: dict[str, Any]) -> RunRecord:
    """Assemble the RunResult, commit it to the ledger (the outbox), then hand it to the write."""
    from .tasks import enqueue_persist

    run = pipeline.finish_run(state, now=_now(), run_budget=budget("Run"))
    meta = run.metadata
    metrics.ORCHESTRATION_DURATION_MS.observe(meta.total_duration)
    if meta.peak_rss_mb is not None:
        metrics.RUN_MEMORY_MB.observe(meta.peak_rss_mb)
    metrics.RUNS.labels(meta.status).inc()
    for breach in meta.budget_breaches:
        if breach.startswith("run."):
            metrics.BUDGET_BREACHES.labels("Run", breach.removeprefix("run.")).inc()
    logger.log(logging.WARNING if meta.budget_breaches else logging.INFO,
               "run %s %s", run.run_id, meta.status, extra={
                   "event": "run", "runId": run.run_id, "status": meta.status,
                   "duration": meta.total_duration, "memoryUsage": meta.peak_rss_mb,
                   "failedAgent": meta.failed_agent, "budgetBreaches": meta.budget_breaches})
    with transaction.atomic():
        record = RunRecord.objects.select_for_update().get(run_id=run.run_id)
        if record.result is not None:  # a redelivered last stage: the first finish stands
            return record
        record.result = run.to_wire()
        record.checksum = checksum(record.result)
        record.status = RunStatus.PERSISTING
        record.failed_agent = run.metadata.failed_agent or ""
        record.error = next((e.error or "" for e in run.agent_history if e.status == "failed"),
                            "")
        record.finished_at = timezone.now()
        # Should the write's message be lost (the broker down now), the reconciler sends it.
        record.persist_next_at = record.finished_at + outbox_backoff(1)
        record.total_duration_ms = run.metadata.total_duration
        record.save()
        transaction.on_commit(lambda: enqueue_persist(run.run_id))
    admission().release(run.run_id)  # the agents are done; the result is safe in the outbox
    runs_dispatch()
    return record


# --- persistence -------------------------------------------------------------------------------


def outbox_backoff(attempts: int) -> timedelta:
    """How long the reconciler waits before trying a failed write again: 5 s doubling to 5 min,
    with up to 20% jitter so that a recovering Neo4j is not hit by every run at once."""
    base = min(300.0, 5.0 * 2 ** max(attempts - 1, 0))
    return timedelta(seconds=base * (1 + 0.2 * random.random()))


def run_persist(*, run_id: str, retry: RetryPolicy | None = None,
                rewrite: bool = False) -> WriteSummary | None:
    """Write the run in the outbox to Neo4j (idempotent). Raises Neo4jWriteFailed on a failure
    the caller may retry; returns None when there is nothing (left) to write. A run already
    persisted is skipped (a redelivered task) unless `rewrite` asks to confirm it in Neo4j."""
    record = RunRecord.objects.get(run_id=run_id)
    if record.result is None or (record.persisted_at is not None and not rewrite):
        return None
    run = RunResult.model_validate(record.result)
    attempts = record.persist_attempts + 1
    # Until the write commits, the reconciler may retry it after the backoff.
    RunRecord.objects.filter(pk=record.pk).update(
        persist_attempts=attempts, persist_next_at=timezone.now() + outbox_backoff(attempts))
    try:
        summary, peak_mb = _measured_write(run, retry)
    except Neo4jWriteFailed as exc:
        metrics.WRITE_FAILURES.inc()
        metrics.WRITE_RETRIES.inc(max(exc.attempts - 1, 0))
        logger.error("write of %s failed", run_id, extra={
            "event": "write", "runId": run_id, "attempts": exc.attempts, "status": "failed",
            "error": str(exc)})
        RunRecord.objects.filter(pk=record.pk).update(persist_error=str(exc)[:2000])
        raise
    except RunConflict as exc:  # another run holds this runId in Neo4j: never overwrite it
        _mark_persist_failed(record, str(exc))
        return None
    breaches = budget("Persistence").breaches(duration_ms=summary.latency_ms, memory_mb=peak_mb)
    metrics.NEO4J_WRITE_LATENCY_MS.observe(summary.latency_ms)
    metrics.WRITE_RETRIES.inc(summary.attempts - 1)
    for kind in breaches:
        metrics.BUDGET_BREACHES.labels("Persistence", kind).inc()
    logger.log(logging.WARNING if breaches else logging.INFO, "write of %s committed", run_id,
               extra={"event": "write", "runId": run_id, "attempts": summary.attempts,
                      "latency": round(summary.latency_ms, 3), "memoryUsage": round(peak_mb, 3),
                      "new": summary.created, "status": "committed",
                      "budgetBreaches": breaches})
    RunRecord.objects.filter(pk=record.pk).update(
        persisted_at=timezone.now(), persist_next_at=None,
        write_summary={**summary.as_dict(), "memoryMb": round(peak_mb, 3),
                       "budgetBreaches": breaches},
        persist_error="", status=run.metadata.status, checksum=summary.checksum)
    return summary


def _measured_write(run: RunResult, retry: RetryPolicy | None) -> tuple[WriteSummary, float]:
    """The write, and its tracemalloc peak in MB (the persistence budget's memory)."""
    already = tracemalloc.is_tracing()
    if not already:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    try:
        summary = get_writer(retry=retry).write(run)
        return summary, max(tracemalloc.get_traced_memory()[1] - base, 0) / 2**20
    finally:
        if not already:
            tracemalloc.stop()


def _mark_persist_failed(record: RunRecord, error: str) -> None:
    """A write that can never succeed (the runId is taken): stop retrying, say why."""
    RunRecord.objects.filter(pk=record.pk).update(status=RunStatus.FAILED, persist_error=error,
                                                  persist_next_at=None)


# --- external runs (POST /api/orchestration/runs) ----------------------------------------------


@dataclass(frozen=True)
class IngestOutcome:
    run_id: str
    created: bool  # False: the same run was already persisted
    persisted: bool  # False: safely in the outbox, the write will follow (Neo4j down or slow)
    summary: WriteSummary | None


def run_result_ingest(*, user: AbstractBaseUser | AnonymousUser | None,
                      run: RunResult) -> IngestOutcome:
    """Accept a RunResult from an external orchestrator: outbox first, then the write.
    RunIdConflict when the runId is already taken by different content."""
    from graphstore.mapper import map_run_to_graph

    from .tasks import enqueue_persist

    write_set = map_run_to_graph(run)  # refuses an oversized run before anything is stored
    with transaction.atomic():
        existing = RunRecord.objects.select_for_update().filter(run_id=run.run_id).first()
        if existing is not None and existing.checksum not in ("", write_set.checksum):
            raise RunIdConflict(run.run_id, f"Run {run.run_id} already exists with different "
                                "content; a runId names one run: send changed content under a "
                                "new runId.")
        if existing is None:
            existing = RunRecord.objects.create(
                run_id=run.run_id, source=RunSource.EXTERNAL,
                submitted_by=user if user is not None and user.is_authenticated else None,
                request_text=run.request.user_request, request=run.request.to_wire(),
                status=RunStatus.PERSISTING, result=write_set.normalized.to_wire(),
                checksum=write_set.checksum, failed_agent=run.metadata.failed_agent or "",
                started_at=run.metadata.timestamp, finished_at=timezone.now(),
                total_duration_ms=run.metadata.total_duration,
                stages={e.agent: {"status": e.status, "sequence": e.sequence,
                                  "durationMs": e.duration, "error": e.error or ""}
                        for e in run.agent_history})
    if existing.condensed_at is not None:
        # The same run, condensed by retention (orchestration/retention.py): it is persisted,
        # and what retention removed is not written back.
        return IngestOutcome(run.run_id, created=False, persisted=True, summary=None)
    try:
        # One attempt within the request: when Neo4j is down or slow the run is already safe in
        # the outbox, the answer is 202 and the worker (and the reconciler) write it later.
        summary = run_persist(run_id=run.run_id, retry=RetryPolicy(max_attempts=1),
                              rewrite=True)
    except Neo4jWriteFailed:
        enqueue_persist(run.run_id)
        return IngestOutcome(run.run_id, created=True, persisted=False, summary=None)
    if summary is None:
        existing.refresh_from_db()
        raise RunIdConflict(run.run_id, existing.persist_error or f"Run {run.run_id} conflicts.")
    return IngestOutcome(run.run_id, created=summary.created, persisted=True, summary=summary)


# --- the outbox reconciler ---------------------------------------------------------------------


def outbox_reconcile(*, limit: int = 200) -> dict[str, list[str]]:
    """Hand back to the workers what was accepted but is not done (run every 10 s by beat):

    - finished runs not yet persisted whose backoff has elapsed: the write is enqueued again;
    - queued runs the Redis queue no longer knows (Redis lost its state): queued again;
    - running runs whose slot lease expired (no stage for CAP01_SLOT_TTL_S: their chain died
      with a lost message or a stage that could not hand on): queued again, from the start.
    All are idempotent (a run's first finish stands), so running this while the original work
    is still under way is harmless.
    """
    from .tasks import enqueue_persist

    now = timezone.now()
    due = list(RunRecord.objects.filter(
        result__isnull=False, persisted_at__isnull=True, persist_next_at__lte=now,
    ).order_by("persist_next_at").values_list("run_id", "persist_attempts")[:limit])
    for run_id, attempts in due:
        RunRecord.objects.filter(run_id=run_id).update(
            persist_next_at=now + outbox_backoff(attempts + 1))
        enqueue_persist(run_id)
    gate = admission()
    known = set(gate.queued()) | gate.holding()
    lost = [run_id for run_id in RunRecord.objects.filter(
        status=RunStatus.QUEUED, created_at__lte=now - timedelta(seconds=30),
    ).values_list("run_id", flat=True)[:limit] if run_id not in known]
    stalled = [run_id for run_id in RunRecord.objects.filter(
        status=RunStatus.RUNNING, result__isnull=True,
        started_at__lte=now - timedelta(seconds=30),
    ).values_list("run_id", flat=True)[:limit] if run_id not in known]
    lost += [run_id for run_id in stalled if RunRecord.objects.filter(
        run_id=run_id, status=RunStatus.RUNNING, result__isnull=True,
    ).update(status=RunStatus.QUEUED)]
    for run_id in lost:
        gate.enqueue(run_id)
    if lost:
        runs_dispatch()
    if due or lost:
        logger.warning("outbox reconciled", extra={"event": "reconcile", "rewrites": len(due),
                                                   "requeued": len(lost)})
    return {"rewrites": [r for r, _ in due], "requeued": lost}
