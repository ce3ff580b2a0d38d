"""The JSON API (/api/orchestration/): authentication, intake through a real Celery worker into
Neo4j, external RunResults (201/200/409/400/422/202), the run list's filters and cursor pagination,
replay, the ledger status, one error shape, and the OpenAPI schema the app serves."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from contracts import output_ref, parse_run_result
from orchestration import services
from orchestration.models import RunRecord, RunSource, RunStatus
from tests.conftest import wait_for
from tests.unit.graphstore.test_mapper import with_commands_size
from tools.synthetic import make_run

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

API = "/api/orchestration"
PASSWORD = "a-long-test-password-42"
LEMON = {"userRequest": "lemon vinaigrette, 5 kg", "targetBatchSize": 5, "targetUnit": "kg"}


@pytest.fixture
def user(django_user_model):  # type: ignore[no-untyped-def]
    return django_user_model.objects.create_user("ada", password=PASSWORD)


@pytest.fixture
def api(user) -> APIClient:  # type: ignore[no-untyped-def]
    """A client authenticated with the user's API token."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def _post(client: APIClient, path: str, body: Any) -> Any:
    return client.post(f"{API}{path}", data=json.dumps(body), content_type="application/json")


def _assert_error_shape(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) >= {"detail", "code", "errors"}
    assert isinstance(body["detail"], str) and body["detail"]
    assert all(set(e) == {"field", "message", "type"} for e in body["errors"])
    return body


def _fields(body: dict[str, Any]) -> set[str]:
    return {e["field"] for e in body["errors"]}


def _in_neo4j(graph: Any, run_id: str) -> int:
    records, _, _ = graph.execute_query(
        "OPTIONAL MATCH (r:OrchestrationRun {runId: $id}) "
        "OPTIONAL MATCH (a:AgentInvocation {runId: $id}) RETURN count(r) + count(a) AS n",
        id=run_id, database_=settings.NEO4J_DATABASE)
    return int(records[0]["n"])


def _ledger_row(owner: Any, run_id: str, *, at: Any, status: str = RunStatus.SUCCEEDED,
                failed_agent: str = "", text: str = "synthetic request") -> RunRecord:
    """A ledger row of `owner`'s (whose runs the API client's user sees)."""
    record = RunRecord.objects.create(run_id=run_id, request_text=text, request={},
                                      status=status, failed_agent=failed_agent,
                                      source=RunSource.EXTERNAL, submitted_by=owner)
    RunRecord.objects.filter(pk=record.pk).update(created_at=at)
    return record


# --- authentication ----------------------------------------------------------------------------

ENDPOINTS = [("post", "/requests"), ("post", "/runs"), ("get", "/runs"),
             ("get", "/runs/run-x"), ("get", "/runs/run-x/status")]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_endpoint_requires_credentials(method, path):
    """Without credentials every endpoint answers 401 in the JSON error shape."""
    client = APIClient()
    response = (_post(client, path, {}) if method == "post" else client.get(f"{API}{path}"))
    body = _assert_error_shape(response, 401)
    assert body["code"] == "not_authenticated" and response["WWW-Authenticate"] == "Token"


def test_token_from_the_token_endpoint_authenticates(user):
    """A token obtained at /api/auth/token (JSON in, {token} out) authenticates API calls; a bad
    token is a 401."""
    response = APIClient().post("/api/auth/token", {"username": "ada", "password": PASSWORD},
                                format="json")
    assert response.status_code == 200 and set(response.json()) == {"token"}
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert client.get(f"{API}/runs").status_code == 200
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert _assert_error_shape(client.get(f"{API}/runs"), 401)["code"] == "authentication_failed"


def test_token_endpoint_takes_json_only_and_answers_errors_in_the_error_shape(user):
    """The token endpoint reads one request shape, JSON: a form body is a 415, a missing field
    a 400 naming it, wrong credentials a 400 about the whole body; each in the error shape."""
    form = APIClient().post("/api/auth/token", {"username": "ada", "password": PASSWORD})
    assert _assert_error_shape(form, 415)["code"] == "unsupported_media_type"
    missing = APIClient().post("/api/auth/token", {"username": "ada"}, format="json")
    assert _fields(_assert_error_shape(missing, 400)) == {"password"}
    wrong = APIClient().post("/api/auth/token", {"username": "ada", "password": "nope"},
                             format="json")
    assert _fields(_assert_error_shape(wrong, 400)) == {"(root)"}


