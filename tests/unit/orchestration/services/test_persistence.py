"""The pure parts of orchestration.services.persistence: the outbox copy, the ledger fields of
a finished run, the reconciler's backoff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from contracts import checksum
from graphstore.mapper import map_run_to_graph
from orchestration.services.persistence import (
    finished_fields,
    ledger_stages,
    outbox_backoff,
    outbox_copy,
)
from tools.synthetic import make_run

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_outbox_copy_is_the_form_the_graph_store_writes() -> None:
    """The outbox holds the normalized run, and its checksum is the write's (and the replay's)."""
    run = make_run(10, now=NOW)
    copy = outbox_copy(run)
    write_set = map_run_to_graph(run)
    assert copy.result == write_set.normalized.to_wire()
    assert copy.checksum == write_set.checksum == checksum(copy.result)


def test_outbox_copy_is_idempotent() -> None:
    """Normalizing the outbox copy again changes nothing: the pipeline and ingest agree."""
    from contracts import RunResult

    copy = outbox_copy(make_run(11, now=NOW))
    again = outbox_copy(RunResult.model_validate(copy.result))
    assert again == copy


def test_outbox_copy_fills_output_refs() -> None:
    """The outbox copy carries the outputRef of each succeeded stage (the raw run may not)."""
    run = make_run(12, now=NOW)
    history = outbox_copy(run).result["agentHistory"]
    assert all(e.get("outputRef", "").startswith("sha256:")
               for e in history if e["status"] == "succeeded")


def test_finished_fields_of_a_failed_run() -> None:
    """A failed run fills failed_agent and error from its history, and its total duration."""
    run = make_run(13, now=NOW, status="failed", failed_agent="QAValidator")
    fields = finished_fields(run)
    assert {k: fields[k] for k in ("failed_agent", "error", "total_duration_ms")} == {
        "failed_agent": "QAValidator", "error": "QAValidator failed: synthetic failure",
        "total_duration_ms": run.metadata.total_duration}
    # and the run history's columns (orchestration/history.py): a run failed at QA has a recipe
    assert fields["product"] == run.recipe.name  # type: ignore[union-attr]
    assert fields["qa_valid"] is None or isinstance(fields["qa_valid"], bool)
    assert finished_fields(make_run(14, now=NOW))["failed_agent"] == ""


def test_finished_fields_from_the_outbox_copy_are_those_of_the_run() -> None:
    """Given the outbox copy's wire form (as the outbox commit does, not dumping the run again),
    the ledger fields are the same as from the run, failed or not."""
    for run in (make_run(15, now=NOW), make_run(16, now=NOW, status="failed",
                                                 failed_agent="GraphBuilder")):
        assert finished_fields(run, outbox_copy(run).result) == finished_fields(run)


def test_ledger_stages_of_an_external_run() -> None:
    """ledger_stages has one entry per invocation of the run's agentHistory, with the columns
    the pipeline's own stages keep (the memory peak when the history has one)."""
    run = make_run(15, now=NOW)
    stages = ledger_stages(run)
    assert list(stages) == [e.agent for e in run.agent_history]
    first = run.agent_history[0]
    assert stages[first.agent] == {"status": first.status, "sequence": first.sequence,
                                   "durationMs": first.duration, "memoryMb": first.memory_mb,
                                   "error": ""}


def test_retried_stages_leave_the_ledger_their_last_invocation() -> None:
    """A stage retried after failed attempts is in the ledger as its last invocation left it,
    and a run that succeeded after retries has no error; a failed run's error is that of the
    invocation that failed it."""
    run = make_run(16, now=NOW, history=8)  # three failed RecipeEngineer attempts, then success
    assert [e.status for e in run.agent_history[:4]] == ["failed"] * 3 + ["succeeded"]
    assert ledger_stages(run)["RecipeEngineer"]["status"] == "succeeded"
    assert finished_fields(run)["error"] == ""
    failed = make_run(17, now=NOW, failed_agent="RecipeEngineer", history=3)
    wire = failed.to_wire()
    wire["agentHistory"][-1]["error"] = "the last attempt"
    from contracts import RunResult

    assert finished_fields(RunResult.model_validate(wire))["error"] == "the last attempt"


def test_outbox_backoff_doubles_to_five_minutes_with_jitter() -> None:
    """The backoff is 5 s doubling per attempt, capped at 300 s, plus up to 20% jitter."""
    assert outbox_backoff(1, jitter=lambda: 0.0) == timedelta(seconds=5)
    assert outbox_backoff(3, jitter=lambda: 0.0) == timedelta(seconds=20)
    assert outbox_backoff(30, jitter=lambda: 0.0) == timedelta(seconds=300)
    assert outbox_backoff(1, jitter=lambda: 1.0) == timedelta(seconds=6)
    assert outbox_backoff(0, jitter=lambda: 0.0) == timedelta(seconds=5)
