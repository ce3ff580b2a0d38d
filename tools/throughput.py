"""Throughput (issue 10, item 5): sustained runs per second of the real pipeline with 1, 2 and 4
worker processes, and with two worker instances side by side (as two hosts would run them).

Each configuration starts its own Celery worker(s) on the configured broker, database and Neo4j
(nothing mocked), admits as many runs at once as there are worker processes
(CAP01_MAX_CONCURRENT_RUNS, in this process and in the workers), keeps the queue fed (twice as
many requests in flight as processes), and measures over a window that starts once `warmup`
runs are persisted. Every request draws from the same catalogue products, whose recipes share
Ingredient nodes (water, salt, oils, ...): concurrent writes meet on those nodes, the graph's hot
spot. Reported per configuration: runs per second (the window's runs over its wall time), end to
end p50/p95, the writes the retry policy repeated (attempts > 1, with the deadlocks the workers
logged) and the runs whose write escaped the policy (not persisted at the first write task,
or with an error left on the ledger): the last must be 0.

Prints figures; not a test, never fails on a clock.
"""

from __future__ import annotations

import os
import signal
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.test import override_settings

from orchestration.models import RunRecord

from .bench import percentile
from .loadtest import drive
from .workers import CeleryWorker


@dataclass(frozen=True)
class Config:
    """`instances` worker instances of `processes` processes each."""

    instances: int
    processes: int

    @property
    def total(self) -> int:
        return self.instances * self.processes

    @property
    def label(self) -> str:
        plural = "es" if self.processes > 1 else ""
        if self.instances == 1:
            return f"1 instance x {self.processes} process{plural}"
        return f"{self.instances} instances x {self.processes} process{plural}"


def parse_configs(text: str) -> list[Config]:
    """"1,2,4,2x2" -> one instance of 1, 2 and 4 processes, then two instances of 2 each."""
    configs = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        instances, _, processes = part.rpartition("x")
        try:
            config = Config(int(instances or 1), int(processes))
        except ValueError as exc:
            raise ValueError(f"--configs: {part!r} is not N or IxN (for example 4 or 2x2)") from exc
        if config.instances < 1 or config.processes < 1:
            raise ValueError(f"--configs: {part!r} needs at least one instance and one process")
        configs.append(config)
    if not configs:
        raise ValueError("--configs names no configuration")
    return configs


@dataclass
class Result:
    config: str
    processes: int
    runs: int
    window_s: float
    runs_per_s: float
    end_to_end_p50_ms: float
    end_to_end_p95_ms: float
    writes_retried: int
    deadlocks_logged: int
    escaped: int
    shared_ingredients: int
    hottest_ingredient_runs: int
    work_ms_mean: float  # a run's stages and its write, summed: what a process must do per run
    ideal_runs_per_s: float  # processes x 1000 / work_ms_mean: nothing but that work, back to back


class Workers:
    """`config.instances` `celery worker` processes (the first also runs beat), each with its own
    node name and log, stopped together."""

    def __init__(self, config: Config, log_dir: Path, env: dict[str, str]) -> None:
        self.workers = [
            CeleryWorker(log_dir / f"worker-{i}.log", name=f"throughput-{os.getpid()}-{i}",
                         concurrency=config.processes, env=env, prefetch=1,
                         beat_schedule=log_dir / "beat-schedule" if i == 0 else None,
                         cwd=settings.BASE_DIR)
            for i in range(config.instances)]
        try:
            for worker in self.workers:
                worker.start()
            for worker in self.workers:
                worker.wait_ready(timeout=90)
        except RuntimeError as exc:
            self.stop()
            raise RuntimeError(f"a worker did not start; see {log_dir}") from exc

    def count(self, text: str) -> int:
        return sum(w.log_path.read_text(errors="replace").count(text) for w in self.workers)

    def stop(self) -> None:
        for worker in self.workers:  # SIGTERM all first: they shut down in parallel
            if worker.alive:
                os.killpg(worker.process.pid, signal.SIGTERM)
        for worker in self.workers:
            worker.stop()


@dataclass
class _Tally:
    """drive()'s progress callback (runs just persisted) as (label, done so far, total)."""

    label: str
    total: int
    report: Callable[[str, int, int], object]
    done: int = 0

    def __call__(self, persisted: int) -> None:
        self.done += persisted
        self.report(self.label, self.done, self.total)