def test_session_authenticates_and_enforces_csrf(user):
    """A logged-in session reads the API; its writes need the CSRF token (403 JSON without)."""
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(username="ada", password=PASSWORD)
    assert client.get(f"{API}/runs").status_code == 200
    body = _assert_error_shape(_post(client, "/requests", LEMON), 403)
    assert "CSRF" in body["detail"]


# --- POST /requests ----------------------------------------------------------------------------


def test_request_is_accepted_run_by_the_worker_and_replayed(api, celery_worker, graph):
    """POST /requests answers 202 with the runId and a Location; the worker runs and persists
    it, and GET /runs/{runId} then returns the RunResult replayed from Neo4j."""
    response = _post(api, "/requests", LEMON)
    assert response.status_code == 202, response.content
    body = response.json()
    run_id = body["runId"]
    assert body == {"runId": run_id, "status": "queued", "queuePosition": body["queuePosition"],
                    "statusUrl": f"{API}/runs/{run_id}/status", "runPage": f"/runs/{run_id}/"}
    assert body["queuePosition"] >= 1
    assert response["Location"] == f"{API}/runs/{run_id}"
    assert api.get(body["statusUrl"]).status_code == 200  # the ledger knows it at once

    def persisted() -> dict[str, Any] | None:
        status = api.get(body["statusUrl"]).json()
        return status if status["persistedAt"] else None

    status = wait_for(persisted)
    assert status["status"] == "succeeded" and status["failedAgent"] is None
    assert [s["status"] for s in status["stages"].values()] == ["succeeded"] * 5
    replayed = api.get(response["Location"])
    assert replayed.status_code == 200
    run = replayed.json()
    assert run["metadata"]["id"] == run_id and run["request"]["userRequest"] == LEMON["userRequest"]
    assert [e["agent"] for e in run["agentHistory"]] == [
        "RecipeEngineer", "ScalingCalculator", "GraphBuilder", "QAValidator", "UIDesigner"]
    assert RunRecord.objects.get(run_id=run_id).submitted_by.username == "ada"


@pytest.mark.parametrize(("change", "field"), [
    ({"targetBatchSize": "5"}, "targetBatchSize"),
    ({"targetUnit": "parsec"}, "targetUnit"),
    ({"userRequest": None}, "userRequest"),
    ({"context": {"costMap": {"ing-salt": "cheap"}}}, "context.costMap.ing-salt"),
])
def test_request_with_bad_input_is_400_naming_the_field(api, change, field):
    """A request that breaks the contract is a 400 naming the field; nothing is queued."""
    request = {**LEMON, **change}
    request = {k: v for k, v in request.items() if v is not None}
    body = _assert_error_shape(_post(api, "/requests", request), 400)
    assert body["code"] == "invalid_contract" and _fields(body) == {field}
    assert field in body["detail"]
    assert not RunRecord.objects.exists()


def test_request_over_the_queue_limit_is_429_with_retry_after(api):
    """When the intake queue is full POST /requests is a 429 with Retry-After; nothing is
    recorded."""
    services.admission.cache_clear()  # rebuilt with the limits below, and again after
    try:
        with override_settings(CAP01_QUEUE_LIMIT=0, CAP01_RETRY_AFTER_S=7):
            response = _post(api, "/requests", LEMON)
    finally:
        services.admission.cache_clear()
    body = _assert_error_shape(response, 429)
    assert body["code"] == "queue_full" and response["Retry-After"] == "7"
    assert not RunRecord.objects.exists()


@pytest.mark.parametrize(("data", "content_type", "status", "says"), [
    ('{"userRequest": "x",', "application/json", 400, "not valid JSON"),
    ('["lemon vinaigrette"]', "application/json", 400, "must be a JSON object"),
    ("", "application/json", 400, "empty"),
    ("userRequest=x", "application/x-www-form-urlencoded", 415, "must be JSON"),
])
def test_unreadable_body_is_a_json_error(api, data, content_type, status, says):
    """Malformed JSON, a non-object, an empty body (400) and a non-JSON body (415) are JSON."""
    response = api.post(f"{API}/requests", data=data, content_type=content_type)
    assert says in _assert_error_shape(response, status)["detail"]


