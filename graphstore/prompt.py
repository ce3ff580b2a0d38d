"""A run and its nearest neighbours as a compact, cited context for an LLM, within a size budget.

PURE: imports neither django, neo4j, celery nor the clock.

Every fact is one line that ends with the node it came from, in brackets: `[OrchestrationRun:
r-1]`, `[RecipeVersion:<checksum>]`, `[Ingredient:ing-olive-oil]`, `[CalculationResult:r-1]`,
`[ValidationReport:r-1]` (label and merge key, graphstore/schema.py), so a model's answer can
cite them and a reader can find each in the graph. Facts are added in priority order (the run,
its request, recipe, ingredients, calculation, validation, then each neighbour with its reasons)
while the text stays within `max_chars`; what does not fit is counted, never cut mid-line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MIN_CHARS, MAX_CHARS, DEFAULT_CHARS = 200, 100_000, 4_000


@dataclass(frozen=True)
class Fact:
    ref: str  # "Label:key"
    text: str

    @property
    def line(self) -> str:
        return f"{self.text} [{self.ref}]"


@dataclass(frozen=True)
class PackedContext:
    text: str
    facts: tuple[Fact, ...]
    omitted: int  # facts that did not fit
    max_chars: int

    @property
    def truncated(self) -> bool:
        return self.omitted > 0


def pack(facts: Sequence[Fact], max_chars: int) -> PackedContext:
    """The facts in order, one per line, while the text (newlines included) fits `max_chars`;
    a fact that does not fit is skipped (a shorter later one may still fit)."""
    kept: list[Fact] = []
    size = 0
    for fact in facts:
        extra = len(fact.line) + (1 if kept else 0)
        if size + extra <= max_chars:
            kept.append(fact)
            size += extra
    return PackedContext("\n".join(f.line for f in kept), tuple(kept), len(facts) - len(kept),
                         max_chars)


def _num(value: Any) -> str:
    return f"{value:g}" if isinstance(value, int | float) else str(value)


def run_facts(context: Mapping[str, Any], *, recipe_key: str | None) -> list[Fact]:
    """The facts of one run's context (graphstore.retrieval.run_context's dict)."""
    run_id = context["runId"]
    facts = [Fact(f"OrchestrationRun:{run_id}",
                  f"Run {run_id}: {context['status']}, started {context['startedAt']}")]
    request, recipe = context.get("request"), context.get("recipe")
    calc, val = context.get("calculation"), context.get("validation")
    if request:
        facts.append(Fact(f"OrchestrationRun:{run_id}",
                          f"Request: \"{request['text']}\", batch "
                          f"{_num(request['targetBatchSize'])} {request['targetUnit']}"))
    if recipe:
        ref = f"RecipeVersion:{recipe_key or recipe['id']}"
        facts.append(Fact(ref, f"Recipe {recipe['name']} ({recipe['id']}), "
                               f"{len(recipe['ingredients'])} ingredients"))
        for ing in recipe["ingredients"]:
            role = ", ".join(x for x in (ing.get("function"), ing.get("category")) if x)
            facts.append(Fact(f"Ingredient:{ing['id']}",
                              f"{ing['name']} {_num(ing['percentage'])} %"
                              + (f" ({role})" if role else "")))
    if calc:
        costs = calc.get("costs") or {}
        facts.append(Fact(f"CalculationResult:{run_id}",
                          f"Batch {_num(calc['batch'])} {calc['unit']}, total cost "
                          f"{_num(costs.get('total', '?'))} {costs.get('currency', '')}".rstrip()))
    if val:
        facts.append(Fact(f"ValidationReport:{run_id}",
                          f"Validation: {'valid' if val['valid'] else 'invalid'}, "
                          f"{val['errorCount']} errors, {val['warningCount']} warnings: "
                          f"{val['summary']}"))
    return facts


def neighbour_facts(hit_id: str, *, recipe: str | None, summary: str,
                    shared: Sequence[tuple[str, str, float, float]], batch: Any, unit: Any,
                    cost: Any, currency: Any) -> list[Fact]:
    """The facts of one neighbour: what it is and why it is near (shared ingredients with the
    query's percentage and its own)."""
    facts = [Fact(f"OrchestrationRun:{hit_id}",
                  f"Similar run {hit_id}: {recipe or 'no recipe'}, batch {_num(batch)} {unit}, "
                  f"cost {_num(cost)} {currency}; {summary}")]
    facts += [Fact(f"Ingredient:{iid}",
                   f"  {hit_id} shares {name}: {_num(q)} % here, {_num(h)} % there")
              for iid, name, q, h in shared]
    return facts
