"""Sending work to the Celery workers by task name, so that the services never import the tasks
(orchestration/tasks.py imports the services, not the reverse). The stage tasks are named in the
stage table (contracts/stages.py); the others here. A name resolves to the registered task (its
options: retries, acks_late) when this process knows it, else it is sent by name.
"""

from __future__ import annotations

from typing import Any

from celery import chain, current_app
from django.conf import settings

from contracts.stages import STAGE_TABLE

PIPELINE_TASK = "orchestration.run_pipeline"
PERSIST_TASK = "orchestration.persist_run"
DISPATCH_TASK = "orchestration.dispatch"
RECONCILE_TASK = "orchestration.reconcile_outbox"
GC_BLOBS_TASK = "orchestration.gc_blobs"
CONDENSE_TASK = "orchestration.condense_runs"
ROLLUPS_TASK = "orchestration.analytics_rollups"


def pipeline_start(envelope: dict[str, Any]) -> None:
    """Start a run's stages on the workers. CAP01_PIPELINE_MODE=inline (the default): one task
    runs them all in one worker process, then writes the run. chain: one task per stage, in
    pipeline order (each stage may run on another worker, or be routed to its own queue); the
    last one writes the run."""
    if settings.CAP01_PIPELINE_MODE == "inline":
        current_app.signature(PIPELINE_TASK, args=(envelope,)).apply_async()
        return
    first, *rest = STAGE_TABLE
    chain(current_app.signature(first.task, args=(envelope,)),
          *(current_app.signature(stage.task) for stage in rest)).apply_async()


def persist_enqueue(run_id: str) -> None:
    """Enqueue the Neo4j write of the run in the outbox."""
    current_app.signature(PERSIST_TASK, args=(run_id,)).apply_async()
