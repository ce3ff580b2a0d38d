"""Query parameters of the list and insight endpoints, and the run list's pagination.

One strict base, `QueryParams`: unknown parameters are refused rather than ignored (a misspelt
filter cannot silently widen a list or change an answer), blank ones count as absent, and every
refusal is a 400 naming the parameter (api/errors.py renders it). An API reads its parameters
with `SomeParams.parse(request)`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from pydantic import TypeAdapter
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

from contracts import STAGES
from contracts.run import RunId
from graphstore.prompt import DEFAULT_CHARS, MAX_CHARS, MIN_CHARS
from orchestration import selectors
from orchestration.models import RunStatus

DEFAULT_WINDOW = timedelta(days=30)

# --- in the OpenAPI document: the {run_id} path parameter and the response headers ------------

# The contract's runId (pattern and length), as the path parameter's schema.
RUN_ID_SCHEMA = {key: value for key, value in TypeAdapter(RunId).json_schema().items()
                 if key in ("type", "pattern", "minLength", "maxLength")}
RUN_ID = OpenApiParameter("run_id", RUN_ID_SCHEMA, OpenApiParameter.PATH,
                          description="The runId (metadata.id of the RunResult).")


def location_header(*codes: int) -> OpenApiParameter:
    """The Location header of these responses: the run's URL (GET it once it is persisted)."""
    return OpenApiParameter("Location", OpenApiTypes.STR, OpenApiParameter.HEADER,
                            description="The run: /api/orchestration/runs/{runId}.",
                            response=list(codes))


RETRY_AFTER = OpenApiParameter(
    "Retry-After", OpenApiTypes.INT, OpenApiParameter.HEADER, response=[429, 503],
    description="Seconds to wait before trying again (on 429 queue_full and the 503s of an "
    "unreachable Neo4j, task queue or blob store).")


class QueryParams(serializers.Serializer):
    """The strict base. PASS_THROUGH names parameters another part of the API reads (DRF's
    `format`, the pagination's `cursor`); UNKNOWN is the message for any other name."""

    PASS_THROUGH: ClassVar[frozenset[str]] = frozenset({"format"})
    UNKNOWN: ClassVar[str] = "is not a parameter of this endpoint; use one of {allowed}."

    def allowed(self) -> list[str]:
        """The parameter names the refusal message offers."""
        return list(self.fields)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        data = {name: value for name, value in data.items() if value != ""}
        unknown = sorted(set(data) - set(self.fields) - self.PASS_THROUGH)
        if unknown:
            message = self.UNKNOWN.format(allowed=", ".join(self.allowed()))
            raise serializers.ValidationError({name: [message] for name in unknown})
        return super().to_internal_value(data)

    @classmethod
    def parse(cls, request: Request) -> dict[str, Any]:
        """The request's validated parameters; ValidationError (a 400) otherwise."""
        params = cls(data=request.query_params)
        params.is_valid(raise_exception=True)
        return dict(params.validated_data)


# --- the run list ------------------------------------------------------------------------------


class RunListParams(QueryParams):
    """Query parameters of GET /runs (the ledger's filters)."""

    PASS_THROUGH = frozenset({"cursor", "page_size", "format"})
    UNKNOWN = "is not a parameter of this list; use one of {allowed}."

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

    def allowed(self) -> list[str]:
        return [*self.fields, *sorted(self.PASS_THROUGH)]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        since, until = attrs.get("since"), attrs.get("until")
        if since is not None and until is not None and since >= until:
            raise serializers.ValidationError({"until": ["must be later than since."]})
        return attrs

    @classmethod
    def selector_kwargs(cls, request: Request) -> dict[str, Any]:
        """The validated filters as keyword arguments of selectors.run_list."""
        data = cls.parse(request)
        return {"status": data.get("status"), "since": data.get("since"),
                "until": data.get("until"), "failed_agent": data.get("failedAgent"),
                "text": data.get("text") or None}


def _cursor_of(link: str | None) -> str | None:
    """The cursor a DRF page link carries (`?cursor=...`), or None."""
    if link is None:
        return None
    return parse_qs(urlsplit(link).query).get(RunCursorPagination.cursor_query_param, [None])[0]