def test_body_over_the_size_limit_is_413(api, now):
    """A body over DATA_UPLOAD_MAX_MEMORY_SIZE is a 413 (the bytes), not a 500."""
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000):
        response = _post(api, "/runs", make_run(1, now=now).to_wire())
    assert _assert_error_shape(response, 413)["code"] == "body_too_large"


# --- POST /runs --------------------------------------------------------------------------------


def test_ingest_is_201_then_200_then_409_on_different_content(api, graph, now):
    """A new run is 201, the same run again 200 (nothing changes), the same runId with other
    content 409; the ledger and Neo4j keep the first."""
    run = make_run(7, now=now).to_wire()
    first = _post(api, "/runs", run)
    assert first.status_code == 201, first.content
    assert first["Location"] == f"{API}/runs/{run['metadata']['id']}"
    body = first.json()
    assert body["runId"] == run["metadata"]["id"] and body["created"] and body["persisted"]
    assert body["summary"]["nodesCreated"] > 0 and body["summary"]["created"] is True

    again = _post(api, "/runs", run)
    assert again.status_code == 200, again.content
    assert again.json()["created"] is False and again.json()["summary"]["nodesCreated"] == 0

    changed = make_run(8, now=now, run_id=run["metadata"]["id"]).to_wire()
    body = _assert_error_shape(_post(api, "/runs", changed), 409)
    assert body["code"] == "run_conflict" and run["metadata"]["id"] in body["detail"]
    replayed = api.get(f"{API}/runs/{run['metadata']['id']}").json()
    assert replayed["recipe"]["ingredients"] == run["recipe"]["ingredients"]


@pytest.mark.parametrize(("damage", "code", "says"), [
    ("delete", "blob_missing", "is missing from the blob store"),
    ("overwrite", "blob_corrupted", "is corrupted and is not served"),
])
def test_a_run_whose_blob_is_missing_or_corrupted_is_a_json_500(api, graph, now, app_blob_dir,
                                                                damage, code, says):
    """GET /runs/{id} of a committed run whose cypherCommands blob was deleted (or altered) in
    the store answers 500 in the JSON error shape (the stored run is damaged, like any run that
    does not read back), naming the run and the blob; never Django's HTML 500."""
    run = with_commands_size(make_run(9, now=now, run_id="run-api-blob"), 40_000)
    created = _post(api, "/runs", run.to_wire())
    assert created.status_code == 201, created.content
    blob_uri = created.json()["summary"]["blobUri"]
    path = Path(blob_uri.removeprefix("file://"))
    assert path.parent.parent == app_blob_dir
    if damage == "delete":
        path.unlink()
    else:
        path.write_bytes(b"X" + path.read_bytes()[1:])
    body = _assert_error_shape(api.get(f"{API}/runs/run-api-blob"), 500)
    assert body["code"] == code and says in body["detail"] and "run-api-blob" in body["detail"]
    assert body["runId"] == "run-api-blob" and body["blobUri"] == blob_uri
    # the ledger's view still answers
    assert api.get(f"{API}/runs/run-api-blob/status").status_code == 200


def test_ingest_invalid_run_is_400_with_the_field_path(api, graph, now):
    """A RunResult with a percentage given as text is a 400 naming
    recipe.ingredients[3].percentage; nothing is stored."""
    run = make_run(3, now=now).to_wire()
    run["recipe"]["ingredients"][3]["percentage"] = "12.5"
    body = _assert_error_shape(_post(api, "/runs", run), 400)
    assert "recipe.ingredients[3].percentage" in _fields(body)
    assert not RunRecord.objects.exists() and _in_neo4j(graph, run["metadata"]["id"]) == 0


def test_ingest_oversized_run_is_422_and_writes_nothing(api, graph, now):
    """A run mapping to more than 500 graph elements is a 422 with the counts; neither the
    ledger nor Neo4j receives anything."""
    run = make_run(5, now=now, ingredients=1, history=243)
    body = _assert_error_shape(_post(api, "/runs", run.to_wire()), 422)
    counts = body["counts"]
    assert body["code"] == "write_set_too_large"
    assert counts["total"] == counts["nodes"] + counts["relationships"] > counts["limit"] == 500
    assert not RunRecord.objects.exists() and _in_neo4j(graph, run.run_id) == 0


