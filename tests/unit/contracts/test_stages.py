"""The stage table (contracts/stages.py) is the one place the five stages are written down:
the places that cannot derive from it are checked against it here."""

from __future__ import annotations

import importlib
import typing

from contracts import RunResult, stages
from contracts.run import AgentName, ArtifactWireName


def test_stage_names_literal_matches_the_table() -> None:
    """The AgentName type lists exactly the table's agents, in pipeline order."""
    assert typing.get_args(AgentName) == stages.STAGE_NAMES


def test_artifact_wire_literal_matches_the_table() -> None:
    """The ArtifactWireName type lists exactly the table's wire names, in pipeline order."""
    assert typing.get_args(ArtifactWireName) == tuple(s.wire for s in stages.STAGE_TABLE)


def test_every_artifact_is_a_run_result_field_with_the_wire_alias() -> None:
    """Each stage's artifact is a RunResult field whose camelCase alias is the stage's wire name."""
    for stage in stages.STAGE_TABLE:
        field = RunResult.model_fields[stage.artifact]
        assert (field.alias or stage.artifact) == stage.wire, stage


def test_default_agents_are_importable_and_named_after_their_stage() -> None:
    """Every default agent path imports, and the class's `name` is the stage it runs."""
    for stage in stages.STAGE_TABLE:
        module, _, attribute = stage.default_agent.rpartition(".")
        cls = getattr(importlib.import_module(module), attribute)
        assert cls.name == stage.agent


def test_derived_views_agree_with_the_table() -> None:
    """STAGES, ARTIFACT_OF, WIRE_NAME, DEFAULT_BUDGETS and stage_index derive from the rows."""
    assert [a for a, _ in stages.STAGES] == list(stages.STAGE_NAMES)
    assert stages.ARTIFACT_OF["UIDesigner"] == "ui_config"
    assert stages.WIRE_NAME["ui_config"] == "uiConfig"
    assert stages.DEFAULT_BUDGETS["GraphBuilder"] == (1200, 200)
    assert set(stages.DEFAULT_BUDGETS) == {*stages.STAGE_NAMES, "Persistence", "Run"}
    assert [stages.stage_index(a) for a in stages.STAGE_NAMES] == [0, 1, 2, 3, 4]
    assert stages.stage_index("NotAStage") == 5
    assert len({s.task for s in stages.STAGE_TABLE}) == 5


def test_the_stage_table_is_pure() -> None:
    """contracts.stages imports neither django, neo4j nor celery."""
    import subprocess
    import sys

    code = ("import sys, contracts.stages; "
            "bad = [m for m in ('django', 'neo4j', 'celery') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0
