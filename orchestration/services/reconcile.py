"""The outbox reconciler (Celery beat, every 10 s): hand back to the workers what was accepted
but is not done."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.utils import timezone

from orchestration.models import RunRecord, RunStatus

from . import enqueue
from .intake import admission, runs_dispatch
from .persistence import outbox_backoff

logger = logging.getLogger(__name__)


def _due_now_if_graph_is_back(now: datetime, *, limit: int) -> int:
    """Writes that failed (persist_error set) and wait for their backoff are made due now if
    Neo4j answers (one connectivity check, only while such writes wait): after an outage the
    outbox drains within a tick of the graph coming back instead of a backoff of minutes.
    Returns how many were brought forward."""
    waiting = list(RunRecord.objects.filter(
        result__isnull=False, persisted_at__isnull=True, persist_next_at__gt=now,
    ).exclude(persist_error="").values_list("pk", flat=True)[:limit])
    if not waiting:
        return 0
    from graphstore.connection import get_driver

    try:
        get_driver().verify_connectivity()
    except Exception:  # still down (any driver error): the backoff stands
        return 0
    return RunRecord.objects.filter(pk__in=waiting).update(persist_next_at=now)


def outbox_reconcile(*, limit: int = 200) -> dict[str, list[str]]:
    """Hand back to the workers what was accepted but is not done:

    - finished runs not yet persisted whose backoff has elapsed: the write is enqueued again;
      when the graph answers again after failed writes, those still sitting out their backoff
      are due at once (the backoff spares a graph that is down, not one that is back);
    - queued runs the Redis queue no longer knows (Redis lost its state): queued again;
    - running runs whose slot lease expired (no stage for CAP01_SLOT_TTL_S: their chain died
      with a lost message or a stage that could not hand on): queued again, from the start.
    All are idempotent (a run's first finish stands), so running this while the original work
    is still under way is harmless.
    """
    now = timezone.now()
    _due_now_if_graph_is_back(now, limit=limit)
    due = list(RunRecord.objects.filter(
        result__isnull=False, persisted_at__isnull=True, persist_next_at__lte=now,
    ).order_by("persist_next_at").values_list("run_id", "persist_attempts")[:limit])
    for run_id, attempts in due:
        RunRecord.objects.filter(run_id=run_id).update(
            persist_next_at=now + outbox_backoff(attempts + 1))
        enqueue.persist_enqueue(run_id)
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
