"""Celery workers killed mid-write, and several workers writing runs that share Ingredients."""

from __future__ import annotations

import re
import time

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from graphstore.mapper import map_run_to_graph
from orchestration.models import RunRecord, RunSource, RunStatus
from orchestration.services.enqueue import persist_enqueue
from tests.conftest import wait_for
from tests.resilience.conftest import FAST_REDELIVERY, PipelineLoad, audit, pipeline_requests
from tools.synthetic import make_run

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]



def test_worker_killed_while_it_writes(start_worker, graph, tmp_path, report):
    """kill -9 a worker while its Neo4j transaction is open (written, not committed): nothing of
    the run is committed; after a worker restarts, the run is persisted once, and so is every
    other accepted run, including any whose stage the killed worker was running."""
    hold = tmp_path / "holding"
    victim = start_worker(env={**FAST_REDELIVERY, "CAP01_FAULT_HOLD_WRITE": str(hold)})
    # Another worker on this broker (the session's) may take some writes: the load goes on
    # until this one holds a write, plus a few runs while it is dead (it stops by itself).
    held_at: list[float] = []

    def enough() -> bool:  # this worker held a write 3 s ago (it is dead by then)
        if hold.exists() and not held_at:
            held_at.append(time.monotonic())
        return bool(held_at) and time.monotonic() - held_at[0] > 3

    load = PipelineLoad(pipeline_requests(30), rate=2.0, threads=1, max_s=20,
                        until=enough).start()
    wait_for(lambda: hold.exists() and hold.read_text(), timeout=60, interval=0.05)
    held = hold.read_text()
    fault_at = time.monotonic()
    victim.kill()  # SIGKILL to the worker's process group: main process, beat and children
    records, _, _ = graph.execute_query(
        "OPTIONAL MATCH (r:OrchestrationRun {runId: $id}) RETURN count(r) AS n", id=held,
        database_=settings.NEO4J_DATABASE)
    assert records[0]["n"] == 0  # the open transaction died with the worker
    start_worker(env=FAST_REDELIVERY)
    result = load.join()
    outcome = audit("worker-kill", result.accepted, driver=graph, fault_at=fault_at,
                    timeout=120, note=f"killed while writing {held}")
    report(outcome)
    assert held in result.accepted and RunRecord.objects.get(run_id=held).persisted_at


def _outbox_put(run) -> str:  # type: ignore[no-untyped-def]
    """The ledger row run_result_ingest records before its write (the outbox)."""
    write_set = map_run_to_graph(run)
    RunRecord.objects.create(
        run_id=run.run_id, source=RunSource.EXTERNAL, request_text=run.request.user_request,
        request=run.request.to_wire(), status=RunStatus.PERSISTING,
        result=write_set.normalized.to_wire(), checksum=write_set.checksum,
        started_at=run.metadata.timestamp, finished_at=timezone.now(),
        total_duration_ms=run.metadata.total_duration)
    return run.run_id


def test_three_workers_writing_runs_that_share_ingredients(start_worker, graph, now, report):
    """Three workers (two processes each) write 60 runs drawn from one pool of 22 Ingredients,
    all at once: no deadlock escapes the writer's retry policy (every run is written by its
    first task, no write failed) and no Ingredient is duplicated."""
    workers = [start_worker(wait=False) for _ in range(3)]
    for worker in workers:
        worker.wait_ready()
    runs = [make_run(7000 + i, now=now, ingredients=12 + i % 8, run_id=f"run-shared-{i:02d}")
            for i in range(60)]
    with transaction.atomic():
        accepted = [_outbox_put(run) for run in runs]
    started = time.monotonic()
    for run_id in accepted:  # all at once: six writers on the same Ingredients
        persist_enqueue(run_id)
    outcome = audit("shared-ingredients", accepted, driver=graph, fault_at=started, timeout=120)
    rows = list(RunRecord.objects.filter(run_id__in=accepted).values_list(
        "persist_attempts", "persist_error", "write_summary"))
    retried = sum(summary["attempts"] - 1 for _, _, summary in rows if summary)
    logs = "".join(w.log_path.read_text(errors="replace") for w in workers)
    deadlocks = len(re.findall(r"DeadlockDetected|deadlock", logs, flags=re.IGNORECASE))
    writers = {w.name for w in workers if re.search(r"write of run-shared-\d+ committed",
                                                    w.log_path.read_text(errors="replace"))}
    outcome.add_note(f"{retried} writes retried inside the policy, {deadlocks} deadlock log "
                     f"lines, Ingredient nodes {outcome.ingredients[0]} for "
                     f"{outcome.ingredients[1]} ids, {len(writers)} workers wrote")
    report(outcome)
    assert all(attempts == 1 and error == "" for attempts, error, _ in rows), rows
    assert "Neo4jWriteFailed" not in logs
    assert len(writers) == 3
