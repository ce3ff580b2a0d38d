"""orchestration.selectors on the ledger alone (no Neo4j): run_list filters and bounds, run_get."""

from __future__ import annotations

from datetime import timedelta

import pytest

from orchestration.errors import RunNotFound
from orchestration.models import RunRecord, RunStatus
from orchestration.selectors import run_get, run_list

pytestmark = pytest.mark.django_db


def _row(run_id: str, at, **fields) -> RunRecord:  # type: ignore[no-untyped-def]
    record = RunRecord.objects.create(run_id=run_id, request_text=fields.pop("text", "a request"),
                                      request={}, **fields)
    RunRecord.objects.filter(pk=record.pk).update(created_at=at)
    return record


def test_run_list_since_is_inclusive_and_until_exclusive(now):
    """since includes a run created at that instant; until excludes it."""
    _row("run-1", now - timedelta(hours=1))
    _row("run-2", now)
    _row("run-3", now + timedelta(hours=1))
    assert [r.run_id for r in run_list(since=now)] == ["run-3", "run-2"]
    assert [r.run_id for r in run_list(until=now)] == ["run-1"]
    assert [r.run_id for r in run_list(since=now, until=now + timedelta(hours=1))] == ["run-2"]


def test_run_list_text_matches_run_id_or_request_text_in_any_case(now):
    """text is a case-insensitive substring of the runId or of the request text."""
    _row("run-Pesto-1", now, text="basil")
    _row("run-2", now - timedelta(minutes=1), text="Green PESTO, 2 kg")
    _row("run-3", now - timedelta(minutes=2), text="vinaigrette")
    assert [r.run_id for r in run_list(text="pesto")] == ["run-Pesto-1", "run-2"]


def test_run_list_combines_status_and_failed_agent(now):
    """status and failed_agent narrow the list together."""
    _row("run-1", now, status=RunStatus.FAILED, failed_agent="QAValidator")
    _row("run-2", now, status=RunStatus.FAILED, failed_agent="RecipeEngineer")
    _row("run-3", now, status=RunStatus.SUCCEEDED)
    assert [r.run_id for r in run_list(status="failed", failed_agent="QAValidator")] == ["run-1"]
    assert run_list(status="succeeded").count() == 1


def test_run_get_raises_run_not_known(now):
    """run_get returns the row, and raises RunNotFound (naming the runId) for an unknown one."""
    _row("run-1", now)
    assert run_get(run_id="run-1").run_id == "run-1"
    with pytest.raises(RunNotFound, match="run-nobody"):
        run_get(run_id="run-nobody")
