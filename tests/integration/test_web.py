"""The web pages: the request form, the run page (live, then the rendered result), its status
JSON and the list of recent runs, through Django's test client against the real database and,
for persisted runs, the real Neo4j."""

from __future__ import annotations

import html as html_module
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.utils import timezone

from contracts import InputContract, RunResult, checksum, parse_input
from graphstore.connection import get_writer
from orchestration import pipeline
from orchestration.models import RunRecord, RunStatus
from orchestration.services import admission, agents
from orchestration.web.forms import parse_number_map
from tests.conftest import ENVELOPE_KEYS
from tests.unit.graphstore.test_mapper import with_commands_size
from tools.synthetic import make_run

pytestmark = [pytest.mark.integration]

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
VALID = {"user_request": "lemon vinaigrette, 5 kg", "target_batch_size": "5",
         "target_unit": "kg", "cost_map": "", "density_map": ""}


def run_in_process(run_id: str, text: str, size: float, unit: str, *,
                   request: InputContract | None = None) -> RunResult:
    """A real run of the five reference agents, in this process (no worker, no clock)."""
    request = request or parse_input({"userRequest": text, "targetBatchSize": size,
                                      "targetUnit": unit})
    ttl = timedelta(minutes=5)
    envelope = pipeline.first_envelope(run_id=run_id, request=request, now=NOW, ttl=ttl,
                                       keys=ENVELOPE_KEYS, snapshot={})
    while True:
        outcome = pipeline.run_stage(envelope, agents()[envelope.metadata.agent], now=NOW,
                                     ttl=ttl, keys=ENVELOPE_KEYS, timer=time.perf_counter,
                                     measure_memory=False)
        if outcome.next_envelope is None:
            return pipeline.finish_run(outcome.state, now=NOW + timedelta(milliseconds=50))
        envelope = outcome.next_envelope


def store(run: RunResult, *, owner: Any, persisted: bool,
          status: str | None = None) -> RunRecord:
    """The ledger row of `owner`'s finished run; written to Neo4j too when `persisted`."""
    if persisted:
        get_writer().write(run, owner_id=str(owner.pk))
    return RunRecord.objects.create(
        submitted_by=owner,
        run_id=run.run_id, request_text=run.request.user_request, request=run.request.to_wire(),
        status=status or run.metadata.status,
        stages={e.agent: {"status": e.status, "sequence": e.sequence, "durationMs": e.duration,
                          "error": e.error or ""} for e in run.agent_history},
        failed_agent=run.metadata.failed_agent or "",
        error=next((e.error or "" for e in run.agent_history if e.status == "failed"), ""),
        started_at=run.metadata.timestamp, finished_at=timezone.now(),
        total_duration_ms=run.metadata.total_duration, result=run.to_wire(),
        checksum=checksum(run.to_wire()), persisted_at=timezone.now() if persisted else None)


def field_errors(response, field: str) -> str:  # type: ignore[no-untyped-def]
    """The text of the error list rendered next to `field`."""
    html = response.content.decode()
    match = re.search(rf'<ul class="errorlist" id="id_{field}_error"[^>]*>(.*?)</ul>', html, re.S)
    assert match, f"no error list next to {field}"
    return html_module.unescape(re.sub(r"<[^>]+>", " ", match.group(1)))


