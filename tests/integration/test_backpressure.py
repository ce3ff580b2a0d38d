"""Backpressure against the real Redis: slots across processes, bounded queue, memory gate."""

from __future__ import annotations

import threading

import pytest
import redis
from django.conf import settings
from django.test import override_settings

from contracts import parse_input
from orchestration import services
from orchestration.backpressure import Admission, Limits
from orchestration.errors import QueueFull
from orchestration.models import RunRecord, RunStatus
from tests.conftest import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def gate_redis():  # type: ignore[no-untyped-def]
    """Redis database 1 of the test server: apart from the worker's broker (database 0)."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL.rsplit("/", 1)[0] + "/1")
    client.flushdb()
    yield client
    client.flushdb()


class Clock:
    def __init__(self) -> None:
        self.t = 1_000.0

    def __call__(self) -> float:
        return self.t


def test_at_most_max_running_even_when_many_dispatch_at_once(gate_redis):
    """Eight threads dispatching ten queued runs at once start exactly three."""
    gate = Admission(gate_redis, Limits(max_running=3, queue_limit=50))
    for i in range(10):
        gate.enqueue(f"run-{i}")
    started: list[str] = []
    lock = threading.Lock()

    def dispatch() -> None:
        got = Admission(gate_redis, Limits(max_running=3)).start_ready()
        with lock:
            started.extend(got)

    threads = [threading.Thread(target=dispatch) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(started) == ["run-0", "run-1", "run-2"]
    assert gate.running() == 3 and gate.depth() == 7
    assert gate.position("run-3") == 1 and gate.position("run-9") == 7


def test_release_lets_the_next_run_start_in_order(gate_redis):
    """Finishing a run frees its slot for the oldest queued run."""
    gate = Admission(gate_redis, Limits(max_running=1))
    for run_id in ("a", "b", "c"):
        gate.enqueue(run_id)
    assert gate.start_ready() == ["a"] and gate.start_ready() == []
    gate.release("a")
    assert gate.start_ready() == ["b"]


def test_admit_frees_the_ended_runs_slot_and_starts_the_next_in_one_call(gate_redis):
    """A run's end (admit with `released`) frees its slot, starts the oldest queued run and
    reports the queue left and the slots held, as release + start_ready + queued would."""
    gate = Admission(gate_redis, Limits(max_running=2))
    for run_id in ("a", "b", "c", "d"):
        gate.enqueue(run_id)
    first = gate.admit()
    assert (first.started, first.queued, first.running) == (["a", "b"], ["c", "d"], 2)
    after_a = gate.admit(released="a")
    assert (after_a.started, after_a.queued, after_a.running) == (["c"], ["d"], 2)
    # A run released while still queued (ended before it started) leaves the queue too.
    gone = gate.admit(released="d")
    assert (gone.started, gone.queued, gone.running) == ([], [], 2)
    assert gate.admit(released="b").running == 1 and gate.position("d") is None


def test_queue_is_bounded(gate_redis):
    """The queue holds queue_limit runs; one more is refused with a retry hint."""
    gate = Admission(gate_redis, Limits(max_running=1, queue_limit=3, retry_after_s=7))
    for i in range(3):
        assert gate.enqueue(f"run-{i}") == i + 1
    with pytest.raises(QueueFull) as info:
        gate.enqueue("run-3")
    assert info.value.retry_after_s == 7 and "3 runs are already waiting" in str(info.value)
    assert gate.depth() == 3


def test_high_memory_holds_new_starts(gate_redis):
    """Above 80% of the memory budget nothing starts; below it, runs start again."""
    clock = Clock()
    gate = Admission(gate_redis, Limits(max_running=3, memory_budget_mb=600, high_water=0.8),
                     clock=clock)
    gate.enqueue("run-a")
    gate.report_memory("worker-1", 500.0)  # > 480 MB
    assert gate.start_ready() == [] and gate.position("run-a") == 1
    gate.report_memory("worker-1", 200.0)
    assert gate.start_ready() == ["run-a"]


def test_stale_memory_reports_are_ignored(gate_redis):
    """A report older than a minute (a worker that died) does not hold the queue forever."""
    clock = Clock()
    gate = Admission(gate_redis, Limits(), clock=clock)
    gate.report_memory("dead-worker", 590.0)
    assert not gate.memory_ok()
    clock.t += 61
    assert gate.memory_ok()


def test_a_crashed_runs_slot_expires(gate_redis):
    """A lease never released (its worker died) frees its slot after slot_ttl_s."""
    clock = Clock()
    gate = Admission(gate_redis, Limits(max_running=1, slot_ttl_s=30), clock=clock)
    gate.enqueue("crashed")
    gate.enqueue("next")
    assert gate.start_ready() == ["crashed"]
    clock.t += 20
    gate.refresh("crashed")  # still alive at 20 s: lease extended to 50 s
    clock.t += 25
    assert gate.start_ready() == []
    clock.t += 10
    assert gate.start_ready() == ["next"]


@pytest.mark.django_db(transaction=True)
def test_full_queue_refuses_and_records_nothing(celery_worker):
    """When the queue is full, run_request_create raises QueueFull and writes no ledger row."""
    request = parse_input({"userRequest": "mayonnaise", "targetBatchSize": 1,
                           "targetUnit": "kg"})
    gate = services.admission()
    gate.reset()
    with override_settings(CAP01_QUEUE_LIMIT=2, CAP01_MAX_CONCURRENT_RUNS=0):
        services.admission.cache_clear()
        try:
            services.run_request_create(user=None, request=request)
            services.run_request_create(user=None, request=request)
            with pytest.raises(QueueFull):
                services.run_request_create(user=None, request=request)
            assert RunRecord.objects.count() == 2
            assert sorted(RunRecord.objects.values_list("queue_position", flat=True)) == [1, 2]
        finally:
            services.admission().reset()
            services.admission.cache_clear()


@pytest.mark.django_db(transaction=True)
def test_a_run_is_visible_to_other_processes_before_it_can_be_started(monkeypatch):
    """The ledger row is committed before the run enters the Redis queue: a worker that frees
    a slot and starts the run at that very moment (another connection) finds the row, rather
    than dropping the run as never accepted."""
    seen: list[bool] = []
    with override_settings(CAP01_MAX_CONCURRENT_RUNS=0):  # stays queued: nothing to start
        services.admission.cache_clear()
        gate = services.admission()
        gate.reset()
        enqueue = gate.enqueue

        def enqueue_and_look(run_id: str) -> int:
            def look() -> None:
                from django.db import connection

                seen.append(RunRecord.objects.filter(run_id=run_id).exists())
                connection.close()

            position = enqueue(run_id)
            other = threading.Thread(target=look)  # its own database connection
            other.start()
            other.join()
            return position

        monkeypatch.setattr(gate, "enqueue", enqueue_and_look)
        try:
            record = services.run_request_create(user=None, request=parse_input(
                {"userRequest": "hummus", "targetBatchSize": 2, "targetUnit": "kg"}))
        finally:
            gate.reset()
            services.admission.cache_clear()
    assert seen == [True]
    assert record.queue_position == 1


@pytest.mark.django_db(transaction=True)
def test_burst_runs_three_at_a_time_and_all_complete(celery_worker, graph):
    """Nine requests at once: never more than three hold a slot, all nine are persisted."""
    gate = services.admission()
    gate.reset()
    request = parse_input({"userRequest": "hummus", "targetBatchSize": 2, "targetUnit": "kg"})
    ids = [services.run_request_create(user=None, request=request).run_id for _ in range(9)]
    peak = 0

    def all_persisted() -> bool:
        nonlocal peak
        peak = max(peak, gate.running())
        return RunRecord.objects.filter(run_id__in=ids, persisted_at__isnull=False).count() == 9

    wait_for(all_persisted, timeout=120, interval=0.02)
    assert 1 <= peak <= 3
    assert set(RunRecord.objects.filter(run_id__in=ids).values_list("status", flat=True)) == {
        RunStatus.SUCCEEDED}
