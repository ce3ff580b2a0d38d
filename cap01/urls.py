"""Top-level URLs: the web pages, the JSON API and its OpenAPI schema, the admin, metrics."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from orchestration.api.auth import AuthTokenCreateApi
from orchestration.health import healthz

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("api/orchestration/", include("orchestration.api.urls")),
    path("api/auth/token", AuthTokenCreateApi.as_view(), name="api-token"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("django_prometheus.urls")),
    path("", include("orchestration.web.urls")),
]
