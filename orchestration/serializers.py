"""DRF serializers of the JSON API: what the ledger looks like on the wire (camelCase), the query
filters of the run list, the error shape, and how the OpenAPI schema describes the v1 contract.

Request bodies are not re-modelled here: they are parsed by the Pydantic contract
(contracts), and the OpenAPI schema describes them with the JSON Schemas the contract
generates (ContractModelSchema below).
"""

from __future__ import annotations

from typing import Any, get_args

from django.urls import reverse
from drf_spectacular.drainage import set_override
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.settings import spectacular_settings
from drf_spectacular.utils import extend_schema_field
from pydantic import BaseModel
from rest_framework import serializers

import contracts
from contracts import STAGES
from contracts.artifacts import Severity
from contracts.run import AgentName, InvocationStatus
from contracts.run import RunStatus as RunOutcome
from contracts.units import Unit

from .models import RunRecord, RunSource, RunStatus

# --- URLs a client follows ---------------------------------------------------------------------


def run_detail_path(run_id: str) -> str:
    return reverse("orchestration-api:run-detail", kwargs={"run_id": run_id})


def run_status_path(run_id: str) -> str:
    return reverse("orchestration-api:run-status", kwargs={"run_id": run_id})


def run_page_path(run_id: str) -> str:
    """The web page of a run (orchestration/web_urls.py: /runs/<runId>/)."""
    return reverse("run-detail", kwargs={"run_id": run_id})


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


# --- errors (documentation of the shape apis.exception_handler renders) ------------------------


class ErrorItemSerializer(serializers.Serializer):
    field = serializers.CharField(
        allow_null=True, help_text='Path of the offending field ("recipe.ingredients[3].'
        'percentage", "(root)" for the whole body) or the query parameter ("since").')
    message = serializers.CharField()
    type = serializers.CharField(help_text="Machine-readable kind of the error.")


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What happened and what to do, as a sentence.")
    code = serializers.CharField(help_text="Machine-readable kind of the failure.")
    errors = ErrorItemSerializer(many=True, help_text="One entry per bad field; empty when the "
                                 "failure is not about a field (authentication, unknown run).")


class WriteSetCountsSerializer(serializers.Serializer):
    nodes = serializers.IntegerField()
    relationships = serializers.IntegerField()
    total = serializers.IntegerField()
    limit = serializers.IntegerField()


class WriteSetTooLargeSerializer(ErrorSerializer):
    counts = WriteSetCountsSerializer()


# --- output ------------------------------------------------------------------------------------


@extend_schema_field({"type": "string", "nullable": True})
class BlankAsNullField(serializers.CharField):
    """A ledger text column whose "" means "none": rendered as null."""

    def to_representation(self, value: Any) -> str | None:
        return None if value in ("", None) else str(value)


class RunAcceptedSerializer(serializers.Serializer):
    """The 202 of POST /requests."""

    runId = serializers.CharField(source="run_id")
    status = serializers.ChoiceField(choices=RunStatus.choices)
    queuePosition = serializers.IntegerField(
        source="queue_position", allow_null=True, help_text="1-based place in the intake queue.")
    statusUrl = serializers.SerializerMethodField()
    runPage = serializers.SerializerMethodField()

    def get_statusUrl(self, record: RunRecord) -> str:
        return run_status_path(record.run_id)

    def get_runPage(self, record: RunRecord) -> str:
        return run_page_path(record.run_id)


class WriteSummarySerializer(serializers.Serializer):
    runId = serializers.CharField(source="run_id")
    checksum = serializers.CharField()
    created = serializers.BooleanField()
    nodesCreated = serializers.IntegerField(source="nodes_created")
    relationshipsCreated = serializers.IntegerField(source="relationships_created")
    nodeCount = serializers.IntegerField(source="node_count")
    relationshipCount = serializers.IntegerField(source="relationship_count")
    attempts = serializers.IntegerField()
    latencyMs = serializers.FloatField(source="latency_ms")
    blobUri = serializers.CharField(source="blob_uri", allow_null=True)


class RunIngestedSerializer(serializers.Serializer):
    """The 201/200/202 of POST /runs (an orchestration.services.IngestOutcome)."""

    runId = serializers.CharField(source="run_id")
    created = serializers.BooleanField(help_text="False when the same run was already persisted.")
    persisted = serializers.BooleanField(
        help_text="False when the run is only in the outbox (Neo4j unavailable); a worker writes "
        "it later.")
    summary = WriteSummarySerializer(allow_null=True, help_text="What the Neo4j write did; null "
                                     "when the write is still to come.")


