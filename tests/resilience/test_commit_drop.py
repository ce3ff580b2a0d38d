"""The connection drops during COMMIT, so the writer cannot know whether the run was written: a
Bolt proxy (ops/faults/bolt_proxy.py) forwards the COMMIT to Neo4j and cuts the client off
before relaying the answer."""

from __future__ import annotations

import pytest
from django.conf import settings
from neo4j import GraphDatabase

from graphstore.writer import RetryPolicy, RunWriter
from ops.faults.bolt_proxy import BoltProxy
from tests.resilience.conftest import audit
from tools.synthetic import make_run

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

RUNS = 20
CUT = (3, 9, 15)  # the COMMITs whose answer is lost (1-based, over the whole load)


def test_commit_answer_lost_is_retried_without_duplicate(graph, blob_store, now, report):
    """A COMMIT that reached Neo4j but whose answer was lost raises IncompleteCommit; the writer
    repeats the (idempotent) transaction, which finds the run committed: each run is in the
    graph once, its commit marker complete."""
    host, port = settings.NEO4J_URI.removeprefix("bolt://").rsplit(":", 1)
    runs = [make_run(3000 + i, now=now, ingredients=6 + i % 10, run_id=f"run-commit-drop-{i:02d}")
            for i in range(RUNS)]
    with BoltProxy((host, int(port)), cut=CUT) as proxy, GraphDatabase.driver(
            proxy.uri, auth=(settings.NEO4J_USER, settings.NEO4J_PASSWORD),
            max_transaction_retry_time=0.0, notifications_min_severity="OFF") as driver:
        writer = RunWriter(driver, database=settings.NEO4J_DATABASE, blob_store=blob_store,
                           retry=RetryPolicy(max_attempts=3, base_delay_s=0.05))
        summaries = [writer.write(run) for run in runs]
        assert proxy.cuts_done == len(CUT)
    retried = [s for s in summaries if s.attempts > 1]
    # Each cut COMMIT had reached Neo4j and committed: the repeat found the run already there.
    assert [(s.attempts, s.created) for s in retried] == [(2, False)] * len(CUT)
    assert all(s.attempts == 1 and s.created for s in summaries if s not in retried)
    result = audit("commit-drop", [r.run_id for r in runs], driver=graph, fault_at=0.0,
                   timeout=0, ledger=False,
                   recovered_s=max(s.latency_ms for s in retried) / 1000,  # the slowest write
                   note=f"{len(CUT)} COMMIT answers cut, each run repeated once and found "
                        "committed")
    assert all(result.write_counts[s.run_id] == 2 for s in retried)
    report(result)
