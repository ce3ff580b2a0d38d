"""Synthetic, contract-valid RunResults for examples, tests and benchmarks.

PURE: imports neither django, neo4j, celery nor the clock (`now` is passed in). Deterministic for a
given seed, so a benchmark or a test can regenerate exactly the same runs.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from contracts import STAGE_NAMES, STAGE_TABLE, STAGES, RunResult

_INGREDIENTS = [
    ("ing-water", "Water", "solvent", "water"), ("ing-olive-oil", "Olive oil", "base", "oil"),
    ("ing-lemon-juice", "Lemon juice", "acidulant", "acid"),
    ("ing-white-wine-vinegar", "White wine vinegar", "acidulant", "acid"),
    ("ing-dijon-mustard", "Dijon mustard", "emulsifier", "condiment"),
    ("ing-honey", "Honey", "sweetener", "sugar"), ("ing-salt", "Salt", "seasoning", "mineral"),
    ("ing-black-pepper", "Black pepper", "seasoning", "spice"),
    ("ing-garlic", "Garlic", "flavour", "vegetable"),
    ("ing-xanthan-gum", "Xanthan gum", "thickener", "hydrocolloid"),
    ("ing-glycerin", "Glycerin", "humectant", "polyol"),
    ("ing-cetearyl-alcohol", "Cetearyl alcohol", "emulsifier", "fatty alcohol"),
    ("ing-shea-butter", "Shea butter", "emollient", "butter"),
    ("ing-phenoxyethanol", "Phenoxyethanol", "preservative", "preservative"),
    ("ing-citric-acid", "Citric acid", "pH adjuster", "acid"),
    ("ing-sodium-benzoate", "Sodium benzoate", "preservative", "preservative"),
    ("ing-sunflower-oil", "Sunflower oil", "base", "oil"),
    ("ing-egg-yolk", "Egg yolk", "emulsifier", "egg"), ("ing-sugar", "Sugar", "sweetener", "sugar"),
    ("ing-tomato-paste", "Tomato paste", "base", "vegetable"),
    ("ing-basil", "Basil", "flavour", "herb"), ("ing-pine-nuts", "Pine nuts", "texture", "nut"),
]


def _percentages(rng: random.Random, n: int) -> list[float]:
    """n positive percentages with two decimals that total exactly 100.00."""
    weights = [rng.uniform(1, 10) for _ in range(n)]
    total = sum(weights)
    cents = [max(1, int(w / total * 10_000)) for w in weights]
    cents[cents.index(max(cents))] += 10_000 - sum(cents)
    return [c / 100 for c in cents]


def make_run(seed: int, *, now: datetime, ingredients: int = 8, status: str = "succeeded",
             failed_agent: str | None = None, cypher_padding: int = 0,
             run_id: str | None = None, history: int | None = None,
             product: tuple[str, str, Sequence[tuple[str, str, str, str]]] | None = None,
             started: datetime | None = None, replay_of: str | None = None) -> RunResult:
    """A contract-valid run. `failed_agent` makes a failed run whose later artifacts are absent;
    `product` (recipe id, name, its (id, name, function, category) ingredients) replaces the
    random pick of `ingredients`; `started` replaces `now` minus up to an hour; `replay_of` makes
    the run a replay of that runId;
    `cypher_padding` grows cypherCommands by that many bytes (to exercise the blob store);
    `history` makes agentHistory that long: the invocations beyond one per stage that ran are
    failed attempts at the first stage, retried (a long history that is still consistent)."""
    rng = random.Random(seed)
    picked = rng.sample(_INGREDIENTS, k=ingredients) if ingredients <= len(_INGREDIENTS) else [
        (f"ing-synthetic-{i:03d}", f"Synthetic {i}", "filler", "synthetic")
        for i in range(ingredients)]
    if product is not None:
        picked = list(product[2])
    pcts = _percentages(rng, len(picked))
    run_id = run_id or f"run-synthetic-{seed:06d}"
    batch = rng.choice([1.0, 2.5, 5.0, 20.0, 100.0])
    offset = timedelta(seconds=rng.randint(0, 3600))
    started = started if started is not None else now - offset
    recipe_id = f"recipe-synthetic-{seed % 7}" if product is None else product[0]
    recipe_name = f"Synthetic formulation {seed % 7}" if product is None else product[1]
    recipe: dict[str, Any] = {
        "id": recipe_id, "name": recipe_name,
        "totalPercentage": 100.0,
        "metadata": {"domain": rng.choice(["food", "personal_care"]), "source": "synthetic"},
        "ingredients": [
            {"id": i, "name": name, "percentage": p, "function": fn, "category": cat}
            for (i, name, fn, cat), p in zip(picked, pcts, strict=True)
        ],
    }
    scaled = [{"ingredientId": i["id"], "name": i["name"], "percentage": i["percentage"],
               "scaledQuantity": round(i["percentage"] / 100 * batch, 6), "scaledUnit": "kg",
               "unitCost": 2.5, "cost": round(i["percentage"] / 100 * batch * 2.5, 6)}
              for i in recipe["ingredients"]]
    total_cost = round(sum(s["cost"] for s in scaled), 6)
    calculation = {
        "recipeId": recipe_id, "targetBatchSize": batch, "targetUnit": "kg",
        "scaledIngredients": scaled,
        "costs": {"currency": "USD", "total": total_cost, "perUnit": round(total_cost / batch, 6),
                  "byIngredient": {s["ingredientId"]: s["cost"] for s in scaled}},
        "yield": {"quantity": batch, "unit": "kg", "lossPercentage": 0.0},
        "timestamp": (started + timedelta(milliseconds=40)).isoformat(),
    }
    nodes = [{"id": "recipe", "label": recipe["name"], "type": "Recipe", "properties": {}}] + [
        {"id": i["id"], "label": i["name"], "type": "Ingredient",
         "properties": {"percentage": i["percentage"]}} for i in recipe["ingredients"]]
    commands: list[dict[str, Any]] = [
        {"statement": "MERGE (i:Ingredient {id: $id}) SET i.name = $name",
         "parameters": {"id": i["id"], "name": i["name"]}} for i in recipe["ingredients"]]
    if cypher_padding:
        commands.append({"statement": "RETURN $padding",
                         "parameters": {"padding": "x" * cypher_padding}})
    graph = {
        "nodes": nodes,
        "edges": [{"id": f"e-{i['id']}", "source": "recipe", "target": i["id"],
                   "type": "CONTAINS", "properties": {}} for i in recipe["ingredients"]],
        "cypherCommands": commands,
        "metadata": {"nodeCount": len(nodes)},
    }
    validation = {
        "valid": True, "errors": [], "warnings": [], "summary": "All checks passed.",
        "checks": {"percentage_total": {"passed": True}}, "canProceed": True,
        "criticalErrors": [], "timestamp": (started + timedelta(milliseconds=80)).isoformat(),
    }
    ui = {"layout": {"type": "grid", "columns": 12},
          "components": [{"type": "table", "title": "Ingredients", "data": {"rows": len(scaled)},
                          "position": {"row": 0, "column": 0}}],
          "theme": {"primary": "#2f6f4e"}}
    artifacts = {"recipe": recipe, "calculation": calculation, "graph": graph,
                 "validation": validation, "uiConfig": ui}
    stop = len(STAGES)
    if failed_agent is not None:
        status = "failed"
        stop = STAGE_NAMES.index(failed_agent)
    entries: list[dict[str, Any]] = []
    ran = min(stop + 1, len(STAGES))  # the stages that ran, the last one failed in a failed run
    retries = 0 if history is None else history - ran
    if retries < 0:
        raise ValueError(f"history={history} is shorter than the {ran} stages this run ran")
    # The extra invocations are failed attempts at the first stage, before the one that counts.
    plan = [(0, True)] * retries + [(stage, failed_agent is not None and stage == stop)
                                    for stage in range(ran)]
    for seq, (stage, failed_here) in enumerate(plan, start=1):
        agent = STAGES[stage][0]
        entries.append({
            "agent": agent, "sequence": seq,
            "timestamp": (started + timedelta(milliseconds=10 * seq)).isoformat(),
            "duration": round(rng.uniform(1, 50), 3),
            "status": "failed" if failed_here else "succeeded",
            **({"error": f"{agent} failed: synthetic failure"} if failed_here else {}),
        })
    run: dict[str, Any] = {
        "metadata": {"id": run_id, "status": status,
                     "totalDuration": round(sum(e["duration"] for e in entries), 3),
                     "timestamp": started.isoformat(),
                     "configSnapshot": {"targetBatchSize": batch, "targetUnit": "kg",
                                        "flags": {}, "agents": "reference"},
                     **({"failedAgent": failed_agent} if failed_agent else {}),
                     **({"replayOf": replay_of} if replay_of else {})},
        "request": {"userRequest": f"{recipe_name.lower()}, {batch} kg"
                    if product is not None else f"synthetic formulation {seed % 7}, {batch} kg",
                    "targetBatchSize": batch, "targetUnit": "kg",
                    "context": {"costMap": {}, "densityMap": {}}},
        "agentHistory": entries,
    }
    for stage_ in STAGE_TABLE[:stop]:
        run[stage_.wire] = artifacts[stage_.wire]
    return RunResult.model_validate(run)
