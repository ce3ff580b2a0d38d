"""Access control: every API endpoint needs credentials (walking the URL resolver,
so new endpoints are covered without editing this file), the web pages need a login, the admin
needs staff, forms need their CSRF token, bodies have a size limit, API tokens are per user,
secrets come only from the environment, and cypherCommands are stored, never executed: labels and
relationship types never come from input."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from neo4j._sync.work.session import Session
from neo4j._sync.work.transaction import TransactionBase
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from contracts import Graph, parse_input, parse_run_result
from graphstore import cypher
from graphstore.mapper import normalize_run
from graphstore.replay import verify_run
from orchestration.agents import DEFAULT_AGENTS, load_agents
from orchestration.agents.graph_builder import GraphBuilder
from orchestration.models import RunRecord
from orchestration.pipeline import (
    STAGE_NAMES,
    config_snapshot,
    finish_run,
    first_envelope,
    run_stage,
)
from tests.conftest import ENVELOPE_KEYS, NOW, count_graph, wait_for
from tests.security.graph_checks import assert_only_schema_labels_and_types
from tests.security.urlwalk import urls, view_methods
from tools.synthetic import make_run

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a-long-test-password-42"

# Documented as open (README): the health check, the Prometheus metrics, the login pages, and
# the token endpoint (it is how a program logs in). The OpenAPI schema and its docs need a login
# like the rest of the API.
OPEN_API = {("/api/auth/token", "post")}
OPEN_WEB = {"/healthz", "/metrics", "/login/", "/logout/"}
OPEN_ADMIN = {"/admin/login/", "/admin/logout/"}


# --- every URL ---------------------------------------------------------------------------------

def api_endpoints() -> list[tuple[str, str]]:
    """(URL, method) of every API endpoint: the methods its view class implements."""
    out = []
    for url, callback in urls():
        if not url.startswith("/api/"):
            continue
        out += [(url, method) for method in view_methods(callback)]
    return sorted(set(out))


API_ENDPOINTS = api_endpoints()
WEB_PAGES = sorted({url for url, _ in urls()
                    if not url.startswith(("/api/", "/admin/")) and url not in OPEN_WEB})
ADMIN_PAGES = sorted({url for url, _ in urls()
                      if url.startswith("/admin/") and url not in OPEN_ADMIN})


@pytest.fixture
def ada(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("ada", password=PASSWORD)


def token_client(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


@pytest.fixture
def api(ada: Any) -> APIClient:
    return token_client(ada)


def _call(client: Client, method: str, url: str) -> Any:
    if method in ("post", "put", "patch"):
        return getattr(client, method)(url, data="{}", content_type="application/json")
    return getattr(client, method)(url)


def test_the_walk_finds_the_api_and_the_documented_open_endpoints():
    """The resolver walk sees the orchestration API, the token endpoint and the OpenAPI views,
    and every documented open URL exists."""
    paths = {url for url, _ in API_ENDPOINTS}
    assert {"/api/orchestration/requests", "/api/orchestration/runs",
            "/api/orchestration/runs/x", "/api/orchestration/runs/x/status",
            "/api/auth/token", "/api/schema/", "/api/docs/"} <= paths
    assert OPEN_API <= set(API_ENDPOINTS)
    served = {url for url, _ in urls()}
    assert OPEN_WEB | OPEN_ADMIN <= served


@pytest.mark.parametrize(("url", "method"), API_ENDPOINTS,
                         ids=[f"{m.upper()} {u}" for u, m in API_ENDPOINTS])
def test_every_api_endpoint_needs_credentials(url, method):
    """Without credentials every API endpoint (schema and docs included) is a 401 or 403 -
    except POST /api/auth/token, which is how a program logs in."""
    response = _call(APIClient(), method, url)
    if (url, method) in OPEN_API:
        assert response.status_code == 400  # no credentials given: refused, JSON, no token
        assert "token" not in response.json()
        return
    assert response.status_code in (401, 403), (url, method, response.status_code)
    if response["Content-Type"].startswith("application/json"):
        body = response.json()
        assert set(body) >= {"detail", "code", "errors"}
        assert body["code"] in ("not_authenticated", "permission_denied")


@pytest.mark.parametrize("url", sorted({u for u, _ in API_ENDPOINTS}))
def test_a_bad_token_is_refused_everywhere(url):
    """A made-up token is a 401 on every API URL, the token endpoint included."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")
    assert client.get(url).status_code == 401


def test_health_and_metrics_are_open_and_reveal_no_configuration():
    """/healthz and /metrics answer without a login and carry no secret or address."""
    client = Client()
    for url in ("/healthz", "/metrics"):
        response = client.get(url)
        assert response.status_code in (200, 503), url
        text = response.content.decode()
        for secret in (settings.SECRET_KEY, settings.NEO4J_PASSWORD or "\0", settings.NEO4J_URI,
                       settings.CELERY_BROKER_URL or "\0"):
            assert secret not in text, url


@pytest.mark.parametrize("url", WEB_PAGES)
def test_every_web_page_needs_a_login(url):
    """Anonymous visitors of any web page (GET or POST) get the login page or a 401/403/405,
    never the page or its action."""
    client = Client()
    answers = [client.get(url), client.post(url, {})]
    for response in answers:
        code = response.status_code
        if code == 302:
            assert response["Location"].startswith(settings.LOGIN_URL), response["Location"]
        else:
            assert code in (401, 403, 405), (url, code)
    assert any(r.status_code in (302, 401, 403) for r in answers), url


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_every_admin_page_sends_non_staff_to_the_admin_login(url, ada):
    """Anonymous and logged-in non-staff users are redirected to the admin login on every
    admin URL."""
    visitor = Client()
    visitor.force_login(ada)
    for client in (Client(), visitor):
        response = client.get(url)
        assert response.status_code == 302, (url, response.status_code)
        assert response["Location"].startswith("/admin/login/"), response["Location"]


def test_staff_reach_the_admin(django_user_model):
    """The redirects above are about staff: a staff user gets the admin index."""
    staff = django_user_model.objects.create_user("grace", password=PASSWORD, is_staff=True)
    client = Client()
    client.force_login(staff)
    assert client.get("/admin/").status_code == 200


