"""Fault injection against the real services: the Neo4j and Redis that ops/services.sh started for
this environment (CAP01_SERVICES_DIR, NEO4J_BOLT_PORT, REDIS_PORT, as `make test` sets them) and
real Celery workers. The tests kill those services and restart them with `ops/services.sh up`,
and every fixture puts them back (up and answering) in its teardown, even when a test fails,
because other test modules run after these.

Tools here:
    ServiceControl   find a service's process through its pid file, kill it, bring it back
    FaultWorker      a `celery worker` on tests/resilience/faultworker.py with extra environment
    ApiLoad          a bounded, paced load of POST /api/orchestration/runs (external RunResults)
    PipelineLoad     a bounded, paced load of services.run_request_create (pipeline runs)
    audit            wait for the accepted runs, count them in the ledger and in Neo4j, print
                     the FAULT line
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from neo4j import Driver
from neo4j.exceptions import DriverError, Neo4jError

from tests.conftest import WorkerProcess

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
API = "/api/orchestration"


# --- the services --------------------------------------------------------------------------------


def _proc_state(pid: int) -> str | None:
    """The process's state letter (R, S, Z, ...), None when there is no such process."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("State:"):
                    return line.split()[1]
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


class ServiceControl:
    """Kill and restart the Neo4j and Redis of this environment. A process is only ever signalled
    after checking it is the service of this environment (its pid file under
    CAP01_SERVICES_DIR, its command line, its data folder or port), never by name."""

    def __init__(self) -> None:
        from django.conf import settings

        self.dir = Path(settings.SERVICES_DIR)
        self.neo4j_port = int(settings.NEO4J_URI.rsplit(":", 1)[1])
        self.redis_port = int(settings.REDIS_URL.rsplit(":", 1)[1].split("/")[0])
        self.events: list[str] = []

    def pid(self, name: str) -> int:
        pidfile = self.dir / name / "pid"
        pid = int(pidfile.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        if name == "neo4j":
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            data_dir = f"NEO4J_DATA_DIR={self.dir / 'neo4j' / 'data'}".encode()
            ours = "Cap01Neo4j" in cmdline and data_dir in environ
        else:
            ours = f"redis-server 127.0.0.1:{self.redis_port}" in cmdline
        if not ours:
            raise RuntimeError(f"pid {pid} in {pidfile} is not this environment's {name}: "
                               f"{cmdline[:200]}")
        return pid

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Signal the service (kill -9 by default) and wait until its process is gone."""
        pid = self.pid(name)
        os.kill(pid, sig)
        deadline = time.monotonic() + 60
        while _proc_state(pid) not in (None, "Z"):  # a zombie is dead (its parent is init)
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} (pid {pid}) did not exit within 60 s of signal {sig}")
            time.sleep(0.05)
        # The pid file would still name the dead (or zombie) process: `up` starts a new one.
        (self.dir / name / "pid").unlink(missing_ok=True)
        self.events.append(f"{name} pid {pid} got signal {sig}")

    def up(self, name: str, timeout: float = 240.0) -> float:
        """`ops/services.sh up NAME` with this environment; seconds it took."""
        started = time.monotonic()
        result = subprocess.run([str(ROOT / "ops" / "services.sh"), "up", name], env=os.environ,
                                capture_output=True, text=True, timeout=timeout, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"ops/services.sh up {name} failed ({result.returncode}): "
                               f"{result.stderr[-2000:]}")
        self.events.append(f"{name} up in {time.monotonic() - started:.1f} s")
        return time.monotonic() - started

    def up_in_background(self, name: str) -> threading.Thread:
        """Start `up` in a thread (the load goes on meanwhile); join() it later."""
        errors: list[BaseException] = []

        def run() -> None:
            try:
                self.up(name)
            except BaseException as exc:  # re-raised by join_up
                errors.append(exc)

        thread = threading.Thread(target=run, name=f"up-{name}", daemon=True)
        thread.errors = errors  # type: ignore[attr-defined]
        thread.start()
        return thread

    @staticmethod
    def join_up(thread: threading.Thread, timeout: float = 240.0) -> None:
        thread.join(timeout)
        if thread.is_alive():
            raise RuntimeError(f"{thread.name} did not finish within {timeout} s")
        if thread.errors:  # type: ignore[attr-defined]
            raise thread.errors[0]  # type: ignore[attr-defined]


def settle_driver(driver: Driver, timeout: float = 120.0) -> None:
    """Run queries until three in a row succeed: a restarted Neo4j answers and the pool holds
    no connection to the killed one any more (a failure drops every idle connection)."""
    from django.conf import settings

    deadline, ok = time.monotonic() + timeout, 0
    while ok < 3:
        try:
            driver.execute_query("RETURN 1", database_=settings.NEO4J_DATABASE)
            ok += 1
        except (Neo4jError, DriverError, OSError):
            ok = 0
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _broker_cleanup() -> None:
    """Forget what a test left behind in Redis: the backpressure queue and slots, waiting task
    messages and unacknowledged ones of killed workers (they name ledger rows that the test
    database no longer holds)."""
    import redis
    from django.conf import settings

    from orchestration.services import admission

    admission().reset()
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete("celery", "unacked", "unacked_index")


@pytest.fixture
def clean_broker() -> Iterator[None]:
    """The broker holds nothing of earlier tests before, nor of this one after."""
    _broker_cleanup()
    yield
    _broker_cleanup()


@pytest.fixture
def services(neo4j_driver: Driver) -> Iterator[ServiceControl]:
    """Kill and restart Neo4j and Redis; afterwards both are up and answering again (even when
    the test failed half-way) and the test process's Neo4j pool holds no dead connection."""
    if not os.environ.get("CAP01_SERVICES_DIR"):
        pytest.fail("The fault tests kill and restart Neo4j and Redis: run them through `make "
                    "test` or with CAP01_SERVICES_DIR (and the ports) of services of their own.")
    control = ServiceControl()
    control.pid("neo4j"), control.pid("redis")  # both ours, both running, before anything
    yield control
    for name in ("redis", "neo4j"):
        control.up(name)
    settle_driver(neo4j_driver)


# --- workers -------------------------------------------------------------------------------------

# Why some workers get a short visibility timeout. Tasks are acknowledged late (after they
# ran), so the messages a killed worker held (the write it was doing, and any stage of another
# run its second process had taken) stay in Redis as unacknowledged. The Redis transport gives
# such a message back to its queue only once its visibility timeout has passed: 300 s in
# production (CAP01_VISIBILITY_TIMEOUT_S), long enough that no task that is merely slow, and no
# retry waiting out its countdown (persist_run backs off up to 60 s), is ever delivered twice.
# Five minutes is beyond the tests' bounds, so their workers use 15 s and sweep for expired
# messages every 2 s (kombu otherwise scans about every 100 s). Nothing these workers run takes
# 15 s, and the tests that use them keep Neo4j up, so no retry countdown comes near it (the
# Neo4j tests keep the production timeout for that reason). (The reconciler would
# re-enqueue the unfinished write by itself, from the outbox; but a stage that died with the
# worker is only ever redelivered.)
FAST_REDELIVERY = {"CAP01_VISIBILITY_TIMEOUT_S": "15", "CAP01_FAULT_RESTORE_INTERVAL_S": "2"}


class FaultWorker(WorkerProcess):
    """A real `celery worker -B` (prefork) on the test broker and database, running
    tests/resilience/faultworker.py (cap01's app plus test-only knobs) with `env` added."""

    _numbers = itertools.count(1)

    def __init__(self, log_path: Path, *, concurrency: int = 2, env: dict[str, str] | None = None,
                 wait: bool = True) -> None:
        self.extra_env = env or {}
        super().__init__(log_path, concurrency, app="faultworker", cwd=ROOT, wait=wait,
                         name=f"fault{next(self._numbers)}-{os.getpid()}")

    def worker_env(self) -> dict[str, str]:
        # By file, not as tests.resilience.faultworker: django-neomodel 0.2 installs a top-level
        # `tests` package into site-packages, which shadows ours.
        return {**super().worker_env(),
                "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT)]), **self.extra_env}


def respawn(worker: WorkerProcess) -> None:
    """Start a worker that exited again, in place (same log, same name): what a process
    supervisor does. Works for the test session's `celery_worker` too."""
    worker.kill()  # what is left of it (its log closed)
    worker.spawn()
    worker.wait_ready()


class Supervisor:
    """Restarts any of `workers` that exits, every `interval` s, as systemd's Restart=always
    would; `restarts` names them. A worker run in production needs such a supervisor: Celery
    5.7 / kombu 5.7 workers can exit with "Unrecoverable error: AttributeError('NoneType' object
    has no attribute 'hostname')" when the broker restarts (see test_redis_faults.py)."""

    def __init__(self, workers: Sequence[WorkerProcess], interval: float = 0.5) -> None:
        self.workers, self.interval = list(workers), interval
        self.restarts: list[str] = []
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="supervisor", daemon=True)

    def __enter__(self) -> Supervisor:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(90)

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            for worker in self.workers:
                if worker.process.poll() is None:
                    continue
                name = getattr(worker, "name", worker.log_path.parent.name)
                self.restarts.append(name)
                try:
                    respawn(worker)
                except BaseException as exc:  # reported by the test
                    self.errors.append(exc)
                    return


@pytest.fixture
def start_worker(tmp_path_factory: pytest.TempPathFactory,
                 clean_broker: None) -> Iterator[Callable[..., FaultWorker]]:
    """start_worker(env=..., concurrency=..., wait=...) -> FaultWorker; all stopped afterwards
    (then the broker is cleaned)."""
    started: list[FaultWorker] = []

    def start(*, wait: bool = True, **kwargs: Any) -> FaultWorker:
        worker = FaultWorker(tmp_path_factory.mktemp("worker") / "worker.log", wait=False,
                             **kwargs)
        started.append(worker)  # stopped in teardown even if it never gets ready
        if wait:
            worker.wait_ready()
        return worker

    yield start
    for worker in started:  # SIGTERM all first: they shut down in parallel
        if worker.alive:
            os.killpg(worker.process.pid, signal.SIGTERM)
    for worker in started:
        worker.stop(timeout=20)


# --- loads ---------------------------------------------------------------------------------------


@dataclass
class LoadResult:
    accepted: list[str] = field(default_factory=list)  # runIds the service said yes to
    answers: Counter[str] = field(default_factory=Counter)  # "201", "202", "QueueFull", ...
    sent: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, answer: str, run_id: str | None) -> None:
        with self.lock:
            self.sent += 1
            self.answers[answer] += 1
            if run_id is not None:
                self.accepted.append(run_id)

    @property
    def refused(self) -> int:
        return self.sent - len(self.accepted)


