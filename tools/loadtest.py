"""Load test (design section 9.6): drive N synthetic requests through the real pipeline (the
Celery workers, Redis, Neo4j) and compare per-stage and end-to-end figures with the budgets.

Closed loop: at most `concurrency` runs are in flight at once, so the end-to-end latency measures
the pipeline rather than a queue this test builds itself. Figures come from the run ledger:
each stage's duration and tracemalloc peak and the worker's RSS as the workers recorded them, the
write's latency and memory, and end-to-end = persisted_at - created_at.

Memory is traced on a sample of runs only (CAP01_MEMORY_SAMPLE_RATE, pipeline.memory_sampled):
durations (and their verdicts) come from the untraced runs, memory peaks from the traced ones,
and the report prints the meter's overhead (the same stage, traced vs untraced, p50). The run's
segments (orchestration/segments.py: queue, each stage, each hand-off, the write and its parts)
are printed as p50/p95 and drawn as a stacked bar of their mean and median.
"""

from __future__ import annotations

import json
import statistics
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

from contracts import STAGE_NAMES, parse_input
from orchestration.models import RunRecord
from orchestration.segments import (
    END_TO_END,
    LEDGER,
    OUTBOX,
    QUEUE,
    WRITE,
    WRITE_OTHER,
    WRITE_PARTS,
    WRITE_QUEUE,
    handoff_key,
    stage_key,
)
from orchestration.services import run_request_create
from tools.bench import percentile

REQUESTS = [  # (text, batch size, unit): food and personal care, mass and volume, metric and US
    ("lemon vinaigrette", 5, "kg"), ("mayonnaise", 20, "lb"), ("tomato ketchup", 2, "gal"),
    ("bbq sauce", 10, "kg"), ("hummus", 500, "g"), ("basil pesto", 3, "l"),
    ("moisturizing lotion", 1, "kg"), ("shampoo for dry hair", 4, "l"),
    ("body wash", 55, "gal"), ("lip balm", 250, "g"), ("hand cream", 16, "oz"),
    ("toothpaste", 2, "kg"),
]


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
    if not durations:  # no sample: no figure (percentile would say 0)
        nan = float("nan")
        return Row(stage, 0, nan, nan, nan, nan, max(memory, default=0.0), *budget)
    return Row(stage, len(durations), percentile(durations, 50), percentile(durations, 95),
               percentile(durations, 99), max(durations), max(memory, default=0.0), *budget)


def drive(runs: int, *, concurrency: int, timeout_s: float,
          progress: Callable[[int], object]) -> list[RunRecord]:
    """Submit `runs` requests, at most `concurrency` in flight; wait for every one."""
    def submit(wire: dict[str, Any], deadline: float) -> str:
        return run_request_create(user=None, request=parse_input(wire)).run_id

    return closed_loop(runs, concurrency=concurrency, timeout_s=timeout_s, progress=progress,
                       submit=submit)


def closed_loop(runs: int, *, concurrency: int, timeout_s: float,
                progress: Callable[[int], object], submit: Callable[[dict[str, Any], float], str],
                persisted: Callable[[list[str]], object] | None = None) -> list[RunRecord]:
    """The load test's loop: the requests of REQUESTS in turn, submitted by `submit(wire,
    deadline) -> runId` while fewer than `concurrency` are in flight; a run is done when the
    ledger says it is persisted (`persisted` is then given the runs just done, in order); the
    ledger rows of every run submitted. TimeoutError past `timeout_s`."""
    submitted: list[str] = []
    in_flight: set[str] = set()
    deadline = time.monotonic() + timeout_s
    while len(submitted) < runs or in_flight:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(in_flight)} runs were not persisted within {timeout_s} s")
        while len(submitted) < runs and len(in_flight) < concurrency:
            text, batch, unit = REQUESTS[len(submitted) % len(REQUESTS)]
            run_id = submit({"userRequest": text, "targetBatchSize": batch, "targetUnit": unit},
                            deadline)
            submitted.append(run_id)
            in_flight.add(run_id)
        done = set(RunRecord.objects.filter(run_id__in=in_flight, persisted_at__isnull=False)
                   .values_list("run_id", flat=True))
        if done:
            if persisted is not None:
                persisted(sorted(done))
            in_flight -= done
            progress(len(done))
        else:
            time.sleep(0.01)
    return list(RunRecord.objects.filter(run_id__in=submitted))


