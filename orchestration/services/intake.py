"""Intake: record a request in the ledger, queue it (backpressure), and start the queued runs that
may start now. The runId is known (and returned) before any stage runs."""

from __future__ import annotations

import logging
import uuid
from functools import cache
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction

from contracts import STAGE_NAMES, InputContract, envelope_to_wire
from orchestration import metrics, pipeline
from orchestration.backpressure import Admission, Limits
from orchestration.errors import QueueFull
from orchestration.history import batch_kg
from orchestration.models import RunRecord, RunSource, RunStatus

from . import config, enqueue

logger = logging.getLogger(__name__)


def new_run_id() -> str:
    return f"run-{uuid.uuid4().hex}"


def submitter(user: AbstractBaseUser | AnonymousUser | None) -> Any:
    """The user a ledger row names: none for an anonymous or absent user."""
    return user if user is not None and user.is_authenticated else None


def batch_columns(request: InputContract) -> dict[str, Any]:
    """The run history's batch columns of a request (orchestration/history.py)."""
    return {"batch_size": request.target_batch_size, "batch_unit": request.target_unit,
            "batch_kg": batch_kg(request.target_batch_size, request.target_unit)}


@cache
def admission() -> Admission:
    """The Redis-backed admission gate, built once per process from the settings."""
    import redis

    return Admission(redis.Redis.from_url(settings.CELERY_BROKER_URL), Limits(
        max_running=settings.CAP01_MAX_CONCURRENT_RUNS, queue_limit=settings.CAP01_QUEUE_LIMIT,
        slot_ttl_s=settings.CAP01_SLOT_TTL_S, memory_budget_mb=settings.CAP01_BUDGETS["Run"][1],
        high_water=settings.CAP01_MEMORY_HIGH_WATER,
        retry_after_s=settings.CAP01_RETRY_AFTER_S))


def run_request_create(*, user: AbstractBaseUser | AnonymousUser | None,
                       request: InputContract, replay_of: str = "") -> RunRecord:
    """Record the request in the ledger and queue it; it starts as soon as a slot is free.
    QueueFull (HTTP 429) when the queue is at its limit: then nothing is recorded. `replay_of`
    names the run this one re-executes (services/replays.py): the run is then linked to it in
    Neo4j."""
    run_id = new_run_id()
    # The row is committed before the run enters the Redis queue: a worker that frees a slot
    # may start the run at once, and must find its row (created inside a transaction still
    # open, it was invisible to that worker, and the run was dropped until the reconciler
    # found it 30 s later). Refused or unreachable queue: the row is deleted again.
    record = RunRecord.objects.create(
        run_id=run_id, source=RunSource.PIPELINE, submitted_by=submitter(user),
        request_text=request.user_request, request=request.to_wire(),
        status=RunStatus.QUEUED, replay_of=replay_of, **batch_columns(request),
        stages={name: {"status": "pending"} for name in STAGE_NAMES})
    try:
        record.queue_position = admission().enqueue(run_id)
    except BaseException as exc:
        RunRecord.objects.filter(pk=record.pk).delete()
        if isinstance(exc, QueueFull):
            metrics.REJECTED.inc()
        raise
    _dispatch_after_commit()  # also writes the queue positions of the runs still queued
    return record


def _dispatch_after_commit() -> None:
    """The run is accepted (ledger and queue); starting it may wait for the periodic dispatcher
    if the broker hiccups now. (Inside a caller's transaction, after it commits.)"""
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(_dispatch_after_commit)
        return
    try:
        runs_dispatch()
    except Exception:
        logger.exception("dispatch after intake failed; the periodic dispatcher will retry")


def runs_dispatch(*, released: str | None = None) -> list[str]:
    """Start the queued runs that may start now (free slots, memory below its high water);
    `released`: a run that has just ended, whose slot is freed first (in the same round trip
    to Redis)."""
    gate = admission()
    admitted = gate.admit(released=released)
    started = admitted.started
    for run_id in started:
        record = RunRecord.objects.filter(run_id=run_id, status=RunStatus.QUEUED).first()
        if record is None:  # finished, or never committed: nothing to start
            gate.release(run_id)
            continue
        request = InputContract.model_validate(record.request)
        envelope = pipeline.first_envelope(
            run_id=run_id, request=request, now=config.now(), ttl=config.handoff_ttl(),
            snapshot=pipeline.config_snapshot(request, agents=settings.CAP01_AGENTS),
            keys=config.envelope_keys(), replay_of=record.replay_of or None,
            created_at=record.created_at)
        try:
            enqueue.pipeline_start(envelope_to_wire(envelope))
        except Exception:
            gate.requeue_front([run_id])
            raise
        if record.queue_position is not None:  # it waited in the queue (else: nothing to clear)
            RunRecord.objects.filter(pk=record.pk).update(queue_position=None)
    queued = admitted.queued
    with transaction.atomic():  # one commit for the whole queue, not one per queued run
        for position, run_id in enumerate(queued, start=1):
            RunRecord.objects.filter(run_id=run_id).exclude(queue_position=position).update(
                queue_position=position)
    metrics.QUEUE_DEPTH.set(len(queued))
    metrics.RUNNING.set(admitted.running)
    return started
