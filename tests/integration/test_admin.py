"""The Django admin: the run ledger (read-only), retention settings, and the Neo4j graph browser
against the real Neo4j."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client

from graphstore import admin as graph_admin
from graphstore.connection import get_writer
from orchestration.models import RetentionSettings, RunRecord, RunSource, RunStatus
from orchestration.selectors import LEDGER_TRIGRAMS
from tests.conftest import NOW
from tools.synthetic import make_run

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

LEDGER = "/admin/orchestration/runrecord/"
RETENTION = "/admin/orchestration/retentionsettings/"
SCRIPT = "<script>alert('x')</script>"


@pytest.fixture
def staff(django_user_model) -> Client:  # type: ignore[no-untyped-def]
    user = django_user_model.objects.create_superuser("admin", "admin@example.com", "pw-admin-1")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def visitor(django_user_model) -> Client:  # type: ignore[no-untyped-def]
    user = django_user_model.objects.create_user("visitor", "visitor@example.com", "pw-visit-1")
    client = Client()
    client.force_login(user)
    return client


def ledger_row(seed: int, *, run_id: str, request_text: str | None = None,
               failed_agent: str | None = None, source: str = RunSource.PIPELINE,
               persisted: bool = True) -> RunRecord:
    """A finished ledger row made from a synthetic run, as services.run_result_ingest stores it."""
    run = make_run(seed, now=NOW, run_id=run_id, failed_agent=failed_agent)
    wire = run.to_wire()
    text = request_text if request_text is not None else wire["request"]["userRequest"]
    wire["request"]["userRequest"] = text
    return RunRecord.objects.create(
        run_id=run_id, source=source, request_text=text, request=wire["request"],
        status=run.metadata.status, failed_agent=failed_agent or "", result=wire,
        total_duration_ms=run.metadata.total_duration, started_at=run.metadata.timestamp,
        finished_at=NOW, persisted_at=NOW if persisted else None,
        write_summary={"nodes": 20} if persisted else None,
        stages={e.agent: {"status": e.status, "sequence": e.sequence, "durationMs": e.duration,
                          "memoryMb": 1.5, "error": e.error or ""}
                for e in run.agent_history})


def listed(client: Client, query: str = "") -> set[str]:
    """The runIds on the ledger's changelist for `query`."""
    response = client.get(LEDGER + query)
    assert response.status_code == 200, response.content[:500]
    return {record.run_id for record in response.context["cl"].result_list}


@pytest.fixture
def ledger() -> dict[str, RunRecord]:
    return {
        "ok": ledger_row(1, run_id="run-admin-ok", request_text="lemon vinaigrette, 5 kg"),
        "qa": ledger_row(2, run_id="run-admin-qa", request_text="hand cream, 2 kg",
                         failed_agent="QAValidator", source=RunSource.EXTERNAL),
        "re": ledger_row(3, run_id="run-admin-re", request_text="unicorn tears",
                         failed_agent="RecipeEngineer"),
    }


def test_non_staff_is_redirected_to_the_login(client: Client, visitor: Client, ledger: Any):
    """Anonymous and non-staff users get the admin login for every admin page, graph included."""
    for url in (LEDGER, f"{LEDGER}{ledger['ok'].pk}/change/", RETENTION, "/admin/graph/",
                "/admin/graph/OrchestrationRun/", "/admin/graph/OrchestrationRun/run-admin-ok/"):
        for who in (client, visitor):
            response = who.get(url)
            assert response.status_code == 302, url
            assert response["Location"].startswith("/admin/login/?next="), url


def test_changelist_lists_runs_with_their_columns(staff: Client, ledger: Any):
    """All runs are listed, with a status badge, failed agent and the truncated request."""
    assert listed(staff) == {"run-admin-ok", "run-admin-qa", "run-admin-re"}
    html = staff.get(LEDGER).content.decode()
    assert "QAValidator" in html and "lemon vinaigrette, 5 kg" in html
    assert re.search(r"background:#198754[^>]*>succeeded<", html)
    assert re.search(r"background:#dc3545[^>]*>failed<", html)


def test_filters_and_search_narrow_the_changelist(staff: Client, ledger: Any):
    """Status, failed agent, source, date and search (runId, request text) each narrow the list."""
    assert listed(staff, "?status__exact=succeeded") == {"run-admin-ok"}
    assert listed(staff, "?status__exact=failed") == {"run-admin-qa", "run-admin-re"}
    assert listed(staff, "?failed_agent=QAValidator") == {"run-admin-qa"}
    assert listed(staff, "?failed_agent=-") == {"run-admin-ok"}
    assert listed(staff, "?source__exact=external") == {"run-admin-qa"}
    assert listed(staff, "?q=admin-re") == {"run-admin-re"}
    assert listed(staff, "?q=VINAIGRETTE") == {"run-admin-ok"}
    RunRecord.objects.filter(run_id="run-admin-re").update(
        created_at=datetime(2020, 5, 1, tzinfo=UTC))
    assert listed(staff, "?created_at__year=2020") == {"run-admin-re"}


