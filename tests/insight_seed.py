"""Seed runs with chosen values (start time, request text, recipe, ingredients, agent durations
and outcomes, cost, validation issues, budget breaches) for the analytics and retrieval tests.

`seeded_run` starts from `tools.synthetic.make_run` (a contract-valid run) and overrides
the parts a test states, so that the answers of the analytics are known exactly; the result is
validated by the contract like any other run and written by the real writer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from contracts import STAGES, RunResult
from tools.synthetic import make_run

AGENTS = tuple(agent for agent, _ in STAGES)
WIRE_ARTIFACTS = ("recipe", "calculation", "graph", "validation", "uiConfig")

# An issue: (agent, field, severity) or (agent, field, severity, message).
Issue = tuple[str, ...]


def seeded_run(run_id: str, *, started: datetime, request: str,
               recipe: tuple[str, str], ingredients: Sequence[tuple[str, str, float]],
               durations: Sequence[float] = (10, 10, 10, 10, 10),
               failed_agent: str | None = None, total_cost: float = 10.0,
               batch: float = 5.0, errors: Sequence[Issue] = (),
               valid: bool | None = None, breaches: Sequence[str] = ()) -> RunResult:
    """A run as stated. `durations` are the agents' durations in stage order (ms), as many as
    the run ran (a run failed at its k-th stage has k); `failed_agent` fails that stage and drops
    its artifact and the later ones; `breaches` are run budget breaches such as
    "QAValidator.duration" or "run.memory" (the stage entries get their kind too); `valid`
    defaults to "no error"."""
    wire: dict[str, Any] = make_run(1, now=started, ingredients=1, run_id=run_id).to_wire()
    recipe_id, recipe_name = recipe
    stop = AGENTS.index(failed_agent) if failed_agent else len(AGENTS)
    ran = stop + 1 if failed_agent else len(AGENTS)
    if len(durations) != ran:
        raise ValueError(f"{run_id}: {ran} stages ran, {len(durations)} durations given")

    wire["request"]["userRequest"] = request
    wire["request"]["targetBatchSize"] = batch
    wire["recipe"].update(id=recipe_id, name=recipe_name, totalPercentage=100.0, ingredients=[
        {"id": i, "name": name, "percentage": pct} for i, name, pct in ingredients])
    share = {i: round(total_cost * pct / 100, 6) for i, _, pct in ingredients}
    wire["calculation"].update(
        recipeId=recipe_id, targetBatchSize=batch,
        scaledIngredients=[{"ingredientId": i, "name": name, "percentage": pct,
                            "scaledQuantity": round(batch * pct / 100, 6), "scaledUnit": "kg",
                            "cost": share[i]} for i, name, pct in ingredients],
        costs={"currency": "USD", "total": total_cost, "perUnit": round(total_cost / batch, 6),
               "byIngredient": share, "missing": []},
        timestamp=(started + timedelta(milliseconds=40)).isoformat())
    wire["calculation"]["yield"]["quantity"] = batch
    issues = [{"agent": e[0], "field": e[1], "severity": e[2],
               "message": e[3] if len(e) > 3 else f"{e[1]} is wrong"} for e in errors]
    is_valid = not issues if valid is None else valid
    wire["validation"].update(
        valid=is_valid, errors=issues, canProceed=is_valid,
        criticalErrors=[i for i in issues if i["severity"] == "critical"],
        summary="All checks passed." if is_valid else f"{len(issues)} error(s).",
        timestamp=(started + timedelta(milliseconds=80)).isoformat())
    for name in WIRE_ARTIFACTS[stop:]:
        wire.pop(name, None)

    kinds = {agent: [b.split(".")[1] for b in breaches if b.split(".")[0] == agent]
             for agent in AGENTS}
    wire["agentHistory"] = [
        {"agent": agent, "sequence": seq, "duration": float(duration),
         "timestamp": (started + timedelta(milliseconds=10 * seq)).isoformat(),
         "status": "failed" if agent == failed_agent else "succeeded",
         "budgetBreaches": kinds[agent],
         **({"error": f"{agent} failed (seeded)"} if agent == failed_agent else {})}
        for seq, (agent, duration) in enumerate(zip(AGENTS, durations, strict=False), start=1)]
    wire["metadata"].update(
        id=run_id, timestamp=started.isoformat(), status="failed" if failed_agent else "succeeded",
        totalDuration=float(sum(durations)), budgetBreaches=list(breaches))
    if failed_agent:
        wire["metadata"]["failedAgent"] = failed_agent
    return RunResult.model_validate(wire)
