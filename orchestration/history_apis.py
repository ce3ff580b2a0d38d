"""The JSON API of run history (mounted at /api/orchestration/ with the rest): replay a stored
run, and the diff of two runs' artifacts. Thin: parse, call orchestration/replays.py, render.
Errors go through the app's one exception handler (orchestration/apis.py): an unknown or not yet
persisted run is a 404, a full intake queue a 429, an unreachable broker or Neo4j a 503.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .models import RunRecord
from .replays import DiffBaseMissing, run_diff_get, run_replay_create
from .serializers import ErrorSerializer, RunAcceptedSerializer, run_detail_path

_RUN_ID = OpenApiParameter("run_id", OpenApiTypes.STR, OpenApiParameter.PATH,
                           description="The runId (metadata.id of the RunResult).")
_ERRORS = {
    400: "A bad query parameter; `errors` names it.",
    401: "No or bad credentials (token or session).",
    403: "Authenticated but not allowed (or a session request without its CSRF token).",
    404: "No persisted run has this runId (for a diff: or the run to compare with).",
    429: "The intake queue is full; nothing was recorded. Retry after Retry-After seconds.",
    503: "Neo4j or the task queue is not answering; try again (see Retry-After).",
}


def _errors(*codes: int) -> dict[int, OpenApiResponse]:
    return {code: OpenApiResponse(ErrorSerializer, description=_ERRORS[code]) for code in codes}


# --- serializers (the wire shapes) -------------------------------------------------------------


class RunReplayAcceptedSerializer(RunAcceptedSerializer):
    """The 202 of POST /runs/{runId}/replay: the new run, as POST /requests answers, and the
    run it replays."""

    replayOf = serializers.CharField(source="replay_of", help_text="The run re-executed.")
    diffUrl = serializers.SerializerMethodField(
        help_text="The diff of the replay against the original (404 until it is persisted).")

    def get_diffUrl(self, record: RunRecord) -> str:
        return run_diff_path(record.run_id)


class DiffSideSerializer(serializers.Serializer):
    runId = serializers.CharField()
    status = serializers.CharField()
    condensed = serializers.BooleanField(help_text="Condensed by retention: some artifacts are "
                                         "gone, and the sections that need them are null.")


class DiffGapSerializer(serializers.Serializer):
    section = serializers.CharField()
    reason = serializers.CharField()


class RunDiffSerializer(serializers.Serializer):
    """The compact diff of orchestration/diff.py: inside each section only what differs, as
    {base, head, delta}; a section is null when one run lacks the artifact."""

    base = DiffSideSerializer(help_text="The run compared against (the original).")
    head = DiffSideSerializer(help_text="The run compared (the replay).")
    identical = serializers.BooleanField(help_text="Every section compared and nothing differs.")
    changeCount = serializers.IntegerField()
    outcome = serializers.DictField(help_text="status / failedAgent, when they differ.")
    ingredients = serializers.JSONField(allow_null=True, help_text="added, removed, changed "
                                        "(percentage, name, function, category).")
    quantities = serializers.JSONField(allow_null=True, help_text="targetBatchSize, "
                                       "targetUnit, yield, changed (scaledQuantity, scaledUnit).")
    costs = serializers.JSONField(allow_null=True, help_text="currency, total, perUnit, "
                                  "byIngredient, missing {added, removed}.")
    validation = serializers.JSONField(allow_null=True, help_text="valid, canProceed, "
                                       "errorCount, warningCount, criticalCount.")
    unavailable = DiffGapSerializer(many=True)
    context = serializers.JSONField(help_text="request and agents that differ: why the "
                                    "artifacts may differ; not counted as changes.")


class RunDiffQuerySerializer(serializers.Serializer):
    """Query parameters of GET /runs/{runId}/diff; unknown ones are refused."""

    against = serializers.RegexField(
        r"^[A-Za-z0-9][A-Za-z0-9._:\-]*$", max_length=128, required=False,
        help_text="The runId to compare with (default: the run this one replays).")

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        data = {name: value for name, value in data.items() if value != ""}
        unknown = sorted(set(data) - set(self.fields) - {"format"})
        if unknown:
            raise serializers.ValidationError(
                {name: ["is not a parameter of the diff; use against."] for name in unknown})
        return super().to_internal_value(data)


def run_diff_path(run_id: str) -> str:
    return reverse("orchestration-api:run-diff", kwargs={"run_id": run_id})


# --- APIs --------------------------------------------------------------------------------------


class RunReplayCreateApi(APIView):
    """POST /runs/{runId}/replay: re-execute a stored run with the current agents."""

    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="runs_replay", summary="Replay a stored run", request=None,
        parameters=[_RUN_ID],
        responses={202: RunReplayAcceptedSerializer, **_errors(401, 403, 404, 429, 503)},
        description="Submits the stored run's input contract (its UserRequest, read back from "
        "Neo4j) through the normal intake as a new run linked to the original "
        "(REPLAY_OF in Neo4j, `metadata.replayOf`). The body is ignored. Answers at once with "
        "the new runId; `diffUrl` gives the diff once the replay is persisted.")
    def post(self, request: Request, run_id: str) -> Response:
        record = run_replay_create(user=request.user, run_id=run_id)
        return Response(RunReplayAcceptedSerializer(record).data,
                        status=status.HTTP_202_ACCEPTED,
                        headers={"Location": run_detail_path(record.run_id)})


class RunDiffApi(APIView):
    """GET /runs/{runId}/diff?against=: what changed between two persisted runs."""

    @extend_schema(
        operation_id="runs_diff", summary="The diff of two runs' artifacts",
        parameters=[_RUN_ID, RunDiffQuerySerializer],
        responses={200: RunDiffSerializer, **_errors(400, 401, 403, 404, 503)},
        description="Compares the ingredients, scaled quantities, costs and validation outcome "
        "of `against` (default: the run this one replays) with this run, both read back from "
        "Neo4j. Timestamps, durations, the graph and the UI layout are not compared.")
    def get(self, request: Request, run_id: str) -> Response:
        query = RunDiffQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        try:
            diff = run_diff_get(run_id=run_id, against=query.validated_data.get("against"))
        except DiffBaseMissing as exc:
            raise ValidationError({"against": [str(exc)]}) from exc
        return Response(diff)
