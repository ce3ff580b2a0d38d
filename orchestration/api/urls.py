"""URLs of the JSON API, mounted at /api/orchestration/ (names in the orchestration-api
namespace)."""

from django.urls import path

from . import history, insights, runs

app_name = "orchestration-api"

urlpatterns = [
    path("requests", runs.RunRequestCreateApi.as_view(), name="request-create"),
    path("runs", runs.RunCollectionApi.as_view(), name="run-list"),
    # Before runs/<str:run_id>, which would take "similar" for a runId.
    path("runs/similar", insights.RunSimilarListApi.as_view(), name="run-similar"),
    path("runs/search", insights.RunSearchListApi.as_view(), name="run-search"),
    path("runs/<str:run_id>", runs.RunDetailApi.as_view(), name="run-detail"),
    path("runs/<str:run_id>/status", runs.RunStatusDetailApi.as_view(), name="run-status"),
    path("runs/<str:run_id>/context", insights.RunContextDetailApi.as_view(),
         name="run-context"),
    path("runs/<str:run_id>/similar", insights.RunLikeListApi.as_view(), name="run-like"),
    path("analytics/agents", insights.AnalyticsAgentListApi.as_view(), name="analytics-agents"),
    path("analytics/budget-breaches", insights.AnalyticsBudgetBreachListApi.as_view(),
         name="analytics-budget-breaches"),
    path("analytics/ingredients", insights.AnalyticsIngredientListApi.as_view(),
         name="analytics-ingredients"),
    path("analytics/costs", insights.AnalyticsCostListApi.as_view(), name="analytics-costs"),
    path("analytics/validation-errors", insights.AnalyticsValidationErrorListApi.as_view(),
         name="analytics-validation-errors"),
    path("runs/<str:run_id>/replay", history.RunReplayCreateApi.as_view(), name="run-replay"),
    path("runs/<str:run_id>/diff", history.RunDiffDetailApi.as_view(), name="run-diff"),
]
