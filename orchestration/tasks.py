"""Celery tasks: the whole pipeline of a run (CAP01_PIPELINE_MODE=inline, the default), one per
agent stage (CAP01_PIPELINE_MODE=chain; generated from the stage table, contracts/stages.py), the
transactional write when it is retried, and the periodic jobs of Celery beat
(settings.CELERY_BEAT_SCHEDULE).

Thin: each calls one service. The services enqueue these by name (services/enqueue.py) and never
import this module. Workers acknowledge late (a task whose worker dies is delivered again),
prefetch one message at a time, and retry the write with backoff a bounded number of times (see
settings.CELERY_* and the retry arguments below).
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from celery.exceptions import Ignore

from contracts.stages import STAGE_TABLE, Stage
from graphstore.errors import Neo4jWriteFailed

from .services import enqueue, intake, persistence, reconcile, retention, rollups, stages

# Nothing reads a task's result (the chain hands each return value to the next stage itself, and
# there is no result backend): ignore_result spares the worker storing it.
_STAGE_OPTIONS: dict[str, Any] = {"acks_late": True, "max_retries": 3, "ignore_result": True}


def _stage(agent_name: str, envelope: dict[str, Any] | None) -> dict[str, Any]:
    if envelope is None:
        raise Ignore()  # defensive: a finished run has no next stage
    next_envelope = stages.stage_run(agent_name=agent_name, envelope=envelope)
    if next_envelope is None:
        raise Ignore()  # the run is finished (or failed): stop the chain, the write is enqueued
    return next_envelope


def _make_stage_task(stage: Stage) -> Any:
    def run_stage(envelope: dict[str, Any]) -> dict[str, Any]:
        return _stage(stage.agent, envelope)

    run_stage.__name__ = run_stage.__qualname__ = stage.task.rpartition(".")[2]
    run_stage.__doc__ = f"Run {stage.agent} on its hand-off envelope; return the next one."
    return shared_task(name=stage.task, **_STAGE_OPTIONS)(run_stage)


# One task per stage, generated from the stage table (contracts/stages.py), in pipeline order.
STAGE_TASKS: dict[str, Any] = {stage.agent: _make_stage_task(stage) for stage in STAGE_TABLE}


@shared_task(name=enqueue.PIPELINE_TASK, acks_late=True, ignore_result=True)
def run_pipeline(envelope: dict[str, Any]) -> None:
    """Run every stage of a run in this worker process, then write it
    (CAP01_PIPELINE_MODE=inline, the default)."""
    stages.pipeline_run(envelope=envelope)


@shared_task(name=enqueue.PERSIST_TASK, bind=True, acks_late=True, ignore_result=True,
             autoretry_for=(Neo4jWriteFailed,), retry_backoff=2, retry_backoff_max=60,
             retry_jitter=True, max_retries=8)
def persist_run(self: Any, run_id: str) -> dict[str, Any] | None:
    """Write the run in the outbox to Neo4j."""
    summary = persistence.run_persist(run_id=run_id)
    return summary.as_dict() if summary else None


@shared_task(name=enqueue.DISPATCH_TASK, ignore_result=True)
def dispatch() -> list[str]:
    """Start queued runs that may start now (also run every 5 s by Celery beat)."""
    return intake.runs_dispatch()


@shared_task(name=enqueue.RECONCILE_TASK, ignore_result=True)
def reconcile_outbox() -> dict[str, list[str]]:
    """Re-enqueue accepted work that is not done (also run every 10 s by Celery beat)."""
    return reconcile.outbox_reconcile()


@shared_task(name=enqueue.GC_BLOBS_TASK, ignore_result=True)
def gc_blobs() -> str:
    """Delete blobs no run references, older than an hour (run hourly by Celery beat)."""
    return retention.blobs_collect(grace_s=3600)


@shared_task(name=enqueue.CONDENSE_TASK, ignore_result=True)
def condense_runs() -> dict[str, object] | None:
    """Condense runs older than the full-retention period (hourly by Celery beat; nothing while
    the retention settings switch it off)."""
    return retention.runs_condense_scheduled()


@shared_task(name=enqueue.ROLLUPS_TASK, ignore_result=True)
def analytics_rollups() -> dict[str, object] | None:
    """Roll up the closed days that have no current analytics rollup (every 10 minutes by Celery
    beat; nothing while CAP01_ANALYTICS_ROLLUPS is off)."""
    return rollups.rollups_refresh_scheduled()
