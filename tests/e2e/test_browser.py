"""A person's path through the whole stack in a real browser: log in, submit the form, watch the
run page update until the run completes, read the result (headless Debian Chromium driven by
Playwright, the live Django server, a real Celery worker, Redis and Neo4j)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import chromium_page

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SCREENSHOT = Path(settings.BASE_DIR) / "reports" / "browser-run-page.png"


def test_request_form_to_finished_run_page(live_server, celery_worker, graph,
                                           django_user_model):  # type: ignore[no-untyped-def]
    """Submitting "lemon vinaigrette, 5 kg" lands on the run page, which updates by itself until
    the run succeeds and then shows the ingredient table replayed from Neo4j."""
    from playwright.sync_api import expect

    django_user_model.objects.create_user("carol", password="a-long-test-password",
                                          is_staff=True)  # the admin's login lets staff in
    # Playwright's sync API runs an event loop in this thread while the browser is open, and
    # Django's ORM refuses to run next to one: every database step is done before (the user)
    # or by the live server's own thread, so DJANGO_ALLOW_ASYNC_UNSAFE is not needed.
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    with chromium_page() as page:
        page.goto(f"{live_server.url}/")
        expect(page).to_have_url(re.compile(rf"{re.escape(settings.LOGIN_URL)}\?next=/$"))
        page.fill("#id_username", "carol")
        page.fill("#id_password", "a-long-test-password")
        page.locator("form [type=submit]").click()
        expect(page.get_by_role("heading", name="New formulation request")).to_be_visible()

        page.get_by_label("What should be made?").fill("lemon vinaigrette, 5 kg")
        page.get_by_label("Batch size").fill("5")
        page.get_by_label("Unit").select_option("kg")
        page.get_by_role("button", name="Start the run").click()

        expect(page).to_have_url(re.compile(r"/runs/run-[0-9a-f]{32}/$"))
        run_id = page.get_by_test_id("run-id").inner_text()
        assert page.url.endswith(f"/runs/{run_id}/")
        # The page polls the status JSON and reloads itself when the run is finished.
        expect(page.locator('#run-status[data-status="succeeded"]')).to_be_visible(
            timeout=90_000)
        expect(page.locator("#result")).to_have_attribute("data-result-source", "neo4j")
        ingredients = page.locator('[data-covers="ingredients"] table')
        expect(ingredients).to_contain_text("Olive oil")
        expect(ingredients).to_contain_text("Lemon juice")
        expect(page.locator('[data-covers="scaled"]')).to_contain_text("Scaled to 5 kg")
        expect(page.locator('[data-covers="costs"]')).to_contain_text("Total cost")
        expect(page.get_by_test_id("validation-summary")).not_to_be_empty()
        expect(page.locator('tr[data-stage-status="succeeded"]')).to_have_count(5)
        expect(page.get_by_test_id("waterfall").locator(".wf-bar").first).to_be_visible()
        page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 10_000
