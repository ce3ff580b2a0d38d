"""The v1 contract in the OpenAPI document: request and response bodies are not re-modelled in
DRF; they are described by the JSON Schemas the Pydantic contract generates (as in schemas/v1/),
rewritten in the OpenAPI 3.0 dialect. `ContractModelSchema` registers itself with drf-spectacular
when this module is imported (api/serializers.py imports it).
"""

from __future__ import annotations

from typing import Any, get_args

from drf_spectacular.drainage import set_override
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.settings import spectacular_settings
from pydantic import BaseModel

import contracts
from contracts.artifacts import Severity
from contracts.run import AgentName, InvocationStatus
from contracts.run import RunStatus as RunOutcome
from contracts.units import Unit

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


# Choice sets of the contract, named after its Literal types (a choice set per name, so that
# drf-spectacular's enum post-processing has nothing to guess or warn about).
_ENUM_NAMES: dict[frozenset[Any], str] = {
    frozenset(get_args(literal)): name for literal, name in [
        (AgentName, "AgentName"), (Unit, "Unit"), (InvocationStatus, "InvocationStatus"),
        (RunOutcome, "RunOutcome"), (Severity, "Severity")]
}


def _hoist_enums(node: Any, owner: str, prop: str, registry: Any) -> Any:
    """Inline `enum`s of the contract's properties -> $refs to named enum components."""
    if isinstance(node, list):
        return [_hoist_enums(item, owner, prop, registry) for item in node]
    if not isinstance(node, dict):
        return node
    if "enum" in node:
        values = node["enum"]
        name = _ENUM_NAMES.get(frozenset(values)) or f"{owner}{prop[:1].upper()}{prop[1:]}"
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
