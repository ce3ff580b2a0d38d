"""Retrieval that uses the graph (issue 14), against the real Neo4j with runs written by the real
writer: runs like this one by composition (the Cypher score equals the pure formula), with
reasons and identical runs collapsed; free words matched by what they name; the vector index
filled at write time and by the backfill; the cited context within its budget; the API and the
run page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.conf import settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from graphstore import retrieval
from graphstore.connection import database, get_embedder, get_writer
from graphstore.embedding import CompositionEmbedder
from graphstore.schema import EMBEDDING_DIMENSIONS
from graphstore.scope import RunScope
from graphstore.similarity import Line, composition_score, log_ratio_similarity
from tests.conftest import make_auditor
from tools.retrieval_eval import formulation_run

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

API = "/api/orchestration"
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

VINAIGRETTE = [("ing-olive-oil", "Olive oil", 60.0, "oil phase", "oil"),
               ("ing-lemon-juice", "Lemon juice", 25.0, "acidulant", "juice"),
               ("ing-dijon-mustard", "Dijon mustard", 10.0, "emulsifier", "condiment"),
               ("ing-salt", "Salt", 5.0, "seasoning", "mineral")]
# Olive oil substituted by sunflower oil, more lemon, less salt.
VARIANT = [("ing-sunflower-oil", "Sunflower oil", 55.0, "oil phase", "oil"),
           ("ing-lemon-juice", "Lemon juice", 32.0, "acidulant", "juice"),
           ("ing-dijon-mustard", "Dijon mustard", 10.0, "emulsifier", "condiment"),
           ("ing-salt", "Salt", 3.0, "seasoning", "mineral")]
MAYONNAISE = [("ing-sunflower-oil", "Sunflower oil", 78.0, "oil phase", "oil"),
              ("ing-egg-yolk", "Egg yolk", 12.0, "emulsifier", "egg"),
              ("ing-lemon-juice", "Lemon juice", 8.0, "acidulant", "juice"),
              ("ing-salt", "Salt", 2.0, "seasoning", "mineral")]
LOTION = [("ing-water", "Water", 75.0, "solvent", "water"),
          ("ing-glycerin", "Glycerin", 20.0, "humectant", "polyol"),
          ("ing-salt", "Salt", 5.0, "thickener", "mineral")]


def seed_runs() -> list[Any]:
    at = lambda minutes: T0 + timedelta(minutes=minutes)  # noqa: E731
    vin = ("recipe-vinaigrette", "Lemon vinaigrette")
    return [
        formulation_run("q-vinaigrette", started=at(0), request="lemon vinaigrette",
                        recipe=vin, lines=VINAIGRETTE, batch=5.0),
        # The same recipe and batch twice (identical: folded into one hit), and at another scale.
        formulation_run("same-a", started=at(1), request="house dressing", recipe=vin,
                        lines=VINAIGRETTE, batch=5.0),
        formulation_run("same-b", started=at(2), request="house dressing again", recipe=vin,
                        lines=VINAIGRETTE, batch=5.0),
        formulation_run("same-big", started=at(3), request="dressing for the plant", recipe=vin,
                        lines=VINAIGRETTE, batch=200.0),
        formulation_run("variant", started=at(4), request="sunflower dressing",
                        recipe=("recipe-sunflower", "Sunflower dressing"), lines=VARIANT),
        formulation_run("mayo", started=at(5), request="mayonnaise",
                        recipe=("recipe-mayo", "Mayonnaise"), lines=MAYONNAISE),
        formulation_run("lotion", started=at(6), request="body lotion",
                        recipe=("recipe-lotion", "Body lotion"), lines=LOTION,
                        domain="personal_care"),
    ]


@pytest.fixture
def seeded(graph):  # type: ignore[no-untyped-def]
    writer = get_writer()
    for run in seed_runs():
        writer.write(run)
    return graph


@pytest.fixture
def api(django_user_model) -> APIClient:  # type: ignore[no-untyped-def]
    user = make_auditor(django_user_model.objects.create_user(
        "ria", password="a-long-test-password-42"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def _like(driver: Any, run_id: str, **kw: Any) -> list[retrieval.RunHit]:
    return retrieval.runs_like(run_id, scope=RunScope.every_run(), driver=driver,
                               database=database(), **kw)


def _lines(rows: list[tuple[str, str, float, str, str]]) -> tuple[Line, ...]:
    return tuple(Line(*row) for row in rows)


def test_composition_ranks_identical_then_variant_then_others(seeded):
    """By composition: the identical recipe first (its two identical runs folded into one hit),
    the same recipe at another scale next, then the substituted variant, the mayonnaise, and the
    lotion (one shared ingredient) last; the query run is never its own hit."""
    hits = _like(seeded, "q-vinaigrette", signals=("composition",))
    order = [h.run_id for h in hits]
    assert order == ["same-b", "same-big", "variant", "mayo", "lotion"], order
    assert hits[0].identical == ("same-a",)
    assert "q-vinaigrette" not in order


def test_the_graph_computes_the_pure_formula(seeded):
    """Each hit's composition parts and total equal graphstore.similarity's on the same data."""
    ranked = retrieval.composition_neighbours("q-vinaigrette", scope=RunScope.every_run(),
                                              driver=seeded, database=database())
    by_id = {rid: (parts, total) for rid, parts, total in ranked}
    parts, total = by_id["variant"]
    expected = composition_score(_lines(VINAIGRETTE), _lines(VARIANT), scale=1.0, cost=1.0)
    assert (parts.shared, parts.function, parts.category) == pytest.approx(
        (expected.shared, expected.function, expected.category))
    assert total == pytest.approx(expected.total)
    big_parts, _ = by_id["same-big"]
    assert big_parts.scale == pytest.approx(log_ratio_similarity(5.0, 200.0))


def test_a_hit_carries_its_reasons(seeded):
    """Shared ingredients with both percentages, the substitute by function, batch and cost."""
    hit = next(h for h in _like(seeded, "q-vinaigrette") if h.run_id == "variant")
    assert hit.reasons is not None
    assert [(s.name, s.query_percentage, s.hit_percentage) for s in hit.reasons.shared] == [
        ("Lemon juice", 25.0, 32.0), ("Dijon mustard", 10.0, 10.0), ("Salt", 5.0, 3.0)]
    assert [(s.query.name, s.hit.name) for s in hit.reasons.substitutes] == [
        ("Olive oil", "Sunflower oil")]
    assert hit.card.batch == 5.0 and hit.card.unit == "kg" and hit.card.cost == 10.0
    assert {s.signal for s in hit.signals} >= {"composition", "vector"}


def test_every_written_run_has_its_embedding(seeded):
    """The writer stores the embedding with the run (the index's dimension, unit length)."""
    records, _, _ = seeded.execute_query(
        "MATCH (r:OrchestrationRun) RETURN r.runId AS id, r.embedding AS e, "
        "r.embeddingModel AS m", database_=settings.NEO4J_DATABASE)
    assert len(records) == 7
    for rec in records:
        assert len(rec["e"]) == EMBEDDING_DIMENSIONS and rec["m"] == "composition"
        assert sum(x * x for x in rec["e"]) == pytest.approx(1.0, rel=1e-5)


def test_vectors_find_the_neighbours(seeded):
    """The vector index ranks the identical recipe first, then the variant; the lotion (cosine
    near 0) is no neighbour at all."""
    ranked = [rid for rid, _ in retrieval.vector_neighbours(
        "q-vinaigrette", scope=RunScope.every_run(), driver=seeded, database=database())]
    assert set(ranked[:3]) == {"same-a", "same-b", "same-big"}
    assert "variant" in ranked and "lotion" not in ranked


def test_backfill_gives_older_runs_their_embedding(seeded):
    """Runs written without an embedding get it from backfill_embeddings (and only those)."""
    seeded.execute_query("MATCH (r:OrchestrationRun) WHERE r.runId IN ['mayo', 'lotion'] "
                         "REMOVE r.embedding", database_=settings.NEO4J_DATABASE)
    done = retrieval.backfill_embeddings(embedder=CompositionEmbedder(), driver=seeded,
                                         database=database(), batch=1)
    assert done == 2
    records, _, _ = seeded.execute_query(
        "MATCH (r:OrchestrationRun) WHERE r.embedding IS NULL RETURN count(r) AS n",
        database_=settings.NEO4J_DATABASE)
    assert records[0]["n"] == 0


def test_free_words_find_runs_by_what_they_name(seeded):
    """"an emulsified dressing with 60 % oil and mustard": the words name an emulsifier, 60 %
    of oil and mustard; a vinaigrette ranks first though its words say none of that, identical
    runs folded, and the lotion is not a hit."""
    found = retrieval.search_runs("an emulsified dressing with 60 % oil and mustard",
                                  scope=RunScope.every_run(), driver=seeded,
                                  database=database(), embedder=get_embedder())
    assert [(m.text, m.percentage) for m in found.mentions] == [
        ("emulsified", None), ("oil", 60.0), ("mustard", None)]
    order = [h.run_id for h in found.hits]
    assert order[0] in {"q-vinaigrette", "same-a", "same-b", "same-big"}, order
    assert len({"q-vinaigrette", "same-a", "same-b"} & set(order)) == 1  # collapsed
    assert "variant" in order
    assert "lotion" not in order  # names none of it, and its vector is orthogonal
    first = found.hits[0]
    assert {m["text"] for m in first.mentions_found} == {"emulsified", "oil", "mustard"}


def test_the_owner_scope_holds(seeded):
    """A user's search sees only their runs (here none are theirs: nothing)."""
    scope = RunScope.owned_by("someone-else")
    assert retrieval.runs_like("q-vinaigrette", scope=scope, driver=seeded,
                               database=database()) == []


def test_api_runs_like_and_search(seeded, api):
    """GET runs/{runId}/similar and runs/search give the hits with their reasons and fields."""
    response = api.get(f"{API}/runs/q-vinaigrette/similar", {"limit": 3})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["runId"] == "q-vinaigrette" and len(body["results"]) == 3
    hit = body["results"][0]
    assert hit["runId"] == "same-b" and hit["identicalRuns"] == ["same-a"]
    assert hit["reasons"]["shared"][0] == {"id": "ing-olive-oil", "name": "Olive oil",
                                           "queryPercentage": 60.0, "hitPercentage": 60.0}
    assert hit["batch"] == 5.0 and hit["cost"] == 10.0 and hit["status"] == "succeeded"
    assert "shared ingredients" in hit["reasons"]["summary"]
    response = api.get(f"{API}/runs/search", {"q": "60 % oil, mustard"})
    assert response.status_code == 200, response.content
    assert response.json()["mentions"][0]["percentage"] == 60.0
    assert response.json()["results"]


@pytest.mark.parametrize(("path", "params", "field"), [
    ("runs/q-vinaigrette/similar", {"limit": 0}, "limit"),
    ("runs/q-vinaigrette/similar", {"k": 3}, "k"),
    ("runs/search", {"q": "%%"}, "q"),
    ("runs/q-vinaigrette/context", {"max_chars": 10}, "max_chars"),
    ("runs/q-vinaigrette/context", {"max_chars": "lots"}, "max_chars"),
    ("runs/q-vinaigrette/context", {"neighbours": 11}, "neighbours"),
])
def test_bad_parameters_are_a_400_naming_the_field(graph, api, path, params, field):
    """Bad values are refused with a 400 that names the parameter."""
    response = api.get(f"{API}/{path}", params)
    assert response.status_code == 400, response.content
    assert field in {e["field"] for e in response.json()["errors"]}


def test_unknown_run_is_a_404(graph, api):
    """runs/{runId}/similar of no committed run: 404."""
    response = api.get(f"{API}/runs/no-such-run/similar")
    assert response.status_code == 404


@pytest.mark.parametrize("max_chars", [200, 600, 4000])
def test_context_prompt_is_cited_and_within_budget(seeded, api, max_chars):
    """The context's prompt: fact lines citing their node, the run first, then its nearest
    runs; never longer than max_chars; what does not fit is counted."""
    response = api.get(f"{API}/runs/q-vinaigrette/context",
                       {"max_chars": max_chars, "neighbours": 2})
    assert response.status_code == 200, response.content
    prompt = response.json()["prompt"]
    assert prompt["chars"] == len(prompt["text"]) <= max_chars
    lines = prompt["text"].split("\n")
    assert all(line.endswith("]") and "[" in line for line in lines)
    assert lines[0].endswith("[OrchestrationRun:q-vinaigrette]")
    assert [f["ref"] for f in prompt["facts"]][: len(lines)] == [
        line.rsplit("[", 1)[1][:-1] for line in lines]
    assert prompt["neighbours"] == ["same-b", "same-big"]
    if max_chars == 4000:
        assert not prompt["truncated"]
        assert "[Ingredient:ing-olive-oil]" in prompt["text"]
        assert "Similar run same-b" in prompt["text"]
    else:
        assert prompt["truncated"] and prompt["omittedFacts"] > 0


def test_the_run_page_shows_similar_runs(seeded, client, django_user_model):
    """The run page's "Similar runs" section is fetched by the page once shown: the page holds
    its place and its address (and a link to it without JavaScript), the address answers the
    section, which lists the hits with reasons, batch, cost, status and the identical runs
    folded."""
    from orchestration.models import RunRecord

    user = make_auditor(django_user_model.objects.create_user(
        "pia", password="a-long-test-password-42"))
    run = seed_runs()[0]
    wire = run.to_wire()
    RunRecord.objects.create(
        run_id="q-vinaigrette", status="succeeded", submitted_by=user,
        request_text=wire["request"]["userRequest"], request=wire["request"], result=wire,
        started_at=run.metadata.timestamp, finished_at=T0, persisted_at=T0,
        stages={e.agent: {"status": e.status, "sequence": e.sequence, "durationMs": e.duration,
                          "memoryMb": 1.5, "error": e.error or ""} for e in run.agent_history})
    client.force_login(user)
    response = client.get("/runs/q-vinaigrette/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="similar-runs" data-similar-url="/runs/q-vinaigrette/similar/"' in page
    assert '<a href="/runs/q-vinaigrette/similar/">Show similar runs</a>' in page
    assert "same-b" not in page  # the page does not wait for the ranking
    block = client.get("/runs/q-vinaigrette/similar/")
    assert block.status_code == 200
    page = block.content.decode()
    assert 'id="similar-runs"' in page
    assert "data-similar-url" not in page
    assert "same-b" in page and "+1 identical run" in page
    assert "Olive oil -&gt; Sunflower oil" in page or "Olive oil -> Sunflower oil" in page
    assert "Shared ingredient" in page


def test_the_similar_runs_of_a_run_not_stored_yet_say_so(seeded, client, django_user_model):
    """A run that is not in the graph yet: its page holds no address to fetch (it says the
    similar runs come once the run is stored), and the address itself says the same."""
    from orchestration.models import RunRecord

    user = django_user_model.objects.create_user("pim", password="a-long-test-password-42")
    wire = seed_runs()[0].to_wire()
    RunRecord.objects.create(run_id="q-pending", status="running", submitted_by=user,
                             request_text=wire["request"]["userRequest"],
                             request=wire["request"])
    client.force_login(user)
    page = client.get("/runs/q-pending/").content.decode()
    assert "data-similar-url" not in page
    assert "Similar runs appear once the run is stored." in page
    block = client.get("/runs/q-pending/similar/")
    assert block.status_code == 200
    assert "Similar runs appear once the run is stored." in block.content.decode()


def _embedding_of(driver: Any, run_id: str) -> tuple[Any, Any]:
    records, _, _ = driver.execute_query(
        "MATCH (r:OrchestrationRun {runId: $id}) RETURN r.embedding AS e, r.embeddingModel AS m",
        id=run_id, database_=settings.NEO4J_DATABASE)
    return (records[0]["e"], records[0]["m"]) if records else (None, None)


def test_the_pipelines_write_leaves_the_embedding_to_a_transaction_of_its_own(graph):
    """persistence.run_persist writes the run without its embedding (embed=False: the vector
    index's upkeep is off the run's write) and sets it right after the run is persisted, so a
    persisted run has the same embedding the writer gives in one statement."""
    from orchestration.services import run_result_ingest

    run = seed_runs()[0]
    outcome = run_result_ingest(user=None, run=run)
    assert outcome.persisted and outcome.created
    embedding, model = _embedding_of(graph, run.run_id)
    assert model == get_embedder().name
    assert embedding is not None and len(embedding) == EMBEDDING_DIMENSIONS
    other = seed_runs()[1]
    get_writer().write(other)  # the writer's default: the embedding with the commit marker
    assert len(_embedding_of(graph, other.run_id)[0]) == EMBEDDING_DIMENSIONS
    same = get_writer().write(seed_runs()[2], embed=False)
    assert same.created and _embedding_of(graph, seed_runs()[2].run_id) == (None, None)


def test_write_embedding_touches_only_a_committed_run(graph):
    """write_embedding on a runId with no committed run writes nothing and says so."""
    run = seed_runs()[0]
    assert get_writer().write_embedding(run.to_wire(), run_id=run.run_id) is False
    records, _, _ = graph.execute_query("MATCH (r:OrchestrationRun) RETURN count(r) AS n",
                                        database_=settings.NEO4J_DATABASE)
    assert records[0]["n"] == 0
    get_writer().write(run, embed=False)
    assert get_writer().write_embedding(run.to_wire(), run_id=run.run_id) is True
    assert len(_embedding_of(graph, run.run_id)[0]) == EMBEDDING_DIMENSIONS
