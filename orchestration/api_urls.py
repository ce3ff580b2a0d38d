"""URLs of the DRF JSON API, mounted at /api/orchestration/ (names in the orchestration-api
namespace)."""

from django.urls import path

from . import apis

app_name = "orchestration-api"

urlpatterns = [
    path("requests", apis.RunRequestCreateApi.as_view(), name="request-create"),
    path("runs", apis.RunCollectionApi.as_view(), name="run-list"),
    path("runs/<str:run_id>", apis.RunDetailApi.as_view(), name="run-detail"),
    path("runs/<str:run_id>/status", apis.RunStatusApi.as_view(), name="run-status"),
]
