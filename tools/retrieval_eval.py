"""A labelled evaluation set for retrieval (issue 14), built by construction, and its metrics.

PURE: imports neither django, neo4j, celery nor the clock (`now` is passed in); deterministic for
a seed.

The set: for every catalogue product (orchestration/agents/catalogue.json), several *families*.
A family is a base formula: the product's formula with every percentage perturbed by up to
+-FAMILY_JITTER and, at random, one ingredient substituted by another catalogue ingredient of the
same category (the substitute keeps the line's function). Each family has FAMILY_SIZE member runs:
the base with small perturbations (+-MEMBER_JITTER), sometimes one more substitution, and its own
batch size (a scale from 1 to 200 kg) and cost. The first member of each family is the query; its
true neighbours are the other members of its family. The other families of the same product are
hard negatives (same words, other proportions); other products, unrelated. Request texts are
drawn from the product's keywords and a few neutral words, so the words alone know the product
but not the family.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from contracts import RunResult
from orchestration.agents.catalogue import INGREDIENTS, PRODUCTS, Product
from tools.synthetic import make_run

FAMILY_SIZE = 6
FAMILY_JITTER = 0.45
MEMBER_JITTER = 0.08
SUBSTITUTION_RATE = 0.5
MEMBER_SUBSTITUTION_RATE = 0.2
_FILLER = ("batch", "trial", "pilot", "for", "the", "plant", "new", "standard", "test",
           "version", "line", "request", "please", "make")

FormulaLine = tuple[str, str, float, str, str]  # id, name, percentage, function, category


@dataclass(frozen=True)
class EvalRun:
    run_id: str
    family: str
    product: str
    is_query: bool
    run: RunResult


def _renormalise(lines: list[FormulaLine]) -> list[FormulaLine]:
    total = sum(pct for _, _, pct, _, _ in lines)
    cents = [max(1, round(pct / total * 10_000)) for _, _, pct, _, _ in lines]
    cents[cents.index(max(cents))] += 10_000 - sum(cents)
    return [(i, n, c / 100, f, k) for (i, n, _, f, k), c in zip(lines, cents, strict=True)]


def _substitute(rng: random.Random, lines: list[FormulaLine]) -> list[FormulaLine]:
    """One line swapped for another catalogue ingredient of its category, when there is one."""
    used = {i for i, *_ in lines}
    options = [(n, line) for n, line in enumerate(lines)
               if any(c.category == line[4] and c.id not in used for c in INGREDIENTS.values())]
    if not options:
        return lines
    n, (_, _, pct, fn, cat) = rng.choice(options)
    sub = rng.choice(sorted((c for c in INGREDIENTS.values()
                             if c.category == cat and c.id not in used), key=lambda c: c.id))
    out = list(lines)
    out[n] = (sub.id, sub.name, pct, fn, cat)
    return out


def _jitter(rng: random.Random, lines: list[FormulaLine], amount: float) -> list[FormulaLine]:
    return _renormalise([(i, n, pct * (1 + rng.uniform(-amount, amount)), f, k)
                         for i, n, pct, f, k in lines])


def product_lines(product: Product) -> list[FormulaLine]:
    return [(ln.ingredient_id, INGREDIENTS[ln.ingredient_id].name, ln.percentage, ln.function,
             INGREDIENTS[ln.ingredient_id].category) for ln in product.formula]


def formulation_run(run_id: str, *, started: datetime, request: str, recipe: tuple[str, str],
                    lines: Sequence[FormulaLine], batch: float = 5.0,
                    cost_per_kg: float = 2.0, domain: str = "food") -> RunResult:
    """A contract-valid, succeeded, valid run with exactly this composition (function and
    category on every ingredient), batch and cost."""
    wire: dict[str, Any] = make_run(1, now=started, ingredients=1, run_id=run_id).to_wire()
    recipe_id, recipe_name = recipe
    wire["request"].update(userRequest=request, targetBatchSize=batch)
    wire["metadata"].update(id=run_id, timestamp=started.isoformat())
    wire["metadata"]["configSnapshot"]["targetBatchSize"] = batch
    wire["recipe"].update(id=recipe_id, name=recipe_name, totalPercentage=100.0,
                          metadata={"domain": domain, "source": "retrieval-eval"},
                          ingredients=[{"id": i, "name": n, "percentage": p, "function": f,
                                        "category": k} for i, n, p, f, k in lines])
    cost = {i: round(batch * p / 100 * cost_per_kg, 6) for i, _, p, _, _ in lines}
    total = round(sum(cost.values()), 6)
    wire["calculation"].update(
        recipeId=recipe_id, targetBatchSize=batch,
        scaledIngredients=[{"ingredientId": i, "name": n, "percentage": p,
                            "scaledQuantity": round(batch * p / 100, 6), "scaledUnit": "kg",
                            "cost": cost[i]} for i, n, p, _, _ in lines],
        costs={"currency": "USD", "total": total, "perUnit": round(total / batch, 6),
               "byIngredient": cost, "missing": []})
    wire["calculation"]["yield"]["quantity"] = batch
    graph = wire["graph"]
    graph["nodes"] = graph["nodes"][:1]
    graph["edges"], graph["cypherCommands"] = [], []
    graph["metadata"] = {"nodeCount": 1}
    return RunResult.model_validate(wire)


def build_eval_set(runs: int, *, now: datetime, seed: int = 14) -> list[EvalRun]:
    """About `runs` runs (a multiple of FAMILY_SIZE, at least one family per product)."""
    rng = random.Random(seed)
    families = max(len(PRODUCTS), runs // FAMILY_SIZE)
    out: list[EvalRun] = []
    for f in range(families):
        product = PRODUCTS[f % len(PRODUCTS)]
        base = _jitter(rng, product_lines(product), FAMILY_JITTER)
        if rng.random() < SUBSTITUTION_RATE:
            base = _substitute(rng, base)
        family = f"fam-{f:05d}"
        for m in range(FAMILY_SIZE):
            lines = _jitter(rng, base, MEMBER_JITTER)
            if m and rng.random() < MEMBER_SUBSTITUTION_RATE:
                lines = _substitute(rng, lines)
            keywords = [" ".join(k) for k in product.keywords]
            words = [rng.choice(keywords)] + rng.sample(_FILLER, k=2)
            rng.shuffle(words)
            batch = round(rng.choice([1.0, 2.5, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0])
                          * rng.uniform(0.9, 1.1), 2)
            run_id = f"eval-{family}-{m}"
            run = formulation_run(
                run_id, started=now - timedelta(minutes=len(out)), request=" ".join(words),
                recipe=(f"recipe-{product.slug}", product.name), lines=lines, batch=batch,
                cost_per_kg=round(rng.uniform(1.5, 4.0), 2), domain=product.domain)
            out.append(EvalRun(run_id, family, product.slug, m == 0, run))
    return out


def relevant(eval_set: Sequence[EvalRun]) -> dict[str, set[str]]:
    """query runId -> the runIds of its family (itself excluded)."""
    by_family: dict[str, list[str]] = {}
    for r in eval_set:
        by_family.setdefault(r.family, []).append(r.run_id)
    return {r.run_id: set(by_family[r.family]) - {r.run_id} for r in eval_set if r.is_query}


def recall_at(ranked: Sequence[str], truth: set[str], k: int) -> float:
    return len(set(ranked[:k]) & truth) / len(truth) if truth else 0.0


def reciprocal_rank(ranked: Sequence[str], truth: set[str]) -> float:
    return next((1.0 / n for n, run in enumerate(ranked, start=1) if run in truth), 0.0)


def text_query(item: EvalRun) -> str:
    """A chemist's words for the query run's formulation: a keyword of its product and its two
    largest ingredients with their rounded percentages ("mayonnaise with 74 % sunflower oil and
    9 % egg yolk")."""
    recipe = item.run.recipe
    assert recipe is not None
    top = sorted(recipe.ingredients, key=lambda i: -i.percentage)[:2]
    keyword = recipe.name.lower()
    return f"{keyword} with " + " and ".join(f"{round(i.percentage)} % {i.name.lower()}"
                                             for i in top)
