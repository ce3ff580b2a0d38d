"""The Agent protocol, the context every agent receives, and the agent error tree.

An agent is any object with a `name` (its stage) and `run(ctx) -> artifact`; it is pure and
deterministic: everything it may look at is in the AgentContext (the request, `now`, the
artifacts of the earlier stages, the configured limits), and the same context always gives the
same artifact.

    AgentError                  root; `field` is the contract path the message names
     ├── RequestNotUnderstood   userRequest names no product the agent knows
     ├── TooManyIngredients     a recipe would exceed MAX_INGREDIENTS (design section 7)
     ├── MissingArtifact        an agent ran before the stage whose artifact it needs
     └── AgentLoadError         the registry cannot load the agent configured for a stage

PURE: imports neither django, neo4j, celery nor the clock (`now` is passed in).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TypeVar

from contracts import (
    STAGES,
    Calculation,
    Graph,
    InputContract,
    Recipe,
    UIConfig,
    Validation,
)

from .limits import BatchLimits

Artifact = Recipe | Calculation | Graph | Validation | UIConfig
T = TypeVar("T")
_PRODUCER = {artifact: stage for stage, artifact in STAGES}


class AgentError(Exception):
    """Root of the agent errors: "<field>: <what happened and what to do>"."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


class RequestNotUnderstood(AgentError):
    pass


class TooManyIngredients(AgentError):
    pass


class MissingArtifact(AgentError):
    pass


class AgentLoadError(AgentError):
    pass


@dataclass(frozen=True)
class AgentContext:
    """What one stage of run `run_id` sees: the request, the time, the earlier artifacts, and
    the limits the deployment sets (plausible batch sizes; from settings, through the services)."""

    run_id: str
    request: InputContract
    now: datetime
    recipe: Recipe | None = None
    calculation: Calculation | None = None
    graph: Graph | None = None
    validation: Validation | None = None
    limits: BatchLimits = field(default_factory=BatchLimits)

    def __post_init__(self) -> None:
        if self.now.tzinfo is None or self.now.utcoffset() is None:
            raise ValueError(f"now: must be timezone-aware, got {self.now.isoformat()}; pass "
                             "datetime.now(UTC) or another aware datetime.")


@dataclass(frozen=True)
class AgentOutput:
    """What an agent may return instead of a bare artifact: the artifact plus the raw exchange
    behind it (an LLM-backed agent's prompt and response). The exchange is kept only when
    settings.CAP01_STORE_TRANSCRIPTS is on, and then redacted (design section 10)."""

    artifact: Artifact
    prompt: str | None = None
    response: str | None = None


class Agent(Protocol):
    name: str  # the stage: RecipeEngineer, ScalingCalculator, GraphBuilder, QAValidator, UIDesigner

    def run(self, ctx: AgentContext) -> Artifact | AgentOutput: ...


def require(value: T | None, artifact: str, agent: str) -> T:
    """`value`, or MissingArtifact saying which earlier stage should have produced it."""
    if value is None:
        raise MissingArtifact(artifact, f"absent from the AgentContext; {agent} needs the "
                              f"{artifact} that {_PRODUCER[artifact]} produces, so run the stages "
                              "in order.")
    return value
