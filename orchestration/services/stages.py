"""Stages: run one agent stage on its hand-off envelope (the ledger row follows each step), and
finish the run after the last stage or a failure: the finished RunResult goes to the outbox
(services/persistence.py), the run's slot is freed and the next queued run may start."""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from contracts import STAGE_NAMES, HandoffEnvelope, envelope_from_wire, envelope_to_wire
from orchestration import metrics, pipeline
from orchestration.models import RunRecord, RunStatus

from . import config, persistence
from .intake import admission, runs_dispatch

logger = logging.getLogger(__name__)


def pipeline_run(*, envelope: dict[str, Any]) -> None:
    """Run the stages of one run in this process, one after the other, from the stage the
    envelope is addressed to (the default, CAP01_PIPELINE_MODE=inline): a hand-off costs no
    broker round trip, the envelope is still sealed and opened at every hop (its signature and
    deadline hold as between processes), and the models one stage parsed are handed to the next
    instead of being parsed again. The ledger's per-stage progress is written when the run
    starts, then at most every CAP01_PROGRESS_INTERVAL_MS (a run of slow agents shows each stage
    as it goes; a fast one is not slowed by a write per hop), and in full with the finished run
    (`run_finish`), which is then written to Neo4j."""
    try:
        parsed = envelope_from_wire(envelope)
    except Exception as exc:  # an unreadable envelope: fail its stage, keep the run
        agent = envelope.get("metadata", {}).get("agent") if isinstance(envelope, dict) else None
        _stage_unreadable(agent_name=str(agent or STAGE_NAMES[0]), envelope=envelope,
                          error=str(exc))
        return
    progress = Progress(interval_s=settings.CAP01_PROGRESS_INTERVAL_MS / 1000.0)
    step: HandoffEnvelope | None = parsed
    known: Mapping[str, tuple[Any, Any]] = {}
    while step is not None:
        outcome = stage_step(agent_name=step.metadata.agent, envelope=step, progress=progress,
                             parsed=known)
        if outcome is None:
            return
        step, known = outcome.next_envelope, outcome.parsed


def stage_run(*, agent_name: str, envelope: dict[str, Any]) -> dict[str, Any] | None:
    """Run one stage on its envelope (wire form; CAP01_PIPELINE_MODE=chain, one Celery task per
    stage); returns the next envelope, or None when the run is finished (after the last stage,
    or after a failure: the partial run is then finished as failed and written all the same)."""
    try:
        parsed = envelope_from_wire(envelope)
    except Exception as exc:  # an unreadable envelope: fail this stage, keep the run
        _stage_unreadable(agent_name=agent_name, envelope=envelope, error=str(exc))
        return None
    outcome = stage_step(agent_name=agent_name, envelope=parsed)
    if outcome is None or outcome.next_envelope is None:
        return None
    return envelope_to_wire(outcome.next_envelope)


@dataclass
class Progress:
    """When the inline pipeline writes a stage's progress to the ledger: at the run's start,
    then once `interval_s` has passed since the last write (the changes in between are carried
    to it); the finished run's outbox commit writes every stage's result."""

    interval_s: float
    clock: Callable[[], float] = time.monotonic
    started: bool = False
    last: float = 0.0
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, changes: Mapping[str, Mapping[str, Any]]) -> None:
        for agent_name, info in changes.items():
            self.pending = stages_merge(self.pending, agent_name, info)

    def due(self) -> bool:
        return not self.started or self.clock() - self.last >= self.interval_s

    def written(self) -> None:
        self.started, self.last, self.pending = True, self.clock(), {}


