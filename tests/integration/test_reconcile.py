"""The outbox reconciler against the real ledger, Redis and Neo4j: writes that failed while the
graph was down wait out their backoff only while it stays down."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from neo4j.exceptions import ServiceUnavailable

from orchestration.models import RunRecord, RunSource, RunStatus
from orchestration.services import enqueue, reconcile
from orchestration.services.persistence import outbox_copy
from tools.synthetic import make_run

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _waiting(run_id: str, *, error: str) -> RunRecord:
    """A finished run whose write failed `error` and waits 4 minutes for its next attempt."""
    run = make_run(77, now=timezone.now(), run_id=run_id)
    copy = outbox_copy(run)
    return RunRecord.objects.create(
        run_id=run_id, source=RunSource.EXTERNAL, request_text=run.request.user_request,
        request=run.request.to_wire(), status=RunStatus.PERSISTING, result=copy.result,
        checksum=copy.checksum, persist_attempts=4, persist_error=error,
        persist_next_at=timezone.now() + timedelta(minutes=4))


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The persist tasks the reconciler enqueues, recorded instead of sent (these rows are not
    committed: a worker could not read them)."""
    calls: list[str] = []
    monkeypatch.setattr(enqueue, "persist_enqueue", calls.append)
    return calls


def test_failed_writes_are_due_at_once_when_the_graph_answers_again(
        graph: Any, enqueued: list[str]) -> None:
    """Neo4j answers: a write that failed and sits out a 4-minute backoff is enqueued in this
    tick, with a new backoff in case it fails again; a run merely scheduled (no error) is not
    pulled forward."""
    failed = _waiting("run-reconcile-failed", error="Neo4j unavailable")
    scheduled = _waiting("run-reconcile-scheduled", error="")
    done = reconcile.outbox_reconcile()
    assert done["rewrites"] == [failed.run_id] == enqueued
    failed.refresh_from_db()
    scheduled.refresh_from_db()
    assert failed.persist_next_at > timezone.now()  # the next backoff, should this one fail
    assert scheduled.persist_next_at > timezone.now() + timedelta(minutes=3)


def test_failed_writes_keep_their_backoff_while_the_graph_is_down(
        graph: Any, monkeypatch: pytest.MonkeyPatch, enqueued: list[str]) -> None:
    """Neo4j does not answer: nothing is pulled forward, nothing enqueued."""
    class Down:
        def verify_connectivity(self) -> None:
            raise ServiceUnavailable("connection refused")

    monkeypatch.setattr("graphstore.connection.get_driver", lambda: Down())
    failed = _waiting("run-reconcile-down", error="Neo4j unavailable")
    before = failed.persist_next_at
    assert reconcile.outbox_reconcile()["rewrites"] == [] == enqueued
    failed.refresh_from_db()
    assert failed.persist_next_at == before
