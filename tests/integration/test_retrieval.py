"""GraphRAG retrieval against the real Neo4j: full-text search ranks the expected seeded run
first for queries written for it, leaves out invalid, failed and uncommitted runs, survives
Lucene syntax in the query; the context endpoint assembles a run's subgraph as JSON."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.conf import settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from graphstore import retrieval
from graphstore.connection import database, get_writer
from graphstore.errors import RunNotFound
from graphstore.scope import RunScope
from tests.conftest import make_auditor
from tests.insight_seed import seeded_run

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

API = "/api/orchestration"
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

VINAIGRETTE = [("ing-olive-oil", "Olive oil", 60.0), ("ing-lemon-juice", "Lemon juice", 25.0),
               ("ing-dijon-mustard", "Dijon mustard", 10.0), ("ing-salt", "Salt", 5.0)]
TOMATO = [("ing-tomato-paste", "Tomato paste", 70.0), ("ing-basil", "Basil", 10.0),
          ("ing-olive-oil", "Olive oil", 12.0), ("ing-garlic", "Garlic", 6.0),
          ("ing-salt", "Salt", 2.0)]
LOTION = [("ing-water", "Water", 70.0), ("ing-shea-butter", "Shea butter", 15.0),
          ("ing-glycerin", "Glycerin", 8.0), ("ing-cetearyl-alcohol", "Cetearyl alcohol", 6.0),
          ("ing-phenoxyethanol", "Phenoxyethanol", 1.0)]
DRESSING = [("ing-sunflower-oil", "Sunflower oil", 55.0), ("ing-honey", "Honey", 20.0),
            ("ing-dijon-mustard", "Dijon mustard", 15.0),
            ("ing-white-wine-vinegar", "White wine vinegar", 10.0)]


def seed_runs() -> list[Any]:
    at = lambda hours: T0 + timedelta(hours=hours)  # noqa: E731
    return [
        seeded_run("r-vinaigrette", started=at(0), request="lemon vinaigrette for a salad bar",
                   recipe=("recipe-vinaigrette", "Lemon vinaigrette"), ingredients=VINAIGRETTE,
                   total_cost=9.5),
        seeded_run("r-tomato", started=at(1), request="tomato basil pasta sauce",
                   recipe=("recipe-tomato", "Tomato basil sauce"), ingredients=TOMATO,
                   batch=20.0, total_cost=31.0),
        seeded_run("r-lotion", started=at(2), request="shea butter body lotion",
                   recipe=("recipe-lotion", "Shea butter lotion"), ingredients=LOTION,
                   batch=2.5, total_cost=18.25),
        seeded_run("r-dressing", started=at(3), request="honey mustard dressing",
                   recipe=("recipe-dressing", "Honey mustard dressing"), ingredients=DRESSING,
                   total_cost=12.0),
        # Would match "lemon vinaigrette" best, but are not committed, valid, succeeded runs.
        seeded_run("x-invalid", started=at(4), request="lemon vinaigrette lemon vinaigrette",
                   recipe=("recipe-vinaigrette-bad", "Lemon vinaigrette"),
                   ingredients=VINAIGRETTE, errors=[("RecipeEngineer", "recipe.ingredients",
                                                     "critical")]),
        seeded_run("x-failed", started=at(5), request="lemon vinaigrette extra lemony",
                   recipe=("recipe-vinaigrette-failed", "Lemon vinaigrette"),
                   ingredients=VINAIGRETTE, durations=(10, 10, 10),
                   failed_agent="GraphBuilder"),
        seeded_run("x-uncommitted", started=at(6), request="classic lemon vinaigrette",
                   recipe=("recipe-vinaigrette-u", "Classic lemon vinaigrette"),
                   ingredients=VINAIGRETTE),
    ]


EXCLUDED = {"x-invalid", "x-failed", "x-uncommitted"}


@pytest.fixture
def seeded(graph):  # type: ignore[no-untyped-def]
    writer = get_writer()
    for run in seed_runs():
        writer.write(run)
    graph.execute_query("MATCH (r:OrchestrationRun {runId: 'x-uncommitted'}) "
                        "REMOVE r.commitChecksum", database_=settings.NEO4J_DATABASE)
    return graph


@pytest.fixture
def api(django_user_model) -> APIClient:  # type: ignore[no-untyped-def]
    """An auditor's token: the seeded runs have no owner (scoping: tests/security/)."""
    user = make_auditor(django_user_model.objects.create_user("rae",
                                                             password="a-long-test-password-42"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def _search(driver: Any, text: str, limit: int = 10) -> list[retrieval.SimilarRun]:
    return retrieval.similar_runs(text, scope=RunScope.every_run(), driver=driver,
                                  database=database(), limit=limit)


# --- the query text ------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("Lemon Vinaigrette", '"lemon vinaigrette"^2 lemon vinaigrette'),
    ("lemon AND (", '"lemon and"^2 lemon and'),
    ('title:"x" OR y~2 [a TO b] {c} /re/ \\ * ? ^3 +z -w && || !', None),
    ("crème brûlée", '"crème brûlée"^2 crème brûlée'),
    ("basil", "basil"),
    ("(( )) ** ??", None),
    ("", None),
])
def test_lucene_query_keeps_only_words(text, expected):
    """Only letters and digits reach Lucene, lower-cased (AND/OR/NOT lose their meaning), as a
    boosted phrase plus single terms; text without words gives no query."""
    query = retrieval.lucene_query(text)
    if expected is not None or not any(ch.isalnum() for ch in text):
        assert query == expected
    else:
        assert query is not None
        assert set(query) - set('"^2 ') <= set("abcdefghijklmnopqrstuvwxyz0123456789")


