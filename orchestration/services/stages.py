"""Stages: run one agent stage on its hand-off envelope (the ledger row follows each step), and
finish the run after the last stage or a failure: the finished RunResult goes to the outbox
(services/persistence.py), the run's slot is freed and the next queued run may start."""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from contracts import envelope_from_wire, envelope_to_wire
from orchestration import metrics, pipeline
from orchestration.models import RunRecord, RunStatus

from . import config, persistence
from .intake import admission, runs_dispatch

logger = logging.getLogger(__name__)


def stage_run(*, agent_name: str, envelope: dict[str, Any]) -> dict[str, Any] | None:
    """Run one stage on its envelope; returns the next envelope, or None when the run is
    finished (after the last stage, or after a failure: the partial run is then finished as
    failed and handed to the persistence step all the same)."""
    try:
        parsed = envelope_from_wire(envelope)
    except Exception as exc:  # an unreadable envelope: fail this stage, keep the run
        _stage_unreadable(agent_name=agent_name, envelope=envelope, error=str(exc))
        return None
    run_id = parsed.metadata.run_id
    try:  # one ledger transaction: the row's existence checked by the write itself
        _record_stage(run_id, agent_name, {"status": "running",
                                           "sequence": parsed.metadata.sequence,
                                           "startedAt": config.now().isoformat()},
                      RunStatus.RUNNING)
    except RunRecord.DoesNotExist:
        # No ledger row: nothing accepted this run (or it was deleted). Free its slot, stop.
        logger.error("stage %s of unknown run %s dropped", agent_name, run_id,
                     extra={"event": "stage", "agent": agent_name, "runId": run_id,
                            "status": "dropped"})
        admission().release(run_id)
        runs_dispatch()
        return None
    _bookkeeping(admission().refresh, run_id)
    outcome = pipeline.run_stage(parsed, config.agents()[agent_name], now=config.now(),
                                 ttl=config.handoff_ttl(), timer=time.perf_counter,
                                 measure_memory=config.memory_sampled(run_id),
                                 budget=config.budget(agent_name),
                                 strict=settings.CAP01_BUDGET_STRICT,
                                 rss_mb=config.process_rss_mb,
                                 transcripts=pipeline.TranscriptPolicy(
                                     store=settings.CAP01_STORE_TRANSCRIPTS,
                                     patterns=tuple(settings.CAP01_REDACT_PATTERNS)))
    entry = outcome.entry
    if entry.get("rssMb") is not None:
        _bookkeeping(admission().report_memory, f"{socket.gethostname()}:{os.getpid()}",
                     entry["rssMb"])
    _observe_stage(run_id, entry)
    _record_stage(run_id, agent_name, stage_result(entry))
    if outcome.next_envelope is not None:
        return envelope_to_wire(outcome.next_envelope)
    run_finish(state=outcome.state)
    return None


def stage_result(entry: Mapping[str, Any]) -> dict[str, Any]:
    """What the ledger keeps of a finished stage (an agentHistory entry)."""
    return {"status": entry["status"], "sequence": entry["sequence"],
            "durationMs": entry["duration"], "memoryMb": entry.get("memoryMb"),
            "error": entry.get("error", "")}


def stages_merge(stages: Mapping[str, Any], agent_name: str,
                 info: Mapping[str, Any]) -> dict[str, Any]:
    """The ledger's per-stage map with `info` laid over what it holds for `agent_name`."""
    return {**stages, agent_name: {**stages.get(agent_name, {}), **info}}


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
    if entry.get("memoryMb") is not None:  # a traced stage: its memory, not its (inflated) time
        metrics.STAGE_MEMORY_MB.labels(agent).observe(entry["memoryMb"])
    else:
        metrics.STAGE_DURATION_MS.labels(agent).observe(entry["duration"])
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
        return
    state = pipeline.failed_state(payload, agent=agent_name, sequence=int(meta.get("sequence", 1)),
                                  now=config.now(),
                                  error=f"The hand-off envelope is unreadable: {error}")
    _record_stage(payload["runId"], agent_name, {"status": "failed", "error": error})
    run_finish(state=state)


def _record_stage(run_id: str, agent_name: str, info: dict[str, Any],
                  status: RunStatus | None = None) -> None:
    with transaction.atomic():
        # Only the columns it changes: loading the whole row (the request's JSON) doubled the
        # cost of this write, made twice per stage.
        record = (RunRecord.objects.select_for_update()
                  .only("pk", "stages", "status", "started_at").get(run_id=run_id))
        record.stages = stages_merge(record.stages, agent_name, info)
        fields = ["stages"]
        if status is not None and record.status == RunStatus.QUEUED:
            record.status, record.started_at = status, timezone.now()
            fields += ["status", "started_at"]
        record.save(update_fields=fields)


def run_finish(*, state: dict[str, Any]) -> RunRecord:
    """Assemble the RunResult, commit it to the ledger (the outbox), then hand it to the write."""
    run = pipeline.finish_run(state, now=config.now(), run_budget=config.budget("Run"))
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
    record, committed = persistence.run_outbox_commit(run=run)
    if not committed:  # a redelivered last stage: the first finish stands
        return record
    admission().release(run.run_id)  # the agents are done; the result is safe in the outbox
    runs_dispatch()
    return record
