"""Persistence benchmark (design section 7: "Persistence Transaction <= 450 ms, <= 70 MB").

Writes N synthetic runs with the transactional writer and the same runs the naive way (one
neomodel save per node and one connect per relationship), and reports latency percentiles and
peak memory per persist (tracemalloc, measured in a separate pass so that tracing does not slow
the timed pass). Prints figures; it is not a test and never fails on a clock.
"""

from __future__ import annotations

import statistics
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from contracts import STAGE_NAMES, RunResult
from graphstore import nodes as ogm
from graphstore.mapper import map_run_to_graph
from graphstore.writer import RunWriter
from tools.synthetic import make_run


@dataclass(frozen=True)
class Figures:
    name: str
    runs: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    peak_mb: float  # largest tracemalloc peak of one persist

    def row(self) -> str:
        return (f"{self.name:<22} {self.runs:>5} {self.p50_ms:>9.2f} {self.p95_ms:>9.2f} "
                f"{self.max_ms:>9.2f} {self.peak_mb:>10.3f}")


HEADER = f"{'method':<22} {'runs':>5} {'p50 ms':>9} {'p95 ms':>9} {'max ms':>9} {'peak MB':>10}"


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return statistics.quantiles(ordered, n=100, method="inclusive")[int(q) - 1] \
        if len(ordered) > 1 else ordered[0]


def synthetic_runs(prefix: str, count: int, *, seed0: int = 0) -> list[RunResult]:
    """Typical runs: 6 to 14 ingredients, five agent stages, every tenth one failed."""
    now = datetime.now(UTC)
    agents = STAGE_NAMES[1:]  # a run can fail at any stage after the first
    return [
        make_run(seed0 + i, now=now, ingredients=6 + (seed0 + i) % 9, run_id=f"{prefix}-{i:05d}",
                 failed_agent=agents[(i // 10) % 4] if i % 10 == 9 else None)
        for i in range(count)
    ]


def measure(name: str, persist: Callable[[RunResult], Any], timed: Sequence[RunResult],
            traced: Sequence[RunResult],
            progress: Callable[[str], None] = lambda s: None) -> Figures:
    latencies = []
    for i, run in enumerate(timed, 1):
        started = time.perf_counter()
        persist(run)
        latencies.append((time.perf_counter() - started) * 1000)
        if i % 50 == 0:
            progress(f"  {name}: {i}/{len(timed)} persisted")
    peaks = []
    tracemalloc.start()
    try:
        for run in traced:
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
            persist(run)
            peaks.append((tracemalloc.get_traced_memory()[1] - base) / 2**20)
    finally:
        tracemalloc.stop()
    return Figures(name, len(timed), percentile(latencies, 50), percentile(latencies, 95),
                   max(latencies), max(peaks, default=0.0))


# --- the naive baseline: one neomodel round trip per node and relationship --------------------

_CLASSES = {cls.__label__: cls for cls in ogm.NODE_CLASSES}
_RELATION = {  # relationship type -> (start class, manager attribute)
    "TRIGGERED": (ogm.UserRequest, "runs"),
    "USED_RECIPE": (ogm.OrchestrationRun, "recipe"),
    "HAS_INGREDIENT": (ogm.RecipeVersion, "ingredients"),
    "PRODUCED_CALCULATION": (ogm.OrchestrationRun, "calculation"),
    "PRODUCED_GRAPH": (ogm.OrchestrationRun, "graph"),
    "PRODUCED_VALIDATION": (ogm.OrchestrationRun, "validation"),
    "PRODUCED_UI": (ogm.OrchestrationRun, "ui_config"),
    "HAS_AGENT_INVOCATION": (ogm.OrchestrationRun, "invocations"),
}


# Graph properties whose OGM attribute has another name (see graphstore/nodes.py).
_ATTRIBUTE = {("CalculationResult", "yield"): "yield_", ("GraphSnapshot", "nodes"): "nodes_json"}


def naive_persist(run: RunResult) -> None:
    """The same write set, saved node by node and connected relationship by relationship
    (no single transaction: a failure half-way leaves a partial run, which is the point)."""
    from graphstore.schema import LABEL_BY_NAME, REL_BY_NAME

    ws = map_run_to_graph(run)
    saved: dict[tuple[str, str], Any] = {}
    for node in ws.nodes:
        cls = _CLASSES[node.label]
        props = {_ATTRIBUTE.get((node.label, k), k): v for k, v in node.on_create.items()}
        props[LABEL_BY_NAME[node.label].key] = node.key
        saved[(node.label, node.key)] = cls.create_or_update(props)[0]
    for rel in ws.relationships:
        rtype = REL_BY_NAME[rel.type]
        start_cls, attr = _RELATION[rel.type]
        start = saved[(rtype.start, rel.start)]
        end = saved[(rtype.end, rel.end)]
        manager = getattr(start, attr)
        manager.connect(end, dict(rel.properties) or None)


def run_benchmark(writer: RunWriter, *, runs: int, naive_runs: int, traced_runs: int,
                  progress: Callable[[str], None]) -> tuple[Figures, Figures | None]:
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    warm = synthetic_runs(f"bench-{stamp}-warm", 5, seed0=900_000)
    for run in warm:  # compile the fixed statements' plans once
        writer.write(run)
    tx = measure("transactional (UNWIND)", writer.write,
                 synthetic_runs(f"bench-{stamp}-tx", runs),
                 synthetic_runs(f"bench-{stamp}-txm", traced_runs, seed0=500_000), progress)
    naive = None
    if naive_runs:
        naive = measure("naive (neomodel)", naive_persist,
                        synthetic_runs(f"bench-{stamp}-naive", naive_runs),
                        synthetic_runs(f"bench-{stamp}-naivem", min(traced_runs, naive_runs),
                                       seed0=600_000), progress)
    return tx, naive
