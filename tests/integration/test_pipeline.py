"""Design section 9.5: the orchestrator, run by a real Celery worker, persists to Neo4j."""

from __future__ import annotations

import pytest
from django.conf import settings

from contracts import STAGE_TABLE, checksum, parse_input
from graphstore.connection import get_blob_store
from graphstore.replay import load_run, verify_run
from orchestration.models import RunRecord, RunStatus
from orchestration.services import run_request_create
from orchestration.services.enqueue import PERSIST_TASK, PIPELINE_TASK
from tests.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _finished(run_id: str) -> RunRecord | None:
    record = RunRecord.objects.get(run_id=run_id)
    return record if record.persisted_at is not None else None


def test_request_runs_through_the_worker_into_neo4j(celery_worker, graph):
    """A submitted request runs the five stages on the worker and lands in Neo4j complete."""
    request = parse_input({"userRequest": "lemon vinaigrette, 5 kg", "targetBatchSize": 5,
                           "targetUnit": "kg"})
    record = run_request_create(user=None, request=request)
    assert record.run_id.startswith("run-") and record.status == RunStatus.QUEUED
    done = wait_for(lambda: _finished(record.run_id))
    assert done.status == RunStatus.SUCCEEDED
    assert [done.stages[a]["status"] for a in done.stages] == ["succeeded"] * 5
    run = load_run(record.run_id, driver=graph, database=settings.NEO4J_DATABASE,
                   blob_store=get_blob_store())
    assert run.recipe is not None and "vinaigrette" in run.recipe.name.lower()
    assert [e.agent for e in run.agent_history] == ["RecipeEngineer", "ScalingCalculator",
                                                    "GraphBuilder", "QAValidator", "UIDesigner"]
    assert checksum(run.to_wire()) == done.checksum
    assert verify_run(record.run_id, driver=graph, database=settings.NEO4J_DATABASE).complete
    records, _, _ = graph.execute_query(
        "MATCH (:UserRequest)-[:TRIGGERED]->(r:OrchestrationRun {runId: $id})"
        "-[:HAS_AGENT_INVOCATION]->(a) RETURN count(a) AS n", id=record.run_id,
        database_=settings.NEO4J_DATABASE)
    assert records[0]["n"] == 5


def test_failing_stage_persists_the_partial_run(celery_worker, graph):
    """A request no agent understands fails at RecipeEngineer; the partial run is persisted
    with status failed and the failed agent recorded, in the ledger and in Neo4j."""
    request = parse_input({"userRequest": "unicorn tears", "targetBatchSize": 1,
                           "targetUnit": "kg"})
    record = run_request_create(user=None, request=request)
    done = wait_for(lambda: _finished(record.run_id))
    assert done.status == RunStatus.FAILED and done.failed_agent == "RecipeEngineer"
    assert "userRequest" in done.error
    run = load_run(record.run_id, driver=graph, database=settings.NEO4J_DATABASE,
                   blob_store=get_blob_store())
    assert run.metadata.status == "failed" and run.metadata.failed_agent == "RecipeEngineer"
    assert run.recipe is None and run.agent_history[0].status == "failed"


def _tasks_received(worker, during) -> str:  # type: ignore[no-untyped-def]
    """The worker log's lines written while `during()` ran."""
    start = worker.log_path.stat().st_size
    during()
    with open(worker.log_path, encoding="utf-8", errors="replace") as log:
        log.seek(start)
        return log.read()


def _submit_and_wait(text: str) -> RunRecord:
    record = run_request_create(user=None, request=parse_input(
        {"userRequest": text, "targetBatchSize": 2, "targetUnit": "kg"}))
    return wait_for(lambda: _finished(record.run_id))


def test_inline_mode_runs_the_stages_and_the_write_in_one_task(celery_worker, graph):
    """CAP01_PIPELINE_MODE=inline (the default): one task runs the five stages and writes the
    run; no stage task and no separate write task goes through the broker; the ledger holds
    every stage's result and the run's segments."""
    assert settings.CAP01_PIPELINE_MODE == "inline"
    done: list[RunRecord] = []
    log = _tasks_received(celery_worker, lambda: done.append(_submit_and_wait("bbq sauce")))
    record = done[0]
    assert log.count(f"Task {PIPELINE_TASK}[") >= 1
    assert not any(f"Task {stage.task}[" in log for stage in STAGE_TABLE)
    assert f"Task {PERSIST_TASK}[" not in log
    assert record.status == RunStatus.SUCCEEDED
    assert [record.stages[s.agent]["status"] for s in STAGE_TABLE] == ["succeeded"] * 5
    assert all(record.stages[s.agent]["durationMs"] >= 0 for s in STAGE_TABLE)
    assert {f"handoff:{s.agent}" for s in STAGE_TABLE[1:]} <= set(record.segments)
    assert verify_run(record.run_id, driver=graph, database=settings.NEO4J_DATABASE).complete


def test_chain_mode_runs_one_task_per_stage(celery_worker, graph, settings):
    """CAP01_PIPELINE_MODE=chain: each stage is its own task (a stage may run on another worker)
    and the ledger marks each stage running before it runs; the run lands in Neo4j the same."""
    settings.CAP01_PIPELINE_MODE = "chain"  # read by the dispatcher, here in the test process
    done: list[RunRecord] = []
    log = _tasks_received(celery_worker, lambda: done.append(_submit_and_wait("hummus")))
    record = done[0]
    for stage in STAGE_TABLE:
        assert f"Task {stage.task}[" in log
        assert record.stages[stage.agent]["status"] == "succeeded"
        assert "startedAt" in record.stages[stage.agent]
    assert record.status == RunStatus.SUCCEEDED
    run = load_run(record.run_id, driver=graph, database=settings.NEO4J_DATABASE,
                   blob_store=get_blob_store())
    assert checksum(run.to_wire()) == record.checksum