@pytest.mark.parametrize(("where", "value"), [
    (("metadata", "timestamp"), "9999-12-31T22:00:00-05:00"),
    (("agentHistory", 2, "timestamp"), "0001-01-01T03:00:00+05:00"),
    (("calculation", "timestamp"), "9999-12-31T23:30:00-01:00"),
])
def test_ingest_timestamp_outside_utc_is_400_naming_it_and_writes_nothing(api, graph, now, where,
                                                                         value):
    """A timestamp that leaves years 1 to 9999 once converted to UTC is a 400 JSON error
    naming its field (it used to pass the contract and end in an HTML 500); nothing stored."""
    run = make_run(21, now=now).to_wire()
    target = run
    for part in where[:-1]:
        target = target[part]
    target[where[-1]] = value
    body = _assert_error_shape(_post(api, "/runs", run), 400)
    field = ".".join(str(p) for p in where).replace(".2.", "[2].")
    assert _fields(body) == {field} and "represented in UTC" in body["detail"]
    assert not RunRecord.objects.exists() and _in_neo4j(graph, run["metadata"]["id"]) == 0


def test_ingest_timestamps_at_the_edges_of_utc_are_stored_and_read_back(api, graph, now):
    """The first and last instants UTC holds, written with offsets, are stored (ledger and
    Neo4j) and read back equal."""
    run = make_run(22, now=now).to_wire()
    run["metadata"]["timestamp"] = "0001-01-01T05:00:00+05:00"
    run["agentHistory"][0]["timestamp"] = "9999-12-31T18:59:59.999999-05:00"
    run["calculation"]["timestamp"] = "9999-12-31T23:59:59.999999Z"
    response = _post(api, "/runs", run)
    assert response.status_code == 201, response.content
    back = api.get(f"{API}/runs/{run['metadata']['id']}")
    assert back.status_code == 200, back.content
    stored, sent = parse_run_result(back.json()), parse_run_result(run)
    assert stored.metadata.timestamp == sent.metadata.timestamp
    assert stored.agent_history[0].timestamp == sent.agent_history[0].timestamp
    assert stored.calculation.timestamp == sent.calculation.timestamp


def test_ingest_reserved_run_id_is_400_and_every_accepted_id_reads_back(api, graph, now):
    """A runId that is a word of the URL space ("similar") is a 400 naming metadata.id; a
    runId that only looks like one ("Similar") is stored and read back at its URL."""
    run = make_run(23, now=now).to_wire()
    run["metadata"]["id"] = "similar"
    body = _assert_error_shape(_post(api, "/runs", run), 400)
    assert _fields(body) == {"metadata.id"} and "reserved" in body["detail"]
    assert not RunRecord.objects.exists()
    run["metadata"]["id"] = "Similar"
    assert _post(api, "/runs", run).status_code == 201
    assert api.get(f"{API}/runs/Similar").json()["metadata"]["id"] == "Similar"
    assert api.get(f"{API}/runs/Similar/status").status_code == 200


@pytest.mark.parametrize(("change", "field"), [
    (lambda w: w.update(agentHistory=[]), "agentHistory"),
    (lambda w: w["agentHistory"][-1].update(status="failed"), "metadata.status"),
    (lambda w: w["metadata"].update(status="failed"), "metadata.status"),
    (lambda w: w["agentHistory"][2].update(outputRef="sha256:" + "0" * 64),
     "agentHistory[2].outputRef"),
])
def test_ingest_run_that_contradicts_itself_is_400_naming_the_field(api, graph, now, change,
                                                                   field):
    """A run whose status, agentHistory or outputRefs contradict each other (succeeded with no
    history, succeeded with its last invocation failed, failed with every stage succeeded, an
    outputRef that is not its artifact's hash) is a 400 naming the field; nothing stored."""
    run = make_run(24, now=now).to_wire()
    change(run)
    body = _assert_error_shape(_post(api, "/runs", run), 400)
    assert _fields(body) == {field}
    assert not RunRecord.objects.exists() and _in_neo4j(graph, run["metadata"]["id"]) == 0