SERVED_BY = "X-Served-By"  # the header the proxy of ops/scale_out.sh adds: which web instance


class ApiClient:
    """The JSON API at `base_url` with a user's token (one connection per request: a proxy in
    front balances each one)."""

    def __init__(self, base_url: str, token: str, *, timeout_s: float = 30.0) -> None:
        self.base_url, self.token, self.timeout_s = base_url.rstrip("/"), token, timeout_s
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no *_proxy

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, dict[str, str], bytes]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base_url + path, data=data, method=method,
            headers={"Authorization": f"Token {self.token}", "Accept": "application/json",
                     **({"Content-Type": "application/json"} if data is not None else {})})
        try:
            with self.opener.open(request, timeout=self.timeout_s) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()


@dataclass
class HttpTally:
    """What the HTTP load test saw: the runs the API accepted (202) and read back (200), the
    answers per web instance (the proxy's X-Served-By header), the 429s it waited out, and any
    other answer (which fails the demo's audit)."""

    accepted: list[str] = field(default_factory=list)
    read_back: list[str] = field(default_factory=list)
    served_by: dict[str, int] = field(default_factory=dict)
    throttled: int = 0
    unexpected: list[str] = field(default_factory=list)

    def saw(self, headers: dict[str, str]) -> None:
        name = next((v for k, v in headers.items() if k.lower() == SERVED_BY.lower()), "(none)")
        self.served_by[name] = self.served_by.get(name, 0) + 1


def submit_http(client: ApiClient, body: dict[str, Any], tally: HttpTally, *,
                deadline: float) -> str:
    """POST /requests until accepted (a 429 waits its Retry-After, at most 2 s); the runId."""
    while True:
        status, headers, raw = client.call("POST", "/api/orchestration/requests", body)
        tally.saw(headers)
        if status == 202:
            run_id = str(json.loads(raw)["runId"])
            tally.accepted.append(run_id)
            return run_id
        if status == 429 and time.monotonic() < deadline:
            tally.throttled += 1
            time.sleep(min(float(headers.get("Retry-After") or 1), 2.0))
            continue
        tally.unexpected.append(f"POST /requests: {status} {raw[:200]!r}")
        raise RuntimeError(f"POST /api/orchestration/requests answered {status}: {raw[:300]!r}")


def drive_http(runs: int, *, client: ApiClient, concurrency: int, timeout_s: float,
               progress: Callable[[int], object],
               tally: HttpTally | None = None) -> tuple[list[RunRecord], HttpTally]:
    """drive() through the API, as users reach it: each request POSTed to `client`'s base URL
    (a proxy in front of several web instances), at most `concurrency` in flight; a run counts
    as done when the ledger says it is persisted, and is then read back once through the API
    (GET /runs/{runId}, from whichever instance the proxy picks: the write's bookmarks make it
    read back there). Completion is read from the ledger, not polled over HTTP, so that the load
    is the submissions and reads of a user, not a poll loop."""
    tally = tally if tally is not None else HttpTally()

    def read_back(run_ids: list[str]) -> None:
        for run_id in run_ids:
            status, headers, raw = client.call("GET", f"/api/orchestration/runs/{run_id}")
            tally.saw(headers)
            if status == 200 and json.loads(raw)["metadata"]["id"] == run_id:
                tally.read_back.append(run_id)
            else:
                tally.unexpected.append(f"GET /runs/{run_id}: {status} {raw[:200]!r}")

    records = closed_loop(runs, concurrency=concurrency, timeout_s=timeout_s, progress=progress,
                          submit=lambda wire, deadline: submit_http(client, wire, tally,
                                                                    deadline=deadline),
                          persisted=read_back)
    return records, tally


