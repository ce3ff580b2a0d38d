"""Retrieval's bounded paths (issue 13) against the real Neo4j, on runs of the scale mix written
by the bulk path (every catalogue product, random proportions, two owners): a candidate scores
the same on the bounded and the exact path, so whenever the exact path's top runs are among the
candidates both give the same top-k in the same order; the bounds never widen the owner's
scope (a user sees their own runs only, an auditor every run)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from graphstore import retrieval
from graphstore.connection import database, get_blob_store, get_driver
from graphstore.cypher.retrieval import VECTOR_INDEX_NAME
from graphstore.scope import RunScope
from orchestration.models import RunRecord
from tests.conftest import make_auditor
from tools.scale_fill import bulk_write
from tools.scale_mix import build, plan

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
ANCHOR = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
API = "/api/orchestration"
RUNS = 160
EVERY = RunScope.every_run()


@pytest.fixture
def users(django_user_model):  # type: ignore[no-untyped-def]
    return [django_user_model.objects.create_user(f"bound-{i}", password="a-long-pass-42")
            for i in range(2)]


@pytest.fixture
def mixed(graph, app_blob_dir, users):  # type: ignore[no-untyped-def]
    """RUNS runs of the scale mix, owners alternating between the two users."""
    for lo in range(0, RUNS, 40):
        bulk_write([(build(plan(i, ANCHOR), ANCHOR), users[i % 2])
                    for i in range(lo, min(RUNS, lo + 40))],
                   driver=get_driver(), database=database(), blobs=get_blob_store(), now=ANCHOR)
    return graph


def _kept_runs(scope: RunScope) -> list[str]:
    """Succeeded, valid runs of the scope (the query runs)."""
    records, _, _ = get_driver().execute_query(
        "MATCH (r:OrchestrationRun)-[:PRODUCED_VALIDATION]->(v:ValidationReport {valid: true}) "
        "WHERE r.status = 'succeeded' AND r.commitChecksum IS NOT NULL "
        "AND ($owner IS NULL OR r.ownerId = $owner) RETURN r.runId AS id ORDER BY id",
        owner=scope.owner_id, database_=database())
    return [rec["id"] for rec in records]


def _candidate_recipes(run_id: str, neighbours: int, scope: RunScope) -> set[str]:
    """The recipes the bounded composition path scores: those of the `neighbours` nearest runs
    by the vector index (kept, in the scope) and the run's own."""
    records, _, _ = get_driver().execute_query(
        "MATCH (r0:OrchestrationRun {runId: $runId})-[:USED_RECIPE]->(rv0:RecipeVersion) "
        "CALL (r0) { "
        f"CALL db.index.vector.queryNodes('{VECTOR_INDEX_NAME}', $k, r0.embedding) "
        "YIELD node AS n WHERE n <> r0 AND n.status = 'succeeded' "
        "AND n.commitChecksum IS NOT NULL AND ($owner IS NULL OR n.ownerId = $owner) "
        "AND EXISTS { (n)-[:PRODUCED_VALIDATION]->(:ValidationReport {valid: true}) } "
        "MATCH (n)-[:USED_RECIPE]->(rv:RecipeVersion) "
        "RETURN collect(DISTINCT rv.checksum) AS near } "
        "RETURN near + [rv0.checksum] AS recipes",
        runId=run_id, k=neighbours, owner=scope.owner_id, database_=database())
    return set(records[0]["recipes"])


def _recipe_of(run_ids: list[str]) -> dict[str, str]:
    records, _, _ = get_driver().execute_query(
        "UNWIND $ids AS id MATCH (r:OrchestrationRun {runId: id})-[:USED_RECIPE]->(rv) "
        "RETURN r.runId AS id, rv.checksum AS recipe", ids=run_ids, database_=database())
    return {rec["id"]: rec["recipe"] for rec in records}


def _composition(run_id: str, scope: RunScope, candidates: int, limit: int
                 ) -> list[tuple[str, float]]:
    return [(rid, round(total, 9)) for rid, _, total in retrieval.composition_neighbours(
        run_id, scope=scope, driver=get_driver(), database=database(), limit=limit,
        candidates=candidates)]


