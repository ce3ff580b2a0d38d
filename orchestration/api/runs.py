"""Runs: submit a request (the pipeline runs it), ingest a RunResult from elsewhere, the ledger's
list, one run replayed from Neo4j, and where a run stands. Thin: each API parses its input, calls
one service or selector, and renders; errors go to api/errors.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.core.exceptions import RequestDataTooBig
from drf_spectacular.utils import OpenApiResponse, extend_schema
from pydantic import ValidationError as PydanticValidationError
from rest_framework import status
from rest_framework.exceptions import ParseError, UnsupportedMediaType
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from contracts import ContractError, InputContract, RunResult, parse_input, parse_run_result
from orchestration import selectors, services

from .errors import RequestBodyTooLarge
from .params import RETRY_AFTER, RUN_ID, RunCursorPagination, RunListParams, location_header
from .serializers import (
    ErrorSerializer,
    RunAcceptedSerializer,
    RunIngestedSerializer,
    RunLedgerStatusSerializer,
    RunSummarySerializer,
    WriteSetTooLargeSerializer,
    run_detail_path,
)

T = TypeVar("T")


# --- request bodies: parsed by the contract, not re-modelled in DRF ----------------------------


def contract_body(request: Request, parse: Callable[[bytes], T], *, what: str) -> T:
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


# --- OpenAPI -----------------------------------------------------------------------------------

_ERROR_TEXT = {
    400: "Invalid input; `errors` names each bad field (or query parameter).",
    401: "No or bad credentials (token or session).",
    403: "Authenticated but not allowed (or a session request without its CSRF token).",
    404: "No run has this runId, or it is not one the caller may see (the same answer).",
    409: "The runId is already taken: by a run with different content, or by another user's "
         "run (whatever its content).",
    413: "The request body is larger than the server accepts.",
    415: "The body is not JSON.",
    422: "The run maps to more graph elements than one run may have; nothing was written.",
    429: "The intake queue is full; nothing was recorded. Retry after Retry-After seconds.",
    503: "Neo4j or the task queue is not answering; try again (see Retry-After).",
}


def _errors(*codes: int) -> dict[int, OpenApiResponse]:
    return {code: OpenApiResponse(WriteSetTooLargeSerializer if code == 422 else ErrorSerializer,
                                  description=_ERROR_TEXT[code]) for code in codes}


# --- APIs --------------------------------------------------------------------------------------


class RunRequestCreateApi(APIView):
    """POST /requests: submit an input contract; the pipeline runs it on the workers."""

    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="requests_create", summary="Submit a request (an input contract)",
        request=InputContract, parameters=[location_header(202), RETRY_AFTER],
        responses={202: RunAcceptedSerializer, **_errors(400, 401, 403, 413, 415, 429, 503)},
        description="Records the request and queues it (it starts when a slot is free; 429 with "
        "Retry-After when the queue is full). Answers at once with the runId; poll `statusUrl` "
        "(the ledger) or follow `Location` (the persisted RunResult, 404 until it is in Neo4j).")
    def post(self, request: Request) -> Response:
        contract = contract_body(request, parse_input, what="input contract")
        record = services.run_request_create(user=request.user, request=contract)
        return Response(RunAcceptedSerializer(record).data, status=status.HTTP_202_ACCEPTED,
                        headers={"Location": run_detail_path(record.run_id)})


class RunListApi(APIView):
    """GET /runs: the ledger, filtered, newest first, cursor-paginated."""

    pagination_class = RunCursorPagination

    @extend_schema(
        operation_id="runs_list", summary="List runs",
        parameters=[RunListParams],
        description="The caller's runs in the ledger (every run for a user with the "
        "permission to see all runs), newest first (createdAt), 50 a page by default "
        "(`page_size` up to 200); pass the answer's `nextCursor` as `cursor` (with the same "
        "filters) for the next page. Unknown or malformed parameters are a 400 "
        "naming the parameter.",
        responses={200: RunSummarySerializer(many=True), **_errors(400, 401, 403)})
    def get(self, request: Request) -> Response:
        runs = selectors.run_list(viewer=request.user, **RunListParams.selector_kwargs(request),
                                  compact=True)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(runs, request, view=self)
        return paginator.get_paginated_response(RunSummarySerializer(page, many=True).data)


class RunIngestApi(APIView):
    """POST /runs: a RunResult from an external orchestrator, persisted."""

    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="runs_ingest", summary="Persist a RunResult",
        request=RunResult, parameters=[location_header(200, 201, 202), RETRY_AFTER],
        responses={
            201: OpenApiResponse(RunIngestedSerializer, description="Persisted (new)."),
            200: OpenApiResponse(RunIngestedSerializer, description="The same run (same runId,"
                                 " same checksum) was already persisted; nothing changed."),
            202: OpenApiResponse(RunIngestedSerializer, description="Safely in the outbox; "
                                 "Neo4j is unavailable and a worker will write it."),
            **_errors(400, 401, 403, 409, 413, 415, 422, 503)},
        description="Validates the RunResult against the v1 contract, commits it to the ledger "
        "(the outbox), then writes it to Neo4j in one transaction. The run belongs to the "
        "caller. Idempotent per runId and content.")
    def post(self, request: Request) -> Response:
        run = contract_body(request, parse_run_result, what="RunResult")
        outcome = services.run_result_ingest(user=request.user, run=run)
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
        parameters=[RUN_ID, RETRY_AFTER],
        responses={200: RunResult, **_errors(401, 403, 404, 503)})
    def get(self, request: Request, run_id: str) -> Response:
        return Response(selectors.run_replay(viewer=request.user, run_id=run_id).to_wire())


class RunStatusDetailApi(APIView):
    """GET /runs/{runId}/status: the ledger view of a run (polled by the web run page)."""

    @extend_schema(
        operation_id="runs_status", summary="Where a run stands (the ledger)",
        parameters=[RUN_ID],
        responses={200: RunLedgerStatusSerializer, **_errors(401, 403, 404)},
        description="Works from the moment the request is accepted, before the run is in Neo4j.")
    def get(self, request: Request, run_id: str) -> Response:
        record = selectors.run_get(viewer=request.user, run_id=run_id)
        return Response(RunLedgerStatusSerializer(record).data)
