"""The run explorer as a person uses it, in headless Chromium (Debian's, driven by Playwright,
against the live Django server and the real Neo4j): the waterfall, a click on a stage to read
its envelope and output (collapse a branch, copy, download), the graph drawn by the app's own
Cytoscape.js, the compare page reached from the run page, and "edit and resubmit" after a
failure. Screenshots go to reports/ (the README shows them)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.conf import settings

from contracts import STAGE_NAMES
from orchestration.models import RunRecord
from tests.conftest import chromium_page
from tests.integration.test_run_explorer import persisted
from tests.integration.test_web import run_in_process, store

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

REPORTS = Path(settings.BASE_DIR) / "reports"
PASSWORD = "a-long-test-password"


def log_in(page, base: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.locator("form [type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))


def test_waterfall_stage_inspector_and_graph(live_server, graph, django_user_model) -> None:  # type: ignore[no-untyped-def]
    """The run page shows the waterfall to scale; clicking GraphBuilder opens its envelope and
    output, a branch collapses, Copy puts the JSON on the clipboard, Download saves the file;
    the graph is drawn (one Cytoscape node per graph node) without any request off the site."""
    user = django_user_model.objects.create_user("dora", password=PASSWORD)
    run = persisted("run-e2e-wf", user, breach_at="GraphBuilder")
    assert run.graph is not None
    REPORTS.mkdir(parents=True, exist_ok=True)
    with chromium_page() as page:
        from playwright.sync_api import expect

        foreign: list[str] = []
        page.on("request", lambda r: foreign.append(r.url)
                if not r.url.startswith((live_server.url, "data:")) else None)
        page.context.grant_permissions(["clipboard-read", "clipboard-write"],
                                       origin=live_server.url)
        log_in(page, live_server.url, "dora")
        page.goto(f"{live_server.url}/runs/run-e2e-wf/")
        waterfall = page.get_by_test_id("waterfall")
        expect(waterfall.locator("tr[data-stage]")).to_have_count(len(STAGE_NAMES))
        expect(waterfall.locator('[data-segment="write:database"] .wf-bar')).to_be_visible()
        expect(page.get_by_test_id("breach")).to_contain_text("GraphBuilder")
        expect(page.get_by_role("img", name=re.compile("budget broken here"))).to_be_visible()
        # the bars are drawn to scale: the queue starts at the left edge, the write far right
        queue = waterfall.locator('[data-segment="queue"] .wf-bar').bounding_box()
        write = waterfall.locator('[data-segment="write"] .wf-bar').bounding_box()
        assert queue and write and write["x"] > queue["x"] + queue["width"]

        graph_box = page.locator("#graph-canvas")
        expect(graph_box).to_have_attribute("data-rendered", str(len(run.graph.nodes)))
        expect(graph_box.locator("canvas").first).to_be_visible()
        graph_box.scroll_into_view_if_needed()
        page.screenshot(path=str(REPORTS / "run-page-waterfall-graph.png"), full_page=True)

        page.get_by_role("link", name="3. GraphBuilder").click()
        expect(page).to_have_url(re.compile(r"\?stage=GraphBuilder#inspect$"))
        inspect = page.get_by_test_id("inspect")
        expect(inspect).to_contain_text("Hand-off envelope it opened")
        envelope = inspect.locator('[data-part="envelope"]')
        payload = envelope.locator(".json-tree > details > .jb > details").filter(
            has_text="payload").first
        expect(payload).to_have_attribute("open", "")
        payload.locator("> summary").click()
        expect(payload).not_to_have_attribute("open", "")

        envelope.get_by_role("button", name="Copy").click()
        expect(envelope.locator(".json-copied")).to_contain_text("Copied")
        copied = json.loads(page.evaluate("navigator.clipboard.readText()"))
        assert copied["metadata"]["agent"] == "GraphBuilder"
        assert set(copied["payload"]["artifacts"]) == {"recipe", "calculation"}

        with page.expect_download() as info:
            inspect.locator('[data-part="output"]').get_by_role("link", name="Download").click()
        assert info.value.suggested_filename == "run-e2e-wf-GraphBuilder-output.json"
        output = json.loads(Path(info.value.path()).read_text())
        assert len(output["graph"]["nodes"]) == len(run.graph.nodes)
    assert foreign == []


def test_compare_from_the_run_page_and_resubmit_after_a_failure(  # type: ignore[no-untyped-def]
        live_server, graph, django_user_model) -> None:
    """From a run page "Compare with another run" opens the picker with the run as A; picking
    B shows the diff and the timings side by side. A failed run's page lists the stages after
    the failure as skipped and its "Edit and resubmit" opens the form filled in."""
    user = django_user_model.objects.create_user("erin", password=PASSWORD)
    persisted("run-e2e-a", user, size=5.0)
    persisted("run-e2e-b", user, size=9.0)
    failed = run_in_process("run-e2e-failed", "mayonaise, less sugar", 2.0, "kg")
    store(failed, owner=user, persisted=False)
    record = RunRecord.objects.get(run_id="run-e2e-failed")
    record.stages = {**{n: {"status": "pending"} for n in STAGE_NAMES}, **record.stages}
    record.save()
    with chromium_page() as page:
        from playwright.sync_api import expect

        page.set_viewport_size({"width": 1280, "height": 900})
        log_in(page, live_server.url, "erin")
        page.goto(f"{live_server.url}/runs/run-e2e-a/")
        page.get_by_test_id("compare-link").click()
        expect(page.get_by_label("Run A (the base)")).to_have_value("run-e2e-a")
        page.get_by_label("Run B (compared with A)").fill("run-e2e-b")
        page.get_by_role("button", name="Compare").click()
        expect(page).to_have_url(re.compile(r"/runs/compare/\?a=run-e2e-a&b=run-e2e-b$"))
        expect(page.get_by_test_id("compare-diff")).to_contain_text("targetBatchSize")
        expect(page.get_by_test_id("compare-timings").locator("tr[data-segment]").first
               ).to_be_visible()
        page.screenshot(path=str(REPORTS / "run-compare.png"), full_page=True)

        page.goto(f"{live_server.url}/runs/run-e2e-failed/")
        expect(page.locator('tr[data-stage-status="skipped"]')).to_have_count(4)
        expect(page.get_by_test_id("closest-products").get_by_role("link").first
               ).to_have_text("Mayonnaise")
        page.screenshot(path=str(REPORTS / "run-failed.png"), full_page=True)
        page.get_by_test_id("resubmit").click()
        expect(page.get_by_label("What should be made?")).to_have_value("mayonaise, less sugar")
        expect(page.get_by_label("Batch size")).to_have_value("2")
