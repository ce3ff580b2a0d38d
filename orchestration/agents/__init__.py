"""The five reference agents behind one Agent protocol, and the registry that picks them.

    RecipeEngineer -> ScalingCalculator -> GraphBuilder -> QAValidator -> UIDesigner
       recipe          calculation          graph          validation     uiConfig

Each agent is pure and deterministic: `run(AgentContext) -> artifact`, where the artifact is
the v1 contract model of its stage (contracts).

PURE: imports neither django, neo4j, celery nor the clock.
"""

from contracts import DEFAULT_AGENTS

from .base import (
    Agent,
    AgentContext,
    AgentError,
    AgentLoadError,
    AgentOutput,
    Artifact,
    MissingArtifact,
    RequestNotUnderstood,
    TooManyIngredients,
)
from .graph_builder import GraphBuilder
from .qa_validator import QAValidator
from .recipe_engineer import RecipeEngineer
from .registry import load_agent, load_agents
from .scaling_calculator import ScalingCalculator
from .ui_designer import UIDesigner

__all__ = [
    "DEFAULT_AGENTS", "Agent", "AgentContext", "AgentError", "AgentLoadError", "AgentOutput",
    "Artifact",
    "GraphBuilder", "MissingArtifact", "QAValidator", "RecipeEngineer", "RequestNotUnderstood",
    "ScalingCalculator", "TooManyIngredients", "UIDesigner", "load_agent", "load_agents",
]
