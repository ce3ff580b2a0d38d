"""Run history: replay a stored run, and the diff of two runs' artifacts. Thin: parse, call
services.run_replay_create or selectors.run_diff_get, render. Errors go through api/errors.py: an
unknown or not yet persisted run is a 404, a diff of a run that is no replay without `against` a
400, a full intake queue a 429, an unreachable broker or Neo4j a 503.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from orchestration import selectors, services

from .params import RETRY_AFTER, RUN_ID, RunDiffParams, location_header
from .serializers import (
    ErrorSerializer,
    RunDiffSerializer,
    RunReplayAcceptedSerializer,
    run_detail_path,
)

_ERRORS = {
    400: "A bad query parameter; `errors` names it.",
    401: "No or bad credentials (token or session).",
    403: "Authenticated but not allowed (or a session request without its CSRF token).",
    404: "No persisted run the caller may see has this runId (for a diff: or the run to "
         "compare with).",
    429: "The intake queue is full; nothing was recorded. Retry after Retry-After seconds.",
    503: "Neo4j or the task queue is not answering; try again (see Retry-After).",
}


def _errors(*codes: int) -> dict[int, OpenApiResponse]:
    return {code: OpenApiResponse(ErrorSerializer, description=_ERRORS[code]) for code in codes}


class RunReplayCreateApi(APIView):
    """POST /runs/{runId}/replay: re-execute a stored run with the current agents."""

    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="runs_replay", summary="Replay a stored run", request=None,
        parameters=[RUN_ID, location_header(202), RETRY_AFTER],
        responses={202: RunReplayAcceptedSerializer, **_errors(401, 403, 404, 429, 503)},
        description="Submits the stored run's input contract (its UserRequest, read back from "
        "Neo4j) through the normal intake as a new run linked to the original "
        "(REPLAY_OF in Neo4j, `metadata.replayOf`). The body is ignored. Answers at once with "
        "the new runId; `diffUrl` gives the diff once the replay is persisted.")
    def post(self, request: Request, run_id: str) -> Response:
        record = services.run_replay_create(user=request.user, run_id=run_id)
        return Response(RunReplayAcceptedSerializer(record).data,
                        status=status.HTTP_202_ACCEPTED,
                        headers={"Location": run_detail_path(record.run_id)})


class RunDiffDetailApi(APIView):
    """GET /runs/{runId}/diff?against=: what changed between two persisted runs."""

    @extend_schema(
        operation_id="runs_diff", summary="The diff of two runs' artifacts",
        parameters=[RUN_ID, RunDiffParams, RETRY_AFTER],
        responses={200: RunDiffSerializer, **_errors(400, 401, 403, 404, 503)},
        description="Compares the ingredients, scaled quantities, costs and validation outcome "
        "of `against` (default: the run this one replays) with this run, both read back from "
        "Neo4j. Timestamps, durations, the graph and the UI layout are not compared.")
    def get(self, request: Request, run_id: str) -> Response:
        params = RunDiffParams.parse(request)
        return Response(selectors.run_diff_get(viewer=request.user, run_id=run_id,
                                               against=params.get("against")))
