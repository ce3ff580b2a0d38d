"""Analytics and retrieval, mounted at /api/orchestration/ next to the run API. Thin: each API
reads its query parameters (api/params.py), calls one selector (the Cypher runs inside Neo4j),
and renders.

    GET analytics/agents             per agent: invocations, failures, failure rate, p50/p95 (ms)
    GET analytics/budget-breaches    breaches by stage and kind, and per UTC day
    GET analytics/ingredients        the most used ingredients (?limit=)
    GET analytics/costs              cost per recipe per UTC day (?recipe=, ?limit=)
    GET analytics/validation-errors  validation issue frequency (?kind=errors|warnings, ?limit=)
    GET runs/similar?q=              committed, validated runs ranked by full-text score
    GET runs/{runId}/context         the run's subgraph as JSON, and the run with its nearest
                                     runs as cited facts within ?max_chars (for a prompt)
    GET runs/{runId}/similar         runs like this one: composition, vectors, words, fused
    GET runs/search?q=               runs matching free words by text and by what they name

Every answer covers the caller's runs (every run for a user with the permission to see all
runs: orchestration/selectors.py). Analytics take the window `since` (inclusive) and `until`
(exclusive) on the run's start time, ISO 8601 (UTC when no offset is given); the default is the
30 days before now. Unknown or malformed parameters are a 400 naming the parameter; errors have
the shape of api/errors.py.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from orchestration import selectors

from .params import (
    RETRY_AFTER,
    RUN_ID,
    AnalyticsCostParams,
    AnalyticsIngredientParams,
    AnalyticsValidationParams,
    AnalyticsWindowParams,
    RunContextParams,
    RunSearchParams,
    RunsLikeParams,
    SimilarRunParams,
)
from .serializers import (
    AnalyticsAgentReportSerializer,
    AnalyticsBreachReportSerializer,
    AnalyticsCostReportSerializer,
    AnalyticsIngredientReportSerializer,
    AnalyticsValidationReportSerializer,
    ErrorSerializer,
    RetrievalResultSerializer,
    RunContextSerializer,
    RunSearchResultSerializer,
    RunsLikeResultSerializer,
)

_ERROR_TEXT = {
    400: "A query parameter is invalid; `errors` names it.",
    401: "No or bad credentials (token or session).",
    403: "Authenticated but not allowed.",
    404: "No run the caller may see is committed under this runId.",
    503: "Neo4j is not answering, or the retrieval indexes are not installed.",
}


def _errors(*codes: int) -> dict[int, OpenApiResponse]:
    return {code: OpenApiResponse(ErrorSerializer, description=_ERROR_TEXT[code])
            for code in codes}


# --- analytics ---------------------------------------------------------------------------------


class AnalyticsAgentListApi(APIView):
    """GET analytics/agents: per-agent duration percentiles and failure rates."""

    @extend_schema(
        operation_id="analytics_agents", summary="Per-agent durations and failure rates",
        parameters=[AnalyticsWindowParams, RETRY_AFTER],
        responses={200: AnalyticsAgentReportSerializer, **_errors(400, 401, 403, 503)},
        description="For committed runs started in the window: per agent, the invocations that "
        "ran, failures and failure rate, p50 and p95 (nearest rank), mean and max duration in "
        "ms; `totals` gives the same for whole runs. Computed in Neo4j.")
    def get(self, request: Request) -> Response:
        params = AnalyticsWindowParams.parse(request)
        report = selectors.analytics_agents(viewer=request.user, since=params["since"],
                                            until=params["until"])
        return Response(AnalyticsAgentReportSerializer(report).data)


class AnalyticsBudgetBreachListApi(APIView):
    """GET analytics/budget-breaches: breaches by stage and kind, and per day."""

    @extend_schema(
        operation_id="analytics_budget_breaches", summary="Budget breaches",
        parameters=[AnalyticsWindowParams, RETRY_AFTER],
        responses={200: AnalyticsBreachReportSerializer, **_errors(400, 401, 403, 503)},
        description="Budget breaches recorded on committed runs started in the window, by stage "
        '("run" for the whole run) and kind (duration, memory), and per UTC day.')
    def get(self, request: Request) -> Response:
        params = AnalyticsWindowParams.parse(request)
        report = selectors.analytics_breaches(viewer=request.user, since=params["since"],
                                              until=params["until"])
        return Response(AnalyticsBreachReportSerializer(report).data)


class AnalyticsIngredientListApi(APIView):
    """GET analytics/ingredients: the most used ingredients."""

    @extend_schema(
        operation_id="analytics_ingredients", summary="Most used ingredients",
        parameters=[AnalyticsIngredientParams, RETRY_AFTER],
        responses={200: AnalyticsIngredientReportSerializer, **_errors(400, 401, 403, 503)},
        description="Ingredients by the number of committed runs in the window whose recipe "
        "has them (ties by name), with the number of recipes and the average percentage.")
    def get(self, request: Request) -> Response:
        params = AnalyticsIngredientParams.parse(request)
        report = selectors.analytics_ingredients(viewer=request.user, since=params["since"],
                                                 until=params["until"], limit=params["limit"])
        return Response(AnalyticsIngredientReportSerializer(report).data)


class AnalyticsCostListApi(APIView):
    """GET analytics/costs: cost per recipe over time, by UTC day."""

    @extend_schema(
        operation_id="analytics_costs", summary="Cost per recipe per day",
        parameters=[AnalyticsCostParams, RETRY_AFTER],
        responses={200: AnalyticsCostReportSerializer, **_errors(400, 401, 403, 503)},
        description="calculation.costs.total of the committed runs in the window, per recipe "
        "id, currency and UTC day: runs, average, min, max and sum. The `limit` recipes with "
        "the most costed runs, or only `recipe`.")
    def get(self, request: Request) -> Response:
        params = AnalyticsCostParams.parse(request)
        report = selectors.analytics_costs(viewer=request.user, since=params["since"],
                                           until=params["until"], recipe=params.get("recipe"),
                                           limit=params["limit"])
        return Response(AnalyticsCostReportSerializer(report).data)


class AnalyticsValidationErrorListApi(APIView):
    """GET analytics/validation-errors: how often each kind of validation issue occurs."""

    @extend_schema(
        operation_id="analytics_validation_errors", summary="Validation error frequency",
        parameters=[AnalyticsValidationParams, RETRY_AFTER],
        responses={200: AnalyticsValidationReportSerializer, **_errors(400, 401, 403, 503)},
        description="Validation issues of committed runs in the window, grouped by agent, "
        "field path (array indices folded to [*]) and severity: occurrences and runs.")
    def get(self, request: Request) -> Response:
        params = AnalyticsValidationParams.parse(request)
        report = selectors.analytics_validation(viewer=request.user, since=params["since"],
                                                until=params["until"], kind=params["kind"],
                                                limit=params["limit"])
        return Response(AnalyticsValidationReportSerializer(report).data)


# --- retrieval ---------------------------------------------------------------------------------


class RunSimilarListApi(APIView):
    """GET runs/similar?q=: committed, validated runs ranked by full-text score."""

    @extend_schema(
        operation_id="runs_similar", summary="Past runs similar to a text",
        parameters=[SimilarRunParams, RETRY_AFTER],
        responses={200: RetrievalResultSerializer, **_errors(400, 401, 403, 503)},
        description="Full-text search over request texts, recipe names and ingredient names; "
        "only committed, succeeded runs with a valid validation report, best first, each with "
        "its score and what matched. Only the words of `q` count (no query syntax).")
    def get(self, request: Request) -> Response:
        params = SimilarRunParams.parse(request)
        runs = selectors.runs_similar(viewer=request.user, text=params["q"], limit=params["limit"])
        return Response(RetrievalResultSerializer({
            "query": params["q"], "terms": selectors.search_terms(params["q"]),
            "results": runs}).data)


class RunContextDetailApi(APIView):
    """GET runs/{runId}/context: the run's subgraph as JSON, ready to put in a prompt."""

    @extend_schema(
        operation_id="runs_context", summary="A run's context for a prompt",
        parameters=[RUN_ID, RunContextParams, RETRY_AFTER],
        responses={200: RunContextSerializer, **_errors(400, 401, 403, 404, 503)},
        description="The request, the recipe with its ingredients, the calculation (batch, "
        "unit, costs, scaled quantities) and the validation (valid, summary, errors, warnings) "
        "of a committed run, read from Neo4j in one query. Parts a failed run lacks are null. "
        "`prompt` gives the run and its `neighbours` nearest runs (as runs/{runId}/similar) as "
        "fact lines, each citing the node it came from ([Label:key]), within `max_chars`.")
    def get(self, request: Request, run_id: str) -> Response:
        params = RunContextParams.parse(request)
        return Response(selectors.run_context_cited(
            viewer=request.user, run_id=run_id, neighbours=params["neighbours"],
            max_chars=params["max_chars"]))