class _PacedLoad:
    """Items sent by `threads` threads, item i not before start + i / rate; the load stops by
    itself after the last item, at `max_s`, or once `until()` is true, whichever comes first."""

    def __init__(self, items: Sequence[Any], *, rate: float, threads: int, max_s: float,
                 until: Callable[[], object] | None = None) -> None:
        self.items, self.rate, self.max_s, self.until = items, rate, max_s, until
        self.result = LoadResult()
        self._next = itertools.count()
        self._threads = [threading.Thread(target=self._work, daemon=True, name=f"load-{i}")
                         for i in range(threads)]
        self.errors: list[BaseException] = []

    def start(self) -> _PacedLoad:
        self.started = time.monotonic()
        for thread in self._threads:
            thread.start()
        return self

    def _work(self) -> None:
        from django.db import connection

        try:
            self._setup_thread()
            while (i := next(self._next)) < len(self.items):
                due = self.started + i / self.rate
                if due - self.started > self.max_s or (self.until and self.until()):
                    return
                time.sleep(max(0.0, due - time.monotonic()))
                self._send(self.items[i])
        except BaseException as exc:  # surfaced by join()
            self.errors.append(exc)
        finally:
            connection.close()

    def _setup_thread(self) -> None:
        pass

    def _send(self, item: Any) -> None:
        raise NotImplementedError

    def wait_accepted(self, n: int, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.result.accepted) < n:
            if time.monotonic() > deadline or not any(t.is_alive() for t in self._threads):
                raise AssertionError(f"the load had {len(self.result.accepted)} runs accepted, "
                                     f"waited for {n}: {dict(self.result.answers)}")
            time.sleep(0.05)

    def join(self) -> LoadResult:
        for thread in self._threads:
            thread.join(self.max_s + 120)
        assert not any(t.is_alive() for t in self._threads), "the load did not stop"
        assert not self.errors, self.errors
        return self.result


