"""Neo4j killed or down while runs arrive: what the service accepted is written once it is back
(the outbox: the ledger row, the persist task's retries, the beat-driven reconciler)."""

from __future__ import annotations

import signal
import time

import pytest

from orchestration.models import RunRecord
from tests.resilience.conftest import ApiLoad, PipelineLoad, audit, pipeline_requests
from tools.synthetic import make_run

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_neo4j_killed_in_the_middle_of_a_load(services, start_worker, graph, api_token, now,
                                              report):
    """kill -9 Neo4j during a 200-run load (POST /runs, 4 clients) and restart it: every
    accepted run is in Neo4j exactly once and its commit marker matches the graph."""
    start_worker()
    runs = [make_run(5000 + i, now=now, ingredients=6 + i % 9, run_id=f"run-neo4j-kill-{i:03d}",
                     failed_agent="QAValidator" if i % 10 == 9 else None) for i in range(200)]
    load = ApiLoad(runs, token=api_token, rate=5.0, threads=4, max_s=60).start()
    load.wait_accepted(50)
    fault_at = time.monotonic()
    services.kill("neo4j")  # kill -9: in-flight transactions die with it
    restart = services.up_in_background("neo4j")
    result = load.join()  # the load goes on meanwhile: 202 while Neo4j is away
    services.join_up(restart)
    outcome = audit("neo4j-kill", result.accepted, driver=graph, fault_at=fault_at, timeout=150,
                    note=f"{services.events[-1]}; answers {dict(sorted(result.answers.items()))}")
    report(outcome)
    assert result.refused == 0  # nothing was turned away while Neo4j was down
    assert result.answers["202"] > 0  # the fault did hit the load


def test_neo4j_down_while_requests_arrive(services, start_worker, graph, api_token, now, report):
    """Neo4j is down while pipeline requests and external runs arrive: all are accepted, none
    is written meanwhile, and all are persisted once Neo4j is back."""
    start_worker()
    fault_at = time.monotonic()
    services.kill("neo4j", signal.SIGTERM)  # a clean stop this time
    pipeline = PipelineLoad(pipeline_requests(12), rate=3.0, threads=1, max_s=30).start()
    external = ApiLoad([make_run(6000 + i, now=now, run_id=f"run-neo4j-down-{i:02d}")
                        for i in range(24)], token=api_token, rate=6.0, threads=2,
                       max_s=30).start()
    accepted = pipeline.join().accepted + external.join().accepted
    assert pipeline.result.refused == external.result.refused == 0
    assert set(external.result.answers) == {"202"}
    # Give the pipeline runs time to finish their stages (no Neo4j needed) and fail their writes.
    deadline = time.monotonic() + 60
    while RunRecord.objects.filter(run_id__in=accepted, result__isnull=True).exists():
        assert time.monotonic() < deadline, "pipeline runs did not finish their stages"
        time.sleep(0.25)
    assert not RunRecord.objects.filter(run_id__in=accepted, persisted_at__isnull=False).exists()
    down_s = time.monotonic() - fault_at
    services.up("neo4j")
    outcome = audit("neo4j-down", accepted, driver=graph, fault_at=fault_at, timeout=150,
                    note=f"down {down_s:.1f} s, then {services.events[-1]}; "
                         f"{len(pipeline.result.accepted)} pipeline runs, "
                         f"{len(external.result.accepted)} POST /runs answered 202")
    report(outcome)
