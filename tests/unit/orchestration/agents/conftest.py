"""Fixtures for the agent tests: a context builder and the five reference stages run in order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from contracts import InputContract, RequestContext, UIConfig
from orchestration.agents import (
    AgentContext,
    GraphBuilder,
    QAValidator,
    RecipeEngineer,
    ScalingCalculator,
    UIDesigner,
)

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
STAGES_BEFORE_UI = (("recipe", RecipeEngineer()), ("calculation", ScalingCalculator()),
                    ("graph", GraphBuilder()), ("validation", QAValidator()))


def _context(text: str = "lemon vinaigrette, 5 kg", size: float = 5.0, unit: str = "kg", *,
             costs: dict[str, float] | None = None, densities: dict[str, float] | None = None,
             **artifacts: Any) -> AgentContext:
    request = InputContract(
        user_request=text, target_batch_size=size, target_unit=unit,  # type: ignore[arg-type]
        context=RequestContext(cost_map=costs or {}, density_map=densities or {}))
    return AgentContext(run_id="run-test-1", request=request, now=NOW, **artifacts)


def _run_stages(ctx: AgentContext) -> tuple[AgentContext, UIConfig]:
    """Run every stage the context holds no artifact for yet, then the UIDesigner."""
    for artifact, agent in STAGES_BEFORE_UI:
        if getattr(ctx, artifact) is None:
            ctx = replace(ctx, **{artifact: agent.run(ctx)})
    return ctx, UIDesigner().run(ctx)


@pytest.fixture(scope="session")
def make_context() -> Callable[..., AgentContext]:
    """make_context(text, size, unit, costs=..., densities=..., recipe=...) -> AgentContext."""
    return _context


@pytest.fixture(scope="session")
def run_stages() -> Callable[[AgentContext], tuple[AgentContext, UIConfig]]:
    """run_stages(ctx) -> (ctx with recipe, calculation, graph, validation; uiConfig)."""
    return _run_stages
