"""Hostile input: every malformed or hostile body of the corpus (tests/security/
corpus.py) is a 4xx in the JSON error shape naming the field, writes no node and no ledger row;
Cypher-injection strings in every free-text field are plain data, stored and read back verbatim,
and no label or relationship type outside the graph schema ever appears."""

from __future__ import annotations

from collections import Counter
from typing import Any
from urllib.parse import quote

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from contracts import parse_run_result
from graphstore.mapper import normalize_run
from orchestration.models import RunRecord
from tests.conftest import count_graph
from tests.security import corpus
from tests.security.graph_checks import assert_only_schema_labels_and_types
from tests.security.urlwalk import urls, view_methods
from tools.synthetic import make_run

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CORPUS = corpus.cases()
INJECTION_RUNS = corpus.injection_runs()


@pytest.fixture
def api(django_user_model: Any) -> APIClient:
    """A client authenticated with an API token (the user has no password: no hashing cost)."""
    user = django_user_model.objects.create_user("mallory")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def send(client: APIClient, case: corpus.Case | corpus.InjectionRun) -> Any:
    endpoint = case.endpoint if isinstance(case, corpus.Case) else corpus.RUNS
    content_type = case.content_type if isinstance(case, corpus.Case) else corpus.JSON
    return client.generic("POST", endpoint, data=case.body, content_type=content_type)


def error_body(response: Any) -> dict[str, Any]:
    """The one JSON error shape: {detail, code, errors: [{field, message, type}]}."""
    assert response["Content-Type"].startswith("application/json"), response.content[:300]
    body = response.json()
    assert set(body) >= {"detail", "code", "errors"}, body
    assert isinstance(body["detail"], str) and body["detail"]
    assert all(set(e) == {"field", "message", "type"} for e in body["errors"]), body
    return body


def problems(case: corpus.Case, response: Any) -> list[str]:
    """What is wrong with the answer to `case` (empty when it is right)."""
    if response.status_code != case.status:
        return [f"status {response.status_code}, expected {case.status}: "
                f"{response.content[:200]!r}"]
    body = error_body(response)
    out = []
    fields = [e["field"] for e in body["errors"]]
    if case.field is not None and case.field not in fields:
        out.append(f"errors name {fields[:5]}, not {case.field!r}")
    if case.says is not None and case.says not in body["detail"]:
        out.append(f"detail {body['detail'][:200]!r} does not say {case.says!r}")
    return out


@pytest.mark.parametrize("case", CORPUS, ids=[c.id for c in CORPUS])
def test_hostile_body_is_a_4xx_naming_the_field_and_writes_nothing(api, graph, case):
    """A hostile body is refused with its 4xx, in the JSON error shape, naming the field;
    no node, relationship or ledger row is written."""
    response = send(api, case)
    assert 400 <= response.status_code < 500, response.content[:300]
    assert problems(case, response) == []
    assert count_graph(graph) == (0, 0)
    assert not RunRecord.objects.exists()


def test_the_corpus_covers_every_category_with_100_cases_or_more():
    """At least 100 refused cases, every category of the issue present, both endpoints."""
    by_category = corpus.summary_by_category(CORPUS)
    assert len(CORPUS) >= 100
    assert {"wrong_type", "missing_field", "percentage_range", "percentage_string",
            "ingredient_count", "duplicate_ids", "body_size", "deep_nesting", "invalid_utf8",
            "nan_infinity", "huge_numbers", "injection_refused", "inconsistent", "utc_range",
            "reserved_id"} <= set(by_category)
    assert {c.endpoint for c in CORPUS} == {corpus.REQUESTS, corpus.RUNS}
    assert any(c.category == "body_size" and len(c.body) >= corpus.TEN_MB for c in CORPUS)
    assert all(400 <= c.status < 500 for c in CORPUS)


