"""run_results_check: runs given together (ingest_run's document) are checked against each other,
the graph-element limit and the ledger before any is written; every problem is named with the
run's label. (The ledger only: Django's test database, no Neo4j.)"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from graphstore.mapper import map_run_to_graph
from orchestration.errors import BatchRefused
from orchestration.models import RunRecord, RunSource, RunStatus
from orchestration.services import run_results_check
from tools.synthetic import make_run

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _refused(runs) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    with pytest.raises(BatchRefused) as info:
        run_results_check(runs=runs)
    return info.value.errors


def test_distinct_runs_and_a_run_given_twice_alike_pass():
    """Different runIds, and the same run twice with the same content, are no problem."""
    run = make_run(1, now=NOW)
    run_results_check(runs=[("line 1", run), ("line 2", make_run(2, now=NOW)),
                            ("line 3", run)])


def test_a_run_id_given_twice_with_different_content_is_named_at_the_second():
    """The second line giving a runId with other content is refused, naming the first."""
    first = make_run(1, now=NOW, run_id="run-twice")
    second = make_run(2, now=NOW, run_id="run-twice")
    errors = _refused([("line 1", first), ("line 2", second)])
    assert [e["field"] for e in errors] == ["line 2: metadata.id"]
    assert "line 1 gives with different content" in errors[0]["message"]


def test_a_run_id_the_ledger_holds_with_other_content_is_refused():
    """A runId already in the ledger with another checksum is refused, as is one held by a
    pipeline run that has not finished; the same content is not a conflict."""
    stored = make_run(3, now=NOW, run_id="run-stored")
    RunRecord.objects.create(run_id="run-stored", source=RunSource.EXTERNAL,
                             status=RunStatus.SUCCEEDED, request={}, request_text="x",
                             checksum=map_run_to_graph(stored).checksum)
    RunRecord.objects.create(run_id="run-running", status=RunStatus.RUNNING, request={},
                             request_text="x")
    run_results_check(runs=[("line 1", stored)])
    errors = _refused([("line 1", make_run(4, now=NOW)),
                       ("line 2", make_run(5, now=NOW, run_id="run-stored")),
                       ("line 3", make_run(6, now=NOW, run_id="run-running"))])
    assert [e["field"] for e in errors] == ["line 2: metadata.id", "line 3: metadata.id"]
    assert "different content" in errors[0]["message"]
    assert "has not finished" in errors[1]["message"]


def test_a_run_over_the_graph_element_limit_is_refused_with_the_others_checked():
    """A run over the write-set limit is named; the other runs are still checked."""
    errors = _refused([("line 1", make_run(7, now=NOW, ingredients=1, history=243)),
                       ("line 2", make_run(8, now=NOW, run_id="run-x")),
                       ("line 3", make_run(9, now=NOW, run_id="run-x"))])
    assert [(e["field"], e["type"]) for e in errors] == [
        ("line 1: (run)", "write_set_too_large"), ("line 3: metadata.id", "run_conflict")]
    assert "over the limit of 500" in errors[0]["message"]
