"""Load test (design section 9.6): drive N synthetic requests through the real pipeline (the
Celery workers, Redis, Neo4j) and compare per-stage and end-to-end figures with the budgets.

Closed loop: at most `concurrency` runs are in flight at once, so the end-to-end latency measures
the pipeline rather than a queue this test builds itself. Figures come from the run ledger:
each stage's duration and tracemalloc peak and the worker's RSS as the workers recorded them, the
write's latency and memory, and end-to-end = persisted_at - created_at.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from contracts import STAGE_NAMES, parse_input
from orchestration.models import RunRecord
from orchestration.services import run_request_create

REQUESTS = [  # (text, batch size, unit): food and personal care, mass and volume, metric and US
    ("lemon vinaigrette", 5, "kg"), ("mayonnaise", 20, "lb"), ("tomato ketchup", 2, "gal"),
    ("bbq sauce", 10, "kg"), ("hummus", 500, "g"), ("basil pesto", 3, "l"),
    ("moisturizing lotion", 1, "kg"), ("shampoo for dry hair", 4, "l"),
    ("body wash", 55, "gal"), ("lip balm", 250, "g"), ("hand cream", 16, "oz"),
    ("toothpaste", 2, "kg"),
]


def pct(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


@dataclass
class Row:
    stage: str
    n: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    peak_mb: float
    budget_ms: float
    budget_mb: float

    @property
    def passed(self) -> bool:
        return self.n > 0 and self.p95_ms <= self.budget_ms and self.peak_mb <= self.budget_mb


def _row(stage: str, durations: list[float], memory: list[float],
         budget: tuple[float, float]) -> Row:
    return Row(stage, len(durations), pct(durations, 50), pct(durations, 95), pct(durations, 99),
               max(durations, default=float("nan")), max(memory, default=0.0), *budget)


def drive(runs: int, *, concurrency: int, timeout_s: float,
          progress: Callable[[int], object]) -> list[RunRecord]:
    """Submit `runs` requests, at most `concurrency` in flight; wait for every one."""
    submitted: list[str] = []
    in_flight: set[str] = set()
    deadline = time.monotonic() + timeout_s
    while len(submitted) < runs or in_flight:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(in_flight)} runs were not persisted within {timeout_s} s")
        while len(submitted) < runs and len(in_flight) < concurrency:
            text, batch, unit = REQUESTS[len(submitted) % len(REQUESTS)]
            request = parse_input({"userRequest": text, "targetBatchSize": batch,
                                   "targetUnit": unit})
            run_id = run_request_create(user=None, request=request).run_id
            submitted.append(run_id)
            in_flight.add(run_id)
        done = set(RunRecord.objects.filter(run_id__in=in_flight, persisted_at__isnull=False)
                   .values_list("run_id", flat=True))
        if done:
            in_flight -= done
            progress(len(done))
        else:
            time.sleep(0.01)
    return list(RunRecord.objects.filter(run_id__in=submitted))


def report(records: Sequence[RunRecord]) -> dict[str, Any]:
    budgets = settings.CAP01_BUDGETS
    rows = []
    for agent in STAGE_NAMES:
        stages = [r.stages.get(agent, {}) for r in records]
        rows.append(_row(agent, [s["durationMs"] for s in stages if "durationMs" in s],
                         [s["memoryMb"] for s in stages if s.get("memoryMb") is not None],
                         budgets[agent]))
    writes = [r.write_summary for r in records if r.write_summary]
    rows.append(_row("Persistence", [w["latencyMs"] for w in writes],
                     [w.get("memoryMb", 0.0) for w in writes], budgets["Persistence"]))
    end_to_end = [(r.persisted_at - r.created_at).total_seconds() * 1000 for r in records
                  if r.persisted_at]
    rss = [r.result["metadata"].get("peakRssMb", 0.0) for r in records if r.result]
    rows.append(_row("Run (end to end)", end_to_end, rss, budgets["Run"]))
    statuses: dict[str, int] = {}
    for r in records:
        statuses[r.status] = statuses.get(r.status, 0) + 1
    return {
        "runs": len(records), "statuses": statuses,
        "workerPeakRssMb": max(rss, default=0.0),
        "rows": [{**asdict(row), "passed": row.passed} for row in rows],
        "passed": all(row.passed for row in rows),
        "targets": {"endToEndP95Ms": 1000, "workerPeakRssMb": 300},
    }


def markdown(data: dict[str, Any]) -> str:
    lines = [
        f"# Load test: {data['runs']} runs", "",
        f"Statuses: {data['statuses']}; worker peak RSS {data['workerPeakRssMb']:.1f} MB "
        f"(target 300 MB).", "",
        "| stage | runs | p50 ms | p95 ms | p99 ms | max ms | peak MB | budget | result |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in data["rows"]:
        lines.append(
            f"| {r['stage']} | {r['n']} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | "
            f"{r['p99_ms']:.1f} | {r['max_ms']:.1f} | {r['peak_mb']:.2f} | "
            f"{r['budget_ms']:g} ms / {r['budget_mb']:g} MB | "
            f"{'pass' if r['passed'] else 'FAIL'} |")
    lines += ["", "Pass: p95 within the duration budget and peak memory within the memory "
              "budget (stage: tracemalloc peak; run: worker RSS)."]
    return "\n".join(lines) + "\n"


def chart(records: Sequence[RunRecord], data: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = [[r.stages.get(a, {}).get("durationMs") for r in records] for a in STAGE_NAMES]
    series = [[v for v in s if v is not None] for s in series]
    series.append([w["latencyMs"] for r in records if (w := r.write_summary)])
    series.append([(r.persisted_at - r.created_at).total_seconds() * 1000 for r in records
                   if r.persisted_at])
    labels = [*STAGE_NAMES, "Persistence", "End to end"]
    budgets = [row["budget_ms"] for row in data["rows"]]
    fig, axes = plt.subplots(1, len(series), figsize=(2.3 * len(series), 4.2))
    for ax, values, label, budget in zip(axes, series, labels, budgets, strict=True):
        ax.boxplot(values, whis=(1, 99), showfliers=True)
        ax.axhline(budget, color="crimson", linestyle="--", linewidth=1.2, label="budget")
        ax.set_title(label, fontsize=9)
        ax.set_yscale("log")
        ax.set_xticks([])
        ax.tick_params(labelsize=8)
    axes[0].set_ylabel("ms (log scale)")
    axes[-1].legend(fontsize=8, loc="lower right")
    fig.suptitle(f"Latency per stage over {data['runs']} runs against the budgets "
                 "(boxes: quartiles, whiskers: p1-p99)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_reports(records: Sequence[RunRecord], out_dir: Path) -> tuple[dict[str, Any], Path]:
    data = report(records)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "loadtest.json").write_text(json.dumps(data, indent=2), encoding="utf-8")
    (out_dir / "loadtest.md").write_text(markdown(data), encoding="utf-8")
    chart(records, data, out_dir / "loadtest.png")
    return data, out_dir