def test_query_terms_are_bounded():
    """At most 32 terms of at most 64 characters."""
    terms = retrieval.query_terms(" ".join(["word"] * 100) + " " + "x" * 500)
    assert len(terms) == 32 and all(len(t) <= 64 for t in terms)


# --- ranking -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "first"), [
    ("lemon vinaigrette", "r-vinaigrette"),
    ("a vinaigrette with lemon for salads", "r-vinaigrette"),
    ("shea butter lotion", "r-lotion"),
    ("body lotions", "r-lotion"),  # stemming: lotions -> lotion
    ("glycerin", "r-lotion"),  # an ingredient only
    ("basil tomato", "r-tomato"),
    ("garlic pasta", "r-tomato"),
    ("honey mustard", "r-dressing"),
    ("sunflower oil and white wine vinegar", "r-dressing"),
])
def test_the_expected_run_ranks_first(seeded, text, first):
    """Queries written for the seeded runs rank the run they describe first; only committed,
    succeeded, valid runs appear."""
    results = _search(seeded, text)
    assert results, text
    assert results[0].run_id == first, [(r.run_id, r.score) for r in results]
    assert not {r.run_id for r in results} & EXCLUDED
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)


def test_results_say_what_matched(seeded):
    """Each result carries its request text, recipe, score and the fields and texts that
    matched."""
    top = _search(seeded, "lemon vinaigrette")[0]
    assert top.request == "lemon vinaigrette for a salad bar"
    assert (top.recipe_id, top.recipe) == ("recipe-vinaigrette", "Lemon vinaigrette")
    assert top.matched_fields == ["ingredient", "recipe", "request"]
    assert {(m.field, m.text) for m in top.matches} == {
        ("request", "lemon vinaigrette for a salad bar"), ("recipe", "Lemon vinaigrette"),
        ("ingredient", "Lemon juice")}
    assert top.score == pytest.approx(sum(m.score for m in top.matches))
    assert top.started_at == T0
    glycerin = _search(seeded, "glycerin")
    assert [(r.run_id, r.matched_fields) for r in glycerin] == [("r-lotion", ["ingredient"])]


def test_a_shared_ingredient_finds_every_run_using_it(seeded):
    """An ingredient shared by recipes reaches each of their (eligible) runs; the whole phrase
    ranks above one word of it ("Sunflower oil"); `limit` cuts the list."""
    ranked = [r.run_id for r in _search(seeded, "olive oil")]
    assert set(ranked[:2]) == {"r-vinaigrette", "r-tomato"} and ranked[2:] == ["r-dressing"]
    assert len(_search(seeded, "olive oil", limit=1)) == 1