def test_detail_shows_the_timeline_links_and_json(staff: Client):
    """The detail page has one agent timeline (the run's invocations in sequence order, with
    their timestamps), and the links to the run page and the API."""
    record = ledger_row(4, run_id="run-admin-detail", failed_agent="GraphBuilder")
    html = staff.get(f"{LEDGER}{record.pk}/change/").content.decode()
    assert html.count("Agent timeline:") == 1 and "Agent history" not in html
    assert "Stage timeline" not in html
    timeline = html[html.index("Agent timeline:"):html.index("Neo4j write")]
    positions = [timeline.index(f"<td>{agent}</td>")
                 for agent in ("RecipeEngineer", "ScalingCalculator", "GraphBuilder")]
    assert positions == sorted(positions)
    assert "GraphBuilder failed: synthetic failure" in timeline
    assert "UIDesigner" not in timeline
    assert timeline.count("<td>GraphBuilder</td>") == 1 and "11:42:08.030000Z" in timeline
    assert 'href="/runs/run-admin-detail/"' in html
    assert 'href="/api/orchestration/runs/run-admin-detail"' in html
    assert 'href="/admin/graph/OrchestrationRun/run-admin-detail/"' in html
    assert "&quot;targetBatchSize&quot;" in html  # pretty-printed request JSON
    assert "collapse" in html  # the result fieldset


def test_detail_of_a_run_in_progress(staff: Client):
    """A queued run (pending stages, no result yet) has a detail page with its pending stages."""
    record = RunRecord.objects.create(
        run_id="run-admin-queued", request_text="tomato sauce", request={"userRequest": "x"},
        stages={"ScalingCalculator": {"status": "pending"},
                "RecipeEngineer": {"status": "running", "sequence": 1}})
    response = staff.get(f"{LEDGER}{record.pk}/change/")
    assert response.status_code == 200
    html = response.content.decode()
    timeline = html[html.index("Agent timeline:"):html.index("Neo4j write")]
    assert timeline.index("RecipeEngineer") < timeline.index("ScalingCalculator")
    assert ">running<" in timeline and ">pending<" in timeline
    assert "/admin/graph/OrchestrationRun/run-admin-queued/" not in html  # not persisted yet


def test_request_text_is_escaped(staff: Client):
    """HTML in the request text is shown escaped on the list and the detail page."""
    record = ledger_row(5, run_id="run-admin-xss", request_text=f"{SCRIPT} dressing")
    for url in (LEDGER, f"{LEDGER}{record.pk}/change/"):
        html = staff.get(url).content.decode()
        assert "<script>alert(" not in html, url
        assert "&lt;script&gt;alert(" in html, url


def test_the_ledger_is_read_only(staff: Client, ledger: Any):
    """No add, no change and no delete of ledger rows, even for a superuser."""
    record = ledger["ok"]
    assert staff.get(f"{LEDGER}add/").status_code == 403
    response = staff.post(f"{LEDGER}{record.pk}/change/", {"request_text": "changed"})
    assert response.status_code == 403
    assert staff.post(f"{LEDGER}{record.pk}/delete/", {"post": "yes"}).status_code == 403
    record.refresh_from_db()
    assert record.request_text == "lemon vinaigrette, 5 kg"
    html = staff.get(LEDGER).content.decode()
    assert f"{LEDGER}add/" not in html and 'value="delete_selected"' not in html


def test_retention_settings_are_editable(staff: Client):
    """The changelist opens the singleton; a POST stores the new value; no add, no delete."""
    response = staff.get(RETENTION)
    assert response.status_code == 302 and response["Location"] == f"{RETENTION}1/change/"
    response = staff.post(f"{RETENTION}1/change/",
                          {"full_retention_days": "45", "condense_enabled": ""})
    assert response.status_code == 302, response.content[:2000]
    settings_row = RetentionSettings.load()
    assert (settings_row.full_retention_days, settings_row.condense_enabled) == (45, False)
    assert RetentionSettings.objects.count() == 1
    assert staff.get(f"{RETENTION}add/").status_code == 403
    assert staff.get(f"{RETENTION}1/delete/").status_code == 403


def test_graph_browser_columns_are_node_properties():
    """Every list column of the graph browser is a property of its neomodel class."""
    for browse in graph_admin.BROWSE.values():
        names = {name for name, _ in browse.node_class.__all_properties__}
        assert set(browse.columns) <= names, browse.label


def test_admin_index_links_the_graph_browser(staff: Client, graph: Any):
    """The admin index has the read-only graph section with a link per label."""
    html = staff.get("/admin/").content.decode()
    assert "Neo4j graph (read-only)" in html
    assert 'href="/admin/graph/OrchestrationRun/"' in html
    assert 'href="/admin/graph/AgentInvocation/"' in html


