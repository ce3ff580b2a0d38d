"""The ONE stage table: every fact about the five pipeline stages is written here, once.

    RecipeEngineer -> ScalingCalculator -> GraphBuilder -> QAValidator -> UIDesigner
       recipe          calculation          graph          validation     uiConfig

Everything else derives from `STAGE_TABLE`: the contract's artifact order and wire names, the
agent registry's defaults, the settings' default agents and budgets (each overridable from the
environment), the Celery task names, the ledger's stage list, the admin's filter choices, the
pages and the analytics order. `tests/unit/contracts/test_stages.py` checks the places that
cannot derive (a `typing.Literal`, the agents' `name` attributes) against this table.

PURE: imports neither django, neo4j, celery nor the clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class Stage:
    """One stage of the pipeline."""

    agent: str  # the agent's name, which is also the stage's name: "RecipeEngineer"
    artifact: str  # the RunResult attribute it produces (Python side): "ui_config"
    wire: str  # the same artifact's name on the wire (camelCase): "uiConfig"
    task: str  # the Celery task that runs it: "orchestration.recipe_engineer"
    default_agent: str  # dotted path of the reference agent class
    env_var: str  # the environment variable that replaces the agent class
    budget_ms: float  # design section 7: duration budget
    budget_mb: float  # design section 7: memory budget (tracemalloc peak of the stage)


def _stage(agent: str, artifact: str, wire: str, module: str, budget_ms: float,
           budget_mb: float) -> Stage:
    return Stage(agent=agent, artifact=artifact, wire=wire, task=f"orchestration.{module}",
                 default_agent=f"orchestration.agents.{module}.{agent}",
                 env_var=f"CAP01_AGENT_{module.upper()}", budget_ms=budget_ms,
                 budget_mb=budget_mb)


STAGE_TABLE: tuple[Stage, ...] = (
    _stage("RecipeEngineer", "recipe", "recipe", "recipe_engineer", 800, 150),
    _stage("ScalingCalculator", "calculation", "calculation", "scaling_calculator", 500, 120),
    _stage("GraphBuilder", "graph", "graph", "graph_builder", 1200, 200),
    _stage("QAValidator", "validation", "validation", "qa_validator", 400, 80),
    _stage("UIDesigner", "ui_config", "uiConfig", "ui_designer", 300, 60),
)

# Budgets that are not a stage's: the persistence transaction and the whole run.
OTHER_BUDGETS: Mapping[str, tuple[float, float]] = MappingProxyType({
    "Persistence": (450, 70),
    "Run": (4000, 600),
})

# Derived views, for the callers that want one fact of every stage.
STAGE_NAMES: tuple[str, ...] = tuple(s.agent for s in STAGE_TABLE)
STAGE_BY_AGENT: Mapping[str, Stage] = MappingProxyType({s.agent: s for s in STAGE_TABLE})
STAGES: tuple[tuple[str, str], ...] = tuple((s.agent, s.artifact) for s in STAGE_TABLE)
ARTIFACT_OF: Mapping[str, str] = MappingProxyType({s.agent: s.artifact for s in STAGE_TABLE})
WIRE_NAME: Mapping[str, str] = MappingProxyType({s.artifact: s.wire for s in STAGE_TABLE})
DEFAULT_AGENTS: Mapping[str, str] = MappingProxyType(
    {s.agent: s.default_agent for s in STAGE_TABLE})
DEFAULT_BUDGETS: Mapping[str, tuple[float, float]] = MappingProxyType(
    {**{s.agent: (s.budget_ms, s.budget_mb) for s in STAGE_TABLE}, **OTHER_BUDGETS})
STAGE_ORDER: Mapping[str, int] = MappingProxyType({s.agent: i for i, s in enumerate(STAGE_TABLE)})


def stage_index(agent: str) -> int:
    """Position of `agent` in the pipeline (0-based); unknown names sort after every stage."""
    return STAGE_ORDER.get(agent, len(STAGE_TABLE))
