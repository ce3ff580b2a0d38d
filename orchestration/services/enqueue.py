"""Sending work to the Celery workers by task name, so that the services never import the tasks
(orchestration/tasks.py imports the services, not the reverse). The stage tasks are named in the
stage table (contracts/stages.py); the others here. A name resolves to the registered task (its
options: retries, acks_late) when this process knows it, else it is sent by name.
"""

from __future__ import annotations

from typing import Any

from celery import chain, current_app

from contracts.stages import STAGE_TABLE

PERSIST_TASK = "orchestration.persist_run"
DISPATCH_TASK = "orchestration.dispatch"
RECONCILE_TASK = "orchestration.reconcile_outbox"
GC_BLOBS_TASK = "orchestration.gc_blobs"
CONDENSE_TASK = "orchestration.condense_runs"


def pipeline_start(envelope: dict[str, Any]) -> None:
    """Enqueue the stages as one chain, in pipeline order; the last stage enqueues the write."""
    first, *rest = STAGE_TABLE
    chain(current_app.signature(first.task, args=(envelope,)),
          *(current_app.signature(stage.task) for stage in rest)).apply_async()


def persist_enqueue(run_id: str) -> None:
    """Enqueue the Neo4j write of the run in the outbox."""
    current_app.signature(PERSIST_TASK, args=(run_id,)).apply_async()