def test_graph_browser_shows_a_written_run(staff: Client, graph: Any):
    """A run written to Neo4j shows up in the label counts, the list and the detail page with its
    properties and its relationships."""
    run = make_run(31, now=NOW, run_id="run-admin-graph")
    get_writer().write(run)

    index = staff.get("/admin/graph/")
    counts = {row["label"]: row["count"] for row in index.context["labels"]}
    assert counts["OrchestrationRun"] == 1 and counts["AgentInvocation"] == 5

    listing = staff.get("/admin/graph/OrchestrationRun/").content.decode()
    assert 'href="/admin/graph/OrchestrationRun/run-admin-graph/"' in listing
    assert "<td>succeeded</td>" in listing

    response = staff.get("/admin/graph/OrchestrationRun/run-admin-graph/")
    assert response.status_code == 200
    props = {p["name"]: p["value"] for p in response.context["properties"]}
    assert props["runId"] == "run-admin-graph" and props["status"] == "succeeded"
    assert props["commitChecksum"] == props["checksum"] != "—"
    assert '"targetUnit": "kg"' in props["configSnapshot"]  # JSON text, pretty-printed
    rels = {(r["type"], r["direction"]): r for r in response.context["relationships"]}
    assert rels[("HAS_AGENT_INVOCATION", "out")]["total"] == 5
    assert [row["rel"] for row in rels[("HAS_AGENT_INVOCATION", "out")]["rows"]] == [
        f"sequence={i}" for i in range(1, 6)]
    assert rels[("TRIGGERED", "in")]["total"] == 1
    assert rels[("USED_RECIPE", "out")]["total"] == 1
    html = response.content.decode()
    assert "-[:HAS_AGENT_INVOCATION]-&gt; AgentInvocation" in html
    ingredient = run.recipe.ingredients[0]  # type: ignore[union-attr]
    recipe_key = rels[("USED_RECIPE", "out")]["rows"][0]["key"]
    recipe = staff.get(f"/admin/graph/RecipeVersion/{recipe_key}/")
    ingredients = {(r["type"], r["direction"]): r for r in recipe.context["relationships"]}
    assert ingredients[("HAS_INGREDIENT", "out")]["total"] == 8
    assert f"percentage={ingredient.percentage}" in recipe.content.decode()


def test_graph_browser_searches_and_pages(staff: Client, graph: Any,
                                          monkeypatch: pytest.MonkeyPatch):
    """The node list searches by the merge key and pages through the label."""
    writer = get_writer()
    for seed, run_id in ((41, "run-page-a"), (42, "run-page-b"), (43, "run-page-c")):
        writer.write(make_run(seed, now=NOW, run_id=run_id))
    monkeypatch.setattr(graph_admin, "PAGE_SIZE", 2)

    def keys(query: str) -> list[str]:
        response = staff.get(f"/admin/graph/OrchestrationRun/{query}")
        assert response.status_code == 200
        return [row["key"] for row in response.context["rows"]]

    first, second = keys(""), keys("?p=2")
    assert len(first) == 2 and len(second) == 1
    assert set(first + second) == {"run-page-a", "run-page-b", "run-page-c"}
    assert keys("?q=PAGE-B") == ["run-page-b"]
    assert keys("?q=.*") == []  # the search is a substring, not a regular expression


def test_graph_browser_404s(staff: Client, graph: Any):
    """Unknown labels and keys are 404s, not errors."""
    assert staff.get("/admin/graph/Nope/").status_code == 404
    assert staff.get("/admin/graph/OrchestrationRun/run-missing/").status_code == 404


def test_run_status_badges_cover_every_status():
    """Each run status has its own badge colour."""
    from orchestration.admin import _STATUS_COLOURS

    assert set(RunStatus.values) <= set(_STATUS_COLOURS)


def test_graph_browser_tries_again_when_neo4j_drops_a_connection(staff: Client, graph: Any,
                                                                 monkeypatch: Any):
    """After Neo4j restarts, the first query of a graph page meets a pooled connection the
    restart killed: the page tries again and answers 200; a Neo4j that keeps failing gets the
    readable 503 page after the last attempt."""
    from neo4j.exceptions import SessionExpired

    from graphstore import admin as graph_admin

    get_writer().write(make_run(32, now=NOW, run_id="run-admin-retry"))
    query = graph_admin.db.cypher_query
    failures = {"left": 1}

    def flaky(*args: Any, **kwargs: Any) -> Any:
        if failures["left"]:
            failures["left"] -= 1
            raise SessionExpired("the connection died with the restart")
        return query(*args, **kwargs)

    monkeypatch.setattr(graph_admin.db, "cypher_query", flaky)
    response = staff.get("/admin/graph/OrchestrationRun/run-admin-retry/")
    assert response.status_code == 200 and failures["left"] == 0
    failures["left"] = graph_admin.UNAVAILABLE_ATTEMPTS
    response = staff.get("/admin/graph/OrchestrationRun/run-admin-retry/")
    assert response.status_code == 503 and failures["left"] == 0
    assert "Neo4j is not answering" in response.content.decode()