# --- access ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_pages_require_login(client: Client) -> None:
    """Anonymous visitors are sent to the login page; the status JSON answers 401."""
    for path in ("/", "/runs/", "/runs/run-anything/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith(f"{settings.LOGIN_URL}?next=")
    assert client.get("/runs/run-anything/status.json").status_code == 401


@pytest.mark.django_db
def test_csrf_is_enforced(user) -> None:  # type: ignore[no-untyped-def]
    """A POST of the form without the CSRF token is refused with 403 and starts nothing."""
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    assert strict.post("/", VALID).status_code == 403
    assert not RunRecord.objects.exists()


# --- the form ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_form_lists_examples(client_in: Client) -> None:
    """The form shows example requests from the catalogue, and an example link prefills it."""
    page = client_in.get("/").content.decode()
    assert "lemon vinaigrette, 5 kg" in page and "Hummus" in page
    prefilled = client_in.get("/?request=hummus&size=12&unit=l").content.decode()
    assert ">\nhummus</textarea>" in prefilled and 'value="12"' in prefilled
    assert '<option value="l" selected>' in prefilled


@pytest.mark.django_db
def test_form_lists_the_ingredient_ids_for_the_maps(client_in: Client) -> None:
    """The form lists every catalogue product's ingredient ids (with names), the keys of the
    cost and density maps."""
    page = client_in.get("/").content.decode()
    assert "Ingredient ids, for the cost and density maps" in page
    assert "<dt>Lemon vinaigrette</dt>" in page
    assert "<code>ing-olive-oil</code> Olive oil" in page and "<code>ing-tahini</code>" in page


@pytest.mark.django_db
def test_form_takes_an_empty_batch_size_from_the_text(client_in: Client) -> None:
    """Posted with the batch size empty, "hummus, 50 kg" starts a 50 kg run and its run page
    says the size was taken from the text; a link with no size is prefilled from its text."""
    response = client_in.post("/", {**VALID, "user_request": "hummus, 50 kg",
                                     "target_batch_size": "", "target_unit": "lb"})
    assert response.status_code == 303
    record = RunRecord.objects.get()
    assert (record.request["targetBatchSize"], record.request["targetUnit"]) == (50.0, "kg")
    page = client_in.get(response["Location"]).content.decode()
    assert "The batch size, 50 kg, was taken from the request text." in page

    prefilled = client_in.get("/?request=hummus, 12 lb").content.decode()
    assert 'value="12"' in prefilled and '<option value="lb" selected>' in prefilled


@pytest.mark.django_db
def test_form_without_any_batch_size_says_what_to_give(client_in: Client) -> None:
    """No batch size and none in the text: 400, the error on the batch size field, nothing
    recorded."""
    response = client_in.post("/", {**VALID, "user_request": "hummus", "target_batch_size": ""})
    assert response.status_code == 400
    assert "or write it in the request" in field_errors(response, "target_batch_size")
    assert not RunRecord.objects.exists()


@pytest.mark.django_db
def test_bad_batch_size_is_shown_next_to_its_field(client_in: Client) -> None:
    """A batch size that is not a number, or not above 0, is reported on that field."""
    response = client_in.post("/", {**VALID, "target_batch_size": "five"})
    assert response.status_code == 400
    assert "Enter the batch size as a number" in field_errors(response, "target_batch_size")
    response = client_in.post("/", {**VALID, "target_batch_size": "-2"})
    assert response.status_code == 400
    assert "greater than 0" in field_errors(response, "target_batch_size")
    assert 'aria-invalid="true"' in response.content.decode()
    both = client_in.post("/", {**VALID, "target_batch_size": "-2", "cost_map": "banana"})
    assert "greater than 0" in field_errors(both, "target_batch_size")  # reported together
    assert "Line 1: expected" in field_errors(both, "cost_map")
    assert not RunRecord.objects.exists()


@pytest.mark.django_db
def test_unknown_unit_is_shown_next_to_its_field(client_in: Client) -> None:
    """A unit outside the contract's list is named in an error on the unit field."""
    response = client_in.post("/", {**VALID, "target_unit": "furlong"})
    assert response.status_code == 400
    errors = field_errors(response, "target_unit")
    assert "Unknown unit furlong" in errors and "kg" in errors


@pytest.mark.django_db
def test_bad_map_entries_are_shown_next_to_their_field(client_in: Client) -> None:
    """A malformed cost map line, a negative cost and a bad ingredient id name their map."""
    response = client_in.post("/", {**VALID, "cost_map": "ing-olive-oil = 9.5\nbanana split"})
    assert response.status_code == 400
    assert "Line 2: expected" in field_errors(response, "cost_map")
    response = client_in.post("/", {**VALID, "cost_map": "ing-honey = -1",
                                    "density_map": "bad id = 1.2"})
    assert "ing-honey: Input should be greater than or equal to 0" in field_errors(
        response, "cost_map")
    assert "'bad id' is not a valid ingredient id" in field_errors(response, "density_map")
    assert not RunRecord.objects.exists()


def test_maps_parse_lines_and_json() -> None:
    """Maps are read from `id = number` lines (comments and blanks skipped) or a JSON object."""
    assert parse_number_map("ing-a = 1.5\n\n# note\ning-b: 2  # cheap\n") == {"ing-a": 1.5,
                                                                           "ing-b": 2.0}
    assert parse_number_map('{"ing-a": 3, "ing-b": 0.25}') == {"ing-a": 3.0, "ing-b": 0.25}
    assert parse_number_map("  ") == {}


@pytest.mark.django_db
def test_valid_post_redirects_to_the_run_page(client_in: Client, user) -> None:  # type: ignore[no-untyped-def]
    """A valid request is recorded in the ledger and answered with 303 to its run page."""
    response = client_in.post("/", {**VALID, "cost_map": "ing-olive-oil = 11\ning-honey=7.5",
                                     "density_map": '{"ing-honey": 1.4}'})
    assert response.status_code == 303
    record = RunRecord.objects.get()
    assert response["Location"] == f"/runs/{record.run_id}/"
    assert record.submitted_by == user and record.status == RunStatus.QUEUED
    assert record.request["context"] == {"costMap": {"ing-olive-oil": 11.0, "ing-honey": 7.5},
                                         "densityMap": {"ing-honey": 1.4}}
    page = client_in.get(response["Location"]).content.decode()
    assert record.run_id in page and 'data-status="queued"' in page
    assert page.count(' data-stage="') == 5 and "status.json" in page
    status = client_in.get(f"/runs/{record.run_id}/status.json").json()
    assert status["runId"] == record.run_id and status["status"] == "queued"
    assert list(status["stages"]) == ["RecipeEngineer", "ScalingCalculator", "GraphBuilder",
                                      "QAValidator", "UIDesigner"]
    assert status["runPage"] == f"/runs/{record.run_id}/"


@pytest.mark.django_db(transaction=True)
def test_full_queue_answers_429_and_keeps_the_form(client_in: Client) -> None:
    """When the run queue is full the form answers 429 with Retry-After, says so, keeps the
    typed values, and records nothing."""
    with override_settings(CAP01_QUEUE_LIMIT=0):
        admission.cache_clear()
        try:
            response = client_in.post("/", VALID)
        finally:
            admission.cache_clear()
    assert response.status_code == 429 and response["Retry-After"]
    page = response.content.decode()
    assert "at capacity" in page and VALID["user_request"] in page
    assert RunRecord.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_unreachable_queue_is_reported(client_in: Client) -> None:
    """When Redis cannot be reached the form says the system cannot accept requests (503) and
    nothing is recorded."""
    with override_settings(CELERY_BROKER_URL="redis://127.0.0.1:1/0"):  # nothing listens there
        admission.cache_clear()
        try:
            response = client_in.post("/", VALID)
        finally:
            admission.cache_clear()
    assert response.status_code == 503
    assert "cannot accept new requests right now" in response.content.decode()
    assert RunRecord.objects.count() == 0


# --- the run page ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_finished_run_renders_its_result_from_neo4j(client_in: Client, user, graph) -> None:  # type: ignore[no-untyped-def]
    """A persisted run is replayed from Neo4j and rendered from its uiConfig: ingredients,
    scaled quantities, costs, validation summary and the five stages."""
    run = run_in_process("run-web-vinaigrette", "lemon vinaigrette, 5 kg", 5.0, "kg")
    assert run.metadata.status == "succeeded" and run.calculation and run.validation
    store(run, owner=user, persisted=True)
    response = client_in.get("/runs/run-web-vinaigrette/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-result-source="neo4j"' in page and 'data-status="succeeded"' in page
    for ingredient in run.recipe.ingredients:  # type: ignore[union-attr]
        assert ingredient.name in page
    assert "Scaled to 5 kg" in page and "Quantity" in page
    assert f"{run.calculation.costs.total:,.2f} USD" in page
    assert run.validation.summary in page and "Valid" in page
    assert page.count(' data-stage="') == 5  # the waterfall's stage rows
    assert "data-timeline-agent=" not in page  # the waterfall replaces the timeline card
    assert "Live updates: poll" not in page  # finished: no more polling
    assert 'data-covers="ingredients"' in page and 'data-covers="scaled"' in page
    for ingredient in run.recipe.ingredients:  # type: ignore[union-attr]
        # in both tables: the recipe and the scaled quantities
        assert page.count(f"<code data-ingredient-id>{ingredient.id}</code>") == 2


@pytest.mark.django_db
def test_run_page_shows_what_qa_found_in_the_request(client_in: Client, user, graph) -> None:  # type: ignore[no-untyped-def]
    """A run asked as "hummus, 50 kg" for 2 lb with a cost for an id the recipe does not have
    shows both warnings on its page; a 1,000,000,000 kg run is not valid and cannot proceed."""
    request = parse_input({"userRequest": "hummus, 50 kg", "targetBatchSize": 2,
                           "targetUnit": "lb", "context": {"costMap": {"ing-tahin": 9.0}}})
    run = run_in_process("run-web-qa", request.user_request, 2.0, "lb", request=request)
    store(run, owner=user, persisted=True)
    page = html_module.unescape(client_in.get("/runs/run-web-qa/").content.decode())
    assert "says “50 kg” but the batch is 2 lb" in page
    assert "ing-tahin (did you mean ing-tahini?)" in page
    assert "<code>request.context.costMap</code>" in page

    huge = run_in_process("run-web-huge", "lemon vinaigrette", 1e9, "kg")
    store(huge, owner=user, persisted=True)
    page = html_module.unescape(client_in.get("/runs/run-web-huge/").content.decode())
    assert "Not valid" in page and "Cannot proceed" in page
    assert "1,000,000,000 kg is above the largest plausible batch (100,000 kg)" in page


@pytest.mark.django_db
def test_run_whose_blob_is_missing_says_so_and_shows_the_ledger_copy(  # type: ignore[no-untyped-def]
        client_in: Client, user, graph, app_blob_dir) -> None:
    """A persisted run whose cypherCommands blob was deleted from the store: the run page still
    answers (200), says in plain words that the file holding its Cypher commands is missing,
    and shows the ledger's copy."""
    run = with_commands_size(make_run(8, now=NOW, ingredients=5, run_id="run-web-noblob"),
                             40_000)
    store(run, owner=user, persisted=True)
    blobs = [p for p in app_blob_dir.rglob("*") if p.is_file()]
    assert len(blobs) == 1
    blobs[0].unlink()
    response = client_in.get("/runs/run-web-noblob/")
    assert response.status_code == 200
    page = html_module.unescape(response.content.decode())
    assert 'data-result-source="ledger"' in page
    assert ("This run is stored in Neo4j, but the file holding its Cypher commands (kept in the "
            "blob store because they are large) is missing") in page
    for ingredient in run.recipe.ingredients:  # type: ignore[union-attr]
        assert ingredient.name in page


@pytest.mark.django_db
def test_unpersisted_run_falls_back_to_the_ledger(client_in: Client, user) -> None:  # type: ignore[no-untyped-def]
    """A run not yet in Neo4j is shown from the ledger's copy (and says so); the parts its
    uiConfig does not show are added from its artifacts; the page keeps polling."""
    run = make_run(7, now=NOW, ingredients=5, run_id="run-web-ledger")
    store(run, owner=user, persisted=False, status=RunStatus.PERSISTING)
    page = client_in.get("/runs/run-web-ledger/").content.decode()
    assert 'data-result-source="ledger"' in page and "Not persisted to Neo4j yet" in page
    for ingredient in run.recipe.ingredients:  # type: ignore[union-attr]
        assert ingredient.name in page
    assert "Component type" in page  # the synthetic table's data is not rows: plain values
    assert "Not part of the run's uiConfig" in page
    assert "All checks passed." in page and page.count(' data-stage="') == 5
    assert "Live updates" in page and 'data-status="persisting"' in page


@pytest.mark.django_db
def test_failed_run_names_the_failed_agent(client_in: Client, user) -> None:  # type: ignore[no-untyped-def]
    """A failed run shows the failing agent and its error, and the artifacts it produced."""
    run = make_run(3, now=NOW, ingredients=4, status="failed", failed_agent="GraphBuilder",
                   run_id="run-web-failed")
    store(run, owner=user, persisted=False)
    page = client_in.get("/runs/run-web-failed/").content.decode()
    assert "The run failed at GraphBuilder." in page
    # the error once, in plain words (without the repeated agent prefix)
    assert '<p data-testid="failure-error">Synthetic failure</p>' in page
    assert page.count("ynthetic failure") == 1
    assert 'data-covers="ingredients"' in page and 'data-covers="costs"' in page
    assert 'data-covers="validation"' not in page
    assert 'data-stage-status="failed"' in page


@pytest.mark.django_db
def test_unknown_run_is_404(client_in: Client) -> None:
    """An unknown runId is a 404 on the page and on its status JSON."""
    assert client_in.get("/runs/run-does-not-exist/").status_code == 404
    assert client_in.get("/runs/run-does-not-exist/status.json").status_code == 404


@pytest.mark.django_db
def test_run_list_links_runs(client_in: Client, user) -> None:  # type: ignore[no-untyped-def]
    """The list of recent runs links each run's page."""
    store(make_run(1, now=NOW, run_id="run-web-listed"), owner=user, persisted=False)
    page = client_in.get("/runs/").content.decode()
    assert 'href="/runs/run-web-listed/"' in page
