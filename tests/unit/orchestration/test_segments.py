"""Where a run's time goes (orchestration/segments.py), and memory measured on a sample of runs
(pipeline.memory_sampled) so that durations come from untraced execution."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from contracts import RunResult, parse_input
from graphstore.codecs import OrchestrationRunCodec
from graphstore.mapper import normalize_run
from orchestration.agents import DEFAULT_AGENTS, load_agents
from orchestration.pipeline import (
    STAGE_NAMES,
    Budget,
    config_snapshot,
    finish_run,
    first_envelope,
    memory_sampled,
    run_stage,
)
from orchestration.segments import is_additive, pipeline_segments, run_segments
from tests.conftest import ENVELOPE_KEYS

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def at(ms: float) -> datetime:
    return T0 + timedelta(milliseconds=ms)


def history(*spans: tuple[float, float]) -> list[dict[str, object]]:
    """agentHistory entries: (start ms after T0, duration ms) per stage, in order."""
    return [{"agent": STAGE_NAMES[i], "sequence": i + 1, "timestamp": at(start).isoformat(),
             "duration": duration} for i, (start, duration) in enumerate(spans)]


def test_pipeline_segments_from_timestamps():
    """queue = created -> first start; each stage its duration; each hand-off = the previous
    stage's end -> this stage's start."""
    h = history((40, 10), (55, 5), (70, 20), (95, 3), (100, 2))
    out = pipeline_segments(created_at=T0, history=h)
    assert out == {
        "queue": 40.0,
        "stage:RecipeEngineer": 10.0, "handoff:ScalingCalculator": 5.0,
        "stage:ScalingCalculator": 5.0, "handoff:GraphBuilder": 10.0,
        "stage:GraphBuilder": 20.0, "handoff:QAValidator": 5.0,
        "stage:QAValidator": 3.0, "handoff:UIDesigner": 2.0, "stage:UIDesigner": 2.0}


def test_run_segments_add_up_to_end_to_end():
    """The write's segments follow the last stage; the additive ones sum to endToEnd, the
    write's parts to the write (the rest is write:other)."""
    h = history((40, 10), (55, 5), (70, 20), (95, 3), (100, 2))
    write = {"latencyMs": 30.0, "mappingMs": 6.0, "blobMs": 1.0, "databaseMs": 20.0}
    out = run_segments(created_at=T0, history=h, outbox_at=at(110), write_started_at=at(150),
                       write=write, persisted_at=at(185))
    assert out["outbox"] == 8.0 and out["writeQueue"] == 40.0 and out["write"] == 30.0
    assert (out["write:mapping"], out["write:blob"], out["write:database"],
            out["write:other"]) == (6.0, 1.0, 20.0, 3.0)
    assert out["ledger"] == 5.0 and out["endToEnd"] == 185.0
    assert sum(v for k, v in out.items() if is_additive(k)) + out["write"] == out["endToEnd"]


def test_run_segments_before_the_writer_reports_its_split():
    """Without mappingMs/blobMs/databaseMs the write is one segment; a failed run's missing
    stages have none; clock skew never makes a segment negative."""
    h = history((-5, 10))  # a stage "started" before the row was created: skewed clocks
    out = run_segments(created_at=T0, history=h, write={"latencyMs": 12.5})
    assert out == {"queue": 0.0, "stage:RecipeEngineer": 10.0, "write": 12.5}
    assert run_segments(created_at=None, history=[], write=None) == {}


def test_memory_sample_is_deterministic_per_run_and_near_its_rate():
    ids = [f"run-{i:05d}" for i in range(4000)]
    share = sum(memory_sampled(i, 0.1) for i in ids) / len(ids)
    assert 0.08 < share < 0.12
    assert [memory_sampled(i, 0.1) for i in ids[:50]] == [memory_sampled(i, 0.1) for i in ids[:50]]
    assert all(memory_sampled(i, 1.0) for i in ids[:50])
    assert not any(memory_sampled(i, 0.0) for i in ids[:50])