def traced(record: RunRecord) -> bool:
    """Whether the run was in the memory sample (its stages and write ran under tracemalloc)."""
    return bool(record.write_summary and record.write_summary.get("memoryMb") is not None) or any(
        isinstance(s, dict) and s.get("memoryMb") is not None for s in record.stages.values())


def segment_order() -> list[str]:
    """The segments in the order a run lives them (orchestration/segments.py)."""
    order = [QUEUE]
    for i, agent in enumerate(STAGE_NAMES):
        order += [handoff_key(agent)] if i else []
        order.append(stage_key(agent))
    return [*order, OUTBOX, WRITE_QUEUE, WRITE, *(k for k, _ in WRITE_PARTS), WRITE_OTHER,
            LEDGER, END_TO_END]


# The stacked bar: consecutive pieces of a run's life, grouped (their sum is about endToEnd).
STACK = [("queue", [QUEUE]), ("stages", [stage_key(a) for a in STAGE_NAMES]),
         ("hand-offs", [handoff_key(a) for a in STAGE_NAMES[1:]]), ("outbox commit", [OUTBOX]),
         ("write queue", [WRITE_QUEUE]), ("write: mapping", ["write:mapping"]),
         ("write: blob", ["write:blob"]), ("write: database", ["write:database"]),
         ("write: other", [WRITE_OTHER]), ("ledger", [LEDGER])]


def segment_rows(records: Sequence[RunRecord]) -> list[dict[str, Any]]:
    """p50/p95/mean per segment over the untraced runs (a traced run's times carry the meter)."""
    timed = [r.segments for r in records if r.segments and not traced(r)]
    known = segment_order()
    names = known + sorted({k for s in timed for k in s} - set(known))
    rows = []
    for name in names:
        values = [float(s[name]) for s in timed if s.get(name) is not None]
        if values:
            rows.append({"segment": name, "n": len(values), "p50_ms": percentile(values, 50),
                         "p95_ms": percentile(values, 95), "mean_ms": statistics.fmean(values)})
    return rows


def stack(records: Sequence[RunRecord]) -> dict[str, dict[str, float]]:
    """The mean and the median of each STACK group over the untraced runs (a group missing from
    a run counts 0 there, e.g. write: mapping before the writer reports it)."""
    timed = [r.segments for r in records if r.segments and not traced(r)]
    groups = {label: [sum(float(s.get(k) or 0.0) for k in keys) for s in timed]
              for label, keys in STACK}
    return {"mean": {k: statistics.fmean(v) if v else 0.0 for k, v in groups.items()},
            "median": {k: statistics.median(v) if v else 0.0 for k, v in groups.items()}}


def meter_overhead(records: Sequence[RunRecord]) -> list[dict[str, Any]]:
    """The memory meter's cost: p50 of the same stage (and the write) untraced vs traced."""
    rows = []
    sampled = [r for r in records if traced(r)]
    plain = [r for r in records if not traced(r)]

    def durations(rs: Sequence[RunRecord], agent: str) -> list[float]:
        if agent == "Persistence":
            return [r.write_summary["latencyMs"] for r in rs if r.write_summary]
        return [d for r in rs if (d := r.stages.get(agent, {}).get("durationMs")) is not None]

    for agent in [*STAGE_NAMES, "Persistence"]:
        a, b = durations(plain, agent), durations(sampled, agent)
        if a and b:
            p50a, p50b = percentile(a, 50), percentile(b, 50)
            rows.append({"stage": agent, "untraced_p50_ms": p50a, "n_untraced": len(a),
                         "traced_p50_ms": p50b, "n_traced": len(b),
                         "ratio": p50b / p50a if p50a else float("nan")})
    return rows


