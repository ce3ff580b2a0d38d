"""JSON Schema generation for the v1 contract; the files live in schemas/v1/ and are committed.

PURE: imports neither django, neo4j, celery nor the clock.
"""

from __future__ import annotations

import json

from pydantic import BaseModel

from .artifacts import Calculation, Graph, Recipe, UIConfig, Validation
from .run import AgentHistoryEntry, HandoffEnvelope, InputContract, RunMetadata, RunResult

SCHEMA_MODELS: dict[str, type[BaseModel]] = {
    "recipe": Recipe,
    "calculation": Calculation,
    "graph": Graph,
    "validation": Validation,
    "uiConfig": UIConfig,
    "agentHistory": AgentHistoryEntry,
    "metadata": RunMetadata,
    "input": InputContract,
    "handoff": HandoffEnvelope,
    "runResult": RunResult,
}


def generate_schemas() -> dict[str, str]:
    """File name -> JSON text of every v1 schema (deterministic, newline-terminated)."""
    out = {}
    for name, model in SCHEMA_MODELS.items():
        schema = model.model_json_schema(by_alias=True, mode="validation")
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema",
                  "$id": f"cap01/v1/{name}.schema.json", **schema}
        out[f"{name}.schema.json"] = json.dumps(schema, indent=2, sort_keys=True,
                                                ensure_ascii=False) + "\n"
    return out