# --- CSRF ---------------------------------------------------------------------------------------


def test_the_form_needs_its_csrf_token(ada):
    """POST / without the CSRF token is a 403; with it the form is processed (here: a 400 for
    an empty form, so no run is started)."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(ada)
    assert client.post("/", {"user_request": "lemon vinaigrette", "target_batch_size": "5",
                             "target_unit": "kg"}).status_code == 403
    assert not RunRecord.objects.exists()
    page = client.get("/")
    token = page.cookies["csrftoken"].value
    response = client.post("/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 400 and b"user_request" in response.content


def test_login_and_session_api_writes_need_the_csrf_token(ada):
    """The login form and session-authenticated API writes are 403 without the CSRF token."""
    client = Client(enforce_csrf_checks=True)
    assert client.post("/login/", {"username": "ada", "password": PASSWORD}).status_code == 403
    session_api = APIClient(enforce_csrf_checks=True)
    session_api.force_login(ada)
    response = session_api.post("/api/orchestration/runs", make_run(1, now=NOW).to_wire(),
                                format="json")
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]
    assert not RunRecord.objects.exists()


# --- body size ----------------------------------------------------------------------------------

POST_ENDPOINTS = sorted(url for url, method in API_ENDPOINTS if method == "post")


@pytest.mark.parametrize("url", POST_ENDPOINTS)
def test_a_body_over_the_limit_is_413_json_before_anything_reads_it(api, url):
    """Every API POST, the token endpoint included, answers a body over
    DATA_UPLOAD_MAX_MEMORY_SIZE with 413 in the JSON error shape; nothing is recorded."""
    body = b'{"padding": "' + b"x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE + b'"}'
    for client in (api, APIClient()):
        response = client.generic("POST", url, data=body, content_type="application/json")
        assert response.status_code == 413, (url, response.status_code, response.content[:200])
        error = response.json()
        assert error["code"] == "body_too_large" and error["errors"] == []
    assert not RunRecord.objects.exists()


def test_a_form_body_over_the_limit_is_413(ada):
    """The web form and the login form answer an oversized body with 413 too."""
    client = Client()
    client.force_login(ada)
    padding = "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    assert client.post("/", {"user_request": padding}).status_code == 413
    assert Client().post("/login/", {"username": padding}).status_code == 413
    assert not RunRecord.objects.exists()


# --- tokens -------------------------------------------------------------------------------------


def test_tokens_are_per_user_and_authenticate_only_their_user(ada, django_user_model, graph):
    """Each user gets a token of their own (the same one when asking again); a token acts as
    its user only, stops working when deleted, and not at all for an inactive user."""
    bob = django_user_model.objects.create_user("bob", password=PASSWORD)

    def login(username: str) -> str:
        response = APIClient().post("/api/auth/token", {"username": username,
                                                        "password": PASSWORD}, format="json")
        assert response.status_code == 200
        return str(response.json()["token"])

    ada_token, bob_token = login("ada"), login("bob")
    assert ada_token != bob_token and login("ada") == ada_token
    assert APIClient().post("/api/auth/token", {"username": "ada", "password": "wrong"},
                            format="json").status_code == 400
    clients = {}
    for name, token in (("ada", ada_token), ("bob", bob_token)):
        clients[name] = APIClient()
        clients[name].credentials(HTTP_AUTHORIZATION=f"Token {token}")
        run = make_run(20 + len(name), now=NOW, run_id=f"run-owned-by-{name}").to_wire()
        assert clients[name].post("/api/orchestration/runs", run, format="json"
                                  ).status_code == 201
    assert RunRecord.objects.get(run_id="run-owned-by-ada").submitted_by == ada
    assert RunRecord.objects.get(run_id="run-owned-by-bob").submitted_by == bob
    Token.objects.filter(user=ada).delete()
    assert clients["ada"].get("/api/orchestration/runs").status_code == 401
    assert clients["bob"].get("/api/orchestration/runs").status_code == 200
    bob.is_active = False
    bob.save()
    assert clients["bob"].get("/api/orchestration/runs").status_code == 401


# --- secrets from the environment only ------------------------------------------------------------

GOOD_KEY = "k" * 16 + "-production-secret-key-0123456789"


def _settings_in_subprocess(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Import cap01.settings in a fresh interpreter with only the given secrets in the
    environment; prints SECRET_KEY and NEO4J_PASSWORD as JSON when it imports."""
    base = {k: v for k, v in os.environ.items()
            if k not in {"DJANGO_SECRET_KEY", "NEO4J_PASSWORD", "DJANGO_DEBUG",
                         "CAP01_ENVELOPE_KEYS"}}
    # A local password file exists for the dev instance: it must not be used outside DEBUG.
    (tmp_path / "neo4j").mkdir(exist_ok=True)
    (tmp_path / "neo4j" / "password").write_text("local-dev-password\n")
    base["CAP01_SERVICES_DIR"] = str(tmp_path)
    code = ("import json, cap01.settings as s; "
            "print(json.dumps([s.SECRET_KEY, s.NEO4J_PASSWORD, s.DEBUG, "
            "list(s.CAP01_ENVELOPE_KEYS.key_ids)]))")
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**base, **env},
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(("env", "names"), [
    ({"DJANGO_DEBUG": "0"}, "DJANGO_SECRET_KEY"),
    ({"DJANGO_DEBUG": "0", "NEO4J_PASSWORD": "s3cret-neo4j"}, "DJANGO_SECRET_KEY"),
    ({"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "insecure-local-development-key-do-not-use-in-"
      "production", "NEO4J_PASSWORD": "s3cret-neo4j"}, "DJANGO_SECRET_KEY"),
    ({"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "too-short-0123456789",
      "NEO4J_PASSWORD": "s3cret-neo4j"}, "DJANGO_SECRET_KEY"),
    ({"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": GOOD_KEY}, "NEO4J_PASSWORD"),
    ({"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": GOOD_KEY, "NEO4J_PASSWORD": "s3cret-neo4j"},
     "CAP01_ENVELOPE_KEYS"),
    ({"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": GOOD_KEY, "NEO4J_PASSWORD": "s3cret-neo4j",
      "CAP01_ENVELOPE_KEYS": "k1:too-short"}, "CAP01_ENVELOPE_KEYS"),
    ({"DJANGO_DEBUG": "perhaps"}, "DJANGO_DEBUG"),
], ids=["no-secret-key", "no-secret-key-with-neo4j-password", "placeholder-key", "short-key",
        "no-neo4j-password-despite-local-file", "no-envelope-keys", "short-envelope-key",
        "debug-not-a-boolean"])