class ApiLoad(_PacedLoad):
    """POST /api/orchestration/runs of RunResults; 201, 200 and 202 are accepted."""

    def __init__(self, runs: Sequence[Any], *, token: str, **kw: Any) -> None:
        super().__init__(runs, **kw)
        self.token = token
        self._local = threading.local()

    def _setup_thread(self) -> None:
        from rest_framework.test import APIClient

        self._local.client = APIClient()
        self._local.client.credentials(HTTP_AUTHORIZATION=f"Token {self.token}")

    def _send(self, run: Any) -> None:
        response = self._local.client.post(f"{API}/runs", data=json.dumps(run.to_wire()),
                                           content_type="application/json")
        accepted = response.status_code in (200, 201, 202)
        self.result.record(str(response.status_code), run.run_id if accepted else None)


class PipelineLoad(_PacedLoad):
    """services.run_request_create of input contracts; accepted when it returns."""

    def _send(self, request: Any) -> None:
        from orchestration.services import run_request_create

        try:
            record = run_request_create(user=None, request=request)
        except Exception as exc:  # refused: QueueFull, broker down; counted, not accepted
            self.result.record(type(exc).__name__, None)
            return
        self.result.record("accepted", record.run_id)


REQUESTS = [("lemon vinaigrette", 5, "kg"), ("mayonnaise", 20, "lb"), ("hummus", 500, "g"),
            ("moisturizing lotion", 1, "kg"), ("shampoo for dry hair", 4, "l"),
            ("basil pesto", 3, "l"), ("lip balm", 250, "g"), ("bbq sauce", 10, "kg")]


