"""orchestration.api.schema: one named enum component per choice set, and the cursor page."""

from __future__ import annotations

from typing import Any, get_args

from drf_spectacular.plumbing import ComponentRegistry

from contracts.artifacts import Severity
from contracts.run import AgentName, BudgetKind, InvocationStatus
from contracts.run import RunStatus as RunOutcome
from contracts.units import Unit
from orchestration.api.params import _cursor_of
from orchestration.api.schema import _ENUM_NAMES, ENUMS, _replace_enums
from orchestration.models import RunStatus


def test_every_choice_set_has_one_name_and_the_contract_literals_are_among_them():
    """No two enum names share a value set (a value set names one component), and the
    contract's Literal types and the ledger's statuses are the sets named."""
    assert len(_ENUM_NAMES) == len(ENUMS)
    for literal, name in ((AgentName, "AgentName"), (Unit, "Unit"), (Severity, "Severity"),
                          (InvocationStatus, "InvocationStatus"), (RunOutcome, "RunOutcome"),
                          (BudgetKind, "BudgetKind")):
        assert ENUMS[name] == get_args(literal)
    assert ENUMS["RunStatus"] == tuple(RunStatus.values)


def test_inline_enums_become_refs_wherever_they_are():
    """A query parameter's inline enum becomes a bare $ref; a property with a description or
    null keeps them beside the ref (allOf); an unknown choice set is left alone."""
    registry = ComponentRegistry()
    param: dict[str, Any] = {"schema": {"type": "string", "enum": list(ENUMS["AgentName"]),
                                        "minLength": 1}}
    prop = {"type": "string", "enum": [*ENUMS["Unit"], None], "nullable": True,
            "description": "The unit."}
    other = {"type": "string", "enum": ["a", "b"]}
    doc = {"parameters": [param], "properties": {"unit": prop, "other": other}}
    _replace_enums(doc, registry)
    assert param["schema"] == {"$ref": "#/components/schemas/AgentName"}
    assert doc["properties"]["unit"] == {"allOf": [{"$ref": "#/components/schemas/Unit"}],
                                         "nullable": True, "description": "The unit."}
    assert doc["properties"]["other"] == other
    built = registry.build({})["schemas"]
    assert built["AgentName"] == {"type": "string", "enum": list(ENUMS["AgentName"])}


def test_a_page_gives_the_cursor_itself():
    """The cursor of a DRF page link is the ?cursor= value, not the URL; none gives None."""
    assert _cursor_of("http://testserver/api/orchestration/runs?cursor=cD0yMDI2&page_size=1") \
        == "cD0yMDI2"
    assert _cursor_of(None) is None