def report(records: Sequence[RunRecord]) -> dict[str, Any]:
    budgets = settings.CAP01_BUDGETS
    rows = []
    # Durations from the untraced runs, memory from the traced ones.
    plain = [r for r in records if not traced(r)]
    sampled = [r for r in records if traced(r)]
    for agent in STAGE_NAMES:
        durations = [s["durationMs"] for r in plain
                     if "durationMs" in (s := r.stages.get(agent, {}))]
        memory = [m for r in sampled if (m := r.stages.get(agent, {}).get("memoryMb")) is not None]
        rows.append(_row(agent, durations, memory, budgets[agent]))
    rows.append(_row("Persistence",
                     [w["latencyMs"] for r in plain if (w := r.write_summary)],
                     [w["memoryMb"] for r in sampled
                      if (w := r.write_summary) and w.get("memoryMb") is not None],
                     budgets["Persistence"]))
    end_to_end = [(r.persisted_at - r.created_at).total_seconds() * 1000 for r in plain
                  if r.persisted_at]
    rss = [r.result["metadata"].get("peakRssMb", 0.0) for r in records if r.result]
    rows.append(_row("Run (end to end)", end_to_end, rss, budgets["Run"]))
    statuses: dict[str, int] = {}
    for r in records:
        statuses[r.status] = statuses.get(r.status, 0) + 1
    return {
        "runs": len(records), "statuses": statuses, "tracedRuns": len(sampled),
        "memorySampleRate": settings.CAP01_MEMORY_SAMPLE_RATE,
        "segments": segment_rows(records), "stack": stack(records),
        "meterOverhead": meter_overhead(records),
        "workerPeakRssMb": max(rss, default=0.0),
        "rows": [{**asdict(row), "passed": row.passed} for row in rows],
        "passed": all(row.passed for row in rows),
        "targets": {"endToEndP95Ms": 1000, "workerPeakRssMb": 300},
    }


def _warmup_line(warmup: dict[str, Any] | None) -> list[str]:
    if not warmup or not warmup["runs"]:
        return []
    slowest = warmup["endToEndMaxMs"]
    return [f"Before them, {warmup['runs']} warm-up runs (not counted): the worker's first "
            "imports and Neo4j planning each statement once"
            + (f"; the slowest took {slowest:.0f} ms end to end." if slowest is not None
               else "."), ""]


def warmup_summary(records: Sequence[RunRecord]) -> dict[str, Any]:
    """The runs made before the measured ones (a fresh worker's first imports, Neo4j planning
    each statement once): how many, and their slowest end to end. Not in the figures."""
    ends = [float(r.segments[END_TO_END]) for r in records
            if r.segments and r.segments.get(END_TO_END) is not None]
    return {"runs": len(records), "endToEndMaxMs": max(ends) if ends else None}


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
              "budget (stage: tracemalloc peak; run: worker RSS). Durations from the "
              f"{data['runs'] - data['tracedRuns']} untraced runs, memory from the "
              f"{data['tracedRuns']} runs traced for memory (sample rate "
              f"{data['memorySampleRate']:g}).", "", *_warmup_line(data.get("warmup")),
              *([http_markdown(data["http"])] if data.get("http") else []),
              "## Where the time goes (untraced runs; orchestration/segments.py)", "",
              "| segment | runs | p50 ms | p95 ms | mean ms |", "|---|---:|---:|---:|---:|"]
    for s in data["segments"]:
        lines.append(f"| {s['segment']} | {s['n']} | {s['p50_ms']:.1f} | {s['p95_ms']:.1f} | "
                     f"{s['mean_ms']:.1f} |")
    if data["meterOverhead"]:
        lines += ["", "## The memory meter's overhead (tracemalloc; same stage, p50)", "",
                  "| stage | untraced p50 ms (n) | traced p50 ms (n) | traced / untraced |",
                  "|---|---:|---:|---:|"]
        for m in data["meterOverhead"]:
            lines.append(f"| {m['stage']} | {m['untraced_p50_ms']:.1f} ({m['n_untraced']}) | "
                         f"{m['traced_p50_ms']:.1f} ({m['n_traced']}) | {m['ratio']:.2f}x |")
    return "\n".join(lines) + "\n"


