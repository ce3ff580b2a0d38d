"""Unit tests for the agent registry: defaults, overrides and the errors of a bad configuration."""

from __future__ import annotations

import sys
import types

import pytest

from contracts import STAGES
from orchestration.agents import (
    DEFAULT_AGENTS,
    AgentError,
    AgentLoadError,
    GraphBuilder,
    QAValidator,
    RecipeEngineer,
    ScalingCalculator,
    UIDesigner,
    load_agents,
)


class StrictQA(QAValidator):
    pass


class Misnamed(QAValidator):
    name = "GraphBuilder"


class NoRun:
    name = "QAValidator"


class NeedsArguments(QAValidator):
    def __init__(self, threshold: float) -> None:
        self.threshold = threshold


@pytest.fixture
def custom_module(monkeypatch: pytest.MonkeyPatch) -> str:
    """A module named cap01_test_agents holding the classes above."""
    module = types.ModuleType("cap01_test_agents")
    for cls in (StrictQA, Misnamed, NoRun, NeedsArguments):
        setattr(module, cls.__name__, cls)
    monkeypatch.setitem(sys.modules, module.__name__, module)
    return module.__name__


def test_defaults_load_in_stage_order() -> None:
    """load_agents() gives the five reference agents, in pipeline order, named by stage."""
    agents = load_agents()

    assert list(agents) == list(DEFAULT_AGENTS) == [stage for stage, _ in STAGES]
    assert [type(a) for a in agents.values()] == [RecipeEngineer, ScalingCalculator, GraphBuilder,
                                                  QAValidator, UIDesigner]
    assert all(agent.name == stage for stage, agent in agents.items())


def test_override_replaces_one_stage(custom_module: str) -> None:
    """A configured dotted path replaces its stage; the others keep the reference agents."""
    agents = load_agents({"QAValidator": f"{custom_module}.StrictQA"})

    assert type(agents["QAValidator"]) is StrictQA
    assert type(agents["GraphBuilder"]) is GraphBuilder


@pytest.mark.parametrize(("path", "message"), [
    ("orchestration.agents.nope.Thing", "cannot import 'orchestration.agents.nope.Thing' "
                                        "(ModuleNotFoundError"),
    ("orchestration.agents.qa_validator.Missing", "(AttributeError"),
    ("QAValidator", "cannot import 'QAValidator' (ValueError"),
    ("cap01_test_agents.Misnamed", "is named 'GraphBuilder', not 'QAValidator'"),
    ("cap01_test_agents.NoRun", "has no run(ctx) method"),
    ("cap01_test_agents.NeedsArguments", "could not be created with no arguments (TypeError"),
])
def test_bad_configuration_is_refused(custom_module: str, path: str, message: str) -> None:
    """A path that does not import or names an unfit agent raises AgentLoadError for its stage."""
    with pytest.raises(AgentLoadError) as caught:
        load_agents({"QAValidator": path})

    assert str(caught.value).startswith("agents.QAValidator: ")
    assert message in str(caught.value)
    assert isinstance(caught.value, AgentError)


def test_unknown_stage_is_refused() -> None:
    """A stage name that is not one of the five is refused, listing the real ones."""
    with pytest.raises(AgentLoadError, match=r"^agents.Chef: is not a stage; the stages are "
                                             r"RecipeEngineer, ScalingCalculator"):
        load_agents({"Chef": "orchestration.agents.recipe_engineer.RecipeEngineer"})
