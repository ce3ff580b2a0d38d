"""UIDesigner: the layout of the run page, as data (no markup, no large assets).

A 12-column grid: the recipe's ingredients and the scaled quantities side by side (each with the
ingredient ids, which people need for the cost and density maps), then the costs and yield, the
validation summary and the agent timeline, whose data the run page fills from agentHistory. The
accent colour follows the product's domain.

PURE: imports neither django, neo4j, celery nor the clock.
"""

from __future__ import annotations

from contracts import Position, UIComponent, UIConfig

from .base import AgentContext, require

ACCENT = {"food": "#2e7d32", "personal_care": "#1d5fa8"}
NEUTRAL_ACCENT = "#344054"


class UIDesigner:
    name = "UIDesigner"

    def run(self, ctx: AgentContext) -> UIConfig:
        recipe = require(ctx.recipe, "recipe", self.name)
        calculation = require(ctx.calculation, "calculation", self.name)
        validation = require(ctx.validation, "validation", self.name)
        components = [
            UIComponent(
                type="table", title=f"Ingredients of {recipe.name}"[:200],
                data=[i.to_wire() for i in recipe.ingredients],
                position=Position(row=0, column=0, width=6),
                config={"columns": ["name", "id", "percentage", "function", "category"],
                        "units": {"percentage": "%"}},
            ),
            UIComponent(
                type="table",
                title=f"Scaled to {calculation.target_batch_size:,.10g} {calculation.target_unit}",
                data=[s.to_wire() for s in calculation.scaled_ingredients],
                position=Position(row=0, column=6, width=6),
                config={"columns": ["name", "ingredientId", "scaledQuantity", "scaledUnit",
                                    "cost"]},
            ),
            UIComponent(
                type="summary", title="Costs and yield",
                data={"costs": calculation.costs.to_wire(), "yield": calculation.yield_.to_wire()},
                position=Position(row=1, column=0, width=4),
                config={"currency": calculation.costs.currency},
            ),
            UIComponent(
                type="summary", title="Validation",
                data={"valid": validation.valid, "canProceed": validation.can_proceed,
                      "summary": validation.summary, "errors": len(validation.errors),
                      "warnings": len(validation.warnings),
                      "checks": {name: c.passed for name, c in validation.checks.items()}},
                position=Position(row=1, column=4, width=4),
            ),
            UIComponent(
                type="timeline", title="Agent timeline", data=[],
                position=Position(row=1, column=8, width=4),
                config={"source": "agentHistory"},
            ),
        ]
        domain = recipe.metadata.get("domain")
        accent = ACCENT.get(domain, NEUTRAL_ACCENT) if isinstance(domain, str) else NEUTRAL_ACCENT
        return UIConfig(
            layout={"type": "grid", "columns": 12, "gap": 16},
            components=components,
            theme={"accent": accent, "background": "#ffffff", "text": "#1f2933",
                   "fontFamily": "system-ui, sans-serif",
                   "severity": {"critical": "#b42318", "error": "#d92d20",
                                "warning": "#b54708", "ok": "#067647"}},
        )