def test_changelist_has_user_product_columns_and_the_request_links(staff: Client,
                                                                  ledger: Any) -> None:
    """The changelist shows a user column and the request text as the row's link, the request
    first, then status, created and duration."""
    html = staff.get(LEDGER).content.decode()
    start = html.index('id="result_list"')
    head = html[start:html.index("</thead>", start)]
    order = [head.index(f"column-{name}") for name in ("request_excerpt", "status_display",
                                                        "created_at", "duration", "user")]
    assert order == sorted(order)
    assert re.search(r'<a href="/admin/orchestration/runrecord/\d+/change/[^"]*">lemon '
                     r"vinaigrette, 5 kg</a>", html)


def test_csv_export_action_exports_the_selected_runs(staff: Client, ledger: Any) -> None:
    """The "Export the selected runs as CSV" action answers a CSV of the selected rows only,
    with the history export's columns."""
    import csv
    import io

    chosen = [ledger["ok"].pk, ledger["qa"].pk]
    response = staff.post(LEDGER, {"action": "export_csv", "_selected_action": chosen})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {r["runId"] for r in rows} == {"run-admin-ok", "run-admin-qa"}
    assert rows[0]["requestText"] and "costTotal" in rows[0]


def test_write_summary_is_readable_and_a_breach_stands_out(staff: Client) -> None:
    """The write summary is a table of figures, a breached budget a red line naming it; the
    raw JSON is folded below."""
    record = ledger_row(6, run_id="run-admin-write")
    RunRecord.objects.filter(pk=record.pk).update(write_summary={
        "created": True, "nodeCount": 20, "latencyMs": 1234.5, "attempts": 1,
        "budgetBreaches": ["duration"], "ingredientNameClashes": []})
    html = staff.get(f"{LEDGER}{record.pk}/change/").content.decode()
    section = html[html.index("Neo4j write"):html.index("Request (input contract)")
                   if "Request (input contract)" in html else len(html)]
    assert "data-budget-breached" in section and "Budget breached by the write: duration" in section
    assert "<td>latency ms</td><td>1,234.500</td>" in section
    assert "<td>new run</td><td>yes</td>" in section
    assert "<summary>raw JSON</summary>" in section
    calm = ledger_row(7, run_id="run-admin-calm")
    html = staff.get(f"{LEDGER}{calm.pk}/change/").content.decode()
    assert "data-budget-breached" not in html


def test_persist_next_at_shows_only_on_runs_not_persisted(staff: Client) -> None:
    """The "persist next at" field and its help text about the reconciler are on a run still
    waiting for its write, not on a persisted one."""
    help_text = "when the outbox reconciler may try the write again"
    persisted = ledger_row(8, run_id="run-admin-persisted")
    waiting = ledger_row(9, run_id="run-admin-waiting", persisted=False)
    assert help_text not in staff.get(f"{LEDGER}{persisted.pk}/change/").content.decode()
    assert help_text in staff.get(f"{LEDGER}{waiting.pk}/change/").content.decode()


# --- at scale: the changelist's queries, the graph browser's neighbour pages (issue 13) ----------


