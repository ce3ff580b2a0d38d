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


issue_fields = st.from_regex(r"[a-z]{1,8}(\.[a-z]{1,8}(\[[0-9]{1,3}\])?){0,3}", fullmatch=True)


@st.composite
def validation_issues(draw: st.DrawFn) -> dict[str, str]:
    """A ValidationIssue with free text in its message (quotes and JSON look-alikes included)."""
    return {"agent": draw(st.sampled_from(AGENTS)), "field": draw(issue_fields),
            "message": draw(st.one_of(human_text, st.just('x "},{"agent":"Forged'))),
            "severity": draw(st.sampled_from(["critical", "error", "warning", "info"]))}


@st.composite
def rich_run_results(draw: st.DrawFn) -> RunResult:
    """A run from `run_results` with validation issues (errors and warnings) and, on some
    agentHistory entries, a stored transcript."""
    wire = draw(run_results()).to_wire()
    if "validation" in wire:
        errors = draw(st.lists(validation_issues(), max_size=6))
        wire["validation"]["errors"] = errors
        wire["validation"]["warnings"] = draw(st.lists(validation_issues(), max_size=4))
        wire["validation"]["criticalErrors"] = [i for i in errors if i["severity"] == "critical"]
    for entry in wire["agentHistory"]:
        if draw(st.booleans()):
            entry["transcript"] = {"prompt": draw(human_text), "response": draw(human_text),
                                   "redacted": draw(st.booleans())}
    return RunResult.model_validate(wire)
