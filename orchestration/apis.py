"""The JSON API (DRF), mounted at /api/orchestration/. Thin: each API parses its input, calls one
service or selector, and renders. Errors are mapped to HTTP statuses in one place,
`exception_handler` below (settings.REST_FRAMEWORK["EXCEPTION_HANDLER"]):

    ContractError (bad request body)             400  code invalid_contract, errors = field paths
    DRF ValidationError (bad query parameter)    400  code invalid, errors = parameter names
    DRF ParseError (malformed JSON, not object)  400  code parse_error
    DRF NotAuthenticated / AuthenticationFailed  401  (403 PermissionDenied)
    RunNotKnown, graphstore RunNotFound          404  code not_found
    RunIdConflict, graphstore RunConflict        409  code run_conflict
    Body over the limit (BodySizeLimitMiddleware) 413  code body_too_large
    DRF UnsupportedMediaType (not JSON)          415
    WriteSetTooLarge, MappingError               422  code write_set_too_large / unmappable_run
    backpressure.QueueFull (intake at its limit) 429  code queue_full, Retry-After
    Neo4j unavailable (reads)                    503  code graph_unavailable
    Celery broker / Redis unreachable            503  code queue_unavailable, Retry-After
    ReplayError (a stored run that is damaged)   500  code replay_failed (logged)

Every error body has one shape: {"detail": sentence, "code": kind, "errors": [{field, message,
type}]}. WriteSetTooLarge is a 422, not a 413: the body is small, well-formed and satisfies the
contract, but the run maps to more graph elements than one run may have (design section 7); 413
means the bytes of the body are too many, and is kept for that.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from kombu.exceptions import OperationalError as BrokerUnavailable
from neo4j.exceptions import ServiceUnavailable, SessionExpired
from pydantic import ValidationError as PydanticValidationError
from redis.exceptions import RedisError
from rest_framework import status
from rest_framework.exceptions import (
    APIException,
    NotFound,
    ParseError,
    UnsupportedMediaType,
    ValidationError,
)
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from contracts import (
    ContractError,
    InputContract,
    RunResult,
    parse_input,
    parse_run_result,
)
from graphstore.errors import ReplayError, RunConflict, RunNotFound
from graphstore.mapper import MappingError, WriteSetTooLarge

from .backpressure import QueueFull
from .errors import RunIdConflict, RunNotKnown
from .selectors import run_get, run_list, run_replay
from .serializers import (
    ErrorSerializer,
    RunAcceptedSerializer,
    RunIngestedSerializer,
    RunLedgerStatusSerializer,
    RunListFilterSerializer,
    RunSummarySerializer,
    WriteSetTooLargeSerializer,
    run_detail_path,
)
from .services import run_request_create, run_result_ingest

logger = logging.getLogger(__name__)

T = TypeVar("T")

# --- errors: the one place that maps exceptions to HTTP ----------------------------------------


class RequestBodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "body_too_large"


BODY_TOO_LARGE = ("The request body is larger than this server accepts ({limit} bytes, settings "
                  "DATA_UPLOAD_MAX_MEMORY_SIZE); send one run per request.")


class BodySizeLimitMiddleware:
    """413 for any request whose Content-Length is over DATA_UPLOAD_MAX_MEMORY_SIZE, before a
    view, a parser or the CSRF check reads a byte of it (settings.MIDDLEWARE, near the top).
    Django checks the limit only when `request.body` or `request.POST` is read, and DRF's parsers
    read the stream directly, so without this /api/auth/token would parse a body of any size.
    API paths get the JSON error shape; a WSGI server reads at most Content-Length bytes."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from django.conf import settings

        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit is None or length <= limit:
            return self.get_response(request)
        detail = BODY_TOO_LARGE.format(limit=limit)
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": detail, "code": "body_too_large", "errors": []},
                                status=413)
        return HttpResponse(detail, status=413, content_type="text/plain; charset=utf-8")


def _error(status_code: int, code: str, detail: str, errors: list[dict[str, Any]] | None = None,
           **extra: Any) -> Response:
    return Response({"detail": detail, "code": code, "errors": errors or [], **extra},
                    status=status_code)