@pytest.mark.parametrize("scope_of", ["every", "owner"])
def test_bounded_composition_is_the_exact_top_k_when_the_candidates_hold_it(mixed, users,
                                                                            scope_of):
    """Over 12 query runs with 12 nearest runs as candidates: every run the bounded path returns
    scores what the exact path gives it, and whenever the exact top 5's recipes are among the
    candidates the bounded top 5 is the exact top 5 (runs, order, scores), which happens for
    most queries here."""
    scope = EVERY if scope_of == "every" else RunScope.owned_by(str(users[0].pk))
    k, neighbours, held = 5, 12, 0
    kept = _kept_runs(scope)
    queries = kept[::len(kept) // 12][:12]
    assert len(queries) == 12
    for run_id in queries:
        exact_all = _composition(run_id, scope, candidates=0, limit=RUNS)
        exact_scores = dict(exact_all)
        bounded = _composition(run_id, scope, candidates=neighbours, limit=k)
        assert bounded, run_id
        for rid, score in bounded:  # a candidate scores the same on both paths
            assert score == pytest.approx(exact_scores[rid]), (run_id, rid)
        top = exact_all[:k]
        recipes = _recipe_of([rid for rid, _ in top])
        if all(recipes[rid] in _candidate_recipes(run_id, neighbours, scope) for rid, _ in top):
            held += 1
            assert bounded == top, run_id
    assert held >= 6, f"the candidates held the exact top {k} for {held} of 12 queries only"


def test_bounded_full_text_scores_candidates_as_the_exact_path(mixed):
    """With a fanout of 3 (the rarest hits fan out while they reach 3 runs in all; the runs of
    the others are the newest 3 they reach): every hit scores, and says it matched, what the
    exact path gives that run, in the exact path's order. With 15, where the recipe hits lead
    ("lemon vinaigrette") the top 5 is the exact top 5; a common ingredient alone ("salt")
    gives the newest 15 runs that use it, the exact path's first."""
    driver, db = get_driver(), database()
    for text in ("lemon vinaigrette", "salt", "olive oil garlic", "glycerin water"):
        exact = {r.run_id: r for r in retrieval.similar_runs(
            text, scope=EVERY, driver=driver, database=db, limit=RUNS, fanout=0)}
        bounded = retrieval.similar_runs(text, scope=EVERY, driver=driver, database=db,
                                         limit=10, fanout=3)
        assert bounded, text
        for hit in bounded:
            assert hit.score == pytest.approx(exact[hit.run_id].score), (text, hit.run_id)
            assert hit.matches == exact[hit.run_id].matches
        ranks = [list(exact).index(hit.run_id) for hit in bounded]
        assert ranks == sorted(ranks), text

    def top(text: str, limit: int, fanout: int) -> list[str]:
        return [r.run_id for r in retrieval.similar_runs(
            text, scope=EVERY, driver=driver, database=db, limit=limit, fanout=fanout)]

    # fanout 15: the ~11 "Lemon vinaigrette" recipe hits (one run each) are the rarest hits and
    # fan out in full, so every run they name is a candidate
    assert top("lemon vinaigrette", 5, 15) == top("lemon vinaigrette", 5, 0)
    assert top("salt", 3, 15) == top("salt", 3, 0)
    salt = retrieval.similar_runs("salt", scope=EVERY, driver=driver, database=db, limit=20,
                                  fanout=15)
    assert len(salt) == 15 and all(m.field == "ingredient" for h in salt for m in h.matches)


def test_runs_like_bounded_and_exact_agree_here(mixed):
    """runs_like with the default bounds gives the same hits as the exact paths on this graph
    (every run is within the default candidates), with the same reasons."""
    driver, db = get_driver(), database()
    for run_id in _kept_runs(EVERY)[::20][:5]:
        bounded = retrieval.runs_like(run_id, scope=EVERY, driver=driver, database=db)
        exact = retrieval.runs_like(run_id, scope=EVERY, driver=driver, database=db,
                                    candidates=0, fanout=0)
        assert [(h.run_id, h.score, h.reasons) for h in bounded] == [
            (h.run_id, h.score, h.reasons) for h in exact], run_id


def test_a_run_without_an_embedding_takes_the_exact_composition_path(mixed):
    """A run written before the embedder still has composition neighbours."""
    run_id = _kept_runs(EVERY)[0]
    get_driver().execute_query("MATCH (r:OrchestrationRun {runId: $id}) REMOVE r.embedding",
                               id=run_id, database_=database())
    hits = retrieval.runs_like(run_id, scope=EVERY, driver=get_driver(), database=database(),
                               signals=("composition",), candidates=5)
    exact = retrieval.runs_like(run_id, scope=EVERY, driver=get_driver(), database=database(),
                                signals=("composition",), candidates=0)
    assert hits and [h.run_id for h in hits] == [h.run_id for h in exact]


def _api(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def _answers(client: APIClient, run_id: str) -> set[str]:
    """The runIds of runs/{id}/similar, runs/similar?q= and runs/search?q= for `client`."""
    found: set[str] = set()
    like = client.get(f"{API}/runs/{run_id}/similar", {"limit": 20})
    assert like.status_code == 200, like.content
    for hit in like.json()["results"]:
        found |= {hit["runId"], *hit["identicalRuns"]}
    for path, q in (("runs/similar", "lemon vinaigrette salt"),
                    ("runs/search", "vinaigrette with 40 % olive oil and salt")):
        response = client.get(f"{API}/{path}", {"q": q, "limit": 50})
        assert response.status_code == 200, response.content
        found |= {hit["runId"] for hit in response.json()["results"]}
    return found


def test_bounded_paths_keep_the_owner_scope(mixed, users, settings):
    """Through the API with small bounds (the walk over common ingredients and the vector
    candidates both in play): a user's similar runs, full-text results and search are all their
    own runs; an auditor's cover both owners."""
    settings.CAP01_SIMILAR_CANDIDATES, settings.CAP01_FULLTEXT_FANOUT = 8, 3
    own = {u.pk: set(RunRecord.objects.filter(submitted_by=u).values_list("run_id", flat=True))
           for u in users}
    for user in users:
        query = next(r for r in _kept_runs(RunScope.owned_by(str(user.pk))))
        found = _answers(_api(user), query)
        assert found and found <= own[user.pk], found - own[user.pk]
    auditor = make_auditor(get_user_model().objects.create_user("bound-audit",
                                                                password="a-long-pass-42"))
    found = _answers(_api(auditor), _kept_runs(EVERY)[0])
    assert found & own[users[0].pk] and found & own[users[1].pk]