def test_no_match_and_stop_words_give_nothing(seeded):
    """Words found nowhere, or only stop words, give an empty list."""
    assert _search(seeded, "zanzibar quokka") == []
    assert _search(seeded, "the and of") == []


# --- the API -------------------------------------------------------------------------------------


def test_api_similar(seeded, api):
    """GET runs/similar ranks the runs (and is not taken for a runId)."""
    response = api.get(f"{API}/runs/similar", {"q": "shea butter lotion", "limit": 2})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["query"] == "shea butter lotion" and body["terms"] == ["shea", "butter", "lotion"]
    first = body["results"][0]
    assert first["runId"] == "r-lotion" and first["recipe"] == "Shea butter lotion"
    assert first["request"] == "shea butter body lotion" and first["score"] > 0
    assert set(first["matchedFields"]) == {"request", "recipe", "ingredient"}
    assert first["startedAt"] == "2026-11-20T11:00:00Z"
    assert len(body["results"]) <= 2


@pytest.mark.parametrize("q", [
    "lemon AND (", 'lemon "vinaigrette', "lemon)", "lemon~~", "lemon^", "lemon\\", "lemon/",
    "title:lemon", "[lemon TO", "{lemon", "lemon*?", "lemon && || !", "NOT lemon", "-lemon +",
    "lemon' OR 1=1 --", "lemon}) RETURN 1 //",
])
def test_api_similar_survives_lucene_and_cypher_syntax(seeded, api, q):
    """Query syntax in q is neither an error nor interpreted: the words are searched."""
    response = api.get(f"{API}/runs/similar", {"q": q})
    assert response.status_code == 200, response.content
    assert response.json()["results"][0]["runId"] == "r-vinaigrette"


@pytest.mark.parametrize(("params", "field"), [
    ({}, "q"), ({"q": ""}, "q"), ({"q": "(( ))"}, "q"), ({"q": "x" * 501}, "q"),
    ({"q": "lemon", "limit": "0"}, "limit"), ({"q": "lemon", "limit": "51"}, "limit"),
    ({"q": "lemon", "top": "3"}, "top"),
])
def test_api_similar_refuses_bad_parameters(graph, api, params, field):
    """A missing or wordless q, a bad limit or an unknown parameter is a 400 naming it."""
    response = api.get(f"{API}/runs/similar", params)
    assert response.status_code == 400, response.content
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_context_is_the_runs_subgraph_as_json(seeded, api):
    """GET runs/{runId}/context: request, recipe with ingredients in order, calculation and
    validation, read in one query, the JSON text properties parsed."""
    response = api.get(f"{API}/runs/r-lotion/context")
    assert response.status_code == 200, response.content
    ctx = response.json()
    assert ctx["runId"] == "r-lotion" and ctx["status"] == "succeeded"
    assert ctx["startedAt"] == "2026-11-20T11:00:00+00:00"
    assert ctx["condensed"] is False and ctx["failedAgent"] is None
    assert ctx["request"] == {"text": "shea butter body lotion", "targetBatchSize": 2.5,
                              "targetUnit": "kg"}
    assert ctx["recipe"]["name"] == "Shea butter lotion"
    assert ctx["recipe"]["ingredients"] == [
        {"id": i, "name": name, "percentage": pct} for i, name, pct in LOTION]
    calc = ctx["calculation"]
    assert (calc["batch"], calc["unit"]) == (2.5, "kg")
    assert calc["costs"]["total"] == 18.25 and calc["costs"]["currency"] == "USD"
    assert [s["ingredientId"] for s in calc["scaled"]] == [i for i, _, _ in LOTION]
    assert calc["scaled"][0]["scaledQuantity"] == 1.75
    assert ctx["validation"] == {"valid": True, "canProceed": True,
                                 "summary": "All checks passed.", "errorCount": 0,
                                 "warningCount": 0, "errors": [], "warnings": []}


