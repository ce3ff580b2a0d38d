"""Celery tasks: one per agent stage and one for the transactional write, chained.

Thin: each calls one service. Workers acknowledge late (a task whose worker dies is delivered
again), prefetch one message at a time, and retry the write with backoff a bounded number of
times (see settings.CELERY_* and the retry arguments below).
"""

from __future__ import annotations

from typing import Any

from celery import chain, shared_task
from celery.exceptions import Ignore

from graphstore.errors import Neo4jWriteFailed

from . import services

_STAGE_OPTIONS: dict[str, Any] = {"acks_late": True, "max_retries": 3}


def _stage(agent_name: str, envelope: dict[str, Any] | None) -> dict[str, Any]:
    if envelope is None:
        raise Ignore()  # defensive: a finished run has no next stage
    next_envelope = services.stage_run(agent_name=agent_name, envelope=envelope)
    if next_envelope is None:
        raise Ignore()  # the run is finished (or failed): stop the chain, the write is enqueued
    return next_envelope


@shared_task(name="orchestration.recipe_engineer", **_STAGE_OPTIONS)
def recipe_engineer(envelope: dict[str, Any]) -> dict[str, Any]:
    return _stage("RecipeEngineer", envelope)


@shared_task(name="orchestration.scaling_calculator", **_STAGE_OPTIONS)
def scaling_calculator(envelope: dict[str, Any]) -> dict[str, Any]:
    return _stage("ScalingCalculator", envelope)


@shared_task(name="orchestration.graph_builder", **_STAGE_OPTIONS)
def graph_builder(envelope: dict[str, Any]) -> dict[str, Any]:
    return _stage("GraphBuilder", envelope)


@shared_task(name="orchestration.qa_validator", **_STAGE_OPTIONS)
def qa_validator(envelope: dict[str, Any]) -> dict[str, Any]:
    return _stage("QAValidator", envelope)


@shared_task(name="orchestration.ui_designer", **_STAGE_OPTIONS)
def ui_designer(envelope: dict[str, Any]) -> dict[str, Any]:
    return _stage("UIDesigner", envelope)


@shared_task(name="orchestration.persist_run", bind=True, acks_late=True,
             autoretry_for=(Neo4jWriteFailed,), retry_backoff=2, retry_backoff_max=60,
             retry_jitter=True, max_retries=8)
def persist_run(self: Any, run_id: str) -> dict[str, Any] | None:
    summary = services.run_persist(run_id=run_id)
    return summary.as_dict() if summary else None


def start_pipeline(envelope: dict[str, Any]) -> None:
    """Enqueue the five stages as one chain; the last stage enqueues the write."""
    chain(recipe_engineer.s(envelope), scaling_calculator.s(), graph_builder.s(),
          qa_validator.s(), ui_designer.s()).apply_async()


def enqueue_persist(run_id: str) -> None:
    persist_run.apply_async(args=[run_id])


@shared_task(name="orchestration.dispatch", ignore_result=True)
def dispatch() -> list[str]:
    """Start queued runs that may start now (also run every 5 s by Celery beat)."""
    return services.runs_dispatch()


@shared_task(name="orchestration.reconcile_outbox", ignore_result=True)
def reconcile_outbox() -> dict[str, list[str]]:
    """Re-enqueue accepted work that is not done (also run every 10 s by Celery beat)."""
    return services.outbox_reconcile()


@shared_task(name="orchestration.gc_blobs", ignore_result=True)
def gc_blobs() -> str:
    """Delete blobs no run references, older than an hour (run hourly by Celery beat)."""
    import time

    from graphstore.blob_gc import collect_garbage
    from graphstore.connection import database, get_blob_store, get_driver

    return collect_garbage(driver=get_driver(), database=database(), store=get_blob_store(),
                           grace_s=3600, now=time.time).line()


@shared_task(name="orchestration.condense_runs", ignore_result=True)
def condense_runs() -> dict[str, object] | None:
    """Condense runs older than the full-retention period (hourly by Celery beat; nothing while
    the retention settings switch it off). See orchestration/retention.py."""
    from .models import RetentionSettings
    from .retention import runs_condense

    if not RetentionSettings.load().condense_enabled:
        return None
    return runs_condense().as_dict()
