"""What a person sees of the run history, the request form, the API docs and the admin's run
ledger, in headless Chromium against the live Django server: layouts at a phone's 390 px and a
laptop's 1280 px (nothing scrolls sideways, the columns that matter are on screen), long texts
clamped with "show more", the character counter, Swagger UI served by the app with every other
host blocked."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from orchestration.models import RunRecord, RunStatus
from tests.conftest import chromium_page, make_auditor

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-test-password"
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 900}
LONG = ("lemon vinaigrette with a very long story: " + "extra virgin olive oil, " * 40).strip()
SHOTS = Path(settings.BASE_DIR) / "reports"


def _seed(owner: Any) -> None:
    """Runs of every kind: a long request text, a failed run, a breached budget, many rows."""
    t0 = datetime(2026, 11, 20, 12, tzinfo=UTC)
    rows = [
        ("run-long", LONG, RunStatus.SUCCEEDED, {"product": "Lemon vinaigrette",
                                                 "cost_total": 1_240_583_358.15,
                                                 "cost_per_kg": 248_116_671.63,
                                                 "qa_valid": True}),
        ("run-failed", "hummus, 12 kg", RunStatus.FAILED, {"failed_agent": "QAValidator",
                                                           "qa_valid": False,
                                                           "budget_breached": True}),
    ] + [(f"run-{i:02d}", f"basil pesto batch {i}", RunStatus.SUCCEEDED,
          {"product": "Basil pesto", "cost_total": 10.0 + i}) for i in range(12)]
    for i, (run_id, text, status, extra) in enumerate(rows):
        record = RunRecord.objects.create(
            run_id=run_id, submitted_by=owner, request_text=text, request={}, status=status,
            batch_size=5, batch_unit="kg", batch_kg=5, total_duration_ms=1000.0 + i,
            cost_currency="USD", **extra)
        RunRecord.objects.filter(pk=record.pk).update(created_at=t0 + timedelta(hours=i))


def _login(page: Any, base: str, username: str, next_path: str) -> None:
    page.goto(f"{base}/login/?next={next_path}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.locator("form [type=submit]").click()


def _no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("window.innerWidth")
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{page.url}: the page is {scroll} px wide in a {width} px window"


def test_history_page_at_390_and_1280_px(live_server, django_user_model) -> None:  # type: ignore[no-untyped-def]
    """At 390 px the history has no sideways scroll and each run is a card; at 1280 px every
    column of the table is on screen. The long request is clamped, and "show more" opens it.
    Bad filters show one message per field; sorting and paging work by clicking."""
    from playwright.sync_api import expect

    ada = make_auditor(django_user_model.objects.create_user("ada", password=PASSWORD))
    _seed(ada)
    SHOTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    with chromium_page() as page:
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.set_viewport_size(PHONE)
        _login(page, live_server.url, "ada", "/runs/%3Fsize%3D20")
        expect(page.get_by_role("heading", name="Run history")).to_be_visible()
        expect(page.locator("tr[data-run-id]")).to_have_count(14)
        _no_sideways_scroll(page)
        card = page.locator('tr[data-run-id="run-long"]')
        expect(card.locator('td[data-label="Cost"]')).to_contain_text("1,240,583,358.15")
        page.screenshot(path=str(SHOTS / "history-390.png"), full_page=True)

        # The long request: clamped, "show more" opens it, "show less" closes it.
        text = card.locator("[data-clamp]")
        more = card.locator("[data-clamp-toggle]")
        expect(more).to_be_visible()
        closed = text.bounding_box()["height"]
        more.click()
        expect(more).to_have_text("show less")
        assert text.bounding_box()["height"] > closed * 2
        expect(page.locator('tr[data-run-id="run-failed"] [data-clamp-toggle]')).to_be_hidden()

        page.set_viewport_size(LAPTOP)
        page.goto(f"{live_server.url}/runs/?size=10")
        _no_sideways_scroll(page)
        headers = page.locator("table.history thead th")
        labels = [h.strip().lower() for h in headers.all_inner_texts()]
        assert labels[:3] == ["request", "status", "product"] and "created" in labels[-1]
        assert "user" in labels
        for i in range(headers.count()):
            box = headers.nth(i).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 1280, labels[i]
        page.screenshot(path=str(SHOTS / "history-1280.png"), full_page=True)

        # Sort by cost (descending first), then the next page by its link.
        page.locator('[data-sort-link="Cost"]').click()
        expect(page.locator("tr[data-run-id]").first).to_have_attribute("data-run-id",
                                                                        "run-long")
        first_page = page.locator("tr[data-run-id]").evaluate_all(
            "rows => rows.map(r => r.dataset.runId)")
        page.get_by_test_id("next-page").click()
        second_page = page.locator("tr[data-run-id]").evaluate_all(
            "rows => rows.map(r => r.dataset.runId)")
        assert second_page and not set(first_page) & set(second_page)

        # Filters from the form; then a bad value named in one message.
        page.goto(f"{live_server.url}/runs/")
        page.select_option("#f-failed_agent", "QAValidator")
        page.get_by_role("button", name="Search").click()
        expect(page.locator("tr[data-run-id]")).to_have_count(1)
        page.goto(f"{live_server.url}/runs/?duration_min=soon")
        expect(page.get_by_test_id("filter-errors")).to_contain_text("duration_min")
        expect(page.locator("[data-field-error]")).to_have_count(1)
    assert errors == []


def test_request_form_counts_characters(live_server, django_user_model) -> None:  # type: ignore[no-untyped-def]
    """Typing updates the counter; past 2,000 it turns red and says by how much; pasting a longer
    text keeps all of it (no silent cut), and the form then says why it is refused."""
    from playwright.sync_api import expect

    django_user_model.objects.create_user("bea", password=PASSWORD)
    with chromium_page() as page:
        page.set_viewport_size(PHONE)
        _login(page, live_server.url, "bea", "/")
        counter = page.get_by_test_id("request-counter")
        page.get_by_label("What should be made?").fill("lemon vinaigrette")
        expect(counter).to_have_text("17 / 2,000 characters")
        page.get_by_label("What should be made?").fill("x" * 2010)
        expect(counter).to_contain_text("2,010 / 2,000 characters")
        expect(counter).to_contain_text("10 too many")
        expect(counter).to_have_class(re.compile(r"\bover\b"))
        assert len(page.get_by_label("What should be made?").input_value()) == 2010
        _no_sideways_scroll(page)
        page.get_by_label("Batch size").fill("5")
        page.get_by_role("button", name="Start the run").click()
        expect(page.locator('[data-field-errors="user_request"]')).to_contain_text(
            "The request is 2010 characters long; it may be at most 2000")


def test_api_docs_render_with_every_other_host_blocked(live_server, django_user_model) -> None:  # type: ignore[no-untyped-def]
    """Swagger UI draws the API from files the app serves: with every request to another host
    refused, the docs still show the API's title and its operations."""
    from playwright.sync_api import expect

    django_user_model.objects.create_user("cy", password=PASSWORD)
    own = re.escape(live_server.url)
    outside: list[str] = []

    def guard(route: Any) -> None:
        if re.match(own, route.request.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with chromium_page() as page:
        page.route("**/*", guard)
        _login(page, live_server.url, "cy", "/api/docs/")
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("CAP-01 Orchestration API",
                                                                         timeout=30_000)
        expect(page.locator(".opblock").first).to_be_visible()
    assert outside == []


def test_admin_ledger_columns_at_1280_px(live_server, django_user_model) -> None:  # type: ignore[no-untyped-def]
    """At 1280 px the run ledger's Request, Status, Created, Duration and User columns are on
    screen with the filter sidebar open, and the page does not scroll sideways."""
    from playwright.sync_api import expect

    admin_user = django_user_model.objects.create_superuser("root", "root@example.com", PASSWORD)
    _seed(admin_user)
    with chromium_page() as page:
        page.set_viewport_size(LAPTOP)
        page.goto(f"{live_server.url}/admin/login/?next=/admin/orchestration/runrecord/")
        page.fill("#id_username", "root")
        page.fill("#id_password", PASSWORD)
        page.locator("form [type=submit]").click()
        expect(page.locator("#result_list")).to_be_visible()
        for column in ("request_excerpt", "status_display", "created_at", "duration", "user"):
            box = page.locator(f"#result_list th.column-{column}").bounding_box()
            assert box is not None and box["x"] + box["width"] <= 1280, column
        _no_sideways_scroll(page)
        page.screenshot(path=str(SHOTS / "admin-ledger-1280.png"))