def _flatten(detail: Any, path: str = "") -> Iterator[dict[str, Any]]:
    """DRF's nested error detail -> [{field, message, type}] with dotted / [i] paths."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = "" if key == "non_field_errors" else str(key)
            yield from _flatten(value, f"{path}.{name}" if path and name else path or name)
    elif isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        for i, item in enumerate(detail):
            yield from _flatten(item, f"{path}[{i}]")
    elif isinstance(detail, list):
        for item in detail:
            yield from _flatten(item, path)
    else:
        yield {"field": path or "(root)", "message": str(detail),
               "type": str(getattr(detail, "code", "invalid"))}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Map the exception trees of the app to HTTP statuses and one JSON error shape."""
    if isinstance(exc, ContractError):
        return _error(400, "invalid_contract", str(exc),
                      [{"field": e["field"], "message": e["message"], "type": e["type"]}
                       for e in exc.errors])
    if isinstance(exc, WriteSetTooLarge):
        return _error(422, "write_set_too_large", str(exc), counts={
            "nodes": exc.nodes, "relationships": exc.relationships,
            "total": exc.nodes + exc.relationships, "limit": exc.limit})
    if isinstance(exc, MappingError):
        return _error(422, "unmappable_run", str(exc))
    if isinstance(exc, RunNotKnown | RunNotFound):
        return _error(404, "not_found", str(exc))
    if isinstance(exc, RunIdConflict | RunConflict):
        return _error(409, "run_conflict", str(exc))
    if isinstance(exc, ServiceUnavailable | SessionExpired):
        response = _error(503, "graph_unavailable", f"Neo4j is not answering ({exc}); try again "
                          "in a moment.")
        response["Retry-After"] = "5"
        return response
    if isinstance(exc, QueueFull):
        response = _error(429, "queue_full", str(exc))
        response["Retry-After"] = str(exc.retry_after_s)
        return response
    if isinstance(exc, BrokerUnavailable | RedisError):
        logger.error("the task queue is not reachable: %s", exc)
        response = _error(503, "queue_unavailable", "The task queue is not reachable, so the run "
                          "cannot be started or its write queued; try again in a minute.")
        response["Retry-After"] = "30"
        return response
    if isinstance(exc, ReplayError):
        logger.error("replay failed: %s", exc, exc_info=exc)
        return _error(500, "replay_failed", str(exc))

    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # not ours: Django's 500 handling (and its logging) takes over
    if isinstance(exc, ValidationError):
        errors = list(_flatten(exc.detail))
        lines = "; ".join(f"{e['field']}: {e['message'].rstrip('.')}" for e in errors[:10])
        response.data = {"detail": f"The request is invalid: {lines}.", "code": "invalid",
                         "errors": errors}
    elif isinstance(exc, APIException):
        detail = exc.detail
        code = exc.get_codes()
        response.data = {"detail": str(detail),
                         "code": code if isinstance(code, str) else exc.default_code,
                         "errors": []}
    else:  # Django's Http404 / PermissionDenied, converted by DRF
        response.data = {"detail": str(response.data.get("detail", exc)),
                         "code": "not_found" if response.status_code == 404 else "error",
                         "errors": []}
    return response


# --- request bodies: parsed by the contract, not re-modelled in DRF ----------------------------


def _contract_body(request: Request, parse: Callable[[bytes], T], *, what: str) -> T:
    """The JSON body parsed by the contract's own (strict) JSON parsing: "12.5" for a number is
    an error naming the field, not a value coerced on the way."""
    media_type = (request.content_type or "").split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType(media_type or "(none)", detail=(
            f"The body must be JSON (Content-Type: application/json), got "
            f"{media_type or 'no Content-Type'}."))
    try:
        raw = request.body
    except RequestDataTooBig as exc:
        raise RequestBodyTooLarge(
            "The request body is larger than this server accepts (settings "
            "DATA_UPLOAD_MAX_MEMORY_SIZE); send one run per request.") from exc
    if not raw.strip():
        raise ParseError(f"The request body is empty; send the {what} as a JSON object.")
    try:
        return parse(raw)
    except ContractError as exc:
        cause = exc.__cause__
        if isinstance(cause, PydanticValidationError) and cause.error_count() == 1:
            first = cause.errors(include_url=False)[0]
            if first["type"] == "json_invalid":
                reason = first["msg"].removeprefix("Invalid JSON: ")
                raise ParseError(f"The request body is not valid JSON ({reason}).") from exc
            if first["type"] == "model_type" and not first["loc"]:
                raise ParseError(f"The request body must be a JSON object (the {what}), got "
                                 f"{type(first['input']).__name__}.") from exc
        raise


# --- pagination --------------------------------------------------------------------------------


class RunCursorPagination(CursorPagination):
    """Newest first; 50 a page, ?page_size= up to 200. Bad cursors and sizes are 400s."""

    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    page_size_query_description = "Runs per page, 1 to 200 (default 50)."
    max_page_size = 200

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
                "is not a cursor this list handed out; follow the next and previous links."]},
            ) from exc


# --- APIs --------------------------------------------------------------------------------------

_LOCATION = OpenApiParameter("Location", OpenApiTypes.STR, OpenApiParameter.HEADER,
                             description="The run: /api/orchestration/runs/{runId}.",
                             response=[201, 202])
_RUN_ID = OpenApiParameter("run_id", OpenApiTypes.STR, OpenApiParameter.PATH,
                           description="The runId (metadata.id of the RunResult).")


def _errors(*codes: int) -> dict[int, OpenApiResponse]:
    return {code: OpenApiResponse(WriteSetTooLargeSerializer if code == 422 else ErrorSerializer,
                                  description=_ERROR_TEXT[code]) for code in codes}