def _ingredients(records: Sequence[RunRecord]) -> tuple[int, int]:
    """(Ingredient ids used by more than one run, the most runs any one id was used by)."""
    uses: dict[str, int] = {}
    for record in records:
        recipe = (record.result or {}).get("recipe") or {}
        for ingredient_id in {i["id"] for i in recipe.get("ingredients", [])}:
            uses[ingredient_id] = uses.get(ingredient_id, 0) + 1
    return sum(1 for n in uses.values() if n > 1), max(uses.values(), default=0)


def measure(config: Config, *, runs: int, warmup: int, timeout_s: float,
            progress: Callable[[str, int, int], object]) -> Result:
    """One configuration: start its workers, drive `warmup` then `runs` runs, stop them."""
    from orchestration import services

    env = {**os.environ, "CAP01_MAX_CONCURRENT_RUNS": str(config.total),
           "CAP01_WORKER_METRICS_PORT": "0", "DJANGO_SETTINGS_MODULE": "cap01.settings"}
    with tempfile.TemporaryDirectory(prefix="cap01-throughput-") as tmp, \
            override_settings(CAP01_MAX_CONCURRENT_RUNS=config.total,
                              CAP01_QUEUE_LIMIT=max(settings.CAP01_QUEUE_LIMIT,
                                                    4 * config.total)):
        services.admission.cache_clear()
        services.admission().reset()  # no slot or queue left over from before
        workers = Workers(config, Path(tmp), env)
        try:
            in_flight = 2 * config.total
            if warmup:
                drive(warmup, concurrency=in_flight, timeout_s=timeout_s,
                      progress=_Tally(f"{config.label}: warm-up", warmup, progress))
            retried_before = workers.count("failed on attempt")
            deadlocks_before = workers.count("DeadlockDetected")
            started = time.monotonic()
            records = drive(runs, concurrency=in_flight, timeout_s=timeout_s,
                            progress=_Tally(config.label, runs, progress))
            window = time.monotonic() - started
            retried = workers.count("failed on attempt") - retried_before
            deadlocks = workers.count("DeadlockDetected") - deadlocks_before
        finally:
            workers.stop()
            services.admission().reset()
            services.admission.cache_clear()
    ends = [(r.persisted_at - r.created_at).total_seconds() * 1000 for r in records
            if r.persisted_at]
    escaped = sum(1 for r in records
                  if r.persisted_at is None or r.persist_error or r.persist_attempts > 1)
    shared, hottest = _ingredients(records)
    work = [sum(float(s.get("durationMs") or 0.0) for s in r.stages.values())
            + float(r.write_summary.get("latencyMs") or 0.0)
            for r in records if r.write_summary]
    work_mean = statistics.fmean(work) if work else float("nan")
    return Result(config.label, config.total, len(records), round(window, 3),
                  round(len(records) / window, 2) if window else float("nan"),
                  round(percentile(ends, 50), 1) if ends else float("nan"),
                  round(percentile(ends, 95), 1) if ends else float("nan"),
                  retried, deadlocks, escaped, shared, hottest,
                  round(work_mean, 1), round(config.total * 1000.0 / work_mean, 2))


def markdown(results: Sequence[Result]) -> str:
    lines = ["# Throughput: sustained runs per second", "",
             f"{os.cpu_count()} cores. Floor, per row: `ideal` = processes x 1000 / the mean of a "
             "run's own work (its five stages and its write, as the workers timed them): what "
             "the processes would sustain doing nothing else, back to back.", "",
             "| workers | processes | runs | window s | runs/s | ideal runs/s | e2e p50 ms | "
             "e2e p95 ms | writes retried | deadlocks logged | escaped the retry policy | "
             "shared ingredients (hottest: runs) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in results:
        lines.append(
            f"| {r.config} | {r.processes} | {r.runs} | {r.window_s:.1f} | {r.runs_per_s:.2f} "
            f"| {r.ideal_runs_per_s:.1f} | {r.end_to_end_p50_ms:.0f} | {r.end_to_end_p95_ms:.0f} "
            f"| {r.writes_retried} | {r.deadlocks_logged} | {r.escaped} | "
            f"{r.shared_ingredients} ({r.hottest_ingredient_runs}) |")
    return "\n".join(lines) + "\n"


def as_json(results: Sequence[Result]) -> list[dict[str, Any]]:
    return [asdict(r) for r in results]
