"""The five agents together: every catalogue product passes QA, runs are deterministic, the
package is pure."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import UIConfig
from contracts.units import GRAMS_PER, MILLILITRES_PER
from orchestration.agents import AgentContext
from orchestration.agents.catalogue import PRODUCTS, Product
from orchestration.agents.limits import DEFAULT_BATCH_RANGES

MakeContext = Callable[..., AgentContext]
RunStages = Callable[[AgentContext], tuple[AgentContext, UIConfig]]
ROOT = Path(__file__).resolve().parents[4]


def _request(product: Product) -> str:
    return " ".join(product.keywords[0])


@pytest.mark.parametrize(("size", "unit"), [(5.0, "kg"), (2.0, "gal")])
@pytest.mark.parametrize("product", PRODUCTS, ids=lambda p: p.slug)
def test_every_product_passes_qa(make_context: MakeContext, run_stages: RunStages,
                                 product: Product, size: float, unit: str) -> None:
    """Every catalogue product, through all five agents, is valid with no warnings."""
    ctx, _ = run_stages(make_context(_request(product), size, unit))

    assert ctx.recipe.metadata["product"] == product.slug
    assert (ctx.validation.valid, ctx.validation.can_proceed) == (True, True)
    assert ctx.validation.warnings == []


def _plausible_batch(unit: str) -> st.SearchStrategy[tuple[float, str]]:
    low, high = DEFAULT_BATCH_RANGES[unit]
    high = min(high, 1_000_000_000)  # the contract's largest targetBatchSize
    return st.floats(min_value=low, max_value=high).map(lambda size: (size, unit))


@settings(max_examples=60, deadline=None)
@given(product=st.sampled_from(PRODUCTS),
       batch=st.sampled_from(sorted({*GRAMS_PER, *MILLILITRES_PER})).flatmap(_plausible_batch))
def test_any_plausible_batch_in_any_unit_passes_qa(make_context: MakeContext,
                                                   run_stages: RunStages, product: Product,
                                                   batch: tuple[float, str]) -> None:
    """Any product at any batch size within its unit's plausible range scales to a total QA
    accepts."""
    size, unit = batch
    ctx, _ = run_stages(make_context(_request(product), size, unit))

    assert ctx.validation.valid, ctx.validation.errors


def test_same_context_same_artifacts(make_context: MakeContext, run_stages: RunStages) -> None:
    """The same context run twice gives identical wire forms of all five artifacts."""
    ctx = make_context("hummus with extra lemon and no garlic", 2.0, "gal",
                       costs={"ing-tahini": 11.0})
    first, first_ui = run_stages(ctx)
    second, second_ui = run_stages(ctx)

    for artifact in ("recipe", "calculation", "graph", "validation"):
        assert getattr(first, artifact).to_wire() == getattr(second, artifact).to_wire()
    assert first_ui.to_wire() == second_ui.to_wire()


def test_context_needs_an_aware_now(make_context: MakeContext) -> None:
    """An AgentContext with a naive `now` is refused, naming the field."""
    ctx = make_context()

    with pytest.raises(ValueError, match="^now: must be timezone-aware"):
        AgentContext(ctx.run_id, ctx.request, datetime(2026, 1, 1))


def test_agents_import_no_django_neo4j_or_celery() -> None:
    """Importing orchestration.agents loads neither django, neo4j nor celery."""
    code = ("import sys, orchestration.agents; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'django', 'neo4j', 'celery'}))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, check=True)

    assert result.stdout.strip() == "[]"
