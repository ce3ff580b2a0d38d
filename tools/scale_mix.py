"""The scale benchmark's mix of runs (issue 13): which run the fill writes as its i-th.

PURE: imports neither django, neo4j, celery nor the clock (the anchor is passed in).
Deterministic: the i-th run depends only on i and the anchor, so a fill can stop and resume and a
test can regenerate any run.

The mix, per 100 runs: every catalogue product in turn; 10 failed (at each later stage in turn);
2 large (499 graph elements: a long agentHistory); 5 replays of the run 7 places before (the
same product, started a little later); start times spread evenly over the last `SPAN_DAYS` days
(so that retention condenses the older share); owners spread over `OWNERS` users. Every
`FORMULATION_EVERY`-th run is held by an active formulation (its recipe and calculation).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from contracts import STAGE_NAMES, RunResult
from orchestration.agents.catalogue import INGREDIENTS, PRODUCTS
from tools.synthetic import make_run

SPAN_DAYS = 60
OWNERS = 10
FORMULATION_EVERY = 1000
PREFIX = "scale-"

_FAILING = STAGE_NAMES[1:]  # a run can fail at any stage after the first


@dataclass(frozen=True)
class Planned:
    index: int
    run_id: str
    owner: int  # 0 .. OWNERS-1
    started: datetime
    product: str
    failed_agent: str | None
    large: bool
    replay_of: str | None
    formulation: bool


def run_id(index: int) -> str:
    return f"{PREFIX}{index:07d}"


def started_at(index: int, anchor: datetime) -> datetime:
    """Spread over SPAN_DAYS before `anchor` by a fixed permutation of the index (a multiplicative
    hash), to the second, so every size covers the whole span."""
    fraction = ((index * 2654435761) % 2**32) / 2**32
    return anchor - timedelta(seconds=int(fraction * SPAN_DAYS * 86400))


def plan(index: int, anchor: datetime) -> Planned:
    replay = index % 20 in (7, 17) and index >= 7 and index % 100 < 50 or index % 100 == 57
    replay_of = run_id(index - 7) if replay else None
    base = index - 7 if replay else index
    started = started_at(base, anchor)
    if replay:
        started = min(anchor, started + timedelta(minutes=5))
    failed = index % 10 == 9
    return Planned(
        index=index, run_id=run_id(index), owner=index % OWNERS, started=started,
        product=PRODUCTS[base % len(PRODUCTS)].slug,
        failed_agent=_FAILING[(index // 10) % len(_FAILING)] if failed else None,
        large=index % 50 == 23, replay_of=replay_of,
        formulation=index % FORMULATION_EVERY == 3 and not failed)


def build(planned: Planned, anchor: datetime) -> RunResult:
    """The RunResult of a planned run (contract-valid)."""
    product = next(p for p in PRODUCTS if p.slug == planned.product)
    lines = [(line.ingredient_id, INGREDIENTS[line.ingredient_id].name, line.function,
              INGREDIENTS[line.ingredient_id].category) for line in product.formula]
    history = 243 - len(lines) if planned.large else None
    return make_run(planned.index, now=anchor, ingredients=len(lines),
                    failed_agent=planned.failed_agent, run_id=planned.run_id, history=history,
                    product=(f"recipe-{product.slug}", product.name, lines),
                    started=planned.started, replay_of=planned.replay_of)