def test_ingest_keeps_a_correct_output_ref_and_fills_the_missing_ones(api, graph, now):
    """An outputRef that is its artifact's hash is stored as sent; those left out are filled
    in with the hash of the artifact as stored."""
    run = make_run(25, now=now)
    wire = run.to_wire()
    wire["agentHistory"][1]["outputRef"] = output_ref(run.calculation)
    assert _post(api, "/runs", wire).status_code == 201
    back = parse_run_result(api.get(f"{API}/runs/{run.run_id}").json())
    assert [e.output_ref for e in back.agent_history] == [
        output_ref(getattr(back, a)) for a in ("recipe", "calculation", "graph", "validation",
                                               "ui_config")]


def test_ingest_when_the_neo4j_write_fails_is_202_and_the_worker_persists_it(api, celery_worker,
                                                                             graph, now):
    """When the Neo4j write fails for good (here: the web process writes to a database Neo4j
    does not have) a valid run is 202, safely in the outbox; the worker writes it, and
    GET /runs/{runId} then replays it."""
    run = make_run(11, now=now)
    with override_settings(NEO4J_DATABASE="nosuchdatabase"):
        response = _post(api, "/runs", run.to_wire())
    assert response.status_code == 202, response.content
    assert response.json() == {"runId": run.run_id, "created": True, "persisted": False,
                               "summary": None}
    assert response["Location"] == f"{API}/runs/{run.run_id}"
    assert wait_for(lambda: RunRecord.objects.get(run_id=run.run_id).persisted_at)
    replayed = api.get(f"{API}/runs/{run.run_id}")
    assert replayed.status_code == 200 and replayed.json()["metadata"]["id"] == run.run_id


# --- GET /runs ---------------------------------------------------------------------------------


def test_list_filters_on_status_failed_agent_text_and_time(api, user, now):
    """status, failedAgent, text (runId or request text, any case) and since/until filter."""
    _ledger_row(user, "run-a", at=now - timedelta(days=3), text="Lemon vinaigrette")
    _ledger_row(user, "run-b", at=now - timedelta(days=2), status=RunStatus.FAILED,
                failed_agent="ScalingCalculator", text="unicorn tears")
    _ledger_row(user, "run-c", at=now - timedelta(days=1), status=RunStatus.FAILED,
                failed_agent="RecipeEngineer", text="moon dust")
    _ledger_row(user, "run-lemon-d", at=now, status=RunStatus.QUEUED, text="basil pesto")

    def ids(query: str) -> list[str]:
        response = api.get(f"{API}/runs?{query}")
        assert response.status_code == 200, response.content
        return [r["runId"] for r in response.json()["results"]]

    assert ids("") == ["run-lemon-d", "run-c", "run-b", "run-a"]
    assert ids("text=&status=") == ids("")  # blank fields of a search form filter nothing
    assert ids("status=failed") == ["run-c", "run-b"]
    assert ids("failedAgent=ScalingCalculator") == ["run-b"]
    assert ids("text=LEMON") == ["run-lemon-d", "run-a"]
    since, until = (now - timedelta(days=2)).isoformat(), now.isoformat()
    assert ids(f"since={since}&until={until}".replace("+", "%2B")) == ["run-c", "run-b"]
    assert ids("status=failed&failedAgent=RecipeEngineer&text=moon") == ["run-c"]
    row = api.get(f"{API}/runs?text=run-b").json()["results"][0]
    assert set(row) == {"runId", "status", "source", "failedAgent", "requestText", "createdAt",
                        "finishedAt", "totalDurationMs", "persistedAt"}
    assert row["failedAgent"] == "ScalingCalculator" and row["source"] == "external"


@pytest.mark.parametrize(("query", "field"), [
    ("since=yesterday", "since"), ("until=2026-13-01", "until"), ("status=bogus", "status"),
    ("failedAgent=Nobody", "failedAgent"), ("stauts=failed", "stauts"),
    ("since=2026-11-02&until=2026-11-01", "until"), ("page_size=0", "page_size"),
    ("page_size=201", "page_size"), ("page_size=ten", "page_size"), ("cursor=garbage", "cursor"),
])
def test_list_bad_parameter_is_400_naming_it(api, query, field):
    """A malformed, unknown or inconsistent query parameter is a 400 naming the parameter."""
    body = _assert_error_shape(api.get(f"{API}/runs?{query}"), 400)
    assert _fields(body) == {field} and body["code"] == "invalid"


