"""Hypothesis strategies for the v1 contract, in one place."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import strategies as st

from contracts import STAGES, RunResult
from tools.synthetic import make_run

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
AGENTS = [agent for agent, _ in STAGES]

# Text people type: any letters, accents, CJK, emoji; no control characters or surrogates.
human_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=80
).filter(lambda s: s.strip() == s and s.strip() != "")


@st.composite
def run_results(draw: st.DrawFn) -> RunResult:
    """A contract-valid run: 1 to 20 ingredients, succeeded or failed at any stage, with free
    text in the request, the recipe name and an ingredient name."""
    run = make_run(
        draw(st.integers(0, 10**6)),
        now=NOW,
        ingredients=draw(st.integers(1, 20)),
        failed_agent=draw(st.sampled_from([None, *AGENTS])),
        run_id=f"run-h-{draw(st.integers(0, 10**9))}",
    )
    wire = run.to_wire()
    wire["request"]["userRequest"] = draw(human_text)
    if "recipe" in wire:
        wire["recipe"]["name"] = draw(human_text)
        wire["recipe"]["ingredients"][0]["name"] = draw(human_text)
        wire["recipe"]["metadata"]["note"] = draw(human_text)
    return RunResult.model_validate(wire)