def pipeline_requests(n: int) -> list[Any]:
    from contracts import parse_input

    return [parse_input({"userRequest": text, "targetBatchSize": batch, "targetUnit": unit})
            for text, batch, unit in itertools.islice(itertools.cycle(REQUESTS), n)]


@pytest.fixture
def api_token(django_user_model: Any) -> str:
    from rest_framework.authtoken.models import Token

    user = django_user_model.objects.create_user("resilience", password="a-long-password-42")
    return str(Token.objects.create(user=user).key)


# --- the audit -----------------------------------------------------------------------------------


@dataclass
class Audit:
    name: str
    accepted: int
    persisted: int
    duplicated: int
    lost: int
    incomplete: list[str]
    recovered_s: float
    ingredients: tuple[int, int]  # Ingredient nodes, distinct ingredientIds
    write_counts: dict[str, int]
    line: str

    def add_note(self, note: str) -> None:
        """Append `note` inside the parentheses of the FAULT line."""
        self.line = f"{self.line[:-1]}; {note})"


def wait_persisted(run_ids: Sequence[str], timeout: float) -> float:
    """Wait until the ledger says every run is persisted (or `timeout`); the monotonic time
    when the last one was seen persisted."""
    from orchestration.models import RunRecord

    deadline = time.monotonic() + timeout
    ids = set(run_ids)
    while True:
        done = RunRecord.objects.filter(run_id__in=ids, persisted_at__isnull=False).count()
        if done == len(ids) or time.monotonic() > deadline:
            return time.monotonic()
        time.sleep(0.25)