def _changelist_sql(client: Client, query: str = "") -> tuple[str, list[str]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get(LEDGER + query)
    assert response.status_code == 200, response.content[:500]
    return response.content.decode(), [q["sql"] for q in captured.captured_queries]


def test_date_hierarchy_without_a_distinct_over_the_ledger(staff: Client, ledger: Any) -> None:
    """The date hierarchy offers the years, months and days that hold runs, as before, without
    the SELECT DISTINCT of truncated dates over the whole ledger (Django's way): its queries
    are MIN/MAX and one bounded EXISTS per period."""
    for run_id, created in (("run-admin-ok", datetime(2020, 5, 3, 9, tzinfo=UTC)),
                            ("run-admin-qa", datetime(2020, 5, 17, 9, tzinfo=UTC)),
                            ("run-admin-re", datetime(2020, 7, 1, 9, tzinfo=UTC))):
        RunRecord.objects.filter(run_id=run_id).update(created_at=created)

    html, sql = _changelist_sql(staff)
    assert not [q for q in sql if "distinct" in q.lower() or "trunc" in q.lower()], sql
    assert "created_at__month=5" in html and "created_at__month=7" in html
    assert "created_at__month=6" not in html  # a month without runs is not offered

    html, sql = _changelist_sql(staff, "?created_at__year=2020&created_at__month=5")
    assert not [q for q in sql if "distinct" in q.lower() or "trunc" in q.lower()], sql
    assert "created_at__day=3" in html and "created_at__day=17" in html
    assert "created_at__day=4" not in html
    assert listed(staff, "?created_at__year=2020&created_at__month=5") == {"run-admin-ok",
                                                                           "run-admin-qa"}
    # the days are asked in one statement, each day's EXISTS by its own range only (SQLite
    # seeks by one lower bound: with the month's beside it, it walked the month from its
    # first day)
    days = [q for q in sql if q.startswith("SELECT EXISTS(")]
    assert len(days) == 1, sql
    assert days[0].count("EXISTS(") == 15  # 3 to 17 May: the first and the last run
    assert days[0].count('"created_at" >=') == days[0].count('"created_at" <') == 15, days

    RunRecord.objects.filter(run_id="run-admin-re").update(
        created_at=datetime(2021, 1, 2, tzinfo=UTC))
    html, sql = _changelist_sql(staff)
    assert "created_at__year=2020" in html and "created_at__year=2021" in html
    assert "created_at__year=2019" not in html
    assert not [q for q in sql if "distinct" in q.lower() or "trunc" in q.lower()], sql

    # a filter beside the drilled month holds: a day between two failed runs whose only run
    # succeeded is not offered
    for run_id, created in (("run-admin-ok", datetime(2020, 5, 20, 9, tzinfo=UTC)),
                            ("run-admin-re", datetime(2020, 5, 25, 9, tzinfo=UTC))):
        RunRecord.objects.filter(run_id=run_id).update(created_at=created)
    html, _ = _changelist_sql(staff, "?created_at__year=2020&created_at__month=5"
                                     "&status__exact=failed")
    assert "created_at__day=17" in html and "created_at__day=25" in html
    assert "created_at__day=20" not in html


def test_changelist_queries_do_not_grow_with_the_rows(staff: Client, ledger: Any) -> None:
    """The changelist issues the same number of queries for 3 rows as for 13 (nothing per
    row), and counts only the filtered rows (no second count of the whole ledger)."""
    _, few = _changelist_sql(staff, "?status__exact=succeeded")
    for i in range(10):
        ledger_row(100 + i, run_id=f"run-admin-more-{i}")
    html, many = _changelist_sql(staff, "?status__exact=succeeded")
    assert len(many) == len(few), many
    assert sum("count(" in q.lower() for q in many) == 1
    assert "total" not in html.split('id="changelist-search"')[1].split("</form>")[0]


SHARED = [("ing-salt", "Salt", "seasoning", "mineral"), ("ing-water", "Water", "solvent", "water")]


def _section(response: Any, section: str) -> dict[str, Any]:
    assert response.status_code == 200, response.content[:500]
    return next(r for r in response.context["relationships"] if r["section"] == section)


def _walk_pages(client: Client, url: str, section: str) -> tuple[list[list[str]], set[int]]:
    """The keys of every page of one section, following its "next" links; the totals seen."""
    pages, totals, query = [], set(), ""
    while True:
        rel = _section(client.get(url + query), section)
        pages.append([row["key"] for row in rel["rows"]])
        totals.add(rel["total"])
        if rel["next"] is None:
            return pages, totals
        query = rel["next"].split("#")[0]


@pytest.mark.parametrize("strategy", ["scan", "expand"])
def test_graph_browser_pages_a_shared_node_s_neighbours(staff: Client, graph: Any,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        strategy: str) -> None:
    """A shared Ingredient's RecipeVersions and a shared RecipeVersion's runs are shown a page
    at a time in their label's order (recipes by checksum, runs newest first) with the honest
    total and a "next" link; following it visits every neighbour once, whichever statement
    (index scan or expansion from the node) reads the pages."""
    from datetime import timedelta

    monkeypatch.setattr(graph_admin, "RELATED_LIMIT", 2)
    if strategy == "expand":  # the other label looks huge: expanding from the node is cheaper
        monkeypatch.setattr(graph_admin, "_label_count", lambda label: 10**9)
    writer = get_writer()
    for i in range(5):  # five recipes holding salt
        writer.write(make_run(60 + i, now=NOW, run_id=f"run-shared-ing-{i}",
                              product=(f"recipe-shared-{i}", f"Shared {i}", SHARED)))
    for i in range(5):  # five runs of one recipe, an hour apart
        writer.write(make_run(70, now=NOW, run_id=f"run-shared-rv-{i}",
                              started=NOW - timedelta(hours=i + 1)))
    records, _, _ = graph.execute_query(
        "MATCH (:Ingredient {ingredientId: 'ing-salt'})<-[:HAS_INGREDIENT]-(rv) "
        "RETURN rv.checksum AS key ORDER BY key")
    recipes = [r["key"] for r in records]
    assert len(recipes) >= 5

    pages, totals = _walk_pages(staff, "/admin/graph/Ingredient/ing-salt/", "HAS_INGREDIENT.in")
    assert totals == {len(recipes)}
    assert [len(p) for p in pages[:-1]] == [2] * (len(pages) - 1) and 1 <= len(pages[-1]) <= 2
    assert [key for page in pages for key in page] == recipes

    records, _, _ = graph.execute_query(
        "MATCH (r:OrchestrationRun {runId: 'run-shared-rv-0'})-[:USED_RECIPE]->(rv) "
        "RETURN rv.checksum AS key")
    recipe = records[0]["key"]
    pages, totals = _walk_pages(staff, f"/admin/graph/RecipeVersion/{recipe}/", "USED_RECIPE.in")
    assert totals == {5}
    assert pages == [["run-shared-rv-0", "run-shared-rv-1"], ["run-shared-rv-2", "run-shared-rv-3"],
                     ["run-shared-rv-4"]]

    html = staff.get(f"/admin/graph/RecipeVersion/{recipe}/").content.decode()
    assert "(5; the newest 2 shown)" in html and 'data-testid="rel-next"' in html
    html = staff.get("/admin/graph/Ingredient/ing-salt/").content.decode()
    assert f"({len(recipes)}; the first 2 shown, by checksum)" in html


def test_graph_browser_refuses_a_page_it_did_not_make(staff: Client, graph: Any) -> None:
    """An unknown section or a cursor that is not one of the page's own is a 400 naming the
    parameter, not an error."""
    get_writer().write(make_run(33, now=NOW, run_id="run-admin-bad"))
    url = "/admin/graph/OrchestrationRun/run-admin-bad/"
    response = staff.get(url + "?rel=NOPE.out&after=x")
    assert response.status_code == 400 and response.content.decode().startswith("rel: ")
    for cursor in ("not-base64!", "WzFd", "eyJhIjogMX0"):  # garbage, [1], {"a": 1}
        response = staff.get(url + f"?rel=HAS_AGENT_INVOCATION.out&after={cursor}")
        assert response.status_code == 400, cursor
        assert response.content.decode().startswith("after: "), cursor


def test_search_finds_runs_by_run_id_request_text_and_product(staff: Client, ledger: Any
                                                              ) -> None:
    """The search keeps its documented behaviour: every word, in the runId, the request text or
    the product, a case-insensitive substring; with a filter beside it; nothing for a word no
    run has; `%` and `_` are plain characters."""
    RunRecord.objects.filter(run_id="run-admin-qa").update(product="Hand Cream Deluxe")
    assert listed(staff, "?q=admin-q") == {"run-admin-qa"}  # runId substring
    assert listed(staff, "?q=Lemon") == {"run-admin-ok"}  # request text, case-insensitive
    assert listed(staff, "?q=deluxe") == {"run-admin-qa"}  # product
    assert listed(staff, "?q=lemon+5+kg") == {"run-admin-ok"}  # every word
    assert listed(staff, "?q=lemon+unicorn") == set()
    assert listed(staff, "?q=run-admin") == {"run-admin-ok", "run-admin-qa", "run-admin-re"}
    assert listed(staff, "?q=run-admin&status__exact=failed") == {"run-admin-qa",
                                                                   "run-admin-re"}
    assert listed(staff, "?q=nothing-like-this") == set()
    assert listed(staff, "?q=%25") == set() and listed(staff, "?q=_") == set()
    response = staff.get(LEDGER + "?q=run-admin")
    assert response.context["cl"].result_count == 3


def test_search_reads_the_indexes_and_the_hierarchy_does_not_search(
        staff: Client, ledger: Any) -> None:
    """While searching, the ledger's rows are matched once per page, in indexes of the
    searched columns, never by reading the table: on SQLite a word of 3 characters or more in
    the trigram index (migration 0012; the count read there too), a shorter word by LIKE over
    the covering index (migration 0011); elsewhere one LIKE scan (no COUNT). The date
    hierarchy's periods are read without the search and its bounds are index seeks (no MIN/MAX
    aggregate, which SQLite answers by reading the whole index)."""
    from django.db import connection

    def plans(queries: list[str]) -> list[list[str]]:
        with connection.cursor() as cursor:
            out = []
            for query in queries:
                cursor.execute("EXPLAIN QUERY PLAN " + query)
                out.append([str(row[-1]) for row in cursor.fetchall()])
        return out

    html, sql = _changelist_sql(staff, "?q=vinaigrette")
    assert not [q for q in sql if "MIN(" in q.upper() or "MAX(" in q.upper()], sql
    assert re.search(r"created_at__(year|month|day)=", html)
    searched = [q for q in sql if "LIKE" in q.upper() or f"{LEDGER_TRIGRAMS}(" in q]
    if connection.vendor != "sqlite":
        assert len(searched) == 1, searched  # one scan gives the count and the page's ids
        assert not [q for q in sql if "COUNT(" in q.upper()], sql
        if connection.vendor == "postgresql":  # the pg_trgm indexes fit Django's UPPER(x::text)
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
                if cursor.fetchone() is None:
                    pytest.skip("pg_trgm is not installed: migration 0012 created no index")
                # 3 rows: a scan (of the table or the primary key) would be cheaper
                cursor.execute("SET enable_seqscan = off; SET enable_indexscan = off")
                try:
                    cursor.execute("EXPLAIN " + searched[0])
                    plan = "\n".join(str(row[0]) for row in cursor.fetchall())
                finally:
                    cursor.execute("RESET enable_seqscan; RESET enable_indexscan")
            for column in ("run_id", "product", "request_text"):
                assert f"orchestration_runrecord_{column}_trgm" in plan, plan
        return
    assert not [q for q in sql if "LIKE" in q.upper()], sql
    assert len(searched) == 2, searched  # the count, then the page's ids
    counts = [q for q in sql if "COUNT(" in q.upper()]
    assert counts == [f"SELECT count(*) FROM {LEDGER_TRIGRAMS}('\"vinaigrette\"')"], counts
    for plan in plans(searched):
        assert any(line.startswith(f"SCAN {LEDGER_TRIGRAMS} VIRTUAL TABLE INDEX")
                   for line in plan), plan
        assert not [line for line in plan if re.match(r"SCAN (U0|orchestration_runrecord)$",
                                                      line)], plan

    _, sql = _changelist_sql(staff, "?q=ok")  # shorter than a trigram: LIKE, in the index
    searched = [q for q in sql if "LIKE" in q.upper()]
    assert len(searched) == 1 and not [q for q in sql if "COUNT(" in q.upper()], sql
    for plan in plans(searched):
        assert "SCAN U0 USING COVERING INDEX orchestration_runrecord_search" in plan, plan
        assert "SCAN U0" not in plan, plan


# Texts and words where a trigram index could part from LIKE: case beyond ASCII (LIKE folds
# ASCII letters only), the Kelvin sign (which Unicode folds to k), quotes, FTS5's own syntax,
# LIKE's wildcards, words of 1 and 2 characters, phrases across spaces.
TRICKY_TEXTS = [
    ("run-tricky-1", "Crème brûlée, 50% sugar", "Dessert"),
    ("run-tricky-2", "ÉCLAIR au chocolat_noir", "PASTRY ÉCLAIR"),
    ("run-tricky-3", "éclair: 3 kg", "pastry"),
    ("run-tricky-4", 'he said "hi" twice', "Quotes"),
    ("run-tricky-5", "\u212a-rated kelvin sauce", "Sauce K"),
    ("run-tricky-6", "日本語のレシピ 🙂🙂🙂", "ラーメン"),
    ("run-tricky-7", "NEAR AND OR NOT col:val ^ab * (x)", "Syntax"),
    ("RUN-TRICKY-8", "back\\slash and it's fine", "a_b%c"),
]
TRICKY_WORDS = [
    "crème", "CRÈME", "Crème", "brûlée", "BRÛLÉE", "éclair", "ÉCLAIR", "Éclair", "eclair",
    "50%", "% s", "_noir", "te_", "a_b", "b%c", '"hi"', 'said "hi"', '"', "hi", "kel", "KEL",
    "\u212a-r", "k-rated", "日本語", "本語", "🙂🙂🙂", "🙂", "NEAR", "near and", "col:val",
    "^ab", "* (x)", "(x)", "back\\sl", "it's", "RUN-tricky", "run-TRICKY-8", "tricky-",
    "a", "ab", "kg", "pastry éclair", "chocolat au", "'au chocolat'", '"3 kg"', "3 kg",
    "sauce k", "nothing-like-this",
]


@pytest.mark.parametrize("trigrams", [True, False], ids=["trigram-index", "scan"])
def test_search_finds_the_rows_icontains_finds(staff: Client, trigrams: bool,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The indexed search finds exactly the rows of Django's plain search (every word,
    `icontains` in any of the three columns) for words where an index could differ, through
    the changelist too; and the index follows a row's insert, update and delete."""
    from django.contrib.admin import ModelAdmin, site
    from django.db import connection

    from orchestration import selectors

    if not trigrams:
        monkeypatch.setattr(selectors, "ledger_trigrams_ready", lambda **_: False)
    elif connection.vendor == "sqlite":
        assert selectors.ledger_trigrams_ready()  # migration 0012 gave the index
    for run_id, text, product in TRICKY_TEXTS:
        RunRecord.objects.create(run_id=run_id, request_text=text, request={}, product=product)

    def plain(text: str) -> set[str]:  # Django's own admin search
        rows, _ = ModelAdmin.get_search_results(site.get_model_admin(RunRecord), None,
                                                RunRecord.objects.all(), text)
        return set(rows.values_list("run_id", flat=True))

    def indexed(text: str) -> set[str]:
        rows = selectors.ledger_search(rows=RunRecord.objects.all(), text=text)
        return set(rows.values_list("run_id", flat=True))

    found = 0
    for word in TRICKY_WORDS:
        assert indexed(word) == plain(word), word
        found += bool(plain(word))
    assert found > len(TRICKY_WORDS) // 2  # most words find something: the test compares rows
    assert indexed("tricky crème") == plain("tricky crème") == {"run-tricky-1"}
    assert listed(staff, "?q=%25+sugar") == plain("% sugar") == {"run-tricky-1"}
    assert listed(staff, "?q=TRICKY") == plain("tricky")
    assert staff.get(LEDGER + "?q=TRICKY").context["cl"].result_count == len(TRICKY_TEXTS)

    row = RunRecord.objects.get(run_id="run-tricky-3")
    row.request_text, row.status = "millefeuille", "failed"
    row.save()
    # "éclair" was in the text replaced; "ÉCLAIR" is in run 2, which SQLite's LIKE does not
    # fold to "éclair" (ASCII letters only) and PostgreSQL's UPPER does
    assert indexed("éclair") == plain("éclair") == (
        set() if connection.vendor == "sqlite" else {"run-tricky-2"})
    assert indexed("ÉCLAIR") == plain("ÉCLAIR") == {"run-tricky-2"}
    assert indexed("millefeuille") == {"run-tricky-3"}
    RunRecord.objects.filter(run_id="run-tricky-3").update(run_id="run-renamed-3")
    assert indexed("renamed") == {"run-renamed-3"} and indexed("tricky-3") == set()
    RunRecord.objects.filter(run_id="run-renamed-3").delete()
    assert indexed("millefeuille") == set() == plain("millefeuille")


def test_search_pages_and_counts_as_django_does(staff: Client,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The searched changelist's pages hold the matching rows in the changelist's order, and
    its count is theirs: counted from the trigram index (no filter), and by the walk (with a
    filter, for a word shorter than a trigram)."""
    from orchestration.admin import RunRecordAdmin

    monkeypatch.setattr(RunRecordAdmin, "list_per_page", 2)
    for i in range(5):
        RunRecord.objects.create(run_id=f"run-page-{i}", request_text=f"salad vinaigrette {i}",
                                 request={}, status="failed" if i % 2 else "succeeded")
        RunRecord.objects.create(run_id=f"run-other-{i}", request_text="soup", request={})
    newest_first = list(RunRecord.objects.filter(request_text__icontains="vinaigrette")
                        .order_by("-created_at", "-pk").values_list("run_id", flat=True))
    for query, expected in (("?q=VINAIGRETTE", newest_first),
                            ("?q=vinaigrette&status__exact=failed",
                             [r for r in newest_first if int(r[-1]) % 2]),
                            ("?q=e+vinaigrette", newest_first)):
        pages, count, page, last = [], set(), 1, 1
        while page <= last:
            response = staff.get(f"{LEDGER}{query}&p={page}")
            assert response.status_code == 200, (query, page)
            cl = response.context["cl"]
            pages += [row.run_id for row in cl.result_list]
            count.add(cl.result_count)
            page, last = page + 1, cl.paginator.num_pages
        assert pages == expected and count == {len(expected)}, query
    assert staff.get(f"{LEDGER}?q=vinaigrette&p=9").status_code == 302  # Django's ?e=1


def test_action_checkbox_is_django_s(staff: Client) -> None:
    """The changelist's checkbox, written without Django's widget template, is the HTML the
    widget renders (escaped run ids included), and it is on the page."""
    from django.contrib.admin import ModelAdmin, site

    model_admin = site.get_model_admin(RunRecord)
    row = RunRecord.objects.create(run_id="run-<&>\"'", request_text="x", request={})
    mine = model_admin.action_checkbox(row)
    assert mine == ModelAdmin.action_checkbox(model_admin, row)
    assert "&lt;&amp;&gt;&quot;&#x27;" in mine and mine in staff.get(LEDGER).content.decode()


def test_graph_browser_list_cells_are_the_node_properties(staff: Client, graph: Any) -> None:
    """The node list reads the key and the list columns only (LISTING): each cell is what the
    node's property shows (a datetime in UTC to the second, a number, a missing value as —)."""
    run = make_run(51, now=NOW, run_id="run-admin-cells")
    get_writer().write(run)
    response = staff.get("/admin/graph/OrchestrationRun/")
    assert response.status_code == 200
    rows = {row["key"]: row["cells"] for row in response.context["rows"]}
    browse = graph_admin.BROWSE["OrchestrationRun"]
    node = graph_admin.node_set(browse.node_class).get(runId="run-admin-cells")
    assert rows["run-admin-cells"] == [graph_admin._cell(getattr(node, c))
                                       for c in browse.columns]
    started = browse.columns.index("startedAt")
    assert rows["run-admin-cells"][started] == run.metadata.timestamp.astimezone(UTC).isoformat(
        sep=" ", timespec="seconds")
