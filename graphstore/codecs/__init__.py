"""One codec per label (and per relationship type that carries data): the properties written
(contract wire dict -> Neo4j properties, `encode`) and read back (properties -> wire dict,
`decode`), side by side, with the property table every other part derives from:

    mapper.py     encode                          replay.py    decode, condensation
    retention.py  details() (what condensing removes)
    nodes.py      the neomodel classes, checked against props (tests/unit/graphstore/codecs)
    admin.py      columns() (the list columns)    cypher/      property names in statements

PURE: imports neither django, neo4j, celery nor the clock.
"""

from __future__ import annotations

from .base import Codec, Prop
from .calculation import CalculationResultCodec
from .graph import GraphSnapshotCodec
from .invocation import AgentInvocationCodec, HasAgentInvocationCodec
from .recipe import HasIngredientCodec, IngredientCodec, RecipeVersionCodec
from .request import UserRequestCodec
from .run import OrchestrationRunCodec, TriggeredCodec
from .ui import UIConfigCodec
from .validation import ISSUE_LISTS, ValidationReportCodec

# By label, in the order of graphstore.schema.LABELS (a test says so).
NODE_CODECS: dict[str, type[Codec]] = {c.name: c for c in (
    UserRequestCodec, RecipeVersionCodec, IngredientCodec, OrchestrationRunCodec,
    CalculationResultCodec, GraphSnapshotCodec, ValidationReportCodec, UIConfigCodec,
    AgentInvocationCodec)}
# The relationship types that carry properties (the others carry none).
REL_CODECS: dict[str, type[Codec]] = {c.name: c for c in (
    TriggeredCodec, HasIngredientCodec, HasAgentInvocationCodec)}

__all__ = [
    "ISSUE_LISTS", "NODE_CODECS", "REL_CODECS", "AgentInvocationCodec", "CalculationResultCodec",
    "Codec", "GraphSnapshotCodec", "HasAgentInvocationCodec", "HasIngredientCodec",
    "IngredientCodec", "OrchestrationRunCodec", "Prop", "RecipeVersionCodec", "TriggeredCodec",
    "UIConfigCodec", "UserRequestCodec", "ValidationReportCodec",
]