def audit(name: str, accepted: Sequence[str], *, driver: Driver, fault_at: float,
          timeout: float, note: str = "", ledger: bool = True,
          recovered_s: float | None = None) -> Audit:
    """Wait (bounded) for the accepted runs to be persisted, then count: persisted = in the
    ledger as persisted and in Neo4j exactly once with a commit marker matching the graph;
    duplicated = more than one OrchestrationRun for a runId; lost = accepted, not in Neo4j with
    a marker. Prints `FAULT <name>: accepted=.. persisted=.. duplicated=.. lost=.. (recovered in
    .. s)`, recovered = from the fault to the last accepted run persisted. `ledger=False` for
    runs written with a RunWriter directly (no ledger row)."""
    from django.conf import settings

    from graphstore.replay import verify_run
    from orchestration.models import RunRecord

    ids = list(dict.fromkeys(accepted))
    done_at = wait_persisted(ids, timeout) if ledger else time.monotonic()
    in_ledger = set(RunRecord.objects.filter(run_id__in=ids, persisted_at__isnull=False)
                    .values_list("run_id", flat=True)) if ledger else set(ids)
    records, _, _ = driver.execute_query(
        "UNWIND $ids AS id OPTIONAL MATCH (r:OrchestrationRun {runId: id}) "
        "RETURN id, count(r) AS n, count(r.commitChecksum) AS marked, "
        "max(r.writeCount) AS writes, max(r.commitChecksum) AS checksum",
        ids=ids, database_=settings.NEO4J_DATABASE)
    nodes = {r["id"]: (r["n"], r["marked"], r["writes"] or 0) for r in records}
    duplicated = sum(1 for n, _, _ in nodes.values() if n > 1)
    lost = sum(1 for i in ids if nodes[i][1] == 0 or i not in in_ledger)
    incomplete = [i for i in ids if nodes[i][1] and not verify_run(
        i, driver=driver, database=settings.NEO4J_DATABASE).complete]
    if ledger:  # the ledger's copy is the one in Neo4j, and the ledger says the run is done
        graph_checksums = {r["id"]: r["checksum"] for r in records}
        incomplete += [
            run_id for run_id, status, ledger_checksum in RunRecord.objects.filter(
                run_id__in=in_ledger).values_list("run_id", "status", "checksum")
            if status not in ("succeeded", "failed")
            or ledger_checksum != graph_checksums[run_id]]
    persisted = sum(1 for i in ids if nodes[i][0] == 1 and nodes[i][1] == 1 and i in in_ledger
                    and i not in incomplete)
    ingredients, _, _ = driver.execute_query(
        "MATCH (i:Ingredient) RETURN count(i) AS n, count(DISTINCT i.ingredientId) AS d",
        database_=settings.NEO4J_DATABASE)
    recovered = done_at - fault_at if recovered_s is None else recovered_s
    line = (f"FAULT {name}: accepted={len(ids)} persisted={persisted} duplicated={duplicated} "
            f"lost={lost} (recovered in {recovered:.1f} s{'; ' + note if note else ''})")
    return Audit(name, len(ids), persisted, duplicated, lost, incomplete, recovered,
                 (ingredients[0]["n"], ingredients[0]["d"]),
                 {i: nodes[i][2] for i in ids}, line)


@pytest.fixture
def report(capsys: pytest.CaptureFixture[str]) -> Callable[[Audit], None]:
    """Print the FAULT line even when pytest captures output (it belongs in the CI log), then
    assert what every fault test asserts."""

    def emit(result: Audit) -> None:
        with capsys.disabled():
            print(f"\n{result.line}", flush=True)
        assert result.duplicated == 0, result.line
        assert result.lost == 0, result.line
        assert result.incomplete == [], ("commit marker does not match the graph, or the ledger "
                                         f"does not match Neo4j: {result.incomplete[:5]}")
        assert result.persisted == result.accepted, result.line
        assert result.ingredients[0] == result.ingredients[1], \
            f"Ingredient duplicated: {result.ingredients}"

    return emit


# A run whose chain of stage messages broke (a stage that could not hand on to the next, a
# message lost with the broker) is started again by the reconciler once its slot lease has
# expired: after CAP01_SLOT_TTL_S without a stage, 120 s in production. The tests cannot wait
# that long, so the lease is 20 s where they need it, in this process and in the worker (both
# start runs); stages take well under a second, so no live run loses its lease meanwhile.
SLOT_TTL_S = 20.0


@pytest.fixture
def short_slot_lease(settings: Any) -> Iterator[dict[str, str]]:
    """CAP01_SLOT_TTL_S = 20 s here; yields the worker environment that says the same."""
    from orchestration.services import admission

    settings.CAP01_SLOT_TTL_S = SLOT_TTL_S
    admission.cache_clear()
    yield {"CAP01_SLOT_TTL_S": str(SLOT_TTL_S)}
    admission.cache_clear()
