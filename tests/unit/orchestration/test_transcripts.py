"""Privacy (design section 10): raw agent prompts and responses are kept only by opt-in,
and then redacted."""

from __future__ import annotations

import time
from datetime import timedelta

from django.conf import settings

from contracts import parse_input
from graphstore.mapper import map_run_to_graph
from orchestration.agents import DEFAULT_AGENTS, AgentOutput, RecipeEngineer, load_agents
from orchestration.pipeline import (
    STAGE_NAMES,
    TranscriptPolicy,
    config_snapshot,
    finish_run,
    first_envelope,
    run_stage,
)
from tests.conftest import ENVELOPE_KEYS

SECRET_PROMPT = "Customer jane.doe@example.com asks; use key sk-live_0123456789abcdef"
SECRET_RESPONSE = "Call +44 20 7946 0958 or send Bearer eyJhbGciOi.secret to confirm."


class ChattyRecipeEngineer(RecipeEngineer):
    """A RecipeEngineer that reports the prompt and response an LLM-backed agent would have."""

    def run(self, ctx):  # type: ignore[no-untyped-def]
        return AgentOutput(super().run(ctx), prompt=SECRET_PROMPT, response=SECRET_RESPONSE)


def _run(policy: TranscriptPolicy | None, now):  # type: ignore[no-untyped-def]
    """All five stages, with the chatty RecipeEngineer first: (first outcome, finished run)."""
    agents = {**load_agents(DEFAULT_AGENTS), "RecipeEngineer": ChattyRecipeEngineer()}
    request = parse_input({"userRequest": "lemon vinaigrette", "targetBatchSize": 5,
                           "targetUnit": "kg"})
    snapshot = config_snapshot(request, agents={})
    envelope = first_envelope(run_id="run-privacy", request=request, now=now,
                              ttl=timedelta(minutes=5), keys=ENVELOPE_KEYS, snapshot=snapshot)
    outcomes = []
    for name in STAGE_NAMES:
        outcomes.append(run_stage(envelope, agents[name], now=now, ttl=timedelta(minutes=5),
                                  keys=ENVELOPE_KEYS,
                                  timer=time.perf_counter, transcripts=policy))
        envelope = outcomes[-1].next_envelope
    return outcomes[0], finish_run(outcomes[-1].state, now=now)


def test_transcripts_are_not_kept_by_default(now):
    """With the default policy (settings.CAP01_STORE_TRANSCRIPTS off) nothing of the prompt or
    response reaches the history entry, the run or the graph write set."""
    assert settings.CAP01_STORE_TRANSCRIPTS is False
    outcome, run = _run(TranscriptPolicy(store=settings.CAP01_STORE_TRANSCRIPTS), now)
    assert outcome.succeeded and "transcript" not in outcome.entry
    text = run.model_dump_json()
    assert "jane.doe" not in text and "sk-live" not in text
    assert "jane.doe" not in repr(map_run_to_graph(run))


def test_opt_in_keeps_transcripts_redacted(now):
    """Opted in, the prompt and response are stored with every configured pattern redacted,
    and they reach the AgentInvocation node's properties."""
    policy = TranscriptPolicy(store=True, patterns=tuple(settings.CAP01_REDACT_PATTERNS))
    outcome, run = _run(policy, now)
    transcript = outcome.entry["transcript"]
    assert transcript["redacted"] is True
    for secret in ("jane.doe@example.com", "sk-live_0123456789abcdef", "7946 0958",
                   "eyJhbGciOi.secret"):
        assert secret not in transcript["prompt"] + transcript["response"]
    assert transcript["prompt"].startswith("Customer [REDACTED] asks")
    assert run.agent_history[0].transcript is not None
    node = map_run_to_graph(run).nodes_of("AgentInvocation")[0]
    assert node.on_create["transcriptPrompt"] == transcript["prompt"]
    assert node.on_create["transcriptRedacted"] is True
