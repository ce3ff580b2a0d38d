"""The analytics and retrieval JSON API (DRF), mounted at /api/orchestration/ next to the run API
(orchestration/api_urls.py). Thin: each API validates its query parameters, calls one read of
graphstore.analytics or graphstore.retrieval (Cypher inside Neo4j), and renders.

    GET analytics/agents             per agent: invocations, failures, failure rate, p50/p95 (ms)
    GET analytics/budget-breaches    breaches by stage and kind, and per UTC day
    GET analytics/ingredients        the most used ingredients (?limit=)
    GET analytics/costs              cost per recipe per UTC day (?recipe=, ?limit=)
    GET analytics/validation-errors  validation issue frequency (?kind=errors|warnings, ?limit=)
    GET runs/similar?q=              committed, validated runs ranked by full-text score
    GET runs/{runId}/context         the run's subgraph as JSON for a prompt

Analytics take the window `since` (inclusive) and `until` (exclusive) on the run's start time,
ISO 8601 (UTC when no offset is given); the default is the 30 days before now. Unknown or
malformed parameters are a 400 naming the parameter; errors have the shape of
orchestration.apis.exception_handler.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from graphstore import analytics, retrieval
from graphstore.connection import database, get_driver

from .serializers import ErrorSerializer

DEFAULT_WINDOW = timedelta(days=30)


class RetrievalUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "retrieval_unavailable"


# --- query parameters --------------------------------------------------------------------------


class _QueryParams(serializers.Serializer):
    """Query parameters; unknown ones are refused rather than ignored (a misspelt parameter
    cannot silently change an answer), blank ones count as absent."""

    PASS_THROUGH = frozenset({"format"})

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        data = {name: value for name, value in data.items() if value != ""}
        unknown = sorted(set(data) - set(self.fields) - self.PASS_THROUGH)
        if unknown:
            allowed = ", ".join(self.fields)
            raise serializers.ValidationError(
                {name: [f"is not a parameter of this endpoint; use one of {allowed}."]
                 for name in unknown})
        return super().to_internal_value(data)


class AnalyticsWindowParams(_QueryParams):
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
        attrs["window"] = analytics.Window(since=since, until=until)
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


class SimilarRunParams(_QueryParams):
    q = serializers.CharField(
        max_length=500, help_text="What to look for, in plain words (request text, recipe or "
        "ingredient names). Query syntax is not interpreted: only the words count.")
    limit = serializers.IntegerField(required=False, default=10, min_value=1, max_value=50,
                                     help_text="How many runs, 1 to 50 (default 10).")

    def validate_q(self, value: str) -> str:
        if retrieval.lucene_query(value) is None:
            raise serializers.ValidationError("must contain at least one word (letters or "
                                              "digits).")
        return value


def _params(serializer_class: type[_QueryParams], request: Request) -> dict[str, Any]:
    params = serializer_class(data=request.query_params)
    params.is_valid(raise_exception=True)
    return dict(params.validated_data)


# --- responses (they render the graphstore results and document them) --------------------------


class AnalyticsWindowSerializer(serializers.Serializer):
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()


class AnalyticsRunTotalsSerializer(serializers.Serializer):
    runs = serializers.IntegerField(help_text="Committed runs that started in the window.")
    failed = serializers.IntegerField()
    failureRate = serializers.FloatField(source="failure_rate", allow_null=True,
                                         help_text="failed / runs; null without runs.")
    breached = serializers.IntegerField(help_text="Runs with at least one budget breach.")
    p50Ms = serializers.FloatField(source="p50", allow_null=True,
                                   help_text="Median total duration (nearest rank).")
    p95Ms = serializers.FloatField(source="p95", allow_null=True)


class AnalyticsAgentSerializer(serializers.Serializer):
    agent = serializers.CharField()
    invocations = serializers.IntegerField(help_text="Invocations that ran (skipped ones are "
                                           "not counted).")
    runs = serializers.IntegerField()
    failures = serializers.IntegerField()
    failureRate = serializers.FloatField(source="failure_rate", help_text="failures / "
                                         "invocations.")
    p50Ms = serializers.FloatField(source="p50", help_text="Median duration (nearest rank: an "
                                   "observed duration).")
    p95Ms = serializers.FloatField(source="p95")
    meanMs = serializers.FloatField(source="mean")
    maxMs = serializers.FloatField(source="max")


class AnalyticsAgentReportSerializer(serializers.Serializer):
    window = AnalyticsWindowSerializer()
    totals = AnalyticsRunTotalsSerializer()
    agents = AnalyticsAgentSerializer(many=True)


class AnalyticsBreachSerializer(serializers.Serializer):
    stage = serializers.CharField(help_text='An agent, or "run" for the whole run.')
    kind = serializers.CharField(allow_null=True, help_text='"duration" or "memory".')
    breaches = serializers.IntegerField()
    runs = serializers.IntegerField()


class AnalyticsBreachDaySerializer(serializers.Serializer):
    day = serializers.DateField(help_text="UTC calendar day.")
    breaches = serializers.IntegerField()
    runs = serializers.IntegerField()


class AnalyticsBreachReportSerializer(serializers.Serializer):
    window = AnalyticsWindowSerializer()
    totals = AnalyticsRunTotalsSerializer()
    breaches = AnalyticsBreachSerializer(many=True)
    byDay = AnalyticsBreachDaySerializer(source="by_day", many=True)


class AnalyticsIngredientSerializer(serializers.Serializer):
    ingredientId = serializers.CharField(source="ingredient_id")
    name = serializers.CharField()
    runs = serializers.IntegerField(help_text="Runs whose recipe has the ingredient.")
    recipes = serializers.IntegerField(help_text="Distinct recipe ids among them.")
    avgPercentage = serializers.FloatField(source="avg_percentage")


class AnalyticsIngredientReportSerializer(serializers.Serializer):
    window = AnalyticsWindowSerializer()
    totals = AnalyticsRunTotalsSerializer()
    ingredients = AnalyticsIngredientSerializer(many=True)


class AnalyticsCostPointSerializer(serializers.Serializer):
    day = serializers.DateField(help_text="UTC calendar day.")
    runs = serializers.IntegerField()
    avgCost = serializers.FloatField(source="avg_cost")
    minCost = serializers.FloatField(source="min_cost")
    maxCost = serializers.FloatField(source="max_cost")
    totalCost = serializers.FloatField(source="total_cost")


class AnalyticsCostSeriesSerializer(serializers.Serializer):
    recipeId = serializers.CharField(source="recipe_id")
    name = serializers.CharField()
    currency = serializers.CharField()
    runs = serializers.IntegerField()
    points = AnalyticsCostPointSerializer(many=True)


class AnalyticsCostReportSerializer(serializers.Serializer):
    window = AnalyticsWindowSerializer()
    recipe = serializers.CharField(allow_null=True)
    series = AnalyticsCostSeriesSerializer(many=True)


class AnalyticsIssueSerializer(serializers.Serializer):
    agent = serializers.CharField()
    field = serializers.CharField(help_text="Field path, array indices folded to [*].")
    severity = serializers.CharField()
    occurrences = serializers.IntegerField()
    runs = serializers.IntegerField()


class AnalyticsValidationReportSerializer(serializers.Serializer):
    window = AnalyticsWindowSerializer()
    kind = serializers.CharField()
    validated = serializers.IntegerField(help_text="Runs in the window with a validation report.")
    withIssues = serializers.IntegerField(source="with_issues")
    detailsRemoved = serializers.IntegerField(
        source="details_removed", help_text="Runs with issues whose texts retention removed "
        "(condensed runs); they are not in `issues`.")
    issues = AnalyticsIssueSerializer(many=True)


class RetrievalMatchSerializer(serializers.Serializer):
    field = serializers.CharField(help_text='"request", "recipe" or "ingredient".')
    text = serializers.CharField()
    score = serializers.FloatField()


class RetrievalRunSerializer(serializers.Serializer):
    runId = serializers.CharField(source="run_id")
    score = serializers.FloatField()
    startedAt = serializers.DateTimeField(source="started_at", allow_null=True)
    request = serializers.CharField(allow_null=True)
    recipeId = serializers.CharField(source="recipe_id", allow_null=True)
    recipe = serializers.CharField(allow_null=True)
    matchedFields = serializers.ListField(source="matched_fields", child=serializers.CharField())
    matches = RetrievalMatchSerializer(many=True)


class RetrievalResultSerializer(serializers.Serializer):
    query = serializers.CharField()
    terms = serializers.ListField(child=serializers.CharField(),
                                  help_text="The words searched for.")
    results = RetrievalRunSerializer(many=True)


class ContextRequestSerializer(serializers.Serializer):
    text = serializers.CharField()
    targetBatchSize = serializers.FloatField()
    targetUnit = serializers.CharField()


class ContextIngredientSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    percentage = serializers.FloatField()
    function = serializers.CharField(required=False)
    category = serializers.CharField(required=False)


class ContextRecipeSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    totalPercentage = serializers.FloatField()
    ingredients = ContextIngredientSerializer(many=True)


class ContextCalculationSerializer(serializers.Serializer):
    batch = serializers.FloatField()
    unit = serializers.CharField()
    costs = serializers.JSONField(help_text="calculation.costs of the v1 contract.")
    yield_ = serializers.JSONField(help_text="calculation.yield of the v1 contract.")
    scaled = serializers.ListField(child=serializers.JSONField(),
                                   help_text="calculation.scaledIngredients of the v1 contract.")
    warnings = serializers.ListField(child=serializers.CharField())

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        fields["yield"] = fields.pop("yield_")  # a Python keyword on the wire
        return fields


class ContextValidationSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    canProceed = serializers.BooleanField()
    summary = serializers.CharField()
    errorCount = serializers.IntegerField()
    warningCount = serializers.IntegerField()
    errors = serializers.ListField(child=serializers.JSONField(), allow_null=True,
                                   help_text="ValidationIssues: agent, field, message, severity;"
                                   " null when retention removed them (condensed run).")
    warnings = serializers.ListField(child=serializers.JSONField(), allow_null=True)


class RunContextSerializer(serializers.Serializer):
    """Documents GET runs/{runId}/context (the body is built by graphstore.retrieval)."""

    runId = serializers.CharField()
    status = serializers.CharField()
    startedAt = serializers.DateTimeField(allow_null=True)
    failedAgent = serializers.CharField(allow_null=True)
    condensed = serializers.BooleanField(help_text="Retention condensed the run; the parts it "
                                         "removed are null.")
    condensedRemoved = serializers.ListField(child=serializers.CharField())
    request = ContextRequestSerializer(allow_null=True)
    recipe = ContextRecipeSerializer(allow_null=True, help_text="Null when the run failed "
                                     "before RecipeEngineer finished.")
    calculation = ContextCalculationSerializer(allow_null=True)
    validation = ContextValidationSerializer(allow_null=True)


_ERROR_TEXT = {
    400: "A query parameter is invalid; `errors` names it.",
    401: "No or bad credentials (token or session).",
    403: "Authenticated but not allowed.",
    404: "No run is committed under this runId.",
    503: "Neo4j is not answering, or the retrieval indexes are not installed.",
}


def _errors(*codes: int) -> dict[int, OpenApiResponse]:
    return {code: OpenApiResponse(ErrorSerializer, description=_ERROR_TEXT[code])
            for code in codes}


_RUN_ID = OpenApiParameter("run_id", str, OpenApiParameter.PATH,
                           description="The runId (metadata.id of the RunResult).")


# --- analytics ---------------------------------------------------------------------------------


class AgentAnalyticsApi(APIView):
    """GET analytics/agents: per-agent duration percentiles and failure rates."""

    @extend_schema(
        operation_id="analytics_agents", summary="Per-agent durations and failure rates",
        parameters=[AnalyticsWindowParams],
        responses={200: AnalyticsAgentReportSerializer, **_errors(400, 401, 403, 503)},
        description="For committed runs started in the window: per agent, the invocations that "
        "ran, failures and failure rate, p50 and p95 (nearest rank), mean and max duration in "
        "ms; `totals` gives the same for whole runs. Computed in Neo4j.")
    def get(self, request: Request) -> Response:
        window = _params(AnalyticsWindowParams, request)["window"]
        report = analytics.agent_report(window, driver=get_driver(), database=database())
        return Response(AnalyticsAgentReportSerializer(report).data)


class BudgetBreachAnalyticsApi(APIView):
    """GET analytics/budget-breaches: breaches by stage and kind, and per day."""

    @extend_schema(
        operation_id="analytics_budget_breaches", summary="Budget breaches",
        parameters=[AnalyticsWindowParams],
        responses={200: AnalyticsBreachReportSerializer, **_errors(400, 401, 403, 503)},
        description="Budget breaches recorded on committed runs started in the window, by stage "
        '("run" for the whole run) and kind (duration, memory), and per UTC day.')
    def get(self, request: Request) -> Response:
        window = _params(AnalyticsWindowParams, request)["window"]
        report = analytics.breach_report(window, driver=get_driver(), database=database())
        return Response(AnalyticsBreachReportSerializer(report).data)


class IngredientAnalyticsApi(APIView):
    """GET analytics/ingredients: the most used ingredients."""

    @extend_schema(
        operation_id="analytics_ingredients", summary="Most used ingredients",
        parameters=[AnalyticsIngredientParams],
        responses={200: AnalyticsIngredientReportSerializer, **_errors(400, 401, 403, 503)},
        description="Ingredients by the number of committed runs in the window whose recipe "
        "has them (ties by name), with the number of recipes and the average percentage.")
    def get(self, request: Request) -> Response:
        params = _params(AnalyticsIngredientParams, request)
        report = analytics.ingredient_report(params["window"], limit=params["limit"],
                                             driver=get_driver(), database=database())
        return Response(AnalyticsIngredientReportSerializer(report).data)


class CostAnalyticsApi(APIView):
    """GET analytics/costs: cost per recipe over time, by UTC day."""

    @extend_schema(
        operation_id="analytics_costs", summary="Cost per recipe per day",
        parameters=[AnalyticsCostParams],
        responses={200: AnalyticsCostReportSerializer, **_errors(400, 401, 403, 503)},
        description="calculation.costs.total of the committed runs in the window, per recipe "
        "id, currency and UTC day: runs, average, min, max and sum. The `limit` recipes with "
        "the most costed runs, or only `recipe`.")
    def get(self, request: Request) -> Response:
        params = _params(AnalyticsCostParams, request)
        report = analytics.cost_report(params["window"], recipe=params.get("recipe"),
                                       limit=params["limit"], driver=get_driver(),
                                       database=database())
        return Response(AnalyticsCostReportSerializer(report).data)


class ValidationErrorAnalyticsApi(APIView):
    """GET analytics/validation-errors: how often each kind of validation issue occurs."""

    @extend_schema(
        operation_id="analytics_validation_errors", summary="Validation error frequency",
        parameters=[AnalyticsValidationParams],
        responses={200: AnalyticsValidationReportSerializer, **_errors(400, 401, 403, 503)},
        description="Validation issues of committed runs in the window, grouped by agent, "
        "field path (array indices folded to [*]) and severity: occurrences and runs.")
    def get(self, request: Request) -> Response:
        params = _params(AnalyticsValidationParams, request)
        report = analytics.validation_report(params["window"], kind=params["kind"],
                                             limit=params["limit"], driver=get_driver(),
                                             database=database())
        return Response(AnalyticsValidationReportSerializer(report).data)


# --- retrieval ---------------------------------------------------------------------------------


class SimilarRunListApi(APIView):
    """GET runs/similar?q=: committed, validated runs ranked by full-text score."""

    @extend_schema(
        operation_id="runs_similar", summary="Past runs similar to a text",
        parameters=[SimilarRunParams],
        responses={200: RetrievalResultSerializer, **_errors(400, 401, 403, 503)},
        description="Full-text search over request texts, recipe names and ingredient names; "
        "only committed, succeeded runs with a valid validation report, best first, each with "
        "its score and what matched. Only the words of `q` count (no query syntax).")
    def get(self, request: Request) -> Response:
        params = _params(SimilarRunParams, request)
        try:
            runs = retrieval.similar_runs(params["q"], limit=params["limit"],
                                          driver=get_driver(), database=database())
        except retrieval.RetrievalIndexMissing as exc:
            raise RetrievalUnavailable(str(exc)) from exc
        return Response(RetrievalResultSerializer({
            "query": params["q"], "terms": retrieval.query_terms(params["q"]),
            "results": runs}).data)


class RunContextApi(APIView):
    """GET runs/{runId}/context: the run's subgraph as JSON, ready to put in a prompt."""

    @extend_schema(
        operation_id="runs_context", summary="A run's context for a prompt",
        parameters=[_RUN_ID],
        responses={200: RunContextSerializer, **_errors(401, 403, 404, 503)},
        description="The request, the recipe with its ingredients, the calculation (batch, "
        "unit, costs, scaled quantities) and the validation (valid, summary, errors, warnings) "
        "of a committed run, read from Neo4j in one query. Parts a failed run lacks are null.")
    def get(self, request: Request, run_id: str) -> Response:
        return Response(retrieval.run_context(run_id, driver=get_driver(), database=database()))
