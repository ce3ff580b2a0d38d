"""Analytics against the real Neo4j: a seeded set of runs whose answers are known (per-agent
p50/p95 and failure rates, budget breaches, top ingredients, cost per recipe per UTC day,
validation error frequency), through graphstore.analytics and the JSON API; query parameter
validation; the analytics page."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from graphstore import analytics, retrieval
from graphstore.connection import database, get_writer
from graphstore.scope import RunScope
from tests.conftest import chromium_page, make_auditor
from tests.insight_seed import AGENTS, seeded_run

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

API = "/api/orchestration/analytics"
SINCE = datetime(2026, 11, 24, tzinfo=UTC)
UNTIL = datetime(2026, 11, 27, tzinfo=UTC)
WINDOW = {"since": "2026-11-24T00:00:00Z", "until": "2026-11-27T00:00:00Z"}

LEMON = ("recipe-lemon", "Lemon vinaigrette")
LEMON_INGREDIENTS = [("ing-olive-oil", "Olive oil", 60.0), ("ing-lemon-juice", "Lemon juice", 30.0),
                     ("ing-salt", "Salt", 10.0)]
PESTO = ("recipe-pesto", "Basil pesto")
PESTO_INGREDIENTS = [("ing-basil", "Basil", 50.0), ("ing-olive-oil", "Olive oil", 30.0),
                     ("ing-pine-nuts", "Pine nuts", 20.0)]
SCALED = "calculation.scaledIngredients[{}].scaledQuantity"
# A message made to look like the start of another issue inside the JSON text.
FORGED = 'he wrote "},{"agent":"Forged","field":"x","message":"y","severity":"critical'
EST = timezone(timedelta(hours=-5))
# The seeded runs are written straight to Neo4j, with no owner: the figures below are over every
# run (an auditor's view); scoping to one owner is tested in tests/security/.
EVERY = RunScope.every_run()


def _lemon(run_id: str, started: datetime, **kw: Any) -> Any:
    return seeded_run(run_id, started=started, request=f"lemon vinaigrette {run_id}",
                      recipe=LEMON, ingredients=LEMON_INGREDIENTS, **kw)


def _pesto(run_id: str, started: datetime, **kw: Any) -> Any:
    return seeded_run(run_id, started=started, request=f"basil pesto {run_id}",
                      recipe=PESTO, ingredients=PESTO_INGREDIENTS, **kw)


def seed_runs() -> list[Any]:
    """Six committed runs in the window (two failed), one before it, one uncommitted in it."""
    d = lambda day, hour, tz=UTC: datetime(2026, 11, day, hour, tzinfo=tz)  # noqa: E731
    return [
        _lemon("a1", d(24, 10), durations=(10, 20, 30, 40, 50), total_cost=10.0),
        _lemon("a2", d(24, 14), durations=(20, 40, 60, 80, 100), total_cost=14.0,
               breaches=["QAValidator.duration"]),
        _pesto("a3", d(25, 9), durations=(30, 60, 90, 120, 150), total_cost=30.0, errors=[
            ("ScalingCalculator", SCALED.format(0), "error"),
            ("ScalingCalculator", SCALED.format(2), "error"),
            ("RecipeEngineer", "recipe.ingredients", "critical"),
            ("RecipeEngineer", "recipe.name", "error", 'the name "Basil pesto" is taken')]),
        _lemon("a4", d(25, 16), durations=(40, 70), failed_agent="ScalingCalculator",
               breaches=["ScalingCalculator.duration", "run.duration"]),
        # 23:30 on the 25th in New York is 04:30 UTC on the 26th: a day-26 cost.
        _pesto("a5", d(25, 23, EST).replace(minute=30), durations=(50, 80, 90, 200),
               failed_agent="QAValidator", total_cost=34.0),
        _lemon("a6", d(26, 11), durations=(60, 90, 120, 160, 150), total_cost=12.0,
               breaches=["QAValidator.duration"],
               errors=[("ScalingCalculator", SCALED.format(1), "error", FORGED)]),
        # Outside the window.
        _lemon("o1", datetime(2026, 10, 1, 12, tzinfo=UTC), durations=(1000,) * 5,
               total_cost=99.0, breaches=["run.memory"],
               errors=[("RecipeEngineer", "recipe.name", "error")]),
        # In the window, but its write is not committed (no commit marker).
        _pesto("u1", d(25, 12), durations=(5000,) * 5, total_cost=500.0,
               breaches=["run.duration"], errors=[("RecipeEngineer", "recipe.name", "error")]),
    ]


@pytest.fixture
def seeded(graph):  # type: ignore[no-untyped-def]
    writer = get_writer()
    for run in seed_runs():
        writer.write(run)
    graph.execute_query("MATCH (r:OrchestrationRun {runId: 'u1'}) REMOVE r.commitChecksum",
                        database_=settings.NEO4J_DATABASE)
    return graph


def seed_ledger(runs: list[Any]) -> None:
    """Ledger rows for the seeded runs (no owner), made as the services make them: the history
    columns from orchestration/history.py, createdAt at the run's start, so that the ledger
    charts and the history page see the same runs as the Neo4j charts."""
    from orchestration.history import batch_kg, ledger_columns
    from orchestration.models import RunRecord

    for run in runs:
        wire = run.to_wire()
        status = "persisting" if run.run_id.startswith("u") else run.metadata.status
        record = RunRecord.objects.create(
            run_id=run.run_id, request_text=run.request.user_request, request=wire["request"],
            status=status, failed_agent=run.metadata.failed_agent or "",
            total_duration_ms=run.metadata.total_duration,
            batch_size=run.request.target_batch_size, batch_unit=run.request.target_unit,
            batch_kg=batch_kg(run.request.target_batch_size, run.request.target_unit),
            **ledger_columns(wire))
        RunRecord.objects.filter(pk=record.pk).update(created_at=run.metadata.timestamp)


@pytest.fixture
def api(django_user_model) -> APIClient:  # type: ignore[no-untyped-def]
    """An auditor's token: the seeded runs have no owner."""
    user = make_auditor(django_user_model.objects.create_user("ana",
                                                             password="a-long-test-password-42"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def _get(api: APIClient, path: str, **params: Any) -> dict[str, Any]:
    response = api.get(f"{API}/{path}", {**WINDOW, **params})
    assert response.status_code == 200, response.content
    return response.json()


# --- through graphstore.analytics ----------------------------------------------------------------


def test_agent_percentiles_and_failure_rates_are_exact(seeded):
    """Per agent: nearest-rank p50/p95, mean, max, failures and rate over committed runs in the
    window only; the whole-run totals likewise."""
    report = analytics.agent_report(analytics.Window(SINCE, UNTIL), scope=EVERY, driver=seeded,
                                    database=database())
    got = {a.agent: (a.invocations, a.runs, a.failures, a.p50, a.p95, a.mean, a.max)
           for a in report.agents}
    assert got == {
        "RecipeEngineer": (6, 6, 0, 30.0, 60.0, 35.0, 60.0),
        "ScalingCalculator": (6, 6, 1, 60.0, 90.0, 60.0, 90.0),
        "GraphBuilder": (5, 5, 0, 90.0, 120.0, 78.0, 120.0),
        "QAValidator": (5, 5, 1, 120.0, 200.0, 120.0, 200.0),
        "UIDesigner": (4, 4, 0, 100.0, 150.0, 112.5, 150.0),
    }
    rates = {a.agent: a.failure_rate for a in report.agents}
    assert rates["ScalingCalculator"] == pytest.approx(1 / 6)
    assert rates["QAValidator"] == pytest.approx(0.2)
    assert rates["RecipeEngineer"] == 0.0
    t = report.totals
    # totalDuration: 150, 300, 450, 110, 420, 580
    assert (t.runs, t.failed, t.breached, t.p50, t.p95) == (6, 2, 3, 300.0, 580.0)
    assert t.failure_rate == pytest.approx(2 / 6)


def test_budget_breaches_by_stage_kind_and_day(seeded):
    """Breaches are counted per stage and kind ("run" for the whole run) and per UTC day."""
    report = analytics.breach_report(analytics.Window(SINCE, UNTIL), scope=EVERY, driver=seeded,
                                     database=database())
    assert [(b.stage, b.kind, b.breaches, b.runs) for b in report.breaches] == [
        ("QAValidator", "duration", 2, 2),
        ("ScalingCalculator", "duration", 1, 1),
        ("run", "duration", 1, 1),
    ]
    assert [(d.day, d.breaches, d.runs) for d in report.by_day] == [
        (date(2026, 11, 24), 1, 1), (date(2026, 11, 25), 2, 1), (date(2026, 11, 26), 1, 1)]
    assert (report.totals.runs, report.totals.breached) == (6, 3)


def test_most_used_ingredients(seeded):
    """Ingredients ranked by the runs using them (ties by name), with recipes and the average
    percentage; `limit` cuts the list."""
    report = analytics.ingredient_report(analytics.Window(SINCE, UNTIL), scope=EVERY, limit=10,
                                         driver=seeded, database=database())
    assert [(i.ingredient_id, i.name, i.runs, i.recipes, i.avg_percentage)
            for i in report.ingredients] == [
        ("ing-olive-oil", "Olive oil", 6, 2, 50.0),
        ("ing-lemon-juice", "Lemon juice", 4, 1, 30.0),
        ("ing-salt", "Salt", 4, 1, 10.0),
        ("ing-basil", "Basil", 2, 1, 50.0),
        ("ing-pine-nuts", "Pine nuts", 2, 1, 20.0),
    ]
    top = analytics.ingredient_report(analytics.Window(SINCE, UNTIL), scope=EVERY, limit=3,
                                      driver=seeded, database=database())
    assert [i.name for i in top.ingredients] == ["Olive oil", "Lemon juice", "Salt"]


def test_cost_per_recipe_per_utc_day(seeded):
    """Costs per recipe per UTC day (a run at 23:30 New York time counts on the next UTC day);
    runs without a calculation are absent; `recipe` and `limit` select the series."""
    window = analytics.Window(SINCE, UNTIL)
    report = analytics.cost_report(window, scope=EVERY, recipe=None, limit=10, driver=seeded,
                                   database=database())
    assert [(s.recipe_id, s.name, s.currency, s.runs,
             [(p.day, p.runs, p.avg_cost, p.min_cost, p.max_cost, p.total_cost)
              for p in s.points]) for s in report.series] == [
        ("recipe-lemon", "Lemon vinaigrette", "USD", 3, [
            (date(2026, 11, 24), 2, 12.0, 10.0, 14.0, 24.0),
            (date(2026, 11, 26), 1, 12.0, 12.0, 12.0, 12.0)]),
        ("recipe-pesto", "Basil pesto", "USD", 2, [
            (date(2026, 11, 25), 1, 30.0, 30.0, 30.0, 30.0),
            (date(2026, 11, 26), 1, 34.0, 34.0, 34.0, 34.0)]),
    ]
    only = analytics.cost_report(window, scope=EVERY, recipe="recipe-pesto", limit=10,
                                 driver=seeded, database=database())
    assert [s.recipe_id for s in only.series] == ["recipe-pesto"]
    top = analytics.cost_report(window, scope=EVERY, recipe=None, limit=1, driver=seeded,
                                database=database())
    assert [s.recipe_id for s in top.series] == ["recipe-lemon"]
    assert analytics.cost_report(window, scope=EVERY, recipe="no-such-recipe", limit=10,
                                 driver=seeded, database=database()).series == []


def test_validation_error_frequency(seeded):
    """Issues grouped by agent, field (indices folded) and severity; a message that imitates
    the JSON of another issue stays one message; runs outside the window or uncommitted are
    not counted."""
    report = analytics.validation_report(analytics.Window(SINCE, UNTIL), scope=EVERY, kind="errors",
                                         limit=20, driver=seeded, database=database())
    assert [(i.agent, i.field, i.severity, i.occurrences, i.runs) for i in report.issues] == [
        ("ScalingCalculator", "calculation.scaledIngredients[*].scaledQuantity", "error", 3, 2),
        ("RecipeEngineer", "recipe.ingredients", "critical", 1, 1),
        ("RecipeEngineer", "recipe.name", "error", 1, 1),
    ]
    assert (report.validated, report.with_issues, report.details_removed) == (4, 2, 0)
    warnings = analytics.validation_report(analytics.Window(SINCE, UNTIL), scope=EVERY,
                                           kind="warnings", limit=20, driver=seeded,
                                           database=database())
    assert (warnings.validated, warnings.with_issues, warnings.issues) == (4, 0, [])


def test_an_empty_window_answers_zeros(seeded):
    """A window without runs gives zero counts and empty lists, not errors."""
    window = analytics.Window(datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 2, 1, tzinfo=UTC))
    agents = analytics.agent_report(window, scope=EVERY, driver=seeded, database=database())
    assert agents.agents == [] and agents.totals.runs == 0
    assert agents.totals.failure_rate is None and agents.totals.p50 is None
    assert analytics.breach_report(window, scope=EVERY, driver=seeded,
                                   database=database()).breaches == []


# --- through the JSON API -------------------------------------------------------------------------


def test_api_agents(seeded, api):
    """GET analytics/agents renders the report in camelCase with the window."""
    body = _get(api, "agents")
    assert [a["agent"] for a in body["agents"]] == list(AGENTS)  # in stage order
    assert body["window"] == {"since": "2026-11-24T00:00:00Z", "until": "2026-11-27T00:00:00Z"}
    qa = next(a for a in body["agents"] if a["agent"] == "QAValidator")
    assert qa == {"agent": "QAValidator", "invocations": 5, "runs": 5, "failures": 1,
                  "failureRate": 0.2, "p50Ms": 120.0, "p95Ms": 200.0, "meanMs": 120.0,
                  "maxMs": 200.0}
    assert body["totals"]["runs"] == 6 and body["totals"]["p95Ms"] == 580.0


def test_api_budget_breaches_ingredients_costs_and_errors(seeded, api):
    """The other analytics endpoints answer the seeded figures."""
    breaches = _get(api, "budget-breaches")
    assert breaches["breaches"][0] == {"stage": "QAValidator", "kind": "duration",
                                       "breaches": 2, "runs": 2}
    assert breaches["byDay"][1] == {"day": "2026-11-25", "breaches": 2, "runs": 1}

    ingredients = _get(api, "ingredients", limit=2)["ingredients"]
    assert ingredients == [
        {"ingredientId": "ing-olive-oil", "name": "Olive oil", "runs": 6, "recipes": 2,
         "avgPercentage": 50.0},
        {"ingredientId": "ing-lemon-juice", "name": "Lemon juice", "runs": 4, "recipes": 1,
         "avgPercentage": 30.0}]

    costs = _get(api, "costs", recipe="recipe-lemon")
    assert costs["recipe"] == "recipe-lemon"
    assert costs["series"] == [{"recipeId": "recipe-lemon", "name": "Lemon vinaigrette",
                                "currency": "USD", "runs": 3, "points": [
        {"day": "2026-11-24", "runs": 2, "avgCost": 12.0, "minCost": 10.0, "maxCost": 14.0,
         "totalCost": 24.0},
        {"day": "2026-11-26", "runs": 1, "avgCost": 12.0, "minCost": 12.0, "maxCost": 12.0,
         "totalCost": 12.0}]}]

    errors = _get(api, "validation-errors")
    assert errors["kind"] == "errors" and errors["validated"] == 4 and errors["withIssues"] == 2
    assert errors["issues"][0] == {
        "agent": "ScalingCalculator", "field": "calculation.scaledIngredients[*].scaledQuantity",
        "severity": "error", "occurrences": 3, "runs": 2}


def test_api_default_window_is_the_last_30_days(graph, api):
    """Without since/until the window is the 30 days before now."""
    response = api.get(f"{API}/agents")
    assert response.status_code == 200, response.content
    window = response.json()["window"]
    since = datetime.fromisoformat(window["since"].replace("Z", "+00:00"))
    until = datetime.fromisoformat(window["until"].replace("Z", "+00:00"))
    assert until - since == timedelta(days=30)
    assert abs(until - datetime.now(UTC)) < timedelta(minutes=5)


@pytest.mark.parametrize(("path", "params", "field"), [
    ("agents", {"since": "yesterday"}, "since"),
    ("agents", {"since": "2026-11-27T00:00:00Z", "until": "2026-11-24T00:00:00Z"}, "until"),
    ("agents", {"sinse": "2026-11-24"}, "sinse"),
    ("budget-breaches", {"until": "2026-13-01"}, "until"),
    ("ingredients", {"limit": "0"}, "limit"),
    ("ingredients", {"limit": "ten"}, "limit"),
    ("costs", {"recipe": "x" * 201}, "recipe"),
    ("costs", {"limit": "51"}, "limit"),
    ("validation-errors", {"kind": "notes"}, "kind"),
])
def test_api_refuses_bad_parameters_naming_them(graph, api, path, params, field):
    """A malformed, inconsistent or unknown query parameter is a 400 that names it."""
    response = api.get(f"{API}/{path}", params)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid"
    assert [e["field"] for e in body["errors"]] == [field]


def test_api_needs_authentication(graph):
    """Without credentials the analytics answer 401."""
    assert APIClient().get(f"{API}/agents").status_code == 401


# --- the page -------------------------------------------------------------------------------------


def test_analytics_page_needs_login_and_wires_the_endpoints(graph, django_user_model):
    """/analytics/ redirects anonymous users to the login page; signed in, it renders the chart
    sections, the endpoints its script reads, and the nav marks it current; no external script."""
    client = Client()
    response = client.get("/analytics/")
    assert response.status_code == 302 and "/login/" in response["Location"]
    client.force_login(django_user_model.objects.create_user("bo", password="pw-123456789"))
    response = client.get("/analytics/")
    assert response.status_code == 200
    html = response.content.decode()
    for endpoint in ("agents", "budget-breaches", "ingredients", "costs", "validation-errors"):
        assert f"/api/orchestration/analytics/{endpoint}" in html
    assert "/api/orchestration/runs/similar" in html
    for section in ("agents-chart", "failures-chart", "breaches-chart", "ingredients-chart",
                    "costs-chart", "validation-chart"):
        assert f'id="{section}"' in html
    assert 'aria-current="page">Analytics</a>' in html
    assert "<script src=" not in html and "http://" not in html.replace(
        "http://www.w3.org/2000/svg", "")




@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_analytics_page_draws_the_charts_in_a_browser(seeded, live_server, django_user_model):
    """In headless Chromium the page draws every chart from the API with the session, with no
    script error, and the search lists the similar run."""
    from playwright.sync_api import expect

    make_auditor(django_user_model.objects.create_user("dee", password="a-long-test-password"))
    seed_ledger(seed_runs())
    errors: list[str] = []
    shot = Path(settings.BASE_DIR) / "reports" / "analytics-page.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    with chromium_page() as page:
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error"
                and not msg.location.get("url", "").endswith("/favicon.ico") else None)
        page.goto(f"{live_server.url}/login/?next=/analytics/%3Fsince%3D2026-11-24"
                  "%26until%3D2026-11-26")
        page.fill("#id_username", "dee")
        page.fill("#id_password", "a-long-test-password")
        page.locator("form [type=submit]").click()
        expect(page.get_by_role("heading", name="Analytics", exact=True)).to_be_visible()
        expect(page.locator("#window-status")).to_contain_text("Updated")
        # One row of two bars per agent, one bar per ingredient, a line per recipe.
        expect(page.locator("#agents-chart svg rect")).to_have_count(10)
        expect(page.locator("#failures-chart svg")).to_contain_text("16.7 %")
        expect(page.locator("#breaches-chart svg")).to_contain_text("QAValidator · duration")
        expect(page.locator("#ingredients-chart svg rect")).to_have_count(5)
        # Cost per kg per product (from the ledger): lemon and pesto.
        expect(page.locator("#costs-chart svg polyline")).to_have_count(2)
        expect(page.locator("#costs-legend")).to_contain_text("Basil pesto (USD/kg)")
        expect(page.locator("#latency-chart svg polyline")).to_have_count(2)
        expect(page.locator("#errors-chart svg polyline")).to_have_count(1)
        expect(page.locator("#validation-chart svg")).to_contain_text(
            "calculation.scaledIngredients[*].scaledQuantity (error)")
        expect(page.locator("#agents-totals")).to_contain_text("6 runs, 2 failed")
        page.select_option("#costs-recipe", "Basil pesto")
        expect(page.locator("#costs-chart svg polyline")).to_have_count(1)
        page.fill("#similar-q", "lemon vinaigrette")
        page.get_by_role("button", name="Search").click()
        expect(page.locator("#similar-results li").first).to_contain_text("Lemon vinaigrette")
        page.screenshot(path=str(shot), full_page=True)
    assert errors == []