def test_list_cursor_pagination_visits_every_run_once_newest_first(api, user, now):
    """120 runs come 50, 50 and 20 a page through `nextCursor` (the cursor itself, passed back
    as ?cursor=), newest first, none twice; `previousCursor` leads back; page_size=200 returns
    them on one page."""
    for i in range(120):
        _ledger_row(user, f"run-page-{i:03d}", at=now - timedelta(minutes=i))
    seen: list[str] = []
    cursor: str | None = ""
    sizes, pages = [], []
    while cursor is not None:
        page = api.get(f"{API}/runs", {"cursor": cursor} if cursor else {}).json()
        assert set(page) == {"results", "nextCursor", "previousCursor"}
        pages.append(page)
        sizes.append(len(page["results"]))
        seen += [r["runId"] for r in page["results"]]
        cursor = page["nextCursor"]
        assert cursor is None or "/" not in cursor  # a cursor, not a URL
    assert sizes == [50, 50, 20]
    assert seen == [f"run-page-{i:03d}" for i in range(120)]
    assert pages[0]["previousCursor"] is None
    back = api.get(f"{API}/runs", {"cursor": pages[2]["previousCursor"]}).json()
    assert [r["runId"] for r in back["results"]] == seen[50:100]
    assert len(api.get(f"{API}/runs?page_size=200").json()["results"]) == 120


# --- GET /runs/{runId} and /status -------------------------------------------------------------


def test_unknown_run_is_404_json(api, graph):
    """An unknown runId is a 404 in the JSON error shape, for the replay and the status."""
    for path in ("/runs/run-nobody", "/runs/run-nobody/status"):
        body = _assert_error_shape(api.get(f"{API}{path}"), 404)
        assert body["code"] == "not_found" and "run-nobody" in body["detail"]


def test_status_is_the_ledger_view_before_neo4j_has_the_run(api, user, graph, now):
    """/status reads the ledger: it answers for a run Neo4j does not hold (yet), which the
    replay endpoint does not."""
    record = _ledger_row(user, "run-waiting", at=now, status=RunStatus.RUNNING)
    RunRecord.objects.filter(pk=record.pk).update(
        stages={"RecipeEngineer": {"status": "succeeded", "sequence": 1, "durationMs": 3.5,
                                   "error": ""},
                "ScalingCalculator": {"status": "pending"}},
        started_at=now)
    response = api.get(f"{API}/runs/run-waiting/status")
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "runId": "run-waiting", "status": "running", "source": "external",
        "stages": {  # every key of a StageStatus, null where the stage has no value ("" too)
            "RecipeEngineer": {"status": "succeeded", "sequence": 1, "startedAt": None,
                               "durationMs": 3.5, "memoryMb": None, "error": None},
            "ScalingCalculator": {"status": "pending", "sequence": None, "startedAt": None,
                                  "durationMs": None, "memoryMb": None, "error": None}},
        "queuePosition": None, "failedAgent": None, "error": None, "persistError": None,
        "createdAt": now.isoformat().replace("+00:00", "Z"),
        "startedAt": now.isoformat().replace("+00:00", "Z"), "finishedAt": None,
        "totalDurationMs": None, "persistedAt": None, "runPage": "/runs/run-waiting/"}
    assert api.get(f"{API}/runs/run-waiting").status_code == 404


# --- OpenAPI -----------------------------------------------------------------------------------


def test_openapi_schema_is_served_valid_and_describes_the_contract(api, tmp_path):
    """/api/schema/ serves (to an authenticated client) a valid OpenAPI document, generated
    without warnings, whose request bodies are the contract's own JSON Schemas."""
    from openapi_spec_validator import validate

    assert APIClient().get("/api/schema/?format=json").status_code == 401
    response = api.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    validate(schema)
    paths = schema["paths"]
    assert {f"{API}/requests", f"{API}/runs", f"{API}/runs/{{run_id}}",
            f"{API}/runs/{{run_id}}/status"} <= set(paths)
    body = paths[f"{API}/runs"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/RunResult"}
    assert set(paths[f"{API}/runs"]["post"]["responses"]) >= {"200", "201", "202", "400", "401",
                                                              "409", "422"}
    ingredient = schema["components"]["schemas"]["Ingredient"]
    assert ingredient["properties"]["percentage"]["maximum"] == 100
    call_command("spectacular", "--fail-on-warn", "--validate", "--file",
                 str(tmp_path / "schema.yaml"))
