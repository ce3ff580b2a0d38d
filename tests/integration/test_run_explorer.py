"""The run explorer on the run page and the compare page (issue 12): the waterfall of where the
time went, a stage's envelope and output, the graph, two runs compared, a failure explained;
each page keeps the ownership rule (another user's run is a 404). Real Neo4j; runs are made by
the five reference agents in this process and stored as the services would."""

from __future__ import annotations

import html as html_module
import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from contracts import STAGE_NAMES, RunResult
from orchestration import segments
from orchestration.models import RunRecord
from tests.conftest import make_auditor
from tests.integration.test_web import run_in_process, store

pytestmark = [pytest.mark.integration]

WRITE = {"latencyMs": 40.0, "mappingMs": 5.0, "blobMs": 0.0, "databaseMs": 33.0,
         "budgetBreaches": []}


def ledger_segments(run: RunResult) -> dict[str, float]:
    """The segments the persistence service records when the write commits."""
    created = run.metadata.timestamp - timedelta(milliseconds=12)
    spans = segments.pipeline_segments(created_at=created,
                                       history=[e.to_wire() for e in run.agent_history])
    spans.update({"outbox": 3.0, "writeQueue": 25.0, "write": 40.0, "write:mapping": 5.0,
                  "write:blob": 0.0, "write:database": 33.0, "write:other": 2.0,
                  "ledger": 1.5})
    spans["endToEnd"] = sum(v for k, v in spans.items()
                            if k not in {"write", "endToEnd"} and not k.startswith("write:"))
    return spans


def persisted(run_id: str, owner: Any, text: str = "lemon vinaigrette, 5 kg",
              size: float = 5.0, *, breach_at: str = "") -> RunResult:
    """A run of the reference agents written to Neo4j with its ledger row and segments;
    `breach_at`: a stage recorded as over its time budget."""
    run = run_in_process(run_id, text, size, "kg")
    if breach_at:
        wire = run.to_wire()
        for entry in wire["agentHistory"]:
            if entry["agent"] == breach_at:
                entry.update(budgetDurationMs=entry["duration"] / 2, budgetBreaches=["duration"])
        wire["metadata"]["budgetBreaches"] = [f"{breach_at}.duration"]
        run = RunResult.model_validate(wire)
    store(run, owner=owner, persisted=True)
    RunRecord.objects.filter(run_id=run_id).update(segments=ledger_segments(run),
                                                   write_summary=WRITE)
    return run


def text_of(response) -> str:  # type: ignore[no-untyped-def]
    return html_module.unescape(response.content.decode())


# --- 1. the waterfall ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_waterfall_lays_every_segment_end_to_end(client_in: Client, user, graph) -> None:  # type: ignore[no-untyped-def]
    """The run page draws one waterfall (queue, each hand-off and stage, the outbox, the wait
    for the write, the write and its mapping/blob/database parts, the ledger) with start offsets
    that add up, budget lines per stage, and no stage table or timeline card besides it."""
    run = persisted("run-wf-one", user)
    page = text_of(client_in.get("/runs/run-wf-one/"))
    rows = re.findall(r'<tr class="wf-row[^"]*" data-segment="([^"]+)"', page)
    expected = ["queue"]
    for name in STAGE_NAMES:
        expected += ([] if name == STAGE_NAMES[0] else [f"handoff:{name}"]) + [f"stage:{name}"]
    expected += ["outbox", "writeQueue", "write", "write:mapping", "write:blob",
                 "write:database", "write:other", "ledger"]
    assert rows == expected
    assert "Waiting for the write" in page and "Neo4j transaction" in page
    # The first stage starts after the queue wait: its start offset is the queue's duration.
    first = page[page.index('data-segment="stage:RecipeEngineer"'):]
    assert '<td class="num" data-role="start">12 ms</td>' in first[:first.index("</tr>")]
    # every stage and the write show their budget (a line when it falls inside the picture)
    assert page.count('class="small muted wf-budget-text"> / ') == 6
    assert "/ 1.20 s" in page  # GraphBuilder's default budget
    assert page.count('href="?stage=') == 5
    assert "data-timeline-agent=" not in page and "Agent stages" not in page
    assert run.metadata.status == "succeeded"
    assert 'data-testid="breach"' not in page


