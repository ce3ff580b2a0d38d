"""manage.py generate_examples: write examples/runs.jsonl from the reference agents.

Deterministic (a fixed clock and timer), so the committed file only changes when the agents or
the contract do. Three runs: a succeeded lemon vinaigrette, a run that fails at RecipeEngineer
(nothing in the catalogue matches), and a shampoo run whose cypherCommands are padded past the
32 KB blob threshold.
"""

import secrets
from argparse import ArgumentParser
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from contracts import STAGE_NAMES, EnvelopeKeys, RunResult, parse_input
from orchestration.agents import DEFAULT_AGENTS, load_agents
from orchestration.pipeline import (
    config_snapshot,
    finish_run,
    first_envelope,
    run_stage,
)

EXAMPLES = [
    ("run-example-lemon-vinaigrette",
     {"userRequest": "lemon vinaigrette, 5 kg", "targetBatchSize": 5, "targetUnit": "kg",
      "context": {"costMap": {"ing-olive-oil": 9.5}}}),
    ("run-example-not-understood",
     {"userRequest": "unicorn tears, 1 kg", "targetBatchSize": 1, "targetUnit": "kg"}),
    ("run-example-shampoo-large-graph",
     {"userRequest": "shampoo for dry hair, 2 gal", "targetBatchSize": 2, "targetUnit": "gal"}),
]
START = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def build(run_id: str, request: dict, start: datetime) -> RunResult:
    agents = load_agents(DEFAULT_AGENTS)
    ticks = count()
    parsed = parse_input(request)
    ttl = timedelta(minutes=5)
    # The envelopes never leave this process and are not part of the output: a key of its own.
    keys = EnvelopeKeys((("examples", secrets.token_bytes(32)),))
    envelope = first_envelope(run_id=run_id, request=parsed, now=start, ttl=ttl,
                              snapshot=config_snapshot(parsed, agents=DEFAULT_AGENTS), keys=keys)
    outcome = None
    for i, name in enumerate(STAGE_NAMES):
        now = start + timedelta(milliseconds=25 * (i + 1))
        outcome = run_stage(envelope, agents[name], now=now, ttl=ttl, keys=keys,
                            timer=lambda: next(ticks) * 0.0125, measure_memory=False)
        if outcome.next_envelope is None:
            break
        envelope = outcome.next_envelope
    assert outcome is not None
    return finish_run(outcome.state, now=start + timedelta(milliseconds=160))


class Command(BaseCommand):
    help = "Regenerate examples/runs.jsonl with the reference agents (deterministic)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--out", default=str(Path(settings.BASE_DIR) / "examples" /
                                                 "runs.jsonl"))

    def handle(self, *args: object, out: str, **options: object) -> None:
        lines = []
        for i, (run_id, request) in enumerate(EXAMPLES):
            run = build(run_id, request, START + timedelta(minutes=i))
            if run_id.endswith("large-graph") and run.graph is not None:
                wire = run.to_wire()
                wire["graph"]["cypherCommands"].append(
                    {"statement": "RETURN $note", "parameters": {"note": "padding " * 5000}})
                run = RunResult.model_validate(wire)
            lines.append(run.model_dump_json(by_alias=True, exclude_none=True))
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.stdout.write(f"Wrote {len(lines)} example runs to {out}")