def test_whole_corpus_in_a_row_gives_no_server_error_and_writes_nothing(api, graph, capsys):
    """The whole corpus sent in a row: 0 server errors, 0 nodes, 0 ledger rows; prints the
    one-line summary."""
    families: Counter[str] = Counter()
    wrong: dict[str, list[str]] = {}
    for case in CORPUS:
        response = send(api, case)
        families[f"{response.status_code // 100}xx"] += 1
        if found := problems(case, response):
            wrong[case.id] = found
    nodes, relationships = count_graph(graph)
    rows = RunRecord.objects.count()
    per_endpoint = Counter(c.endpoint.rsplit("/", 1)[1] for c in CORPUS)
    line = (f"hostile corpus: {len(CORPUS)} cases ({per_endpoint['requests']} /requests, "
            f"{per_endpoint['runs']} /runs, {len(corpus.summary_by_category(CORPUS))} "
            f"categories): {families['4xx']} 4xx, {families['5xx']} 5xx, "
            f"{len(wrong)} not as expected; nodes written {nodes}, relationships {relationships}"
            f", ledger rows {rows}")
    with capsys.disabled():
        print(f"\n{line}")
    assert families["5xx"] == 0 and families["4xx"] == len(CORPUS), line
    assert wrong == {}
    assert (nodes, relationships, rows) == (0, 0, 0)


# --- Cypher injection as plain data ----------------------------------------------------------


def _at(doc: Any, path: corpus.Path) -> Any:
    for part in path:
        doc = doc[part]
    return doc


def test_injection_strings_are_stored_verbatim_and_change_nothing_else(api, graph):
    """Runs with Cypher-injection strings in every free-text field (and as keys of every
    free-form object) are accepted as plain data: each reads back unchanged from Neo4j, the runs
    written before them stay whole, and no label or relationship type outside the schema
    exists."""
    plain = make_run(3, now=corpus.NOW, run_id="run-plain-before-injection").to_wire()
    assert api.post(corpus.RUNS, plain, format="json").status_code == 201
    written = {plain["metadata"]["id"]: normalize_run(parse_run_result(plain)).to_wire()}
    assert len(INJECTION_RUNS) == len(corpus.INJECTIONS)
    for run in INJECTION_RUNS:
        before = count_graph(graph)
        response = send(api, run)
        assert response.status_code == 201, response.content[:500]
        assert response.json()["summary"]["nodesCreated"] > 0
        written[run.run_id] = normalize_run(parse_run_result(run.body)).to_wire()
        after = count_graph(graph)
        assert after[0] > before[0] and after[1] > before[1]  # nothing was deleted
        replayed = api.get(f"{corpus.RUNS}/{run.run_id}")
        assert replayed.status_code == 200
        wire = replayed.json()
        assert len(run.paths) > 100
        for path in run.paths:
            value = _at(wire, path)
            if isinstance(value, dict):  # a bare-string cypherCommand reads back as an object
                value = value["statement"]
            assert value == run.payload, corpus.path_str(path)
        for obj in corpus.FREE_FORM_OBJECTS:
            assert _at(wire, obj)[run.payload] == run.payload, corpus.path_str(obj)
        # Every run written so far still reads back whole and unchanged.
        for run_id, expected in written.items():
            assert api.get(f"{corpus.RUNS}/{run_id}").json() == expected, run_id
    assert_only_schema_labels_and_types(graph)
    assert RunRecord.objects.count() == len(written)


@pytest.mark.django_db(transaction=False)  # never committed: no worker's reconciler sees it
@pytest.mark.parametrize("payload", corpus.INJECTIONS)
def test_injection_in_a_request_text_is_accepted_as_plain_text(api, isolated_intake, payload):
    """POST /requests with a Cypher-injection string as its text is a 202; the ledger keeps the
    text verbatim (the run is queued on an isolated queue and never started here)."""
    request = {**corpus.base_input(), "userRequest": payload}
    response = api.post(corpus.REQUESTS, request, format="json")
    assert response.status_code == 202, response.content
    record = RunRecord.objects.get(run_id=response.json()["runId"])
    assert record.request_text == payload and record.request["userRequest"] == payload


# --- hostile path and query parameters ---------------------------------------------------------