def test_condensed_runs_keep_timings_and_lose_details(seeded):
    """After retention condenses the runs started before noon on the 25th (a1, a2, a3): agent
    timings and breaches are unchanged, their ingredients and costs drop out (retention removed
    them), and a3's removed error texts are counted as `detailsRemoved`, not guessed."""
    from graphstore.connection import get_blob_store
    from graphstore.retention import condense_runs

    window = analytics.Window(SINCE, UNTIL)
    before = analytics.agent_report(window, scope=EVERY, driver=seeded, database=database())
    condense_runs(driver=seeded, database=database(), blob_store=get_blob_store(),
                  cutoff=datetime(2026, 11, 25, 12, tzinfo=UTC),
                  now=datetime(2026, 11, 26, 12, tzinfo=UTC))
    assert analytics.agent_report(window, scope=EVERY, driver=seeded, database=database()) == before
    breaches = analytics.breach_report(window, scope=EVERY, driver=seeded, database=database())
    assert [(b.stage, b.breaches) for b in breaches.breaches][0] == ("QAValidator", 2)
    ingredients = analytics.ingredient_report(window, scope=EVERY, limit=10, driver=seeded,
                                              database=database())
    assert [(i.name, i.runs) for i in ingredients.ingredients][:2] == [("Olive oil", 3),
                                                                       ("Lemon juice", 2)]
    costs = analytics.cost_report(window, scope=EVERY, recipe=None, limit=10, driver=seeded,
                                  database=database())
    assert [(s.recipe_id, s.runs) for s in costs.series] == [("recipe-lemon", 1),
                                                             ("recipe-pesto", 1)]
    errors = analytics.validation_report(window, scope=EVERY, kind="errors", limit=20,
                                         driver=seeded, database=database())
    assert (errors.validated, errors.with_issues, errors.details_removed) == (4, 2, 1)
    assert [(i.field, i.occurrences) for i in errors.issues] == [
        ("calculation.scaledIngredients[*].scaledQuantity", 1)]
    context = retrieval.run_context("a3", driver=seeded, database=database())
    assert context["condensed"] is True
    assert context["recipe"] is None and context["calculation"] is None
    assert context["validation"]["valid"] is False
    assert context["validation"]["errorCount"] == 4
    assert context["validation"]["errors"] is None