_ERROR_TEXT = {
    400: "Invalid input; `errors` names each bad field (or query parameter).",
    401: "No or bad credentials (token or session).",
    403: "Authenticated but not allowed (or a session request without its CSRF token).",
    404: "No run has this runId.",
    409: "The runId is already taken by a run with different content.",
    413: "The request body is larger than the server accepts.",
    415: "The body is not JSON.",
    422: "The run maps to more graph elements than one run may have; nothing was written.",
    429: "The intake queue is full; nothing was recorded. Retry after Retry-After seconds.",
    503: "Neo4j or the task queue is not answering; try again (see Retry-After).",
}


class RunRequestCreateApi(APIView):
    """POST /requests: submit an input contract; the pipeline runs it on the workers."""

    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="requests_create", summary="Submit a request (an input contract)",
        request=InputContract, parameters=[_LOCATION],
        responses={202: RunAcceptedSerializer, **_errors(400, 401, 403, 413, 415, 429, 503)},
        description="Records the request and queues it (it starts when a slot is free; 429 with "
        "Retry-After when the queue is full). Answers at once with the runId; poll `statusUrl` "
        "(the ledger) or follow `Location` (the persisted RunResult, 404 until it is in Neo4j).")
    def post(self, request: Request) -> Response:
        contract = _contract_body(request, parse_input, what="input contract")
        record = run_request_create(user=request.user, request=contract)
        return Response(RunAcceptedSerializer(record).data, status=status.HTTP_202_ACCEPTED,
                        headers={"Location": run_detail_path(record.run_id)})


class RunListApi(APIView):
    """GET /runs: the ledger, filtered, newest first, cursor-paginated."""

    pagination_class = RunCursorPagination

    @extend_schema(
        operation_id="runs_list", summary="List runs",
        parameters=[RunListFilterSerializer],
        description="The run ledger, newest first (createdAt), 50 a page by default "
        "(`page_size` up to 200); follow `next`. Unknown or malformed parameters are a 400 "
        "naming the parameter.",
        responses={200: RunSummarySerializer(many=True), **_errors(400, 401, 403)})
    def get(self, request: Request) -> Response:
        filters = RunListFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        runs = run_list(**filters.selector_kwargs()).defer(
            "request", "result", "stages", "write_summary")  # the summary needs none of them
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(runs, request, view=self)
        return paginator.get_paginated_response(RunSummarySerializer(page, many=True).data)


class RunIngestApi(APIView):
    """POST /runs: a RunResult from an external orchestrator, persisted."""

    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="runs_ingest", summary="Persist a RunResult",
        request=RunResult, parameters=[_LOCATION],
        responses={
            201: OpenApiResponse(RunIngestedSerializer, description="Persisted (new)."),
            200: OpenApiResponse(RunIngestedSerializer, description="The same run (same runId,"
                                 " same checksum) was already persisted; nothing changed."),
            202: OpenApiResponse(RunIngestedSerializer, description="Safely in the outbox; "
                                 "Neo4j is unavailable and a worker will write it."),
            **_errors(400, 401, 403, 409, 413, 415, 422, 503)},
        description="Validates the RunResult against the v1 contract, commits it to the ledger "
        "(the outbox), then writes it to Neo4j in one transaction. Idempotent per runId and "
        "content.")
    def post(self, request: Request) -> Response:
        run = _contract_body(request, parse_run_result, what="RunResult")
        outcome = run_result_ingest(user=request.user, run=run)
        code = (status.HTTP_202_ACCEPTED if not outcome.persisted
                else status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK)
        return Response(RunIngestedSerializer(outcome).data, status=code,
                        headers={"Location": run_detail_path(outcome.run_id)})


class RunCollectionApi(RunListApi, RunIngestApi):
    """/runs: GET is RunListApi, POST is RunIngestApi (one URL, so one view routes the two)."""

    parser_classes = [JSONParser]


class RunDetailApi(APIView):
    """GET /runs/{runId}: the RunResult replayed from Neo4j."""

    @extend_schema(
        operation_id="runs_retrieve", summary="A persisted run, replayed from Neo4j",
        parameters=[_RUN_ID], responses={200: RunResult, **_errors(401, 403, 404, 503)})
    def get(self, request: Request, run_id: str) -> Response:
        return Response(run_replay(run_id=run_id).to_wire())


class RunStatusApi(APIView):
    """GET /runs/{runId}/status: the ledger view of a run (polled by the web run page)."""

    @extend_schema(
        operation_id="runs_status", summary="Where a run stands (the ledger)",
        parameters=[_RUN_ID],
        responses={200: RunLedgerStatusSerializer, **_errors(401, 403, 404)},
        description="Works from the moment the request is accepted, before the run is in Neo4j.")
    def get(self, request: Request, run_id: str) -> Response:
        return Response(RunLedgerStatusSerializer(run_get(run_id=run_id)).data)