def test_settings_refuse_placeholder_secrets_outside_debug(tmp_path, env, names):
    """With DJANGO_DEBUG=0, a missing, placeholder or short secret key, a missing Neo4j
    password (a local password file notwithstanding), or missing or unusable envelope keys
    stops the settings with ImproperlyConfigured naming the variable."""
    result = _settings_in_subprocess(tmp_path, **env)
    assert result.returncode != 0, result.stdout
    assert "ImproperlyConfigured" in result.stderr and names in result.stderr, result.stderr[-800:]


def test_settings_take_secrets_from_the_environment(tmp_path):
    """With DJANGO_DEBUG=0 and every secret set, the settings use exactly those values (the
    envelope keys in their order: the first signs)."""
    result = _settings_in_subprocess(tmp_path, DJANGO_DEBUG="0", DJANGO_SECRET_KEY=GOOD_KEY,
                                     NEO4J_PASSWORD="s3cret-neo4j",
                                     CAP01_ENVELOPE_KEYS=f"k2:{'n' * 32},k1:{'o' * 32}")
    assert result.returncode == 0, result.stderr[-800:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [
        GOOD_KEY, "s3cret-neo4j", False, ["k2", "k1"]]


def test_debug_without_envelope_keys_derives_a_development_key(tmp_path):
    """In DEBUG without CAP01_ENVELOPE_KEYS the envelopes are signed with a development key
    derived from SECRET_KEY (every local process derives the same one)."""
    result = _settings_in_subprocess(tmp_path, DJANGO_DEBUG="1")
    assert result.returncode == 0, result.stderr[-800:]
    assert json.loads(result.stdout.strip().splitlines()[-1])[3] == ["dev"]


def test_no_secret_is_written_in_the_source():
    """The only secret-looking literal in the settings is the refused local placeholder; no
    password or key literal is assigned anywhere in cap01/, orchestration/ or graphstore/."""
    assignment = re.compile(
        r"""(?i)\b\w*(secret|password|passwd|api_key|token)\w*\s*=\s*["'][^"']{6,}["']""")
    found = []
    for folder in ("cap01", "orchestration", "graphstore"):
        for path in (ROOT / folder).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                if assignment.search(line) and "_PLACEHOLDER_SECRET" not in line:
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == []


# --- cypherCommands are stored, never executed ----------------------------------------------------

DESTRUCTIVE = [
    {"statement": "MATCH (n) DETACH DELETE n", "parameters": {}},
    "CREATE (:Pwned {at: datetime()})",
    {"statement": "MERGE (a:Pwned)-[:PWNED]->(b:Pwned) RETURN a, b", "parameters": {}},
    {"statement": "DROP CONSTRAINT orchestrationrun_runid_unique IF EXISTS", "parameters": {}},
    {"statement": "MATCH (r:OrchestrationRun) SET r.status = $status",
     "parameters": {"status": "pwned"}},
    "CALL db.clearQueryCaches()",
]


@pytest.fixture
def cypher_spy(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The text of every Cypher statement this process sends to Neo4j (the real driver, the
    real database: the calls are recorded on their way, nothing is replaced)."""
    sent: list[str] = []
    tx_run, session_run = TransactionBase.run, Session.run

    def record_tx(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(str(getattr(query, "text", query)))
        return tx_run(self, query, *args, **kwargs)

    def record_session(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(str(getattr(query, "text", query)))
        return session_run(self, query, *args, **kwargs)

    monkeypatch.setattr(TransactionBase, "run", record_tx)
    monkeypatch.setattr(Session, "run", record_session)
    return sent


def _constraints(graph: Any) -> set[str]:
    records, _, _ = graph.execute_query("SHOW CONSTRAINTS YIELD name RETURN name",
                                        database_=settings.NEO4J_DATABASE)
    return {r["name"] for r in records}


def _destructive_run(run_id: str, seed: int, commands: list[Any], padding: int = 0) -> dict:
    wire = make_run(seed, now=NOW, run_id=run_id).to_wire()
    wire["graph"]["cypherCommands"] = [*commands] + (
        [{"statement": "RETURN $padding", "parameters": {"padding": "p" * padding}}]
        if padding else [])
    return wire


def test_destructive_cypher_commands_are_stored_and_never_executed(api, graph, cypher_spy):
    """A run whose cypherCommands would wipe the graph, create :Pwned nodes, drop a constraint
    or rewrite other runs is persisted through POST /runs; the runs written before it stay
    whole, no label or type outside the schema appears, the commands read back verbatim, and
    the statements sent to Neo4j are the fixed ones whatever the data."""
    bystander = make_run(5, now=NOW, run_id="run-bystander").to_wire()
    assert api.post("/api/orchestration/runs", bystander, format="json").status_code == 201
    constraints = _constraints(graph)
    before = count_graph(graph)
    statements_per_run = []
    for i, padding in enumerate((0, 40_000)):  # inline, then offloaded to the blob store
        cypher_spy.clear()
        run = _destructive_run(f"run-destructive-{i}", 6 + i, DESTRUCTIVE, padding)
        response = api.post("/api/orchestration/runs", run, format="json")
        assert response.status_code == 201, response.content[:500]
        assert (response.json()["summary"]["blobUri"] is not None) == bool(padding)
        statements_per_run.append(sorted(set(cypher_spy)))
        replayed = api.get(f"/api/orchestration/runs/{run['metadata']['id']}").json()
        assert replayed == normalize_run(parse_run_result(run)).to_wire()
    # The bystander is whole and unchanged, nothing was deleted, no constraint dropped.
    check = verify_run("run-bystander", driver=graph, database=settings.NEO4J_DATABASE)
    assert check.complete
    expected = normalize_run(parse_run_result(bystander)).to_wire()
    assert api.get("/api/orchestration/runs/run-bystander").json() == expected
    assert count_graph(graph)[0] > before[0]
    assert _constraints(graph) >= constraints
    assert_only_schema_labels_and_types(graph)
    records, _, _ = graph.execute_query(
        "MATCH (r:OrchestrationRun) WHERE r.status = 'pwned' RETURN count(r) AS n",
        database_=settings.NEO4J_DATABASE)
    assert records[0]["n"] == 0
    # What went to Neo4j: the writer's and replay's fixed statements, the same for both runs,
    # none of the run's commands.
    assert statements_per_run[0] == statements_per_run[1]
    assert cypher.WRITE_RUN in statements_per_run[0]
    for text in statements_per_run[0]:
        for command in DESTRUCTIVE:
            statement = command if isinstance(command, str) else command["statement"]
            assert statement not in text


class HostileGraphBuilder(GraphBuilder):
    """The reference GraphBuilder, plus statements that would destroy the graph if run."""

    def run(self, ctx: Any) -> Graph:
        graph = super().run(ctx)
        wire = graph.model_dump(by_alias=True)
        wire["cypherCommands"] += DESTRUCTIVE
        return Graph.model_validate(wire)


def _pipeline_run(run_id: str, request: dict[str, Any], agents: dict[str, Any]) -> dict:
    """A run made by the pipeline's own stage code with the given agents (in this process)."""
    parsed = parse_input(request)
    ttl = timedelta(minutes=5)
    envelope = first_envelope(run_id=run_id, request=parsed, now=NOW, ttl=ttl, keys=ENVELOPE_KEYS,
                              snapshot=config_snapshot(parsed, agents=DEFAULT_AGENTS))
    outcome = None
    for i, name in enumerate(STAGE_NAMES):
        outcome = run_stage(envelope, agents[name], now=NOW + timedelta(milliseconds=25 * i),
                            ttl=ttl, keys=ENVELOPE_KEYS, timer=lambda: 0.0, measure_memory=False)
        if outcome.next_envelope is None:
            break
        envelope = outcome.next_envelope
    assert outcome is not None
    return finish_run(outcome.state, now=NOW + timedelta(seconds=1)).to_wire()


LEMON = {"userRequest": "lemon vinaigrette, 5 kg", "targetBatchSize": 5, "targetUnit": "kg"}


def test_cypher_commands_made_by_agents_are_stored_not_executed(api, graph):
    """GraphBuilder's own commands (which would create :Recipe, :Function, :Category nodes and
    CONTAINS edges) and a hostile GraphBuilder's destructive ones are stored with the run, and
    none of them runs: only schema labels and types exist afterwards."""
    agents = load_agents(DEFAULT_AGENTS)
    reference = _pipeline_run("run-agents-reference", LEMON, agents)
    hostile = _pipeline_run("run-agents-hostile", LEMON,
                            {**agents, "GraphBuilder": HostileGraphBuilder()})
    assert any("Recipe" in c["statement"] for c in reference["graph"]["cypherCommands"])
    assert hostile["graph"]["cypherCommands"][-len(DESTRUCTIVE):][0]["statement"] == \
        DESTRUCTIVE[0]["statement"]
    for run in (reference, hostile):
        assert api.post("/api/orchestration/runs", run, format="json").status_code == 201
    for run in (reference, hostile):
        check = verify_run(run["metadata"]["id"], driver=graph, database=settings.NEO4J_DATABASE)
        assert check.complete
        replayed = api.get(f"/api/orchestration/runs/{run['metadata']['id']}").json()
        assert replayed["graph"]["cypherCommands"] == \
            normalize_run(parse_run_result(run)).to_wire()["graph"]["cypherCommands"]
    assert_only_schema_labels_and_types(graph)


def test_a_run_through_the_celery_pipeline_executes_no_cypher_command(api, graph, celery_worker):
    """POST /requests through the real worker: the persisted run carries GraphBuilder's
    cypherCommands, and the graph holds only schema labels and relationship types."""
    response = api.post("/api/orchestration/requests", LEMON, format="json")
    assert response.status_code == 202, response.content
    status_url = response.json()["statusUrl"]
    status = wait_for(lambda: (s := api.get(status_url).json())["persistedAt"] and s)
    assert status["status"] == "succeeded"
    run = api.get(response["Location"]).json()
    assert run["graph"]["cypherCommands"]
    assert_only_schema_labels_and_types(graph)


# --- who sees what: every URL as two users and an auditor -----------------------------------------
#
# ada and bob each post two runs (one succeeded and valid, one failed) through the API with their
# tokens; one more run is ingested with no owner. bob writes first, so the Ingredient node the two
# users share keeps bob's name for it. Each user must never meet bob's (or ada's) run ids, request
# words or ingredient name in any answer; the auditor meets all of them.

MARK = "run-walk-marker"  # what the URL walk fills run-id parameters with
OWN = {"ada": ("run-ada-own-1", "run-ada-own-2"), "bob": ("run-bob-own-1", "run-bob-own-2")}
NOBODY = "run-nobody-1"
# What must never cross from one user to the other, beyond the run ids.
SECRET = {"ada": "adaprivateword", "bob": "bobprivateword"}  # one search term each
SHARED_INGREDIENT = "ing-shared-oil"
SHARED_NAME = {"ada": "Olive oil of adaprivateword", "bob": "Oil of bobprivateword"}
# In the analytics' default window (the last 30 days), the same for every run made of a runId.
STARTED = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
# Query strings the walk adds to the URLs that need one to answer more than a 400.
QUERIES = {"/api/orchestration/runs/similar": {"q": "lemon vinaigrette oil"}}


def _seeded(run_id: str, owner: str, *, failed: bool = False) -> dict[str, Any]:
    """The run `run_id` in `owner`'s words (the same content every time)."""
    from tests.insight_seed import seeded_run

    secret = SECRET.get(owner, "nobodyprivateword")
    name = SHARED_NAME.get(owner, "Oil")
    run = seeded_run(
        run_id, started=STARTED,
        request=f"lemon vinaigrette {secret}", recipe=(f"recipe-{run_id}", f"Vinaigrette {secret}"),
        ingredients=[(SHARED_INGREDIENT, name, 60.0), (f"ing-{run_id}", f"Salt {secret}", 40.0)],
        durations=(10, 20, 30, 40) if failed else (10, 20, 30, 40, 50),
        failed_agent="QAValidator" if failed else None)
    return run.to_wire()


@pytest.fixture
def people(django_user_model: Any) -> dict[str, Any]:
    """ada and bob (plain users) and audrey (in the auditors group)."""
    from tests.conftest import make_auditor

    return {"ada": django_user_model.objects.create_user("ada", password=PASSWORD),
            "bob": django_user_model.objects.create_user("bob", password=PASSWORD),
            "audrey": make_auditor(django_user_model.objects.create_user("audrey",
                                                                         password=PASSWORD))}


@pytest.fixture
def owned_runs(people: dict[str, Any], graph: Any) -> dict[str, Any]:
    """Two runs each for bob then ada, posted with their own tokens, and one run without an
    owner (as `ingest_run` without --owner stores it)."""
    from orchestration.services import run_result_ingest

    for name in ("bob", "ada"):
        client = token_client(people[name])
        for i, run_id in enumerate(OWN[name]):
            response = client.post("/api/orchestration/runs", _seeded(run_id, name,
                                                                      failed=i == 1),
                                   format="json")
            assert response.status_code == 201, response.content[:300]
    run_result_ingest(user=None, run=parse_run_result(_seeded(NOBODY, "nobody")))
    return people


def _clients(user: Any) -> tuple[APIClient, Client]:
    """The API with the user's token, the web pages with the user's session."""
    web = Client()
    web.force_login(user)
    return token_client(user), web


def _walk_urls() -> list[str]:
    """Every URL the project serves, run-id parameters filled with MARK; the logout pages are
    left out (they would end the session)."""
    return sorted({url for url, _ in urls(value=MARK)
                   if url not in ("/logout/", "/admin/logout/")})


CSRF_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


def _answer(clients: tuple[APIClient, Client], method: str, url: str) -> tuple[int, str]:
    """(status, body and Location) of one request, through the API client for /api/."""
    path = url.split("?")[0]
    client = clients[0] if path.startswith("/api/") else clients[1]
    params = QUERIES.get(path, {})
    if path.endswith("/diff") and MARK not in url:  # a run compared with itself
        params = {"against": path.split("/")[-2]}
    response = (getattr(client, method)(url, params) if method == "get" else
                client.post(url, data="{}", content_type="application/json"))
    # A page's CSRF token (the logout form's) is masked afresh on every response: not content.
    # The run history's exports are streamed.
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    body = CSRF_TOKEN.sub('name="csrfmiddlewaretoken" value="TOKEN"',
                          raw.decode(errors="replace"))
    return response.status_code, body + response.get("Location", "")


def _walk(clients: tuple[APIClient, Client], run_id: str) -> dict[tuple[str, str], tuple[int, str]]:
    """GET every URL (run-id parameters filled with `run_id`) and POST every replay URL."""
    answers = {}
    for url in _walk_urls():
        concrete = url.replace(MARK, run_id)
        answers[("get", url)] = _answer(clients, "get", concrete)
        if MARK in url and "replay" in url:
            answers[("post", url)] = _answer(clients, "post", concrete)
    return answers


def _never_seen(answers: dict[tuple[str, str], tuple[int, str]], *words: str) -> list[str]:
    """The answers in which any of `words` appears."""
    return [f"{method.upper()} {url} ({code}) shows {word!r}"
            for (method, url), (code, text) in answers.items() for word in words
            if word in text]


def test_the_walk_covers_every_run_surface():
    """The walk reaches each run surface of the web and the API with a run-id parameter."""
    walked = {url for url in _walk_urls() if MARK in url}
    assert {f"/runs/{MARK}/", f"/runs/{MARK}/status.json", f"/runs/{MARK}/replay/",
            f"/runs/{MARK}/similar/",
            f"/api/orchestration/runs/{MARK}", f"/api/orchestration/runs/{MARK}/status",
            f"/api/orchestration/runs/{MARK}/diff", f"/api/orchestration/runs/{MARK}/context",
            f"/api/orchestration/runs/{MARK}/replay"} <= walked


@pytest.mark.parametrize(("me", "other"), [("ada", "bob"), ("bob", "ada")])
def test_every_url_as_a_user_shows_only_their_runs(owned_runs, isolated_intake, me, other):
    """Walking every URL as one user (token for the API, session for the pages), with their own
    run ids and with none: no answer carries the other user's run ids, request words or
    ingredient name, nor the run without an owner; the user's own runs are answered (no 404,
    no 5xx) and are in their lists, analytics and search."""
    from orchestration.models import RunRecord

    clients = _clients(owned_runs[me])
    forbidden = (*OWN[other], NOBODY, SECRET[other], "nobodyprivateword")
    answers: dict[tuple[str, str], tuple[int, str]] = {}
    for run_id in OWN[me]:
        walked = _walk(clients, run_id)
        for (method, url), (code, _) in walked.items():
            assert code < 500, (method, url, code)
            if MARK in url and method == "get":
                assert code != 404, (url, run_id)
        answers.update({(m, u.replace(MARK, run_id)): a for (m, u), a in walked.items()})
    assert _never_seen(answers, *forbidden) == []
    own_list = answers[("get", "/api/orchestration/runs")][1]
    assert all(run_id in own_list for run_id in OWN[me])
    assert OWN[me][0] in answers[("get", "/api/orchestration/runs/similar")][1]
    agents = json.loads(answers[("get", "/api/orchestration/analytics/agents")][1])
    assert (agents["totals"]["runs"], agents["totals"]["failed"]) == (2, 1)
    assert all(run_id in answers[("get", "/runs/")][1] for run_id in OWN[me])
    # The replays the walk asked for are the user's own.
    assert set(RunRecord.objects.exclude(replay_of="").values_list(
        "submitted_by__username", flat=True)) == {me}


@pytest.mark.parametrize(("me", "other"), [("ada", "bob"), ("bob", "ada")])
def test_another_users_run_answers_as_an_unknown_run_on_every_url(owned_runs, isolated_intake,
                                                                  me, other):
    """Every URL with a run-id parameter answers another user's run (and the run without an
    owner) exactly as it answers a runId that does not exist: a 404 (405 where the method is
    not served; the admin sends non-staff to its login), the same body but for the id.
    Replaying it starts nothing."""
    from orchestration.models import RunRecord

    clients = _clients(owned_runs[me])
    unknown = "run-that-never-was"
    blind = {key: (code, text.replace(unknown, "RUN")) for key, (code, text) in
             _walk(clients, unknown).items() if MARK in key[1]}
    rows = RunRecord.objects.count()
    for hidden in (*OWN[other], NOBODY):
        seen = {key: (code, text.replace(hidden, "RUN")) for key, (code, text) in
                _walk(clients, hidden).items() if MARK in key[1]}
        assert seen == blind, hidden
        assert {code for (_, url), (code, _) in seen.items()
                if not url.startswith("/admin/")} <= {404, 405}, seen  # admin: login (302)
    assert RunRecord.objects.count() == rows  # no replay was started


def test_the_auditor_sees_every_run_on_every_url(owned_runs, isolated_intake):
    """An auditor (the auditors group, by token and by session) walks every URL with each
    user's run ids and the run without an owner: each is answered (no 404, no 5xx), and the
    lists, the similar-runs search and the analytics cover all five runs."""
    clients = _clients(owned_runs["audrey"])
    everyone = (*OWN["ada"], *OWN["bob"], NOBODY)
    answers: dict[tuple[str, str], tuple[int, str]] = {}
    for run_id in everyone:
        walked = _walk(clients, run_id)
        for (method, url), (code, _) in walked.items():
            assert code < 500, (method, url, code)
            if MARK in url and method == "get":
                assert code != 404, (url, run_id)
        answers.update(walked)
    listed = answers[("get", "/api/orchestration/runs")][1]
    assert all(run_id in listed for run_id in everyone)
    assert all(run_id in answers[("get", "/runs/")][1] for run_id in everyone)
    similar = answers[("get", "/api/orchestration/runs/similar")][1]
    assert {"run-ada-own-1", "run-bob-own-1", NOBODY} <= {
        r["runId"] for r in json.loads(similar)["results"]}
    agents = json.loads(answers[("get", "/api/orchestration/analytics/agents")][1])
    assert (agents["totals"]["runs"], agents["totals"]["failed"]) == (5, 2)


# --- who sees what: each surface on its own ---------------------------------------------------


def _json(client: Any, url: str, **params: Any) -> Any:
    response = client.get(url, params)
    assert response.status_code == 200, (url, response.status_code, response.content[:300])
    return response.json()


def _owner_ids(graph: Any) -> dict[str, str | None]:
    records, _, _ = graph.execute_query(
        "MATCH (r:OrchestrationRun) RETURN r.runId AS runId, r.ownerId AS ownerId",
        database_=settings.NEO4J_DATABASE)
    return {r["runId"]: r["ownerId"] for r in records}


def test_each_run_node_carries_its_owners_id(owned_runs, graph):
    """The writer stores the ledger's owner on the run node (the user's primary key as text),
    none for the run without an owner."""
    ada, bob = owned_runs["ada"], owned_runs["bob"]
    assert _owner_ids(graph) == {**{r: str(ada.pk) for r in OWN["ada"]},
                                 **{r: str(bob.pk) for r in OWN["bob"]}, NOBODY: None}


def test_lists_and_their_filters_never_reach_another_users_runs(owned_runs):
    """The API list, whatever its filters, the web list and the form's recent runs hold the
    user's own runs; a search for the other user's words or runId finds nothing."""
    api, web = _clients(owned_runs["ada"])
    assert [r["runId"] for r in _json(api, "/api/orchestration/runs")["results"]] == \
        list(reversed(OWN["ada"]))
    for text in ("bob", "run-bob-own-1", SECRET["bob"], "nobody"):
        assert _json(api, "/api/orchestration/runs", text=text)["results"] == []
    assert _json(api, "/api/orchestration/runs", status="failed")["results"][0]["runId"] == \
        "run-ada-own-2"
    for page in ("/runs/", "/"):
        html = web.get(page).content.decode()
        assert "run-bob" not in html and NOBODY not in html
    assert 'data-scope="own"' in web.get("/runs/").content.decode()


def test_diff_against_another_users_run_is_an_unknown_run(owned_runs):
    """A diff of the user's run against the other user's run (or the ownerless one) is the 404
    of a run that does not exist; against the user's own other run it answers."""
    api, _ = _clients(owned_runs["ada"])
    url = "/api/orchestration/runs/run-ada-own-1/diff"
    unknown = api.get(url, {"against": "run-never"})
    assert unknown.status_code == 404
    for hidden in ("run-bob-own-1", NOBODY):
        response = api.get(url, {"against": hidden})
        assert response.status_code == 404
        assert response.json() == json.loads(unknown.content.decode().replace("run-never",
                                                                              hidden))
    diff = _json(api, url, against="run-ada-own-2")
    assert (diff["base"]["runId"], diff["head"]["runId"]) == ("run-ada-own-2", "run-ada-own-1")


def test_similar_runs_are_the_users_own_and_shared_nodes_do_not_leak(owned_runs):
    """Searching the other user's words finds nothing; a search both users' runs match gives
    each their own run only, with what matched in their own words (the Ingredient node both
    recipes use keeps bob's name, which ada never sees); the auditor finds both."""
    ada_api, _ = _clients(owned_runs["ada"])
    bob_api, _ = _clients(owned_runs["bob"])
    audrey_api, _ = _clients(owned_runs["audrey"])
    similar = "/api/orchestration/runs/similar"
    assert _json(ada_api, similar, q=SECRET["bob"])["results"] == []
    for name, api in (("ada", ada_api), ("bob", bob_api)):
        results = _json(api, similar, q="vinaigrette oil")["results"]
        assert [r["runId"] for r in results] == [OWN[name][0]]
        texts = json.dumps(results)
        assert SECRET["ada" if name == "bob" else "bob"] not in texts
    assert {r["runId"] for r in _json(audrey_api, similar, q=SECRET["bob"])["results"]} == {
        "run-bob-own-1"}
    assert {r["runId"] for r in _json(audrey_api, similar, q="vinaigrette")["results"]} == {
        "run-ada-own-1", "run-bob-own-1", NOBODY}


def test_context_is_the_users_own_run_in_their_own_words(owned_runs):
    """A run's context answers its owner (ingredient names as their recipe gives them) and the
    auditor; the other user gets the 404 of an unknown run."""
    ada_api, _ = _clients(owned_runs["ada"])
    bob_api, _ = _clients(owned_runs["bob"])
    audrey_api, _ = _clients(owned_runs["audrey"])
    context = _json(ada_api, "/api/orchestration/runs/run-ada-own-1/context")
    assert [i["name"] for i in context["recipe"]["ingredients"]][0] == SHARED_NAME["ada"]
    assert bob_api.get("/api/orchestration/runs/run-ada-own-1/context").status_code == 404
    audrey = _json(audrey_api, "/api/orchestration/runs/run-ada-own-1/context")
    # The prompt's nearest runs are each viewer's own (retrieval is scoped): the rest is equal.
    assert {k: v for k, v in audrey.items() if k != "prompt"} == {
        k: v for k, v in context.items() if k != "prompt"}
    assert set(context["prompt"]["neighbours"]) <= {"run-ada-own-2"}
    assert "bobprivateword" not in context["prompt"]["text"]


def test_retrieval_by_composition_stays_in_the_users_runs(owned_runs):
    """Runs like this one and the free-word search answer with the user's runs only, and a word
    only another owner's recipe uses names nothing (the vocabulary is the user's own)."""
    ada_api, _ = _clients(owned_runs["ada"])
    like = _json(ada_api, "/api/orchestration/runs/run-ada-own-1/similar")
    assert {h["runId"] for h in like["results"]} <= {"run-ada-own-2"}
    found = _json(ada_api, "/api/orchestration/runs/search", q="bobprivateword oil")
    assert [m["text"] for m in found["mentions"]] == ["oil"]
    assert {h["runId"] for h in found["results"]} <= {"run-ada-own-1", "run-ada-own-2"}
    assert "bobprivateword" not in str(like) + str(found["results"])


def test_analytics_count_the_users_own_runs_only(owned_runs):
    """Every analytics answer covers the user's runs (two, one failed at QAValidator), with
    the ingredient named as the user's recipes name it; the auditor's covers all five."""
    ada_api, _ = _clients(owned_runs["ada"])
    audrey_api, _ = _clients(owned_runs["audrey"])
    base = "/api/orchestration/analytics"
    agents = _json(ada_api, f"{base}/agents")
    assert (agents["totals"]["runs"], agents["totals"]["failed"]) == (2, 1)
    assert {a["agent"]: a["failures"] for a in agents["agents"]}["QAValidator"] == 1
    ingredients = {i["ingredientId"]: i for i in _json(ada_api, f"{base}/ingredients")[
        "ingredients"]}
    assert set(ingredients) == {SHARED_INGREDIENT, *(f"ing-{r}" for r in OWN["ada"])}
    assert ingredients[SHARED_INGREDIENT]["name"] == SHARED_NAME["ada"]
    assert ingredients[SHARED_INGREDIENT]["runs"] == 2
    costs = _json(ada_api, f"{base}/costs")
    assert {s["recipeId"] for s in costs["series"]} == {f"recipe-{r}" for r in OWN["ada"]}
    assert _json(ada_api, f"{base}/costs", recipe="recipe-run-bob-own-1")["series"] == []
    assert _json(ada_api, f"{base}/validation-errors")["validated"] == 1
    assert _json(ada_api, f"{base}/budget-breaches")["totals"]["runs"] == 2
    everyone = _json(audrey_api, f"{base}/ingredients")
    assert {i["ingredientId"]: i["runs"] for i in everyone["ingredients"]}[SHARED_INGREDIENT] == 5
    assert _json(audrey_api, f"{base}/validation-errors")["validated"] == 3


def test_posting_a_runid_another_user_holds_is_a_conflict_whatever_its_content(owned_runs,
                                                                               graph):
    """bob posting ada's very run, or other content under her runId, is a 409 that says only
    that the runId is taken (the same words both times); ada's ledger row and run node keep
    their owner and content; ada posting her run again is the usual 200."""
    ada_api, _ = _clients(owned_runs["ada"])
    bob_api, _ = _clients(owned_runs["bob"])
    same = _seeded("run-ada-own-1", "ada")
    other = _seeded("run-ada-own-1", "bob")
    answers = [bob_api.post("/api/orchestration/runs", body, format="json")
               for body in (same, other)]
    assert [a.status_code for a in answers] == [409, 409]
    assert answers[0].json() == answers[1].json()
    assert "already taken" in answers[0].json()["detail"]
    record = RunRecord.objects.get(run_id="run-ada-own-1")
    assert record.submitted_by == owned_runs["ada"]
    assert _owner_ids(graph)["run-ada-own-1"] == str(owned_runs["ada"].pk)
    assert ada_api.post("/api/orchestration/runs", same, format="json").status_code == 200


def test_ingest_run_gives_runs_the_named_owner_or_none(people, graph, tmp_path):
    """`ingest_run --owner ada` makes the runs ada's (hers to see, the node carries her id);
    without --owner they have no owner and only the auditor sees them; an unknown --owner is
    refused before anything is written."""
    from django.core.management import CommandError, call_command

    source = tmp_path / "runs.jsonl"
    source.write_text(json.dumps(_seeded("run-cli-ada", "ada")) + "\n")
    call_command("ingest_run", str(source), "--owner", "ada", stdout=io.StringIO())
    source.write_text(json.dumps(_seeded("run-cli-nobody", "nobody")) + "\n")
    call_command("ingest_run", str(source), stdout=io.StringIO())
    ada_api, _ = _clients(people["ada"])
    audrey_api, _ = _clients(people["audrey"])
    assert [r["runId"] for r in _json(ada_api, "/api/orchestration/runs")["results"]] == [
        "run-cli-ada"]
    assert ada_api.get("/api/orchestration/runs/run-cli-nobody").status_code == 404
    assert audrey_api.get("/api/orchestration/runs/run-cli-nobody").status_code == 200
    assert _owner_ids(graph) == {"run-cli-ada": str(people["ada"].pk), "run-cli-nobody": None}
    source.write_text(json.dumps(_seeded("run-cli-ghost", "nobody")) + "\n")
    with pytest.raises(CommandError, match="no user is called 'ghost'"):
        call_command("ingest_run", str(source), "--owner", "ghost", stdout=io.StringIO())
    assert not RunRecord.objects.filter(run_id="run-cli-ghost").exists()


def test_sync_run_owners_gives_older_run_nodes_their_owner(people, graph):
    """A run node written without its owner (as before run nodes carried one) is missing from
    its owner's analytics until `sync_run_owners` copies the owner from the ledger; a second
    pass changes nothing."""
    from django.core.management import call_command
    from django.utils import timezone

    from graphstore.connection import get_writer

    run = parse_run_result(_seeded("run-old-ada", "ada"))
    get_writer().write(run)  # no owner on the node
    RunRecord.objects.create(run_id=run.run_id, request_text="old", request={},
                             submitted_by=people["ada"], status="succeeded",
                             persisted_at=timezone.now())
    ada_api, _ = _clients(people["ada"])
    agents = "/api/orchestration/analytics/agents"
    assert _json(ada_api, agents)["totals"]["runs"] == 0
    assert ada_api.get(f"/api/orchestration/runs/{run.run_id}").status_code == 200  # ledger
    out = io.StringIO()
    call_command("sync_run_owners", stdout=out)
    assert out.getvalue().startswith("1 run(s)")
    assert _json(ada_api, agents)["totals"]["runs"] == 1
    call_command("sync_run_owners", stdout=out)
    assert out.getvalue().splitlines()[-1].startswith("0 run(s)")


def test_replays_belong_to_whoever_asked_for_them(owned_runs, isolated_intake):
    """The auditor may replay ada's run: the replay is the auditor's, so ada sees neither it in
    her lists nor among the replays on her run's page; bob cannot replay ada's run (404, no run
    started); ada's own replay is hers."""
    audrey_api, audrey_web = _clients(owned_runs["audrey"])
    ada_api, ada_web = _clients(owned_runs["ada"])
    bob_api, bob_web = _clients(owned_runs["bob"])
    replay = audrey_api.post("/api/orchestration/runs/run-ada-own-1/replay")
    assert replay.status_code == 202, replay.content
    replay_id = replay.json()["runId"]
    assert RunRecord.objects.get(run_id=replay_id).submitted_by == owned_runs["audrey"]
    assert replay_id not in json.dumps(_json(ada_api, "/api/orchestration/runs"))
    assert replay_id not in ada_web.get("/runs/run-ada-own-1/").content.decode()
    assert replay_id in audrey_web.get("/runs/run-ada-own-1/").content.decode()
    rows = RunRecord.objects.count()
    assert bob_api.post("/api/orchestration/runs/run-ada-own-1/replay").status_code == 404
    assert bob_web.post("/runs/run-ada-own-1/replay/").status_code == 404
    assert RunRecord.objects.count() == rows
    own = ada_api.post("/api/orchestration/runs/run-ada-own-1/replay")
    assert own.status_code == 202
    assert RunRecord.objects.get(run_id=own.json()["runId"]).submitted_by == owned_runs["ada"]


def test_staff_see_their_own_runs_in_the_admin_and_the_graph_needs_the_permission(
        owned_runs, django_user_model):
    """A staff user with the admin's view permission on runs lists only their own runs in the
    ledger, opens another user's row as not found, and gets no graph browser (403, not on the
    index); a superuser lists every run and browses the graph."""
    from django.contrib.auth.models import Permission

    sam = django_user_model.objects.create_user("sam", password=PASSWORD, is_staff=True)
    sam.user_permissions.add(Permission.objects.get(codename="view_runrecord"))
    sam_api = token_client(sam)
    assert sam_api.post("/api/orchestration/runs", _seeded("run-sam-own-1", "sam"),
                        format="json").status_code == 201
    staff = Client()
    staff.force_login(sam)
    ledger = staff.get("/admin/orchestration/runrecord/").content.decode()
    assert "run-sam-own-1" in ledger and "run-ada-own-1" not in ledger
    # the search (an id subquery over every row's columns) stays within the runs they may see
    searched = staff.get("/admin/orchestration/runrecord/?q=own-1").content.decode()
    assert "run-sam-own-1" in searched and "run-ada-own-1" not in searched
    hidden = RunRecord.objects.get(run_id="run-ada-own-1")
    response = staff.get(f"/admin/orchestration/runrecord/{hidden.pk}/change/")
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert staff.get("/admin/graph/").status_code == 403
    assert staff.get("/admin/graph/OrchestrationRun/").status_code == 403
    assert "/admin/graph/" not in staff.get("/admin/").content.decode()
    root = Client()
    root.force_login(django_user_model.objects.create_superuser("root", password=PASSWORD))
    ledger = root.get("/admin/orchestration/runrecord/").content.decode()
    assert all(run_id in ledger for run_id in (*OWN["ada"], *OWN["bob"], NOBODY))
    assert root.get("/admin/graph/OrchestrationRun/").status_code == 200