def chart(records: Sequence[RunRecord], data: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plain = [r for r in records if not traced(r)]
    series = [[r.stages.get(a, {}).get("durationMs") for r in plain] for a in STAGE_NAMES]
    series = [[v for v in s if v is not None] for s in series]
    series.append([w["latencyMs"] for r in plain if (w := r.write_summary)])
    series.append([(r.persisted_at - r.created_at).total_seconds() * 1000 for r in plain
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


def segments_chart(data: dict[str, Any], path: Path) -> None:
    """A stacked bar of the mean and the median run: how long each piece of its life took."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stacked = data["stack"]
    fig, ax = plt.subplots(figsize=(9, 3.6))
    bars = ["mean", "median"]
    left = [0.0, 0.0]
    colors = plt.get_cmap("tab10")
    for i, (label, _) in enumerate(STACK):
        widths = [stacked[b][label] for b in bars]
        ax.barh(bars, widths, left=left, color=colors(i % 10), label=label)
        left = [a + w for a, w in zip(left, widths, strict=True)]
    ax.set_xlabel("ms")
    ax.legend(fontsize=8, ncols=5, loc="upper center", bbox_to_anchor=(0.5, -0.22))
    ax.set_title(f"Where a run's time goes ({data['runs'] - data['tracedRuns']} untraced runs; "
                 "median bar: the median of each piece)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def http_section(tally: HttpTally, *, base_url: str, warmup: int, window_s: float,
                 measured: int, since: str) -> dict[str, Any]:
    """The HTTP mode's part of the report: where it submitted, what the API answered, which
    web instance answered (the proxy's header), the measured window's runs per second."""
    return {"baseUrl": base_url, "since": since, "accepted": len(tally.accepted),
            "warmupRuns": warmup, "runIds": tally.accepted, "readBack": len(tally.read_back),
            "servedBy": dict(sorted(tally.served_by.items())), "throttled": tally.throttled,
            "unexpected": tally.unexpected, "windowS": round(window_s, 3),
            "runsPerSecond": round(measured / window_s, 2) if window_s else None}


def http_markdown(http: dict[str, Any]) -> str:
    served = ", ".join(f"{k}: {v}" for k, v in http["servedBy"].items())
    return (f"Submitted over HTTP to {http['baseUrl']} (the API, with a token): "
            f"{http['accepted']} runs accepted ({http['warmupRuns']} of them warm-up), "
            f"{http['readBack']} read back through GET /runs/{{runId}}, "
            f"{http['throttled']} answers 429 waited out, {len(http['unexpected'])} unexpected "
            f"answers; answers per web instance ({SERVED_BY}): {served}. Measured window: "
            f"{http['windowS']:.1f} s, {http['runsPerSecond']} runs/s.\n")


def write_reports(records: Sequence[RunRecord], out_dir: Path, *,
                  warmup: Sequence[RunRecord] = (),
                  http: dict[str, Any] | None = None) -> tuple[dict[str, Any], Path]:
    data = {**report(records), "warmup": warmup_summary(warmup),
            **({"http": http} if http is not None else {})}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "loadtest.json").write_text(json.dumps(data, indent=2), encoding="utf-8")
    (out_dir / "loadtest.md").write_text(markdown(data), encoding="utf-8")
    chart(records, data, out_dir / "loadtest.png")
    segments_chart(data, out_dir / "loadtest-segments.png")
    return data, out_dir