def test_context_of_a_failed_and_an_invalid_run(seeded):
    """A failed run has no validation (null), an invalid one lists its errors."""
    failed = retrieval.run_context("x-failed", driver=seeded, database=database())
    assert failed["status"] == "failed" and failed["failedAgent"] == "GraphBuilder"
    assert failed["recipe"] is not None and failed["calculation"] is not None
    assert failed["validation"] is None
    invalid = retrieval.run_context("x-invalid", driver=seeded, database=database())
    assert invalid["validation"]["valid"] is False
    assert invalid["validation"]["errors"] == [{
        "agent": "RecipeEngineer", "field": "recipe.ingredients", "severity": "critical",
        "message": "recipe.ingredients is wrong"}]


def test_context_of_an_unknown_or_uncommitted_run_is_404(seeded, api):
    """No committed run under the runId: 404 (RunNotFound)."""
    for run_id in ("no-such-run", "x-uncommitted"):
        response = api.get(f"{API}/runs/{run_id}/context")
        assert response.status_code == 404, response.content
        assert response.json()["code"] == "not_found"
    with pytest.raises(RunNotFound):
        retrieval.run_context("x-uncommitted", driver=seeded, database=database())


def test_similar_without_the_indexes_is_a_503(seeded, api):
    """If the full-text indexes are missing, the API says so (503) instead of failing."""
    seeded.execute_query(f"DROP INDEX {retrieval.REQUEST_INDEX}",
                         database_=settings.NEO4J_DATABASE)
    try:
        response = api.get(f"{API}/runs/similar", {"q": "lemon"})
        assert response.status_code == 503, response.content
        assert response.json()["code"] == "retrieval_unavailable"
        assert "install_graph_schema" in response.json()["detail"]
    finally:
        from graphstore.installer import install_schema

        install_schema(seeded, database=settings.NEO4J_DATABASE)


def test_a_run_is_found_the_moment_its_write_returns(graph):
    """The full-text indexes are eventually consistent (their Lucene update is off the commit
    path), yet a search straight after a write finds the run: the search waits for the index
    first (FULLTEXT_FRESH). Twenty write-then-search rounds, each for a word only its run has."""
    writer = get_writer()
    scope = RunScope.every_run()
    for i in range(20):
        word = f"quokka{i}berry"
        writer.write(seeded_run(f"r-fresh-{i}", started=T0 + timedelta(minutes=i),
                                request=f"{word} vinaigrette",
                                recipe=(f"recipe-fresh-{i}", "Fresh vinaigrette"),
                                ingredients=VINAIGRETTE))
        hits = retrieval.similar_runs(word, scope=scope, driver=graph, database=database())
        assert [h.run_id for h in hits] == [f"r-fresh-{i}"]


def test_the_installer_rebuilds_a_full_text_index_made_with_another_configuration(graph):
    """An index created before the full-text indexes became eventually consistent (IF NOT
    EXISTS would leave it so) is dropped and built again by install_schema, with the data it
    indexed still found."""
    from graphstore.cypher.schema import FULLTEXT_CONFIG, FULLTEXT_INDEX_CONFIGS
    from graphstore.installer import install_schema

    get_writer().write(seed_runs()[0])
    db = settings.NEO4J_DATABASE
    graph.execute_query(f"DROP INDEX {retrieval.REQUEST_INDEX}", database_=db)
    graph.execute_query(
        f"CREATE FULLTEXT INDEX {retrieval.REQUEST_INDEX} FOR (n:UserRequest) ON EACH "
        "[n.userRequest] OPTIONS {indexConfig: {`fulltext.analyzer`: 'english'}}", database_=db)

    def configs() -> dict[str, dict[str, Any]]:
        records, _, _ = graph.execute_query(FULLTEXT_INDEX_CONFIGS, database_=db)
        return {r["name"]: dict(r["config"]) for r in records}

    assert configs()[retrieval.REQUEST_INDEX]["fulltext.eventually_consistent"] is False
    install_schema(graph, database=db)
    after = configs()
    for name in (retrieval.REQUEST_INDEX, retrieval.RECIPE_INDEX, retrieval.INGREDIENT_INDEX):
        assert {k: after[name][k] for k in FULLTEXT_CONFIG} == FULLTEXT_CONFIG
    hits = retrieval.similar_runs("salad bar", scope=RunScope.every_run(),
                                  driver=graph, database=database())
    assert [h.run_id for h in hits] == ["r-vinaigrette"]