@pytest.mark.django_db
def test_waterfall_marks_a_breach_where_it_happened(client_in: Client, user, graph) -> None:  # type: ignore[no-untyped-def]
    """A stage over its time budget: the page says so in words, and the marker sits where its
    budget ran out (the stage's start plus its budget), on that stage's row."""
    persisted("run-wf-breach", user, breach_at="GraphBuilder")
    page = text_of(client_in.get("/runs/run-wf-breach/"))
    notice = re.search(r'data-testid="breach"><strong>(\w+)</strong> went (.*?)\.</p>', page)
    assert notice and notice.group(1) == "GraphBuilder"
    assert "over its time budget of" in notice.group(2)
    row = page[page.index('data-segment="stage:GraphBuilder"'):]
    row = row[:row.index("</tr>")]
    assert 'data-testid="breach-marker"' in row and "wf-over" in row
    assert page.count('data-testid="breach-marker"') == 1


# --- 2. a stage's envelope and output -----------------------------------------------------------


@pytest.mark.django_db
def test_clicking_a_stage_shows_its_envelope_and_output(client_in: Client, user, graph) -> None:  # type: ignore[no-untyped-def]
    """?stage=ScalingCalculator shows the envelope it opened (the request and the recipe, not
    yet a calculation) and its output (the calculation), as collapsible JSON with download
    links; the download endpoint answers the same JSON as an attachment."""
    run = persisted("run-wf-inspect", user)
    response = client_in.get("/runs/run-wf-inspect/?stage=ScalingCalculator")
    page = text_of(response)
    assert 'data-testid="inspect"' in page and "Stage ScalingCalculator" in page
    assert page.count('<details class="jn"') > 5
    envelope = json.loads(re.search(r'<script id="json-envelope" type="application/json">'
                                    r'(.*?)</script>', page, re.S).group(1))  # type: ignore[union-attr]
    assert set(envelope["payload"]["artifacts"]) == {"recipe"}
    assert envelope["metadata"] == {"agent": "ScalingCalculator", "runId": "run-wf-inspect",
                                    "sequence": 2}
    assert [e["agent"] for e in envelope["payload"]["agentHistory"]] == ["RecipeEngineer"]
    download = client_in.get("/runs/run-wf-inspect/stages/ScalingCalculator/output.json")
    assert download.status_code == 200
    assert download["Content-Disposition"] == \
        'attachment; filename="run-wf-inspect-ScalingCalculator-output.json"'
    output = json.loads(download.content)
    assert output["calculation"]["costs"]["total"] == run.calculation.costs.total  # type: ignore[union-attr]
    assert output["agentHistoryEntry"]["agent"] == "ScalingCalculator"
    unknown = client_in.get("/runs/run-wf-inspect/stages/Nobody/output.json")
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["field"] == "agent"
    unknown = client_in.get("/runs/run-wf-inspect/stages/GraphBuilder/secrets.json")
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["field"] == "part"


