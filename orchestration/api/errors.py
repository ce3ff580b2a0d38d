"""The one exception handler of the JSON API (settings.REST_FRAMEWORK["EXCEPTION_HANDLER"]): it
maps the error trees of the orchestration app, the graph store and the contract, and DRF's own,
to HTTP statuses and one JSON error shape.

    contracts.ContractError (bad request body)   400  code invalid_contract, errors = field paths
    DRF ValidationError (bad query parameter)    400  code invalid, errors = parameter names
    orchestration DiffBaseMissing                400  code invalid, errors = against
    DRF ParseError (malformed JSON, not object)  400  code parse_error
    DRF NotAuthenticated / AuthenticationFailed  401  (403 PermissionDenied)
    orchestration / graphstore RunNotFound       404  code not_found
    orchestration / graphstore RunConflict       409  code run_conflict
    orchestration BatchRefused (a batch)         409  code batch_refused, errors = each run
    Body over the limit (api/middleware.py)      413  code body_too_large
    DRF UnsupportedMediaType (not JSON)          415
    WriteSetTooLarge, MappingError               422  code write_set_too_large / unmappable_run
    orchestration QueueFull (intake at its limit) 429 code queue_full, Retry-After
    Neo4j unavailable (reads)                    503  code graph_unavailable
    graphstore RetrievalIndexMissing             503  code retrieval_unavailable
    Celery broker / Redis unreachable            503  code queue_unavailable, Retry-After
    graphstore BlobStoreError on a read (the store failing) 503 code blob_store_unavailable
    graphstore RunBlobMissing / RunBlobCorrupted 500  code blob_missing / blob_corrupted (logged)
    graphstore ReplayError (a damaged stored run) 500 code replay_failed (logged)

Every error body has one shape: {"detail": sentence, "code": kind, "errors": [{field, message,
type}]}. WriteSetTooLarge is a 422, not a 413: the body is small, well-formed and satisfies the
contract, but the run maps to more graph elements than one run may have (design section 7); 413
means the bytes of the body are too many, and is kept for that.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from kombu.exceptions import OperationalError as BrokerUnavailable
from neo4j.exceptions import ServiceUnavailable, SessionExpired
from redis.exceptions import RedisError
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from contracts import ContractError
from graphstore import errors as graph_errors
from graphstore.errors import MappingError, RetrievalIndexMissing, WriteSetTooLarge
from orchestration import errors

logger = logging.getLogger(__name__)

BODY_TOO_LARGE = ("The request body is larger than this server accepts ({limit} bytes, settings "
                  "DATA_UPLOAD_MAX_MEMORY_SIZE); send one run per request.")


class RequestBodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "body_too_large"


def error_body(code: str, detail: str, errors: list[dict[str, Any]] | None = None,
               **extra: Any) -> dict[str, Any]:
    """The one error shape."""
    return {"detail": detail, "code": code, "errors": errors or [], **extra}


def _error(status_code: int, code: str, detail: str, errors: list[dict[str, Any]] | None = None,
           **extra: Any) -> Response:
    return Response(error_body(code, detail, errors, **extra), status=status_code)


def flatten(detail: Any, path: str = "") -> Iterator[dict[str, Any]]:
    """DRF's nested error detail -> [{field, message, type}] with dotted / [i] paths."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = "" if key == "non_field_errors" else str(key)
            yield from flatten(value, f"{path}.{name}" if path and name else path or name)
    elif isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        for i, item in enumerate(detail):
            yield from flatten(item, f"{path}[{i}]")
    elif isinstance(detail, list):
        for item in detail:
            yield from flatten(item, path)
    else:
        yield {"field": path or "(root)", "message": str(detail),
               "type": str(getattr(detail, "code", "invalid"))}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Map the exception trees of the app to HTTP statuses and one JSON error shape."""
    if isinstance(exc, errors.DiffBaseMissing):  # about a query parameter: answered as one
        exc = ValidationError({exc.field: [str(exc)]})
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
    if isinstance(exc, errors.RunNotFound | graph_errors.RunNotFound):
        return _error(404, "not_found", str(exc))
    if isinstance(exc, errors.RunConflict | graph_errors.RunConflict):
        return _error(409, "run_conflict", str(exc))
    if isinstance(exc, errors.BatchRefused):
        return _error(409, "batch_refused", str(exc), exc.errors)
    if isinstance(exc, ServiceUnavailable | SessionExpired):
        response = _error(503, "graph_unavailable", f"Neo4j is not answering ({exc}); try again "
                          "in a moment.")
        response["Retry-After"] = "5"
        return response
    if isinstance(exc, RetrievalIndexMissing):
        return _error(503, "retrieval_unavailable", str(exc))
    if isinstance(exc, graph_errors.EmbedderError):
        logger.error("the embedder failed: %s", exc)
        return _error(503, "embedder_unavailable", str(exc))
    if isinstance(exc, errors.QueueFull):
        response = _error(429, "queue_full", str(exc))
        response["Retry-After"] = str(exc.retry_after_s)
        return response
    if isinstance(exc, BrokerUnavailable | RedisError):
        logger.error("the task queue is not reachable: %s", exc)
        response = _error(503, "queue_unavailable", "The task queue is not reachable, so the run "
                          "cannot be started or its write queued; try again in a minute.")
        response["Retry-After"] = "30"
        return response
    if isinstance(exc, graph_errors.RunBlobUnreadable):
        # The stored run is damaged, as any run that does not read back (500, not 404: the run
        # exists; not 503: waiting will not bring the blob back).
        logger.error("replay of %s failed, its blob is unreadable: %s", exc.run_id, exc)
        return _error(500, exc.code, str(exc), runId=exc.run_id, blobUri=exc.uri)
    if isinstance(exc, graph_errors.ReplayError):
        logger.error("replay failed: %s", exc, exc_info=exc)
        return _error(500, "replay_failed", str(exc))
    if isinstance(exc, graph_errors.BlobStoreError):
        logger.error("the blob store failed: %s", exc)
        response = _error(503, "blob_store_unavailable", f"The blob store did not answer as it "
                          f"should ({exc}); try again in a moment.")
        response["Retry-After"] = "30"
        return response

    answer = drf_exception_handler(exc, context)
    if answer is None:
        return None  # not ours: Django's 500 handling (and its logging) takes over
    if isinstance(exc, ValidationError):
        items = list(flatten(exc.detail))
        lines = "; ".join(f"{e['field']}: {e['message'].rstrip('.')}" for e in items[:10])
        answer.data = error_body("invalid", f"The request is invalid: {lines}.", items)
    elif isinstance(exc, APIException):
        code = exc.get_codes()
        answer.data = error_body(code if isinstance(code, str) else exc.default_code,
                                 str(exc.detail))
    else:  # Django's Http404 / PermissionDenied, converted by DRF
        answer.data = error_body("not_found" if answer.status_code == 404 else "error",
                                 str(answer.data.get("detail", exc)))
    return answer
