"""A program's path through the API: a typed Python client generated from the schema the app
serves (openapi-python-client, offline, into the test's tmp dir), every generated module
imported, then driven against the live server, a real Celery worker, Redis and Neo4j: log in,
submit, poll the typed stages, read the run as typed models, page the list by cursor, similar
runs, analytics, the context and the diff, ingest a RunResult, and the typed 400/404/409.
And the served schema itself: valid (openapi-spec-validator), each choice set one component."""

from __future__ import annotations

import contextlib
import importlib
import json
import pkgutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from contracts.run import RunId
from orchestration.api.schema import ENUMS
from tests.conftest import NOW, wait_for
from tools.synthetic import make_run

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-test-password-42"
PACKAGE = "cap01_generated_client"
API = "/api/orchestration"


@pytest.fixture
def ada(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("ada", password=PASSWORD)


def _served_schema(base_url: str) -> dict[str, Any]:
    """The OpenAPI document as an integrator gets it: log in, then GET /api/schema/."""
    token = httpx.post(f"{base_url}/api/auth/token",
                       json={"username": "ada", "password": PASSWORD}).json()["token"]
    response = httpx.get(f"{base_url}/api/schema/", params={"format": "json"},
                         headers={"Authorization": f"Token {token}"})
    assert response.status_code == 200
    return dict(response.json())


@pytest.fixture
def client_package(live_server: Any, ada: Any, tmp_path: Path, capsys: Any
                   ) -> Iterator[ModuleType]:
    """The client generated from the served schema, in tmp_path, importable as PACKAGE; every
    generated module is imported here (one that does not import fails the test)."""
    schema = tmp_path / "openapi.json"
    schema.write_text(json.dumps(_served_schema(live_server.url)))
    config = tmp_path / "generator.yaml"
    config.write_text("post_hooks: []\n")  # no formatter run: nothing written outside tmp_path
    started = time.perf_counter()
    generated = subprocess.run(
        [sys.executable, "-m", "openapi_python_client", "generate", "--path", str(schema),
         "--config", str(config), "--meta", "none", "--output-path", str(tmp_path / PACKAGE)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8",
             "PYTHONDONTWRITEBYTECODE": "1"})
    assert generated.returncode == 0, generated.stdout + generated.stderr
    # The generator reports what it could not type as warnings: there must be none.
    assert "Warning" not in generated.stdout + generated.stderr, generated.stdout
    sys.path.insert(0, str(tmp_path))
    try:
        package = importlib.import_module(PACKAGE)
        modules = [m.name for m in pkgutil.walk_packages(package.__path__, f"{PACKAGE}.")]
        for name in modules:
            importlib.import_module(name)
        with capsys.disabled():
            print(f"\ngenerated client: {len(modules)} modules in "
                  f"{time.perf_counter() - started:.1f} s (generation and imports)")
        yield package
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def _gen(name: str) -> Any:
    """A generated module, by its path under the package."""
    return importlib.import_module(f"{PACKAGE}.{name}")


@pytest.fixture
def closing() -> Iterator[contextlib.ExitStack]:
    """Closes the generated clients (their httpx connections) when the test ends."""
    with contextlib.ExitStack() as stack:
        yield stack


def test_generated_client_drives_the_api_end_to_end(client_package, live_server, celery_worker,
                                                    graph, closing):
    """Through the generated client only: log in, submit two requests, poll typed stages until
    both are persisted, read a run as typed models, list two pages by cursor, similar runs,
    analytics, context and diff typed; ingest a RunResult (201), then the typed 400, 404, 409."""
    pkg = client_package
    models = _gen("models")
    auth, runs = _gen("api.auth"), _gen("api.orchestration")
    token_op = importlib.import_module(f"{auth.__name__}.auth_token_create")

    def op(name: str) -> Any:
        return importlib.import_module(f"{runs.__name__}.{name}")

    # -- log in: one JSON body, one typed answer; wrong credentials are a typed 400 -----------
    anonymous = closing.enter_context(pkg.Client(base_url=live_server.url))
    wrong = token_op.sync_detailed(client=anonymous, body=models.AuthTokenRequest(
        username="ada", password="not-the-password"))
    assert wrong.status_code == 400 and isinstance(wrong.parsed, models.Error)
    token = token_op.sync(client=anonymous,
                          body=models.AuthTokenRequest(username="ada", password=PASSWORD))
    assert isinstance(token, models.AuthToken)
    client = closing.enter_context(pkg.AuthenticatedClient(
        base_url=live_server.url, token=token.token, prefix="Token",
        raise_on_unexpected_status=True))

    # -- submit two requests -----------------------------------------------------------------
    accepted = []
    for size in (5.0, 8.0):
        answer = op("requests_create").sync_detailed(client=client, body=models.InputContract(
            user_request=f"lemon vinaigrette, {size:g} kg", target_batch_size=size,
            target_unit=models.Unit.KG))
        assert answer.status_code == 202 and isinstance(answer.parsed, models.RunAccepted)
        assert answer.parsed.status is models.RunStatus.QUEUED
        assert answer.headers["Location"] == f"{API}/runs/{answer.parsed.run_id}"
        accepted.append(answer.parsed.run_id)
    first, second = accepted

    # -- poll: typed stages ------------------------------------------------------------------
    def persisted(run_id: str) -> Any:
        status = op("runs_status").sync(client=client, run_id=run_id)
        assert isinstance(status, models.RunLedgerStatus)
        return status if status.persisted_at else None

    statuses = [wait_for(lambda r=r: persisted(r), timeout=120) for r in accepted]
    for status in statuses:
        assert status.status is models.RunStatus.SUCCEEDED and status.failed_agent is None
        stages = status.stages.additional_properties
        assert list(stages) == list(ENUMS["AgentName"])
        for stage in stages.values():
            assert isinstance(stage, models.StageStatus)
            assert stage.status is models.StageState.SUCCEEDED
            assert isinstance(stage.sequence, int) and stage.duration_ms >= 0
            assert stage.error is None  # null, not ""

    # -- read the run back as typed models ----------------------------------------------------
    run = op("runs_retrieve").sync(client=client, run_id=first)
    assert isinstance(run, models.RunResult) and run.metadata.id == first
    assert run.metadata.status is models.RunOutcome.SUCCEEDED
    assert all(isinstance(i, models.Ingredient) for i in run.recipe.ingredients)
    assert isinstance(run.calculation.costs, models.Costs) and run.calculation.costs.total > 0
    assert run.calculation.target_unit is models.Unit.KG
    assert all(isinstance(c, models.Check) for c in run.validation.checks.additional_properties
               .values())
    assert [e.agent for e in run.agent_history] == [models.AgentName(a)
                                                    for a in ENUMS["AgentName"]]

    # -- the list, two pages by cursor --------------------------------------------------------
    page = op("runs_list").sync(client=client, page_size=1, status=models.RunStatus.SUCCEEDED)
    assert isinstance(page, models.PaginatedRunSummaryList)
    assert [r.run_id for r in page.results] == [second] and page.previous_cursor is None
    assert isinstance(page.next_cursor, str)
    older = op("runs_list").sync(client=client, page_size=1, cursor=page.next_cursor)
    assert [r.run_id for r in older.results] == [first] and older.next_cursor is None
    assert older.results[0].source is models.RunSource.PIPELINE

    # -- similar runs, analytics, the context, the diff ---------------------------------------
    similar = op("runs_similar").sync(client=client, q="lemon vinaigrette")
    assert isinstance(similar, models.RetrievalResult)
    assert {r.run_id for r in similar.results} == {first, second}
    report = op("analytics_agents").sync(client=client)
    assert isinstance(report, models.AnalyticsAgentReport) and report.totals.runs == 2
    assert {a.agent for a in report.agents} == set(models.AgentName)
    context = op("runs_context").sync(client=client, run_id=first)
    assert isinstance(context, models.RunContext)
    assert context.calculation.unit is models.Unit.KG
    assert isinstance(context.calculation.costs, models.Costs)
    assert isinstance(context.calculation.yield_, models.Yield)
    assert all(isinstance(s, models.ScaledIngredient) for s in context.calculation.scaled)
    assert all(isinstance(i, models.ValidationIssue)
               for i in [*context.validation.errors, *context.validation.warnings])
    diff = op("runs_diff").sync(client=client, run_id=second, against=first)
    assert isinstance(diff, models.RunDiff) and diff.base.run_id == first
    assert diff.quantities.target_batch_size.delta == pytest.approx(3.0)
    assert isinstance(diff.costs, models.DiffCosts)
    assert isinstance(diff.context.request.user_request, models.TextChange)

    # -- ingest a RunResult; then the typed 409, 404 and 400 ----------------------------------
    wire = make_run(7, now=NOW, run_id="run-from-a-program").to_wire()
    ingest = op("runs_ingest")
    created = ingest.sync_detailed(client=client, body=models.RunResult.from_dict(wire))
    assert created.status_code == 201 and isinstance(created.parsed, models.RunIngested)
    assert created.parsed.persisted and created.headers["Location"] == \
        f"{API}/runs/run-from-a-program"
    wire["request"]["userRequest"] += " (changed)"
    conflict = ingest.sync_detailed(client=client, body=models.RunResult.from_dict(wire))
    assert conflict.status_code == 409 and isinstance(conflict.parsed, models.Error)
    assert conflict.parsed.code == "run_conflict"
    missing = op("runs_retrieve").sync_detailed(client=client, run_id="run-nobody-has")
    assert missing.status_code == 404 and isinstance(missing.parsed, models.Error)
    assert missing.parsed.code == "not_found"
    bad = op("runs_list").sync_detailed(client=client, cursor="not-a-cursor")
    assert bad.status_code == 400 and isinstance(bad.parsed, models.Error)
    assert [e.field for e in bad.parsed.errors] == ["cursor"]


# --- the served schema -------------------------------------------------------------------------


def _walk(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}/{i}")


def test_served_schema_is_valid_and_types_what_programs_need(ada):
    """The served document passes openapi-spec-validator; the token operation is open, JSON in,
    token out; each choice set is one enum component, referenced everywhere (parameters too);
    stages are StageStatus; paging is by cursor with bounded page_size; run_id carries the
    contract's pattern; Retry-After and Location are response headers."""
    from openapi_spec_validator import validate

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=ada).key}")
    schema = client.get("/api/schema/?format=json").json()
    validate(schema)
    components, paths = schema["components"]["schemas"], schema["paths"]

    token = paths["/api/auth/token"]["post"]
    assert token["security"] == []
    assert list(token["requestBody"]["content"]) == ["application/json"]
    assert components["AuthTokenRequest"]["required"] == ["password", "username"]
    assert components["AuthToken"]["required"] == ["token"]
    assert token["responses"]["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"}

    # One component per choice set, and no inline copy of one anywhere else.
    for name, values in ENUMS.items():
        assert components[name]["enum"] == list(values), name
    inline = [path for path, node in _walk(schema) if "enum" in node
              and not (path.startswith("/components/schemas/") and path.count("/") == 3)
              and not path.endswith("/not")]  # RunMetadata.id: not one of the reserved words
    assert inline == []
    params = {p["name"]: p["schema"] for p in paths[f"{API}/runs"]["get"]["parameters"]}
    assert params["status"] == {"$ref": "#/components/schemas/RunStatus"}
    assert params["failedAgent"] == {"$ref": "#/components/schemas/AgentName"}
    assert params["page_size"] == {"type": "integer", "minimum": 1, "maximum": 200,
                                   "default": 50}
    assert "cursor" in params
    page = components["PaginatedRunSummaryList"]["properties"]
    assert set(page) == {"results", "nextCursor", "previousCursor"}

    stages = components["RunLedgerStatus"]["properties"]["stages"]
    assert stages["additionalProperties"] == {"$ref": "#/components/schemas/StageStatus"}
    assert set(components["StageStatus"]["required"]) == {
        "status", "sequence", "startedAt", "durationMs", "memoryMb", "error"}
    assert components["StageStatus"]["properties"]["error"]["nullable"] is True

    run_id = TypeAdapter(RunId).json_schema()  # the contract's runId
    for path, ops in paths.items():
        for operation in ops.values():
            for param in operation.get("parameters", []):
                if param["name"] == "run_id":
                    assert param["schema"]["pattern"] == run_id["pattern"], path
                    assert param["schema"]["maxLength"] == run_id["maxLength"], path
    assert {"Location"} <= set(paths[f"{API}/requests"]["post"]["responses"]["202"]["headers"])
    assert {"Location"} <= set(paths[f"{API}/runs"]["post"]["responses"]["201"]["headers"])
    assert {"Retry-After"} <= set(paths[f"{API}/requests"]["post"]["responses"]["429"]
                                  ["headers"])
    context = components["ContextCalculation"]["properties"]
    assert context["costs"]["allOf"] == [{"$ref": "#/components/schemas/Costs"}]
    assert context["scaled"]["items"] == {"$ref": "#/components/schemas/ScaledIngredient"}
