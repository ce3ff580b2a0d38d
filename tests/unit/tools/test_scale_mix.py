"""The scale benchmark's mix of runs (tools/scale_mix.py) and the bulk statement derived from the
writer's (graphstore/cypher/bulk.py)."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta

from graphstore.cypher.bulk import WRITE_RUNS
from graphstore.cypher.write import WRITE_RUN
from orchestration.agents.catalogue import PRODUCTS
from tools.scale_mix import SPAN_DAYS, build, plan

ANCHOR = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_the_mix_is_deterministic_and_holds_every_kind_of_run():
    """The same index gives the same run; 1,000 runs hold every product, failures, large runs,
    replays of earlier runs and formulations, started across the whole span."""
    assert build(plan(123, ANCHOR), ANCHOR).to_wire() == build(plan(123, ANCHOR), ANCHOR).to_wire()
    plans = [plan(i, ANCHOR) for i in range(1000)]
    assert {p.product for p in plans} == {p.slug for p in PRODUCTS}
    kinds = Counter((p.failed_agent is not None, p.large, p.replay_of is not None) for p in plans)
    assert kinds[(True, False, False)] == 100 and kinds[(False, True, False)] == 20
    assert kinds[(False, False, True)] > 30
    assert all(int(p.replay_of[-7:]) < p.index for p in plans if p.replay_of)
    assert sum(p.formulation for p in plans) == 1
    starts = [p.started for p in plans]
    assert min(starts) >= ANCHOR - timedelta(days=SPAN_DAYS) and max(starts) <= ANCHOR
    older = sum(s < ANCHOR - timedelta(days=SPAN_DAYS / 2) for s in starts)
    assert 400 < older < 600


def test_a_large_run_of_the_mix_is_a_contract_valid_run_at_the_element_limit():
    """The large runs are the largest write set allowed (499 graph elements)."""
    from graphstore.mapper import map_run_to_graph

    ws = map_run_to_graph(build(plan(23, ANCHOR), ANCHOR))
    assert len(ws.nodes) + len(ws.relationships) == 499


def test_the_bulk_statement_is_the_writers_with_each_runs_parameters_from_its_row():
    """Every parameter of the writer's statement but $now comes from the run's row, and every
    subquery imports the row."""
    params = set(re.findall(r"\$(\w+)", WRITE_RUN)) - {"now"}
    assert set(re.findall(r"\$(\w+)", WRITE_RUNS)) == {"runs", "now"}
    assert {p for p in params if f"run.{p}" in WRITE_RUNS} == params
    assert all("run" in m.split(", ") for m in re.findall(r"CALL \(([^)]*)\)", WRITE_RUNS))