# --- 3. the graph -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_run_page_shows_the_graph_and_links_to_the_graph_browser(client, user, graph) -> None:  # type: ignore[no-untyped-def]
    """The graph section gives the counts, the elements for the picture (drawn by the app's own
    copy of Cytoscape.js), the Cypher commands in a collapsible block; an auditor on staff gets
    links to the run's and the ingredients' nodes in the admin graph browser, whose run node
    links back to the run page."""
    run = persisted("run-wf-graph", user)
    assert run.graph is not None
    client.force_login(user)
    page = text_of(client.get("/runs/run-wf-graph/"))
    counts = re.search(r'data-testid="graph-counts"><strong>(\d+)</strong> nodes?, '
                       r'<strong>(\d+)</strong> edges?, <strong>(\d+)</strong>', page)
    assert counts and tuple(map(int, counts.groups())) == (
        len(run.graph.nodes), len(run.graph.edges), len(run.graph.cypher_commands))
    assert '/static/orchestration/vendor/cytoscape/cytoscape-3.34.4.min.js' in page
    assert "cdn" not in page.lower() and "unpkg" not in page.lower()
    elements = json.loads(re.search(r'<script id="graph-elements" type="application/json">'
                                    r'(.*?)</script>', page, re.S).group(1))  # type: ignore[union-attr]
    assert len(elements) == len(run.graph.nodes) + len(run.graph.edges)
    assert 'data-testid="cypher"' in page and run.graph.cypher_commands[0].statement in page
    assert 'data-testid="admin-graph-link"' not in page  # not staff: no admin links

    make_auditor(user)
    user.is_staff = True
    user.save()
    page = text_of(client.get("/runs/run-wf-graph/"))
    assert 'href="/admin/graph/OrchestrationRun/run-wf-graph/"' in page
    ingredient = run.recipe.ingredients[0].id  # type: ignore[union-attr]
    assert f'href="/admin/graph/Ingredient/{ingredient}/"' in page
    node_page = text_of(client.get("/admin/graph/OrchestrationRun/run-wf-graph/"))
    assert 'href="/runs/run-wf-graph/" data-testid="run-page-link"' in node_page


# --- 4. compare ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_compare_two_runs_side_by_side(client_in: Client, user, graph) -> None:  # type: ignore[no-untyped-def]
    """/runs/compare/?a=&b= shows both runs' headers, the artifact diff from A to B (here the
    batch size) and each segment's timing for A and B with the change; without both runs it
    shows the picker with the user's runs; the run page links to it."""
    persisted("run-cmp-a", user, size=5.0)
    persisted("run-cmp-b", user, size=8.0)
    picker = text_of(client_in.get("/runs/compare/"))
    assert 'data-testid="compare-picker"' in picker
    assert '<option value="run-cmp-a">' in picker and '<option value="run-cmp-b">' in picker
    page = text_of(client_in.get("/runs/compare/?a=run-cmp-a&b=run-cmp-b"))
    assert 'data-testid="compare-side-A"' in page and 'data-testid="compare-side-B"' in page
    diff = page[page.index('data-testid="compare-diff"'):
                page.index('data-testid="compare-timings"')]
    assert "targetBatchSize" in diff and 'data-diff-section="quantities"' in diff
    timings = page[page.index('data-testid="compare-timings"'):]
    assert timings.count("<tr data-segment=") >= 12
    write = re.search(r'<tr data-segment="write" class="[^"]*"><th scope="row">Neo4j write</th>'
                      r'<td class="num">(.*?)</td><td class="num">(.*?)</td>', timings)
    assert write and write.groups() == ("40 ms", "40 ms")
    run_page = text_of(client_in.get("/runs/run-cmp-b/"))
    assert 'href="/runs/compare/?a=run-cmp-b"' in run_page


@pytest.mark.django_db
def test_a_replay_is_marked_as_such(client_in: Client, user, graph) -> None:  # type: ignore[no-untyped-def]
    """A replay's run page and its side of the comparison carry a "Replay of" badge, and the
    run page's compare link starts from the original."""
    persisted("run-cmp-orig", user)
    persisted("run-cmp-replay", user)
    RunRecord.objects.filter(run_id="run-cmp-replay").update(replay_of="run-cmp-orig")
    page = text_of(client_in.get("/runs/run-cmp-replay/"))
    assert 'data-testid="replay-badge"' in page
    assert 'href="/runs/compare/?a=run-cmp-orig&b=run-cmp-replay"' in page
    compare = text_of(client_in.get("/runs/compare/?a=run-cmp-orig&b=run-cmp-replay"))
    side_b = compare[compare.index('data-testid="compare-side-B"'):]
    assert 'data-testid="replay-badge"' in side_b[:side_b.index("</section>")]
    assert 'data-testid="diff-identical"' in compare


