"""Redis (the Celery broker and the backpressure state) restarted in the middle of a load, and a
stage whose hand-on message the broker refused."""

from __future__ import annotations

import time

import pytest
from django.conf import settings

from orchestration.models import RunRecord
from tests.conftest import wait_for
from tests.resilience.conftest import (
    FAST_REDELIVERY,
    PipelineLoad,
    Supervisor,
    audit,
    pipeline_requests,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_redis_restarted_in_the_middle_of_a_load(services, start_worker, celery_worker, graph,
                                                 short_slot_lease, report):
    """kill -9 Redis while pipeline runs are queued, running and being written, and start it
    again: every request the service accepted is persisted once. (A request made while Redis
    is down is refused, not accepted: the queue lives there.)

    Every worker on this broker runs supervised (restarted if it exits), the session's
    `celery_worker` included, so that the tests after this one find it working: a Celery 5.7
    worker can exit when its broker restarts ("Unrecoverable error: AttributeError('NoneType'
    object has no attribute 'hostname')", raised while its remote-control channel is torn down).
    Restarts are counted in the FAULT line."""
    worker = start_worker(env={**FAST_REDELIVERY, **short_slot_lease})
    with Supervisor([worker, celery_worker]) as supervisor:
        load = PipelineLoad(pipeline_requests(30), rate=3.0, threads=1, max_s=30).start()
        load.wait_accepted(12)
        fault_at = time.monotonic()
        services.kill("redis")
        services.up("redis")
        result = load.join()
        outcome = audit("redis-restart", result.accepted, driver=graph, fault_at=fault_at,
                        timeout=200, note=f"{result.refused} requests refused while Redis was "
                                          f"down; workers restarted after exiting: "
                                          f"{len(supervisor.restarts)}")
    assert not supervisor.errors, supervisor.errors
    report(outcome)
    if not getattr(settings, "CELERY_WORKER_ENABLE_REMOTE_CONTROL", True):  # the cure for it
        assert supervisor.restarts == [], supervisor.restarts


def test_run_whose_chain_broke_is_started_again(start_worker, graph, short_slot_lease, tmp_path,
                                                report):
    """A stage whose task fails because the broker refused the next stage's message ends the
    run's chain of tasks; once the run's slot lease expires the reconciler starts it again from
    its first stage, and it is persisted once (the other runs of the load are untouched)."""
    broken = tmp_path / "broken"
    start_worker(env={**short_slot_lease,
                      "CAP01_FAULT_BREAK_CHAIN": f"GraphBuilder:{broken}"})
    # Other workers on this broker (the session's) may take some GraphBuilder stages: the load
    # goes on until this worker has broken one chain (then stops by itself).
    load = PipelineLoad(pipeline_requests(30), rate=2.0, threads=1, max_s=15,
                        until=broken.exists).start()
    run_id = wait_for(lambda: broken.exists() and broken.read_text(), timeout=60, interval=0.05)
    fault_at = time.monotonic()
    result = load.join()
    outcome = audit("chain-broken", result.accepted, driver=graph, fault_at=fault_at,
                    timeout=150, note=f"{run_id} stopped after GraphBuilder, started again")
    report(outcome)
    record = RunRecord.objects.get(run_id=run_id)
    assert record.stages["GraphBuilder"]["status"] == "succeeded"