def test_api_window_near_the_start_of_time(graph, api):
    """An `until` in the first days of year 1 (no 30 days before it) is answered, not a 500."""
    response = api.get(f"{API}/agents", {"until": "0001-01-02T00:00:00Z"})
    assert response.status_code == 200, response.content
    assert response.json()["totals"]["runs"] == 0


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_analytics_page_at_390_px_axis_one_error_and_click_through(seeded, live_server,
                                                                     django_user_model):
    """At 390 px nothing scrolls sideways; a cost per kg of 1,240,583,358.15 reads "1.24B" on the
    value axis, inside the chart; a point opens the run history filtered to its product and
    day, listing exactly its runs; a window the wrong way round is one message naming the
    field, and no chart says it could not load."""
    from playwright.sync_api import expect

    from orchestration.models import RunRecord

    make_auditor(django_user_model.objects.create_user("dee", password="a-long-test-password"))
    seed_ledger(seed_runs())
    RunRecord.objects.filter(run_id__in=["a1", "a2"]).update(cost_per_kg=1_240_583_358.15)
    errors: list[str] = []
    with chromium_page() as page:
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{live_server.url}/login/?next=/analytics/%3Fsince%3D2026-11-24"
                  "%26until%3D2026-11-26")
        page.fill("#id_username", "dee")
        page.fill("#id_password", "a-long-test-password")
        page.locator("form [type=submit]").click()
        expect(page.locator("#window-status")).to_contain_text("Updated")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the analytics page is {width} px wide at 390 px"
        labels = page.locator("#costs-chart [data-axis-label]")
        expect(labels.last).to_have_text("1.24B")
        expect(labels.last).to_have_attribute("data-axis-label", "1,240,583,358.15")
        boxes = labels.evaluate_all("els => els.map(e => e.getBBox().x)")
        assert min(boxes) >= 0, "a value-axis label is cut at the left edge"
        page.screenshot(path=str(Path(settings.BASE_DIR) / "reports" / "analytics-390.png"),
                        full_page=True)

        link = page.locator('#costs-chart a[data-runs-link="Lemon vinaigrette (USD/kg) '
                            '2026-11-24"]')
        link.locator("circle").click()
        expect(page).to_have_url(re.compile(r"/runs/\?.*product=Lemon\+vinaigrette"))
        assert "since=2026-11-24" in page.url and "until=2026-11-24" in page.url
        rows = page.locator("tr[data-run-id]").evaluate_all(
            "rows => rows.map(r => r.dataset.runId)")
        assert sorted(rows) == ["a1", "a2"]

        page.goto(f"{live_server.url}/analytics/?since=2026-11-26&until=2026-11-24")
        expect(page.get_by_test_id("window-error")).to_be_visible()
        expect(page.get_by_test_id("window-error")).to_contain_text("until")
        assert page.get_by_text("Could not load").count() == 0
        assert page.locator("[role=alert]").count() == 1
    assert errors == []