class RunCursorPagination(CursorPagination):
    """Newest first; 50 a page, ?page_size= up to 200. Bad cursors and sizes are 400s.

    A page is {results, nextCursor, previousCursor}: the opaque cursors themselves (null at
    either end), which a client passes back as ?cursor= with the same filters."""

    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    page_size_query_description = "Runs per page, 1 to 200 (default 50)."
    max_page_size = 200
    cursor_query_description = ("The page to read: a nextCursor or previousCursor of an earlier "
                                "page of the same list (same filters); none for the first page.")

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if not 1 <= size <= self.max_page_size:
            raise ValidationError({self.page_size_query_param: [
                f"must be a whole number from 1 to {self.max_page_size}, got {raw!r}."]})
        return size

    def decode_cursor(self, request: Request) -> Any:
        try:
            return super().decode_cursor(request)
        except NotFound as exc:
            raise ValidationError({self.cursor_query_param: [
                "is not a cursor this list handed out; pass a nextCursor or previousCursor of "
                "an earlier page."]},
            ) from exc

    def get_paginated_response(self, data: Any) -> Response:
        return Response({"results": data, "nextCursor": _cursor_of(self.get_next_link()),
                         "previousCursor": _cursor_of(self.get_previous_link())})

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        cursor = {"type": "string", "nullable": True}
        return {
            "type": "object", "required": ["results", "nextCursor", "previousCursor"],
            "properties": {
                "results": schema,
                "nextCursor": {**cursor, "description": "Pass as ?cursor= for the next (older) "
                               "page; null on the last page."},
                "previousCursor": {**cursor, "description": "Pass as ?cursor= for the previous "
                                   "(newer) page; null on the first page."}}}

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {"name": self.cursor_query_param, "required": False, "in": "query",
             "description": self.cursor_query_description, "schema": {"type": "string"}},
            {"name": self.page_size_query_param, "required": False, "in": "query",
             "description": self.page_size_query_description,
             "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size,
                        "default": self.page_size}}]


# --- the diff ----------------------------------------------------------------------------------


class RunDiffParams(QueryParams):
    """Query parameters of GET /runs/{runId}/diff."""

    UNKNOWN = "is not a parameter of the diff; use {allowed}."

    against = serializers.RegexField(
        r"^[A-Za-z0-9][A-Za-z0-9._:\-]*$", max_length=128, required=False,
        help_text="The runId to compare with (default: the run this one replays).")


# --- analytics and retrieval -------------------------------------------------------------------


class AnalyticsWindowParams(QueryParams):
    """The window of an analytics read; `since` and `until` are always set once valid."""

    since = serializers.DateTimeField(
        required=False, help_text="Runs started at or after this ISO 8601 instant (UTC when no "
        "offset is given). Default: 30 days before `until`.")
    until = serializers.DateTimeField(
        required=False, help_text="Runs started before this ISO 8601 instant. Default: now.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        until = attrs.get("until") or timezone.now()
        since = attrs.get("since")
        if since is None:
            try:
                since = until - DEFAULT_WINDOW
            except OverflowError:  # an `until` in the first days of year 1
                since = datetime.min.replace(tzinfo=UTC)
        if since >= until:
            raise serializers.ValidationError(
                {"until": [f"must be later than since ({since.isoformat()})."]})
        attrs["since"], attrs["until"] = since, until
        return attrs


class AnalyticsIngredientParams(AnalyticsWindowParams):
    limit = serializers.IntegerField(required=False, default=10, min_value=1, max_value=100,
                                     help_text="How many ingredients, 1 to 100 (default 10).")


class AnalyticsCostParams(AnalyticsWindowParams):
    recipe = serializers.CharField(required=False, max_length=200,
                                   help_text="Only this recipe id (RecipeVersion.recipeId).")
    limit = serializers.IntegerField(
        required=False, default=10, min_value=1, max_value=50,
        help_text="How many recipes (those with the most costed runs), 1 to 50 (default 10).")


class AnalyticsValidationParams(AnalyticsWindowParams):
    kind = serializers.ChoiceField(
        choices=["errors", "warnings"], required=False, default="errors",
        help_text="Count errors (critical included; the default) or warnings.")
    limit = serializers.IntegerField(required=False, default=20, min_value=1, max_value=200,
                                     help_text="How many issue kinds, 1 to 200 (default 20).")


class SimilarRunParams(QueryParams):
    q = serializers.CharField(
        max_length=500, help_text="What to look for, in plain words (request text, recipe or "
        "ingredient names). Query syntax is not interpreted: only the words count.")
    limit = serializers.IntegerField(required=False, default=10, min_value=1, max_value=50,
                                     help_text="How many runs, 1 to 50 (default 10).")

    def validate_q(self, value: str) -> str:
        if not selectors.search_terms(value):
            raise serializers.ValidationError("must contain at least one word (letters or "
                                              "digits).")
        return value


class RunsLikeParams(QueryParams):
    limit = serializers.IntegerField(required=False, default=10, min_value=1, max_value=50,
                                     help_text="How many runs, 1 to 50 (default 10).")


class RunSearchParams(SimilarRunParams):
    """q and limit, as runs/similar; q may name ingredients, functions and percentages."""


class RunContextParams(QueryParams):
    neighbours = serializers.IntegerField(
        required=False, default=3, min_value=0, max_value=10,
        help_text="How many nearest runs (runs like this one) the prompt adds, 0 to 10 "
        "(default 3).")
    max_chars = serializers.IntegerField(
        required=False, default=DEFAULT_CHARS, min_value=MIN_CHARS, max_value=MAX_CHARS,
        help_text=f"The prompt text's budget in characters, {MIN_CHARS} to {MAX_CHARS} "
        f"(default {DEFAULT_CHARS}); facts that do not fit are left out whole.")