def stage_step(*, agent_name: str, envelope: HandoffEnvelope, progress: Progress | None = None,
               parsed: Mapping[str, tuple[Any, Any]] | None = None
               ) -> pipeline.StageOutcome | None:
    """Run one stage on its (parsed) envelope; its outcome (`next_envelope` None when the run
    is finished), or None when the run has no ledger row (dropped). Without `progress` (one
    task per stage) the ledger is written before and after the stage; with it (the inline
    pipeline), as `progress` says. `parsed`: the previous outcome's models (same process)."""
    run_id = envelope.metadata.run_id
    if progress is None or not progress.started:
        try:  # one ledger transaction: the row's existence checked by the write itself
            _record_stage(run_id, {agent_name: _running(envelope.metadata.sequence)},
                          RunStatus.RUNNING)
        except RunRecord.DoesNotExist:
            # No ledger row: nothing accepted this run (or it was deleted). Free its slot, stop.
            logger.error("stage %s of unknown run %s dropped", agent_name, run_id,
                         extra={"event": "stage", "agent": agent_name, "runId": run_id,
                                "status": "dropped"})
            runs_dispatch(released=run_id)
            return None
        if progress is not None:
            progress.written()
    outcome = pipeline.run_stage(envelope, config.agents()[agent_name], now=config.now(),
                                 ttl=config.handoff_ttl(), keys=config.envelope_keys(),
                                 timer=time.perf_counter,
                                 measure_memory=config.memory_sampled(run_id),
                                 budget=config.budget(agent_name),
                                 strict=settings.CAP01_BUDGET_STRICT,
                                 rss_mb=config.process_rss_mb,
                                 transcripts=pipeline.TranscriptPolicy(
                                     store=settings.CAP01_STORE_TRANSCRIPTS,
                                     patterns=tuple(settings.CAP01_REDACT_PATTERNS)),
                                 parsed=parsed, limits=config.limits())
    entry = outcome.entry
    following = outcome.next_envelope
    if following is not None and _heartbeat_due(run_id, time.monotonic()):
        # The run's lease renewed and this process's memory reported: one Redis round trip.
        # Not after the last stage (the finish frees the slot at once), and not again within
        # HEARTBEAT_EVERY_S for the same run: a lease lasts CAP01_SLOT_TTL_S (120 s) and a
        # memory report 60 s, so a fast run's five stages needed one, not five.
        _bookkeeping(admission().heartbeat, run_id, f"{socket.gethostname()}:{os.getpid()}",
                     entry.get("rssMb"))
    _observe_stage(run_id, entry)
    changes = {agent_name: persistence.stage_entry(entry)}
    if following is None:  # the finish writes every stage's result with the run
        run_finish(state=outcome.state)
        return outcome
    if progress is None:
        _record_stage(run_id, changes)
        return outcome
    progress.add({**changes,
                  following.metadata.agent: _running(following.metadata.sequence)})
    if progress.due():
        _record_stage(run_id, progress.pending)
        progress.written()
    return outcome


HEARTBEAT_EVERY_S = 1.0
_last_heartbeat: list[Any] = ["", float("-inf")]  # this process's last heartbeat: [run, when]


def _heartbeat_due(run_id: str, now: float) -> bool:
    """Whether a stage of `run_id` that ends at `now` (monotonic s) sends a heartbeat: the
    first stage this process runs of a run, then at most every HEARTBEAT_EVERY_S."""
    if _last_heartbeat[0] == run_id and now - _last_heartbeat[1] < HEARTBEAT_EVERY_S:
        return False
    _last_heartbeat[:] = [run_id, now]
    return True


def _running(sequence: int) -> dict[str, Any]:
    return {"status": "running", "sequence": sequence, "startedAt": config.now().isoformat()}


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
    _record_stage(payload["runId"], {agent_name: {"status": "failed", "error": error}})
    run_finish(state=state)


def _record_stage(run_id: str, changes: Mapping[str, Mapping[str, Any]],
                  status: RunStatus | None = None) -> None:
    """One ledger transaction: lay `changes` (agent -> fields) over the row's per-stage map;
    with `status`, a queued run becomes it (and its start time is set)."""
    with transaction.atomic():
        # Only the columns it changes: loading the whole row (the request's JSON) doubled the
        # cost of this write.
        record = (RunRecord.objects.select_for_update()
                  .only("pk", "stages", "status", "started_at").get(run_id=run_id))
        merged = dict(record.stages)
        for agent_name, info in changes.items():
            merged = stages_merge(merged, agent_name, info)
        record.stages = merged
        fields = ["stages"]
        if status is not None and record.status == RunStatus.QUEUED:
            record.status, record.started_at = status, timezone.now()
            fields += ["status", "started_at"]
        record.save(update_fields=fields)


def run_finish(*, state: dict[str, Any]) -> RunRecord:
    """Assemble the RunResult, commit it to the ledger (the outbox), free the run's slot (the
    next queued run may start on another worker process), then write it to Neo4j here, at once
    (persistence.outbox_write): no second task waits in the broker. A write that fails here is
    handed to the persist task, which retries with backoff."""
    run, copy = persistence.outbox_from_wire(
        pipeline.finish_wire(state, now=config.now(), run_budget=config.budget("Run")))
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
    record, committed = persistence.run_outbox_commit(run=run, copy=copy)
    if committed is None:  # a redelivered last stage: the first finish stands; write it if need be
        persistence.outbox_write(run_id=run.run_id)
        return record
    runs_dispatch(released=run.run_id)  # the agents are done; the result is safe in the outbox
    persistence.outbox_write(run_id=run.run_id, copy=committed)
    return record