class RunSummarySerializer(serializers.Serializer):
    """One row of GET /runs: the ledger, compact."""

    runId = serializers.CharField(source="run_id")
    status = serializers.ChoiceField(choices=RunStatus.choices)
    source = serializers.ChoiceField(choices=RunSource.choices)
    failedAgent = BlankAsNullField(source="failed_agent")
    requestText = serializers.CharField(source="request_text")
    createdAt = serializers.DateTimeField(source="created_at")
    finishedAt = serializers.DateTimeField(source="finished_at", allow_null=True)
    totalDurationMs = serializers.FloatField(source="total_duration_ms", allow_null=True)
    persistedAt = serializers.DateTimeField(source="persisted_at", allow_null=True)


class RunLedgerStatusSerializer(serializers.Serializer):
    """GET /runs/{runId}/status: where a run stands, from the ledger (before Neo4j has it too)."""

    runId = serializers.CharField(source="run_id")
    status = serializers.ChoiceField(choices=RunStatus.choices)
    source = serializers.ChoiceField(choices=RunSource.choices)
    stages = serializers.DictField(
        source="ordered_stages", child=serializers.DictField(),
        help_text="Per agent, in pipeline order: status, sequence, startedAt, durationMs, error.")
    queuePosition = serializers.IntegerField(
        source="queue_position", allow_null=True,
        help_text="1-based place in the intake queue while the run waits; null once started.")
    failedAgent = BlankAsNullField(source="failed_agent")
    error = BlankAsNullField(help_text="The error of the failed stage, if one failed.")
    persistError = BlankAsNullField(
        source="persist_error", help_text="Why the last Neo4j write failed (it is retried) or was "
        "refused.")
    createdAt = serializers.DateTimeField(source="created_at")
    startedAt = serializers.DateTimeField(source="started_at", allow_null=True)
    finishedAt = serializers.DateTimeField(source="finished_at", allow_null=True)
    totalDurationMs = serializers.FloatField(source="total_duration_ms", allow_null=True)
    persistedAt = serializers.DateTimeField(source="persisted_at", allow_null=True)
    runPage = serializers.SerializerMethodField()

    def get_runPage(self, record: RunRecord) -> str:
        return run_page_path(record.run_id)


# --- input: the run list's query parameters ----------------------------------------------------


class RunListFilterSerializer(serializers.Serializer):
    """Query parameters of GET /runs. Unknown parameters are refused rather than ignored, so a
    misspelt filter cannot silently widen the list."""

    # Parameters that belong to the pagination or to DRF's format override, not to the filter.
    PASS_THROUGH = frozenset({"cursor", "page_size", "format"})

    status = serializers.ChoiceField(choices=RunStatus.choices, required=False,
                                     help_text="Only runs in this ledger status.")
    since = serializers.DateTimeField(required=False, help_text="Runs created at or after this "
                                      "ISO 8601 instant (UTC when no offset is given).")
    until = serializers.DateTimeField(required=False, help_text="Runs created before this ISO 8601"
                                      " instant.")
    failedAgent = serializers.ChoiceField(choices=[agent for agent, _ in STAGES], required=False,
                                          help_text="Only runs that failed at this agent.")
    text = serializers.CharField(required=False, max_length=200, help_text="Case-insensitive "
                                 "substring of the runId or of the request text.")

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        # An empty parameter (a blank field of a search form: "?text=&status=") filters nothing.
        data = {name: value for name, value in data.items() if value != ""}
        unknown = sorted(set(data) - set(self.fields) - self.PASS_THROUGH)
        if unknown:
            allowed = ", ".join([*self.fields, *sorted(self.PASS_THROUGH)])
            raise serializers.ValidationError(
                {name: [f"is not a parameter of this list; use one of {allowed}."]
                 for name in unknown})
        return super().to_internal_value(data)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        since, until = attrs.get("since"), attrs.get("until")
        if since is not None and until is not None and since >= until:
            raise serializers.ValidationError({"until": ["must be later than since."]})
        return attrs

    def selector_kwargs(self) -> dict[str, Any]:
        """The validated filters as keyword arguments of selectors.run_list."""
        data = self.validated_data
        return {"status": data.get("status"), "since": data.get("since"),
                "until": data.get("until"), "failed_agent": data.get("failedAgent"),
                "text": data.get("text") or None}
