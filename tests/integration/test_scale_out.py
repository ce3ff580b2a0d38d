"""Past one machine (issue 13): the routing scheme against the local server, and a run read back
through a read transaction that waits for its write's bookmarks."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from neo4j import GraphDatabase

from graphstore.replay import load_run
from graphstore.writer import RunWriter
from orchestration.models import RunRecord
from orchestration.selectors import run_replay
from orchestration.services import run_result_ingest
from tools.synthetic import make_run

pytestmark = pytest.mark.integration
DB = settings.NEO4J_DATABASE


def routing_driver():  # type: ignore[no-untyped-def]
    """A driver on the neo4j:// (routing) scheme to the configured server."""
    _, _, hostport = settings.NEO4J_URI.partition("://")
    return GraphDatabase.driver(f"neo4j://{hostport}",
                                auth=(settings.NEO4J_USER, settings.NEO4J_PASSWORD),
                                max_transaction_retry_time=0.0)


def test_a_routing_uri_writes_and_another_driver_reads_back_with_the_bookmarks(
        graph, blob_store, now):
    """Through neo4j:// the writer commits and returns bookmarks; a second driver (another
    process) reads the run back in a read transaction that waits for them."""
    run = make_run(4242, now=now, run_id="run-routing-1")
    with routing_driver() as writer_driver, routing_driver() as reader_driver:
        summary = RunWriter(writer_driver, database=DB, blob_store=blob_store).write(run)
        assert summary.created and summary.bookmarks
        assert summary.as_dict()["bookmarks"] == list(summary.bookmarks)
        back = load_run(run.run_id, driver=reader_driver, database=DB, blob_store=blob_store,
                        bookmarks=summary.bookmarks)
    assert back.run_id == run.run_id
    assert back.metadata.status == run.metadata.status


@pytest.mark.django_db
def test_the_ledger_keeps_the_bookmarks_and_the_run_reads_back_through_them(
        graph, app_blob_dir, now):
    """A posted run's ledger row carries its write's bookmarks, and the run page's read of the
    run (selectors.run_replay) returns it."""
    user = get_user_model().objects.create(username="bookmarks")
    run = make_run(4243, now=now, run_id="run-bookmarks-1")
    run_result_ingest(user=user, run=run, retry=None)
    record = RunRecord.objects.get(run_id=run.run_id)
    assert record.write_summary["bookmarks"]
    assert run_replay(viewer=user, run_id=run.run_id).run_id == run.run_id
