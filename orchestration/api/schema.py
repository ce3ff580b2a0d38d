"""The v1 contract in the OpenAPI document: request and response bodies are not re-modelled in
DRF; they are described by the JSON Schemas the Pydantic contract generates (as in schemas/v1/),
rewritten in the OpenAPI 3.0 dialect. `ContractModelSchema` registers itself with drf-spectacular
when this module is imported (api/serializers.py imports it); `ContractField` puts a contract
model inside a DRF answer (the context's costs, say) as a $ref to the same component.

Every choice set of the API is one named enum component (ENUMS), referenced wherever it occurs:
in the contract's models, in the DRF answers and in the query parameters (`name_enums`, the first
of SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]), so that a generated client has one type per
choice set.
"""

from __future__ import annotations

from typing import Any, get_args

from drf_spectacular.drainage import set_override
from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.settings import spectacular_settings
from pydantic import BaseModel
from rest_framework import serializers

import contracts
from contracts.artifacts import Severity
from contracts.run import AgentName, BudgetKind, InvocationStatus
from contracts.run import RunStatus as RunOutcome
from contracts.units import Unit
from orchestration.models import STAGE_STATES, RunSource, RunStatus

# --- the API's choice sets: one named enum component each --------------------------------------

ENUMS: dict[str, tuple[str, ...]] = {
    "AgentName": get_args(AgentName),           # a stage's agent (contracts.stages)
    "RunStatus": tuple(RunStatus.values),       # where a run stands in the ledger
    "RunOutcome": get_args(RunOutcome),         # how a finished run ended (metadata.status)
    "StageState": STAGE_STATES,                 # where one stage stands in the ledger
    "InvocationStatus": get_args(InvocationStatus),  # how one agent invocation ended
    "RunSource": tuple(RunSource.values),
    "Severity": get_args(Severity),
    "Unit": get_args(Unit),
    "BudgetKind": get_args(BudgetKind),
    "ValidationIssueKind": ("errors", "warnings"),  # ?kind= of analytics/validation-errors
}
# A choice set -> its name (two names for one set would be ambiguous: a test says there are none).
_ENUM_NAMES: dict[frozenset[Any], str] = {frozenset(values): name for name, values in ENUMS.items()}


def _enum_component(name: str, registry: Any) -> dict[str, str]:
    """The $ref of the named enum, registered on first use."""
    registry.register_on_missing(ResolvedComponent(
        name=name, type=ResolvedComponent.SCHEMA, object=name,
        schema={"type": "string", "enum": list(ENUMS[name])}))
    return {"$ref": f"#/components/schemas/{name}"}

# --- the v1 contract in the OpenAPI schema -----------------------------------------------------

_CONTRACT_CLASSES: dict[str, type[BaseModel]] = {
    cls.__name__: cls for cls in vars(contracts).values()
    if isinstance(cls, type) and issubclass(cls, BaseModel)
}


