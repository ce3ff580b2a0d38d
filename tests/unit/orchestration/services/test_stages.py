"""The pure parts of orchestration.services.stages: what the ledger keeps of a stage, and when
the inline pipeline writes its progress."""

from __future__ import annotations

from orchestration.services import stages
from orchestration.services.persistence import stage_entry
from orchestration.services.stages import HEARTBEAT_EVERY_S, Progress, stages_merge
from tests.conftest import ENVELOPE_KEYS


def test_stages_merge_lays_info_over_the_stage() -> None:
    """stages_merge keeps what the stage had, overrides what `info` names, leaves others."""
    stages = {"A": {"status": "running", "startedAt": "t0"}, "B": {"status": "pending"}}
    merged = stages_merge(stages, "A", {"status": "succeeded", "durationMs": 3.0})
    assert merged == {"A": {"status": "succeeded", "startedAt": "t0", "durationMs": 3.0},
                      "B": {"status": "pending"}}
    assert stages["A"] == {"status": "running", "startedAt": "t0"}  # not mutated


def test_stages_merge_adds_an_unknown_stage() -> None:
    """A stage the ledger does not list yet is added."""
    assert stages_merge({}, "C", {"status": "failed"}) == {"C": {"status": "failed"}}


def test_stage_entry_keeps_the_ledger_columns_of_an_invocation() -> None:
    """stage_entry maps an agentHistory entry to status, sequence, duration, memory, error."""
    entry = {"agent": "A", "status": "succeeded", "sequence": 2, "duration": 7.5,
             "memoryMb": 1.25, "budgetBreaches": []}
    assert stage_entry(entry) == {"status": "succeeded", "sequence": 2, "durationMs": 7.5,
                                   "memoryMb": 1.25, "error": ""}


def test_progress_is_due_at_the_start_then_after_its_interval() -> None:
    """Progress (the inline pipeline's ledger writes): due before the first write, then only
    once the interval has passed since the last write; what was added in between is pending
    until the write, merged per stage."""
    now = [100.0]
    progress = Progress(interval_s=0.25, clock=lambda: now[0])
    assert progress.due()
    progress.written()
    progress.add({"A": {"status": "succeeded"}, "B": {"status": "running"}})
    now[0] += 0.1
    assert not progress.due()
    progress.add({"B": {"status": "succeeded"}, "C": {"status": "running"}})
    assert progress.pending == {"A": {"status": "succeeded"}, "B": {"status": "succeeded"},
                                "C": {"status": "running"}}
    now[0] += 0.2
    assert progress.due()
    progress.written()
    assert progress.pending == {} and not progress.due()


def test_progress_with_no_interval_is_always_due() -> None:
    """CAP01_PROGRESS_INTERVAL_MS=0: every hand-off is written (as one task per stage does)."""
    progress = Progress(interval_s=0.0, clock=lambda: 5.0)
    progress.written()
    assert progress.due()


def test_batch_limits_reach_the_agents_from_settings(settings) -> None:  # type: ignore[no-untyped-def]
    """config.limits() lays CAP01_BATCH_LIMITS over the default ranges, with the critical
    factor, and run_stage hands them to the agent in its context."""
    from datetime import UTC, datetime, timedelta

    from contracts import parse_input
    from orchestration import pipeline
    from orchestration.agents import AgentContext
    from orchestration.agents.limits import DEFAULT_BATCH_RANGES
    from orchestration.services import config

    settings.CAP01_BATCH_LIMITS = {"kg": [1, 10]}
    settings.CAP01_BATCH_CRITICAL_FACTOR = 2.0
    config.limits.cache_clear()
    try:
        limits = config.limits()
    finally:
        config.limits.cache_clear()
    assert limits.ranges["kg"] == (1.0, 10.0) and limits.critical_factor == 2.0
    assert limits.ranges["g"] == DEFAULT_BATCH_RANGES["g"]

    seen: list[AgentContext] = []

    class Spy:
        name = "RecipeEngineer"

        def run(self, ctx: AgentContext) -> object:
            seen.append(ctx)
            raise RuntimeError("seen")

    now = datetime(2026, 11, 26, tzinfo=UTC)
    request = parse_input({"userRequest": "hummus", "targetBatchSize": 5, "targetUnit": "kg"})
    envelope = pipeline.first_envelope(run_id="run-limits", request=request, now=now,
                                       ttl=timedelta(minutes=5), snapshot={},
                                       keys=ENVELOPE_KEYS)
    pipeline.run_stage(envelope, Spy(), now=now, ttl=timedelta(minutes=5),  # type: ignore[arg-type]
                       keys=ENVELOPE_KEYS, timer=lambda: 0.0, measure_memory=False,
                       limits=limits)
    assert seen[0].limits is limits


def test_heartbeat_at_a_runs_first_stage_then_at_most_every_interval(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A process renews a run's lease at the run's first stage it runs, then not again until
    HEARTBEAT_EVERY_S has passed; another run gets its own at once."""
    monkeypatch.setattr(stages, "_last_heartbeat", ["", float("-inf")])
    t = 100.0
    assert stages._heartbeat_due("run-a", t)
    assert not stages._heartbeat_due("run-a", t + 0.01)
    assert not stages._heartbeat_due("run-a", t + HEARTBEAT_EVERY_S - 0.01)
    assert stages._heartbeat_due("run-a", t + HEARTBEAT_EVERY_S)
    assert stages._heartbeat_due("run-b", t + HEARTBEAT_EVERY_S + 0.01)
    assert stages._heartbeat_due("run-a", t + HEARTBEAT_EVERY_S + 0.02)