def test_budget_has_no_verdict_on_a_measure_not_taken():
    budget = Budget(duration_ms=10, memory_mb=1)
    assert budget.breaches(duration_ms=None, memory_mb=5) == ["memory"]
    assert budget.breaches(duration_ms=50, memory_mb=None) == ["duration"]
    assert budget.breaches(duration_ms=None, memory_mb=None) == []


def _stage(*, measure_memory: bool, strict: bool = False):  # type: ignore[no-untyped-def]
    agents = load_agents(DEFAULT_AGENTS)
    request = parse_input({"userRequest": "hummus", "targetBatchSize": 5, "targetUnit": "kg"})
    envelope = first_envelope(run_id="run-seg", request=request, now=T0,
                              ttl=timedelta(minutes=5), keys=ENVELOPE_KEYS, snapshot={})
    ticks = itertools.count()
    tiny = Budget(duration_ms=0.5, memory_mb=0.000001)  # both broken by any stage
    return run_stage(envelope, agents["RecipeEngineer"], now=T0, ttl=timedelta(minutes=5),
                     keys=ENVELOPE_KEYS,
                     timer=lambda: next(ticks) * 1.0, measure_memory=measure_memory,
                     budget=tiny, strict=strict)


def test_a_traced_stage_is_judged_on_memory_an_untraced_one_on_duration():
    """The meter inflates a traced stage's duration, so its duration is not judged (except under
    strict budgets, which trace every run); an untraced stage has no memoryMb."""
    traced = _stage(measure_memory=True).entry
    assert traced["memoryMb"] is not None and traced["budgetBreaches"] == ["memory"]
    untraced = _stage(measure_memory=False).entry
    assert "memoryMb" not in untraced and untraced["budgetBreaches"] == ["duration"]
    strict = _stage(measure_memory=True, strict=True)
    assert strict.entry["budgetBreaches"] == ["duration", "memory"] and not strict.succeeded


def _finished(created_at: datetime | None) -> RunResult:
    agents = load_agents(DEFAULT_AGENTS)
    request = parse_input({"userRequest": "bbq sauce", "targetBatchSize": 10,
                           "targetUnit": "kg"})
    envelope = first_envelope(run_id="run-seg", request=request, now=at(30),
                              ttl=timedelta(minutes=5), keys=ENVELOPE_KEYS,
                              snapshot=config_snapshot(request, agents={}),
                              created_at=created_at)
    ticks = itertools.count()
    state = None
    for i, name in enumerate(STAGE_NAMES):
        outcome = run_stage(envelope, agents[name], now=at(30 + 10 * i),
                            ttl=timedelta(minutes=5), keys=ENVELOPE_KEYS,
                            timer=lambda: next(ticks) * 0.002,
                            measure_memory=False)
        envelope, state = outcome.next_envelope, outcome.state  # type: ignore[assignment]
    assert state is not None
    return finish_run(state, now=at(90))


def test_the_finished_run_carries_its_pipeline_segments_and_the_run_node_keeps_them():
    """metadata.segments (queue, stages, hand-offs) when the run knows when it was created; the
    run node's codec stores them as JSON and gives them back."""
    run = _finished(T0)
    segments = run.metadata.segments
    assert segments is not None
    assert segments["queue"] == 30.0 and segments["stage:RecipeEngineer"] == 2.0
    assert segments["handoff:ScalingCalculator"] == 8.0
    normalized = normalize_run(run)
    metadata = normalized.to_wire()["metadata"]
    props = OrchestrationRunCodec.encode(metadata, started_at=normalized.metadata.timestamp,
                                         checksum="c" * 64, schema_version="v",
                                         contract_version="1")
    assert isinstance(props["segments"], str)
    stored = {k: v for k, v in props.items() if v is not None}
    assert OrchestrationRunCodec.decode(stored)["segments"] == segments
    assert _finished(None).metadata.segments is None  # a run started elsewhere: none
