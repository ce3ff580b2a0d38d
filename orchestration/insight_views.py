"""The analytics page (/analytics/, login required). Thin: it renders a template that draws its
charts in the browser (inline SVG, no external script) from the JSON API of
orchestration/insight_apis.py, with the user's session; the figures themselves are computed in
Neo4j by graphstore/analytics.py.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

ENDPOINTS = {
    "agents": "orchestration-api:analytics-agents",
    "breaches": "orchestration-api:analytics-budget-breaches",
    "ingredients": "orchestration-api:analytics-ingredients",
    "costs": "orchestration-api:analytics-costs",
    "validation": "orchestration-api:analytics-validation-errors",
    "similar": "orchestration-api:run-similar",
}


@login_required
@require_GET
def analytics_page(request: HttpRequest) -> HttpResponse:
    """Charts of the run analytics over a window of days, and a search for similar runs."""
    endpoints = {key: reverse(name) for key, name in ENDPOINTS.items()}
    # Links the page builds per run; "RUN_ID" is replaced in the browser.
    endpoints["runPage"] = reverse("run-detail", args=["RUN_ID"])
    endpoints["runContext"] = reverse("orchestration-api:run-context", args=["RUN_ID"])
    return render(request, "orchestration/analytics.html", {"endpoints": endpoints})
