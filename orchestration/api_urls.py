"""URLs of the DRF JSON API, mounted at /api/orchestration/ (names in the orchestration-api
namespace)."""

from django.urls import path

from . import apis, history_apis, insight_apis

app_name = "orchestration-api"

urlpatterns = [
    path("requests", apis.RunRequestCreateApi.as_view(), name="request-create"),
    path("runs", apis.RunCollectionApi.as_view(), name="run-list"),
    # Before runs/<str:run_id>, which would take "similar" for a runId.
    path("runs/similar", insight_apis.SimilarRunListApi.as_view(), name="run-similar"),
    path("runs/<str:run_id>", apis.RunDetailApi.as_view(), name="run-detail"),
    path("runs/<str:run_id>/status", apis.RunStatusApi.as_view(), name="run-status"),
    path("runs/<str:run_id>/context", insight_apis.RunContextApi.as_view(), name="run-context"),
    path("analytics/agents", insight_apis.AgentAnalyticsApi.as_view(), name="analytics-agents"),
    path("analytics/budget-breaches", insight_apis.BudgetBreachAnalyticsApi.as_view(),
         name="analytics-budget-breaches"),
    path("analytics/ingredients", insight_apis.IngredientAnalyticsApi.as_view(),
         name="analytics-ingredients"),
    path("analytics/costs", insight_apis.CostAnalyticsApi.as_view(), name="analytics-costs"),
    path("analytics/validation-errors", insight_apis.ValidationErrorAnalyticsApi.as_view(),
         name="analytics-validation-errors"),
    path("runs/<str:run_id>/replay", history_apis.RunReplayCreateApi.as_view(),
         name="run-replay"),
    path("runs/<str:run_id>/diff", history_apis.RunDiffApi.as_view(), name="run-diff"),
]
