"""Which class runs each stage: dotted paths, imported and checked once at start-up.

    load_agents({"RecipeEngineer": "myco.agents.LLMRecipeEngineer"})

replaces one stage and keeps the reference agents for the others.

PURE: imports neither django, neo4j, celery nor the clock.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from contracts import DEFAULT_AGENTS, STAGE_NAMES

from .base import Agent, AgentLoadError


def load_agent(stage: str, path: str) -> Agent:
    """Import the class at `path`, instantiate it with no arguments and check it fits `stage`."""
    field = f"agents.{stage}"
    module_name, _, attribute = path.rpartition(".")
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError, ValueError) as exc:
        raise AgentLoadError(field, f"cannot import {path!r} ({type(exc).__name__}: {exc}); "
                             "give the dotted path of a class, e.g. "
                             f"{DEFAULT_AGENTS[stage]!r}.") from exc
    try:
        agent = factory()
    except Exception as exc:
        raise AgentLoadError(field, f"{path} could not be created with no arguments "
                             f"({type(exc).__name__}: {exc}).") from exc
    if not callable(getattr(agent, "run", None)):
        raise AgentLoadError(field, f"{path} has no run(ctx) method, so it cannot run the stage.")
    if getattr(agent, "name", None) != stage:
        raise AgentLoadError(field, f"{path} is named {getattr(agent, 'name', None)!r}, not "
                             f"{stage!r}; an agent's name must be the stage it runs.")
    return agent  # type: ignore[no-any-return]


def load_agents(paths: Mapping[str, str] = DEFAULT_AGENTS) -> dict[str, Agent]:
    """An agent for each of the five stages, in pipeline order; stages not in `paths` get the
    reference agent. AgentLoadError names the first stage that cannot be loaded."""
    stages = list(STAGE_NAMES)
    for stage in paths:
        if stage not in stages:
            raise AgentLoadError(f"agents.{stage}", f"is not a stage; the stages are "
                                 f"{', '.join(stages)}.")
    return {stage: load_agent(stage, paths.get(stage, DEFAULT_AGENTS[stage])) for stage in stages}
