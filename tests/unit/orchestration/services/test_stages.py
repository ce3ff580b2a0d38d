"""The pure parts of orchestration.services.stages: what the ledger keeps of a stage."""

from __future__ import annotations

from orchestration.services.stages import stage_result, stages_merge


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


def test_stage_result_keeps_the_ledger_columns_of_an_invocation() -> None:
    """stage_result maps an agentHistory entry to status, sequence, duration, memory, error."""
    entry = {"agent": "A", "status": "succeeded", "sequence": 2, "duration": 7.5,
             "memoryMb": 1.25, "budgetBreaches": []}
    assert stage_result(entry) == {"status": "succeeded", "sequence": 2, "durationMs": 7.5,
                                   "memoryMb": 1.25, "error": ""}