def _oas30(node: Any) -> Any:
    """A JSON Schema (draft 2020-12, as Pydantic writes it) rewritten in the OpenAPI 3.0 dialect:
    `anyOf [X, null]` -> X + nullable, numeric exclusiveMinimum/Maximum -> minimum + flag,
    const -> enum, patternProperties -> additionalProperties (the pattern kept as x-pattern...),
    propertyNames kept as an x- extension. The constraints the 3.0 dialect cannot state stay in
    x- keys; the contract parser enforces them all the same."""
    if isinstance(node, list):
        return [_oas30(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("$schema", "$id"):
            continue
        if key == "const":
            out["enum"] = [value]
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(value, bool):
            out["minimum" if key == "exclusiveMinimum" else "maximum"] = value
            out[key] = True
        elif key == "patternProperties":
            patterns = list(value)
            if len(patterns) == 1 and "additionalProperties" not in node:
                out["additionalProperties"] = _oas30(value[patterns[0]])
            out["x-patternProperties"] = _oas30(value)
        elif key == "propertyNames":
            out["x-propertyNames"] = value
        elif key == "anyOf":
            variants = [v for v in value if v != {"type": "null"}]
            if len(variants) < len(value):
                out["nullable"] = True
            if len(variants) == 1 and "$ref" in variants[0]:
                out["allOf"] = [_oas30(variants[0])]
            elif len(variants) == 1:
                out.update(_oas30(variants[0]))
            else:
                out["anyOf"] = _oas30(variants)
        elif key == "type" and isinstance(value, list):
            types = [t for t in value if t != "null"]
            out["type"] = types[0] if len(types) == 1 else types
            if len(types) < len(value):
                out["nullable"] = True
        elif key in ("properties", "$defs"):
            out[key] = {name: _oas30(sub) for name, sub in value.items()}
        else:
            out[key] = _oas30(value)
    return out


def _hoist_enums(node: Any, owner: str, prop: str, registry: Any) -> Any:
    """Inline `enum`s of the contract's properties -> $refs to named enum components."""
    if isinstance(node, list):
        return [_hoist_enums(item, owner, prop, registry) for item in node]
    if not isinstance(node, dict):
        return node
    if "enum" in node:
        values = node["enum"]
        name = _ENUM_NAMES.get(frozenset(values))
        if name is not None:
            ref = _enum_component(name, registry)
        else:
            name = f"{owner}{prop[:1].upper()}{prop[1:]}"
            enum_schema = {k: node[k] for k in ("type", "enum") if k in node}
            registry.register_on_missing(ResolvedComponent(
                name=name, type=ResolvedComponent.SCHEMA, schema=enum_schema, object=name))
            ref = {"$ref": f"#/components/schemas/{name}"}
        rest = {k: v for k, v in node.items()
                if k in ("description", "default", "nullable", "x-patternProperties")}
        return {"allOf": [ref], **rest} if rest else ref
    out = {}
    for key, value in node.items():
        if key == "properties":
            out[key] = {name: _hoist_enums(sub, owner, name, registry)
                        for name, sub in value.items()}
        elif key in ("items", "anyOf", "allOf", "oneOf", "additionalProperties"):
            out[key] = _hoist_enums(value, owner, prop, registry)
        else:
            out[key] = value
    return out


def contract_schema(model: type[BaseModel], registry: Any) -> dict[str, Any]:
    """The JSON Schema the contract generates for `model` (validation mode, camelCase, as in
    schemas/v1/), its $defs hoisted into components/schemas of the OpenAPI document and its
    choice sets into named enum components."""
    schema = model.model_json_schema(by_alias=True, mode="validation",
                                     ref_template="#/components/schemas/{model}")
    if spectacular_settings.OAS_VERSION.startswith("3.0"):
        schema = _oas30(schema)
    for name, sub in schema.pop("$defs", {}).items():
        registry.register_on_missing(ResolvedComponent(
            name=name, type=ResolvedComponent.SCHEMA,
            schema=_hoist_enums(sub, name, "", registry),
            object=_CONTRACT_CLASSES.get(name, name)))
    return dict(_hoist_enums(schema, model.__name__, "", registry))


class ContractModelSchema(OpenApiSerializerExtension):
    """Lets `extend_schema(request=InputContract, responses=RunResult)` name contract models:
    takes precedence over drf-spectacular's generic Pydantic extension (which writes the 2020-12
    dialect into an OpenAPI 3.0 document)."""

    target_class = "contracts.base.ContractModel"
    match_subclasses = True
    priority = 1

    def get_name(self, auto_schema: Any, direction: Any) -> str:
        set_override(self.target, "suppress_collision_warning", True)
        return str(self.target.__name__)

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        return contract_schema(self.target, auto_schema.registry)


class ContractField(serializers.JSONField):
    """A part of a DRF answer that is a contract model in wire form (the context's costs, say):
    rendered as it is, described as a $ref to the contract's component."""

    def __init__(self, model: type[BaseModel], **kwargs: Any) -> None:
        self.model = model
        super().__init__(**kwargs)


class ContractFieldSchema(OpenApiSerializerFieldExtension):
    target_class = ContractField

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        component = auto_schema.resolve_serializer(self.target.model, direction)
        return dict(component.ref)


# --- post-processing: one enum component per choice set ---------------------------------------

_ENUM_KEYS = ("type", "enum", "x-spec-enum-id", "minLength", "maxLength", "nullable")


def _named_enum(node: dict[str, Any], registry: Any) -> dict[str, Any] | None:
    """An inline string enum of a known choice set -> a $ref to its component (wrapped in allOf
    when the place adds a description, a default or null); None for any other node."""
    if "enum" not in node or node.get("type", "string") != "string":
        return None
    values = [v for v in node["enum"] if v not in ("", None)]
    name = _ENUM_NAMES.get(frozenset(values))
    if name is None:
        return None
    ref = _enum_component(name, registry)
    rest = {k: v for k, v in node.items() if k not in _ENUM_KEYS}
    if rest.get("description", "").startswith("*"):  # drf-spectacular's list of the choices
        del rest["description"]
    if node.get("nullable") or None in node["enum"]:
        rest["nullable"] = True
    return {"allOf": [ref], **rest} if rest else ref


def _replace_enums(node: Any, registry: Any) -> Any:
    """`node` with its known inline enums replaced (in place: the registry holds these dicts)."""
    if isinstance(node, dict):
        named = _named_enum(node, registry)
        if named is not None:
            return named
        for key, value in node.items():
            node[key] = _replace_enums(value, registry)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            node[i] = _replace_enums(value, registry)
    return node


def name_enums(result: dict[str, Any], generator: Any, **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular post-processing hook, before its own enum hook: every inline enum of a
    choice set in ENUMS (a ChoiceField of an answer, a query parameter) becomes a $ref to the
    one component of that set; drf-spectacular's hook then names whatever is left."""
    for name, schema in result.get("components", {}).get("schemas", {}).items():
        if name not in ENUMS:
            for key, value in schema.items():
                schema[key] = _replace_enums(value, generator.registry)
    _replace_enums(result.get("paths", {}), generator.registry)
    result["components"] = generator.registry.build(spectacular_settings.APPEND_COMPONENTS)
    return result