class RunLikeListApi(APIView):
    """GET runs/{runId}/similar: past runs like this one, with the reasons."""

    @extend_schema(
        operation_id="runs_like", summary="Past runs like this one",
        parameters=[RUN_ID, RunsLikeParams, RETRY_AFTER],
        responses={200: RunsLikeResultSerializer, **_errors(400, 401, 403, 404, 503)},
        description="Committed, succeeded, valid runs the caller may see, ranked by three "
        "signals fused by reciprocal rank: composition (shared ingredients weighted by "
        "percentage, then function and category overlap, then batch size and cost per unit, "
        "computed in the graph), the vector index over per-run embeddings, and full text of the "
        "request and recipe name. Runs identical to a hit (same recipe content, batch and unit) "
        "are folded into it (identicalRuns). Each hit says why: shared ingredients with both "
        "percentages, substitutes, what only one side has.")
    def get(self, request: Request, run_id: str) -> Response:
        params = RunsLikeParams.parse(request)
        hits = selectors.runs_like(viewer=request.user, run_id=run_id, limit=params["limit"])
        return Response(RunsLikeResultSerializer({"runId": run_id, "results": hits}).data)


class RunSearchListApi(APIView):
    """GET runs/search?q=: runs matching free words, by text and by what the words name."""

    @extend_schema(
        operation_id="runs_search", summary="Runs matching free words, by text and composition",
        parameters=[RunSearchParams, RETRY_AFTER],
        responses={200: RunSearchResultSerializer, **_errors(400, 401, 403, 503)},
        description="Full-text search (as runs/similar) fused with composition: the "
        "ingredients, functions and categories the words name, with a percentage next to them "
        "(\"60 % oil\", \"mustard\", \"emulsifier\"), matched against what each recipe "
        "contains, and their vector. Identical runs collapsed.")
    def get(self, request: Request) -> Response:
        params = RunSearchParams.parse(request)
        found = selectors.runs_search(viewer=request.user, text=params["q"],
                                      limit=params["limit"])
        return Response(RunSearchResultSerializer({
            "query": found.query, "terms": selectors.search_terms(params["q"]),
            "mentions": found.mentions, "results": found.hits}).data)