# --- 5. failure ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_failed_run_says_skipped_shows_the_error_once_and_offers_a_resubmit(  # type: ignore[no-untyped-def]
        client_in: Client, user) -> None:
    """A request for no known product fails at RecipeEngineer: the later stages say "skipped"
    on the page and in the status JSON, the error is shown once, the closest catalogue products
    are listed and "Edit and resubmit" opens the form filled in with the request."""
    run = run_in_process("run-fail-mayo", "mayonaise, less sugar", 3.0, "kg")
    assert run.metadata.failed_agent == "RecipeEngineer"
    store(run, owner=user, persisted=False)
    record = RunRecord.objects.get(run_id="run-fail-mayo")
    record.stages = {**{name: {"status": "pending"} for name in STAGE_NAMES}, **record.stages}
    record.request = {**record.request, "context": {"costMap": {"ing-olive-oil": 9.5}}}
    record.save()

    status = client_in.get("/runs/run-fail-mayo/status.json").json()
    assert [s["status"] for s in status["stages"].values()] == ["failed"] + ["skipped"] * 4
    api = client_in.get("/api/orchestration/runs/run-fail-mayo/status").json()
    assert [s["status"] for s in api["stages"].values()] == ["failed"] + ["skipped"] * 4
    page = text_of(client_in.get("/runs/run-fail-mayo/"))
    assert page.count('data-stage-status="skipped"') == 4 and ">pending<" not in page
    # a skipped stage has nothing to inspect or download
    assert client_in.get("/runs/run-fail-mayo/stages/GraphBuilder/output.json"
                         ).status_code == 404
    assert 'data-testid="inspect-none"' in text_of(
        client_in.get("/runs/run-fail-mayo/?stage=GraphBuilder"))
    assert record.error.startswith("RecipeEngineer failed: RequestNotUnderstood: userRequest: ")
    assert page.count("'mayonaise, less sugar' names no product in the catalogue") == 1
    assert "RequestNotUnderstood" not in page
    closest = re.findall(r'<li><a href="/\?([^"]+)">([^<]+)</a></li>',
                         page[page.index('data-testid="closest-products"'):])
    assert closest and closest[0][1] == "Mayonnaise"
    resubmit = re.search(r'data-testid="resubmit" href="/\?([^"]+)"', page)
    assert resubmit
    form = text_of(client_in.get("/?" + resubmit.group(1)))
    assert re.search(r">\s*mayonaise, less sugar</textarea>", form)
    assert 'value="3"' in form and "ing-olive-oil = 9.5" in form


# --- ownership ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_another_users_run_is_404_on_every_explorer_page(client_in: Client, user, graph,  # type: ignore[no-untyped-def]
                                                         django_user_model) -> None:
    """Bob's run does not exist for Alice: its page with a stage, its stage downloads and a
    comparison naming it are 404s."""
    bob = django_user_model.objects.create_user("bob", password="a-long-test-password")
    persisted("run-bob", bob)
    persisted("run-alice", user)
    assert client_in.get("/runs/run-bob/?stage=GraphBuilder").status_code == 404
    assert client_in.get("/runs/run-bob/stages/GraphBuilder/envelope.json").status_code == 404
    assert client_in.get("/runs/compare/?a=run-alice&b=run-bob").status_code == 404
    assert client_in.get("/runs/compare/?a=run-bob&b=run-alice").status_code == 404
    assert "run-bob" not in text_of(client_in.get("/runs/compare/"))
    assert client_in.get("/runs/compare/?a=run-alice&b=run-alice").status_code == 200
