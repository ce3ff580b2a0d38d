"""Unit tests for the UIDesigner: the grid, its five components and a small payload."""

from __future__ import annotations

from collections.abc import Callable

from contracts import UIConfig, canonical_json
from orchestration.agents import AgentContext

MakeContext = Callable[..., AgentContext]
RunStages = Callable[[AgentContext], tuple[AgentContext, UIConfig]]


def test_components_fill_a_twelve_column_grid(make_context: MakeContext,
                                              run_stages: RunStages) -> None:
    """Two tables, two summaries and a timeline, in that order, fit the 12-column grid."""
    ctx, ui = run_stages(make_context("hummus", 2.0, "kg"))

    assert ui.layout["type"] == "grid" and ui.layout["columns"] == 12
    assert [(c.type, c.title) for c in ui.components] == [
        ("table", "Ingredients of Hummus"), ("table", "Scaled to 2 kg"),
        ("summary", "Costs and yield"), ("summary", "Validation"), ("timeline", "Agent timeline")]
    assert all(c.position.column + c.position.width <= 12 for c in ui.components)
    ingredients, quantities, costs, validation, timeline = ui.components
    assert [row["id"] for row in ingredients.data] == [i.id for i in ctx.recipe.ingredients]
    assert len(quantities.data) == len(ctx.calculation.scaled_ingredients)
    assert costs.data["costs"]["total"] == ctx.calculation.costs.total
    assert validation.data["summary"] == ctx.validation.summary
    assert (timeline.data, timeline.config) == ([], {"source": "agentHistory"})


def test_ingredient_tables_list_the_ids(make_context: MakeContext, run_stages: RunStages) -> None:
    """Both ingredient tables show the ingredient id after the name, the column people need for
    the cost and density maps."""
    _, ui = run_stages(make_context("hummus", 2.0, "kg"))
    ingredients, quantities = ui.components[:2]

    assert ingredients.config["columns"][:2] == ["name", "id"]
    assert quantities.config["columns"][:2] == ["name", "ingredientId"]


def test_theme_follows_domain_and_payload_stays_small(make_context: MakeContext,
                                                     run_stages: RunStages) -> None:
    """Food and personal care get different accents; a 20-ingredient page is under 20 kB."""
    _, food = run_stages(make_context("bbq sauce", 5.0, "kg"))
    _, care = run_stages(make_context("lip balm", 5.0, "kg"))

    assert food.theme["accent"] != care.theme["accent"]
    assert len(canonical_json(food).encode()) < 20_000
