"""URLs of the DRF JSON API, mounted at /api/orchestration/."""

urlpatterns: list = []
