"""The inline pipeline's pure parts: the models one stage parsed reach the next stage (same
process), and the result is the same as parsing every artifact again; the finished run's wire
normalized once equals the RunResult's own normalization."""

from __future__ import annotations

import itertools
import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts import (
    ARTIFACT_OF,
    STAGE_NAMES,
    WIRE_NAME,
    EnvelopeKeys,
    InputContract,
    checksum,
    envelope_from_wire,
    envelope_to_wire,
    parse_input,
)
from graphstore.mapper import normalize_run, normalize_wire
from orchestration.agents import DEFAULT_AGENTS, load_agents
from orchestration.pipeline import (
    config_snapshot,
    finish_run,
    finish_wire,
    first_envelope,
    run_stage,
)
from tests.conftest import ENVELOPE_KEYS

T0 = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


def _run(*, reuse: bool, spy: list[str] | None = None) -> list[Any]:
    agents = load_agents(DEFAULT_AGENTS)
    request = parse_input({"userRequest": "basil pesto", "targetBatchSize": 3,
                           "targetUnit": "l"})
    envelope = first_envelope(run_id="run-inline", request=request, now=T0,
                              ttl=timedelta(minutes=5), keys=ENVELOPE_KEYS,
                              snapshot=config_snapshot(request, agents={}), created_at=T0)
    ticks = itertools.count()
    outcomes = []
    parsed: Any = {}
    for i, name in enumerate(STAGE_NAMES):
        outcome = run_stage(envelope, agents[name], now=T0 + timedelta(seconds=i),
                            ttl=timedelta(minutes=5), keys=ENVELOPE_KEYS,
                            timer=lambda: next(ticks) * 0.001,
                            measure_memory=False, parsed=parsed if reuse else None)
        outcomes.append(outcome)
        envelope, parsed = outcome.next_envelope, outcome.parsed  # type: ignore[assignment]
    return outcomes


def test_each_stage_hands_the_next_the_models_it_read_or_validated() -> None:
    """outcome.parsed holds the request and every artifact so far, each beside the very wire
    object the next envelope carries; the last stage (no next envelope) hands on nothing."""
    outcomes = _run(reuse=True)
    for outcome in outcomes[:-1]:
        artifacts = outcome.next_envelope.payload["artifacts"]
        assert set(outcome.parsed) == {"request", *artifacts}
        for name, (wire, model) in outcome.parsed.items():
            source = outcome.next_envelope.payload["request"] if name == "request" \
                else artifacts[name]
            assert wire is source and model.to_wire() == source
    assert outcomes[-1].parsed == {}


def test_reused_models_give_the_same_run_as_parsing_again(monkeypatch) -> None:
    """With the models handed on, the request is parsed once (not once per stage), and the run
    is identical to one whose stages parse everything again."""
    calls: list[Any] = []
    original = InputContract.model_validate.__func__  # type: ignore[attr-defined]

    def counting(cls: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(cls)
        return original(cls, *args, **kwargs)

    monkeypatch.setattr(InputContract, "model_validate", classmethod(counting))
    again = _run(reuse=False)
    parsed_again = len(calls)
    calls.clear()
    reused = _run(reuse=True)
    # parse_input reads the request once in both; then each stage again, or the first only
    assert parsed_again == 1 + len(STAGE_NAMES) and len(calls) == 1 + 1
    assert [o.state for o in reused] == [o.state for o in again]


def test_a_model_is_reused_only_for_its_own_wire_object() -> None:
    """A `parsed` entry whose wire object is not the one in the envelope (an equal copy, say)
    is ignored: the stage parses what it was given."""
    first = _run(reuse=True)[0]
    stale = {name: (dict(wire), model) for name, (wire, model) in first.parsed.items()}
    agents = load_agents(DEFAULT_AGENTS)
    outcome = run_stage(first.next_envelope, agents[STAGE_NAMES[1]], now=T0,
                        ttl=timedelta(minutes=5), keys=ENVELOPE_KEYS, timer=lambda: 0.0,
                        measure_memory=False,
                        parsed=stale)
    assert outcome.succeeded
    for name, (_wire, model) in outcome.parsed.items():
        if name in stale:
            assert model is not stale[name][1]


def test_a_stage_refuses_an_envelope_signed_with_a_key_it_does_not_hold() -> None:
    """A stage whose keys do not list the key that signed its envelope (retired too early, or
    another deployment's) does not run the agent: the stage fails, naming the key id."""
    first = _run(reuse=False)[0]
    agents = load_agents(DEFAULT_AGENTS)
    other = EnvelopeKeys((("other", secrets.token_bytes(32)),))
    outcome = run_stage(first.next_envelope, agents[STAGE_NAMES[1]], now=T0,
                        ttl=timedelta(minutes=5), keys=other, timer=lambda: 0.0,
                        measure_memory=False)
    assert not outcome.succeeded and outcome.next_envelope is None
    assert "signed with the envelope key 'test'" in outcome.entry["error"]
    assert "calculation" not in outcome.state["artifacts"]


def test_a_stage_refuses_a_payload_altered_with_its_checksum_recomputed() -> None:
    """An artifact changed between two stages, with a plain SHA-256 of the new payload put in
    the signature's place, fails the next stage before its agent runs."""
    first = _run(reuse=False)[0]
    wire = json.loads(json.dumps(envelope_to_wire(first.next_envelope)))
    wire["payload"]["artifacts"]["recipe"]["ingredients"][0]["percentage"] = 99.0
    wire["metadata"]["signature"] = checksum(wire["payload"])
    agents = load_agents(DEFAULT_AGENTS)
    outcome = run_stage(envelope_from_wire(wire), agents[STAGE_NAMES[1]], now=T0,
                        ttl=timedelta(minutes=5), keys=ENVELOPE_KEYS, timer=lambda: 0.0,
                        measure_memory=False)
    assert not outcome.succeeded and "fails its signature" in outcome.entry["error"]


@pytest.mark.parametrize("failed", [False, True])
def test_the_finished_wire_normalized_once_is_the_runs_normalization(failed: bool) -> None:
    """normalize_wire(finish_wire(state)) gives the RunResult and outbox dict that
    normalize_run(finish_run(state)) gives: same model, same wire, same checksum."""
    outcomes = _run(reuse=True)
    state = outcomes[-1].state
    if failed:  # the last stage failed: its entry says so and its artifact is absent
        last = state["agentHistory"][-1]
        artifacts = {k: v for k, v in state["artifacts"].items()
                     if k != WIRE_NAME[ARTIFACT_OF[last["agent"]]]}
        state = {**state, "artifacts": artifacts,
                 "agentHistory": [*state["agentHistory"][:-1],
                                  {k: v for k, v in last.items() if k != "outputRef"}
                                  | {"status": "failed", "error": "synthetic"}]}
    run, wire = normalize_wire(finish_wire(state, now=T0 + timedelta(seconds=9)))
    expected = normalize_run(finish_run(state, now=T0 + timedelta(seconds=9)))
    assert run == expected
    assert wire == expected.to_wire()
    assert checksum(wire) == checksum(expected.to_wire())
