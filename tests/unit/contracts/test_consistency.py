"""RunResult's consistency rules (contracts/run.py, README "The data contract"): status,
artifacts, agentHistory, failedAgent and outputRef say one thing; each rule refused naming its
field, with the runs the pipeline and the generators make accepted."""

from __future__ import annotations

from typing import Any

import pytest

from contracts import (
    ALREADY_VALIDATED,
    STAGE_NAMES,
    ContractError,
    RunResult,
    output_ref,
    parse_run_result,
)
from tools.synthetic import make_run


def _wire(now, **kw: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return make_run(7, now=now, **kw).to_wire()


def _refused(wire: dict[str, Any]) -> dict[str, str]:
    """The first error of a run the contract refuses."""
    with pytest.raises(ContractError) as info:
        parse_run_result(wire)
    return info.value.errors[0]


def _entry(agent: str, sequence: int, status: str = "succeeded", **kw: Any) -> dict[str, Any]:
    return {"agent": agent, "sequence": sequence, "timestamp": "2026-11-26T11:00:00Z",
            "duration": 1.0, "status": status, **kw}


def _retried(wire: dict[str, Any], before: int, agent: str, attempts: int) -> None:
    """Insert `attempts` failed invocations of `agent` before the entry at `before`
    (renumbering sequences)."""
    history = wire["agentHistory"]
    failed = [_entry(agent, 0, "failed", error="timed out") for _ in range(attempts)]
    history[before:before] = failed
    for seq, entry in enumerate(history, start=1):
        entry["sequence"] = seq


# --- what is accepted ----------------------------------------------------------------------------


@pytest.mark.parametrize("failed_agent", [None, *STAGE_NAMES])
def test_the_generators_runs_are_consistent(now, failed_agent):
    """make_run's runs (succeeded, failed at each stage, long histories of retries) pass."""
    parse_run_result(_wire(now, failed_agent=failed_agent))
    parse_run_result(_wire(now, failed_agent=failed_agent, history=40))


def test_retried_stages_are_accepted(now):
    """Failed attempts before a stage's success are retries: the run still succeeded; a failed
    run may retry its failing stage before giving up."""
    wire = _wire(now)
    _retried(wire, 2, "GraphBuilder", 2)
    assert parse_run_result(wire).metadata.status == "succeeded"
    wire = _wire(now, failed_agent="ScalingCalculator")
    _retried(wire, 1, "ScalingCalculator", 3)
    assert parse_run_result(wire).metadata.failed_agent == "ScalingCalculator"


def test_skipped_stages_after_the_failed_one_are_accepted(now):
    """A failed run may record the stages it never reached as skipped, in stage order."""
    wire = _wire(now, failed_agent="GraphBuilder")
    wire["agentHistory"] += [_entry("QAValidator", 4, "skipped"),
                             _entry("UIDesigner", 5, "skipped")]
    assert [e.status for e in parse_run_result(wire).agent_history][-2:] == ["skipped"] * 2


def test_history_is_read_in_sequence_order(now):
    """agentHistory listed out of order is read by sequence, as normalization stores it."""
    wire = _wire(now)
    wire["agentHistory"].reverse()
    parse_run_result(wire)


# --- status against agentHistory ---------------------------------------------------------------


@pytest.mark.parametrize("status", ["succeeded", "failed"])
def test_a_run_without_agent_history_is_refused(now, status):
    """A succeeded or failed run with an empty agentHistory is refused at agentHistory."""
    wire = _wire(now, failed_agent=None if status == "succeeded" else "RecipeEngineer")
    wire["agentHistory"] = []
    error = _refused(wire)
    assert error["field"] == "agentHistory" and "is empty" in error["message"]


def test_succeeded_run_whose_last_invocation_failed_is_refused(now):
    """Status succeeded with UIDesigner's (last) invocation failed is refused at
    metadata.status."""
    wire = _wire(now)
    wire["agentHistory"][-1].update(status="failed", error="boom")
    error = _refused(wire)
    assert error["field"] == "metadata.status" and "failed" in error["message"]


def test_succeeded_run_missing_a_stage_in_its_history_is_refused(now):
    """Status succeeded with a history that stops before UIDesigner is refused at
    metadata.status, naming the stages that never ran."""
    wire = _wire(now)
    wire["agentHistory"].pop()
    error = _refused(wire)
    assert error["field"] == "metadata.status" and "UIDesigner never ran" in error["message"]


def test_failed_run_whose_every_stage_succeeded_is_refused(now):
    """Status failed with every invocation succeeded (and no failedAgent) is refused at
    metadata.status."""
    wire = _wire(now)
    wire["metadata"]["status"] = "failed"
    error = _refused(wire)
    assert error["field"] == "metadata.status" and "no invocation failed" in error["message"]


def test_failed_run_must_name_its_failed_agent(now):
    """A failed run without metadata.failedAgent is refused there, naming the agent."""
    wire = _wire(now, failed_agent="GraphBuilder")
    del wire["metadata"]["failedAgent"]
    error = _refused(wire)
    assert error["field"] == "metadata.failedAgent" and "GraphBuilder" in error["message"]


def test_failed_agent_must_be_the_agent_that_failed(now):
    """failedAgent naming another agent than the one whose invocation failed is refused."""
    wire = _wire(now, failed_agent="GraphBuilder")
    wire["metadata"]["failedAgent"] = "UIDesigner"
    error = _refused(wire)
    assert error["field"] == "metadata.failedAgent"
    assert "GraphBuilder's (agentHistory[2])" in error["message"]


# --- agentHistory follows the stage order --------------------------------------------------------


def test_stages_out_of_order_are_refused(now):
    """GraphBuilder before ScalingCalculator is refused at the first entry out of order."""
    wire = _wire(now)
    history = wire["agentHistory"]
    history[1]["agent"], history[2]["agent"] = history[2]["agent"], history[1]["agent"]
    error = _refused(wire)
    assert error["field"] == "agentHistory[1].agent"
    assert "ScalingCalculator comes next" in error["message"]


def test_a_history_that_does_not_start_with_the_first_stage_is_refused(now):
    """A history whose first invocation is not RecipeEngineer's is refused."""
    wire = _wire(now)
    del wire["agentHistory"][0]
    error = _refused(wire)
    assert error["field"] == "agentHistory[0].agent"
    assert "RecipeEngineer comes next" in error["message"]


def test_a_stage_after_a_failure_is_refused(now):
    """An invocation of the next stage after a failed one, without a successful retry, is
    refused at its agent."""
    wire = _wire(now, failed_agent="ScalingCalculator")
    wire["agentHistory"].append(_entry("GraphBuilder", 3))
    error = _refused(wire)
    assert error["field"] == "agentHistory[2].agent" and "failed last" in error["message"]


def test_a_stage_that_succeeded_does_not_run_again(now):
    """A second success of a stage (UIDesigner twice) is refused at the second one."""
    wire = _wire(now)
    wire["agentHistory"].append(_entry("UIDesigner", 6))
    error = _refused(wire)
    assert error["field"] == "agentHistory[5].agent" and "again" in error["message"]


def test_skipped_in_a_run_that_did_not_stop_is_refused(now):
    """A skipped invocation in a succeeded run (nothing failed before it) is refused at its
    status."""
    wire = _wire(now)
    wire["agentHistory"].append(_entry("UIDesigner", 6, "skipped"))
    error = _refused(wire)
    assert error["field"] == "agentHistory[5].status" and "skipped" in error["message"]


def test_skipped_stages_out_of_order_are_refused(now):
    """Skipped stages come after the failed one, in stage order: UIDesigner then QAValidator
    is refused at QAValidator's entry."""
    wire = _wire(now, failed_agent="GraphBuilder")
    wire["agentHistory"] += [_entry("UIDesigner", 4, "skipped"),
                             _entry("QAValidator", 5, "skipped")]
    error = _refused(wire)
    assert error["field"] == "agentHistory[4].agent" and "stage order" in error["message"]


def test_nothing_runs_after_a_skipped_stage(now):
    """An invocation that ran after a skipped one is refused at its status."""
    wire = _wire(now, failed_agent="GraphBuilder")
    wire["agentHistory"] += [_entry("QAValidator", 4, "skipped"),
                             _entry("GraphBuilder", 5, "failed")]
    error = _refused(wire)
    assert error["field"] == "agentHistory[4].status" and "skipped" in error["message"]


# --- artifacts against agentHistory --------------------------------------------------------------


def test_a_stage_that_succeeded_has_its_artifact(now):
    """A failed run missing the artifact of a stage that succeeded is refused naming the
    artifact (here: calculation, with ScalingCalculator's success in the history)."""
    wire = _wire(now, failed_agent="GraphBuilder")
    del wire["calculation"]
    error = _refused(wire)
    assert error["field"] == "calculation" and "ScalingCalculator succeeded" in error["message"]


def test_a_condensed_run_may_lack_what_retention_removed(now):
    """A condensed run lacks the artifacts metadata.condensed.removed names, with its history
    (and the outputRefs of what it lost) kept."""
    run = parse_run_result(_wire(now))
    wire = _wire(now)
    for entry, stored in zip(wire["agentHistory"], run.agent_history, strict=True):
        entry["outputRef"] = output_ref(getattr(run, _artifact(stored.agent)))
    for name in ("graph", "validation", "uiConfig"):
        del wire[name]
    wire["metadata"]["condensed"] = {"condensedAt": "2026-12-30T00:00:00Z",
                                     "removed": ["graph", "validation", "uiConfig"]}
    assert parse_run_result(wire).graph is None


def _artifact(agent: str) -> str:
    from contracts import ARTIFACT_OF
    return ARTIFACT_OF[agent]


# --- outputRef ---------------------------------------------------------------------------------


def test_output_refs_that_match_their_artifacts_are_accepted(now):
    """An outputRef equal to output_ref(artifact) passes, transient keys left out of the
    hash."""
    wire = _wire(now)
    wire["recipe"]["metadata"]["_trace"] = "transient"
    run = RunResult.model_validate(wire)
    for entry in wire["agentHistory"]:
        entry["outputRef"] = output_ref(getattr(run, _artifact(entry["agent"])))
    stored = {k: v for k, v in wire["recipe"]["metadata"].items() if not k.startswith("_")}
    assert output_ref(run.recipe) == output_ref({**wire["recipe"], "metadata": stored})
    parse_run_result(wire)


def test_a_wrong_output_ref_is_refused(now):
    """An outputRef that is not the sha256 of the artifact it claims is refused at that
    entry's outputRef, with the hash it should have been."""
    wire = _wire(now)
    run = RunResult.model_validate(wire)
    wire["agentHistory"][2]["outputRef"] = output_ref(run.recipe)  # the recipe's, not the graph's
    error = _refused(wire)
    assert error["field"] == "agentHistory[2].outputRef"
    assert output_ref(run.graph) in error["message"]


def test_an_output_ref_on_a_failed_invocation_is_refused(now):
    """A failed invocation produced nothing: an outputRef on it is refused."""
    wire = _wire(now, failed_agent="GraphBuilder")
    wire["agentHistory"][2]["outputRef"] = "sha256:" + "a" * 64
    error = _refused(wire)
    assert error["field"] == "agentHistory[2].outputRef" and "failed" in error["message"]


def test_an_output_ref_must_be_a_sha256(now):
    """An outputRef that is not "sha256:" and 64 hex digits is refused at its field."""
    wire = _wire(now)
    wire["agentHistory"][0]["outputRef"] = "s3://bucket/recipe.json"
    error = _refused(wire)
    assert error["field"] == "agentHistory[0].outputRef" and "sha256" in error["message"]


# --- a copy read back from storage ---------------------------------------------------------------


def test_a_stored_copy_reads_back_under_the_rules_of_its_day(now):
    """Under ALREADY_VALIDATED (a stored copy read back) the rules added since runs were first
    stored (history and status, outputRef, reserved runIds) are not applied again, so a run
    stored before them still reads back; the contract's older rules still hold."""
    wire = _wire(now)
    wire["metadata"]["id"] = "similar"
    wire["agentHistory"] = []
    with pytest.raises(ContractError):
        parse_run_result(wire)
    assert RunResult.model_validate(wire, context=ALREADY_VALIDATED).run_id == "similar"
    del wire["uiConfig"]
    with pytest.raises(ValueError, match="uiConfig is absent"):
        RunResult.model_validate(wire, context=ALREADY_VALIDATED)