HOSTILE_IDS = [*corpus.INJECTIONS, "a\x00b", "r" * 10_000, "\U0001f600", "..", "run-1\n", " "]


@pytest.mark.parametrize("value", HOSTILE_IDS, ids=[f"id-{i}" for i in range(len(HOSTILE_IDS))])
def test_hostile_path_and_query_values_are_4xx(api, graph, client, django_user_model, value):
    """Every URL with a path parameter (found by walking the resolver), and the list filters,
    answer hostile values - injection strings, NUL, 10,000 characters, emoji, dots - with a 4xx
    (404 for an unknown run; a web form action may redirect back within the site), never a 5xx;
    nothing is written."""
    client.force_login(django_user_model.objects.get(username="mallory"))
    plain = dict(urls())
    hostile = dict(urls(value=quote(value, safe="")))
    assert len(hostile) == len(plain)
    with_parameter = sorted(url for url in hostile if url not in plain)
    assert "/api/orchestration/runs/" + quote(value, safe="") in with_parameter
    for url in with_parameter:
        if url.startswith("/admin/"):
            continue  # staff only (test_access_control), and Django's own
        caller = api if url.startswith("/api/") else client
        for method in view_methods(hostile[url]):
            response = getattr(caller, method)(url)
            code = response.status_code
            if caller is client and code in (302, 303):
                location = response["Location"]
                assert location.startswith("/") and not location.startswith("//"), location
                continue
            assert 400 <= code < 500, (url, method, code)
    for url, params in [(corpus.RUNS, {"text": value}), (corpus.RUNS, {"status": value}),
                        (corpus.RUNS, {"since": value}), (corpus.RUNS, {"cursor": value}),
                        (corpus.RUNS, {value[:50]: "1"})]:
        response = api.get(url, params)
        assert response.status_code in (200, 400), (params, response.status_code)
    assert count_graph(graph) == (0, 0)
    assert not RunRecord.objects.exists()


# --- the web form -------------------------------------------------------------------------------

LEMON_FORM = {"user_request": "lemon vinaigrette", "target_batch_size": "5", "target_unit": "kg"}
FORM_CASES = [
    ("cost-map-json-nested-too-deep", "cost_map", '{"ing-salt": ' + "[" * 300_000 + "]" * 300_000
     + "}"),
    ("cost-map-json-5000-digit-integer", "cost_map", '{"ing-salt": ' + "9" * 5000 + "}"),
    ("cost-map-json-nan", "cost_map", '{"ing-salt": NaN}'),
    ("cost-map-json-array", "cost_map", "[1, 2, 3]"),
    ("cost-map-injection-key", "cost_map", f"{corpus.INJECTIONS[0]} = 1"),
    ("density-map-overflow", "density_map", "ing-salt = 1e999"),
    ("density-map-string", "density_map", "ing-salt = dense"),
    ("batch-size-nan", "target_batch_size", "NaN"),
    ("batch-size-infinity", "target_batch_size", "Infinity"),
    ("batch-size-5000-digits", "target_batch_size", "1" * 5000),
    ("batch-size-negative", "target_batch_size", "-5"),
    ("unit-injection", "target_unit", corpus.INJECTIONS[1]),
    ("request-nul-character", "user_request", "lemon\x00vinaigrette"),
    ("request-2001-characters", "user_request", "x" * 2001),
]


@pytest.mark.parametrize(("field", "value"), [(f, v) for _, f, v in FORM_CASES],
                         ids=[c[0] for c in FORM_CASES])
def test_hostile_form_input_is_a_400_with_the_error_on_its_field(client, django_user_model,
                                                                 field, value):
    """The request form answers hostile input with 400 and the error next to its field; no run
    is recorded."""
    client.force_login(django_user_model.objects.create_user("mallory"))
    response = client.post("/", {**LEMON_FORM, field: value})
    assert response.status_code == 400
    assert field in response.context["form"].errors, response.context["form"].errors
    assert not RunRecord.objects.exists()
