"""The five agent artifacts of the v1 contract (design document section 3).

recipe (RecipeEngineer), calculation (ScalingCalculator), graph (GraphBuilder),
validation (QAValidator), uiConfig (UIDesigner).

PURE: imports neither django, neo4j, celery nor the clock.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from .base import (
    ContractModel,
    FreeJson,
    Identifier,
    JsonObject,
    Name,
    NonNegative,
    Number,
    Percentage,
    Positive,
    ShortText,
    UtcDatetime,
    at,
)
from .units import Unit

MAX_INGREDIENTS = 20  # design section 7: "Input capped at 20 ingredients"


def _unique(values: list[str], what: str, field: str, prefix: str = "") -> None:
    seen: set[str] = set()
    for i, value in enumerate(values):
        if value in seen:
            raise at(f"{prefix}[{i}].{field}", f"duplicate {what} {value!r}; each must be unique")
        seen.add(value)


# --- recipe (RecipeEngineer) -------------------------------------------------------------------


class Ingredient(ContractModel):
    id: Identifier
    name: Name
    percentage: Percentage
    function: Name | None = None
    category: Name | None = None


class Recipe(ContractModel):
    id: Identifier
    name: Name
    ingredients: Annotated[list[Ingredient], Field(min_length=1, max_length=MAX_INGREDIENTS)]
    total_percentage: NonNegative
    metadata: JsonObject = Field(default_factory=dict)

    @field_validator("ingredients")
    @classmethod
    def _unique_ids(cls, value: list[Ingredient]) -> list[Ingredient]:
        _unique([i.id for i in value], "ingredient id", "id")
        return value


# --- calculation (ScalingCalculator) -----------------------------------------------------------


class ScaledIngredient(ContractModel):
    ingredient_id: Identifier
    name: Name
    percentage: Percentage
    scaled_quantity: NonNegative
    scaled_unit: Unit
    density: Positive | None = None  # g/ml, when a mass-volume conversion was needed
    unit_cost: NonNegative | None = None  # cost per kg (mass) of the ingredient
    cost: NonNegative | None = None


class Costs(ContractModel):
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    total: NonNegative
    per_unit: NonNegative  # total / batch size in the target unit
    by_ingredient: dict[Identifier, NonNegative] = Field(default_factory=dict)
    missing: list[Identifier] = Field(default_factory=list)  # ingredients without a cost


class Yield(ContractModel):
    quantity: NonNegative
    unit: Unit
    loss_percentage: Percentage = 0.0


class Calculation(ContractModel):
    recipe_id: Identifier
    target_batch_size: Positive
    target_unit: Unit
    scaled_ingredients: Annotated[list[ScaledIngredient], Field(max_length=MAX_INGREDIENTS)]
    costs: Costs
    yield_: Yield = Field(alias="yield")
    timestamp: UtcDatetime
    warnings: list[ShortText] = Field(default_factory=list, max_length=100)

    @field_validator("scaled_ingredients")
    @classmethod
    def _unique_ids(cls, value: list[ScaledIngredient]) -> list[ScaledIngredient]:
        _unique([i.ingredient_id for i in value], "ingredient id", "ingredientId")
        return value


# --- graph (GraphBuilder) ----------------------------------------------------------------------


class GraphNode(ContractModel):
    id: Identifier
    label: Name
    type: Name
    properties: JsonObject = Field(default_factory=dict)


class GraphEdge(ContractModel):
    id: Identifier
    source: Identifier
    target: Identifier
    type: Name
    properties: JsonObject = Field(default_factory=dict)


class CypherCommand(ContractModel):
    """A parameterised statement produced by GraphBuilder: stored, never executed by CAP-01."""

    statement: Annotated[str, Field(min_length=1, max_length=20_000)]
    parameters: JsonObject = Field(default_factory=dict)


class Graph(ContractModel):
    nodes: Annotated[list[GraphNode], Field(max_length=2000)]
    edges: Annotated[list[GraphEdge], Field(max_length=5000)]
    cypher_commands: Annotated[list[CypherCommand], Field(max_length=5000)]
    metadata: JsonObject = Field(default_factory=dict)

    @field_validator("cypher_commands", mode="before")
    @classmethod
    def _plain_strings(cls, value: Any) -> Any:
        # The design document writes cypherCommands[] as statements; accept bare strings too.
        if isinstance(value, list):
            return [{"statement": v} if isinstance(v, str) else v for v in value]
        return value

    @model_validator(mode="after")
    def _edges_join_nodes(self) -> Graph:
        _unique([n.id for n in self.nodes], "node id", "id", prefix="nodes")
        ids = {n.id for n in self.nodes}
        for i, edge in enumerate(self.edges):
            for end in ("source", "target"):
                if getattr(edge, end) not in ids:
                    raise at(f"edges[{i}].{end}",
                             f"names node {getattr(edge, end)!r}, which is not in graph.nodes")
        return self


# --- validation (QAValidator) ------------------------------------------------------------------

Severity = Literal["critical", "error", "warning", "info"]


class ValidationIssue(ContractModel):
    agent: Name
    field: Annotated[str, Field(min_length=1, max_length=300)]
    message: ShortText
    severity: Severity


class Check(ContractModel):
    passed: bool
    detail: ShortText | None = None


class Validation(ContractModel):
    valid: bool
    errors: Annotated[list[ValidationIssue], Field(max_length=500)]
    warnings: Annotated[list[ValidationIssue], Field(max_length=500)]
    checks: dict[Identifier, Check]
    summary: ShortText
    timestamp: UtcDatetime
    can_proceed: bool
    critical_errors: Annotated[list[ValidationIssue], Field(max_length=500)]


# --- uiConfig (UIDesigner) ---------------------------------------------------------------------


class Position(ContractModel):
    row: Annotated[int, Field(strict=True, ge=0, le=1000)]
    column: Annotated[int, Field(strict=True, ge=0, le=1000)]
    width: Annotated[int, Field(strict=True, ge=1, le=12)] = 12
    height: Annotated[int, Field(strict=True, ge=1, le=100)] = 1


class UIComponent(ContractModel):
    type: Name
    title: Name
    data: FreeJson
    position: Position
    config: JsonObject = Field(default_factory=dict)


class UIConfig(ContractModel):
    layout: JsonObject
    components: Annotated[list[UIComponent], Field(max_length=50)]
    theme: JsonObject


__all__ = [
    "MAX_INGREDIENTS", "Calculation", "Check", "Costs", "CypherCommand", "Graph", "GraphEdge",
    "GraphNode", "Ingredient", "Number", "Position", "Recipe", "ScaledIngredient", "Severity",
    "UIComponent", "UIConfig", "Validation", "ValidationIssue", "Yield",
]
