"""Replay against the real Neo4j and a real Celery worker: a stored run is
re-executed from its stored request with the current agents, linked REPLAY_OF to the original,
and the diff of the two runs' artifacts is served by the API and shown on the run page."""

from __future__ import annotations

import json
from datetime import timedelta
from itertools import count
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from contracts import Recipe, RunResult, parse_input
from orchestration import services
from orchestration.agents import DEFAULT_AGENTS, load_agents
from orchestration.agents.base import AgentContext
from orchestration.agents.recipe_engineer import RecipeEngineer
from orchestration.models import RunRecord, RunStatus
from orchestration.pipeline import (
    STAGE_NAMES,
    config_snapshot,
    finish_run,
    first_envelope,
    run_stage,
)
from orchestration.services import runs_condense
from tests.conftest import ENVELOPE_KEYS, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

API = "/api/orchestration"
LEMON = {"userRequest": "lemon vinaigrette, 5 kg", "targetBatchSize": 5, "targetUnit": "kg",
         "context": {"costMap": {"ing-olive-oil": 9.5}}}


class EarlierRecipeEngineer(RecipeEngineer):
    """The RecipeEngineer as it was before a change: two percentage points more of the largest
    ingredient, taken from the smallest."""

    def run(self, ctx: AgentContext) -> Recipe:
        recipe = super().run(ctx)
        ings = sorted(recipe.ingredients, key=lambda i: i.percentage)
        small, large = ings[0], ings[-1]
        shift = min(2.0, small.percentage)
        changed = [i.model_copy(update={"percentage": round(i.percentage + (
            shift if i.id == large.id else -shift if i.id == small.id else 0.0), 2)})
            for i in recipe.ingredients]
        return recipe.model_copy(update={"ingredients": changed})


EARLIER_AGENTS = {**DEFAULT_AGENTS,
                  "RecipeEngineer": f"{__name__}.EarlierRecipeEngineer"}


def _built(run_id: str, request: dict[str, Any], agents: dict[str, str], *,
           started: Any) -> RunResult:
    """A run made in-process by `agents` (as another deployment would have made it)."""
    loaded = load_agents(agents)
    parsed = parse_input(request)
    ttl = timedelta(minutes=5)
    ticks = count()
    envelope = first_envelope(run_id=run_id, request=parsed, now=started, ttl=ttl,
                              keys=ENVELOPE_KEYS, snapshot=config_snapshot(parsed, agents=agents))
    outcome = None
    for i, name in enumerate(STAGE_NAMES):
        outcome = run_stage(envelope, loaded[name], now=started + timedelta(milliseconds=i),
                            ttl=ttl, keys=ENVELOPE_KEYS, timer=lambda: next(ticks) * 0.001,
                            measure_memory=False)
        assert outcome.next_envelope is not None or outcome.is_last, outcome.entry
        if outcome.next_envelope is None:
            break
        envelope = outcome.next_envelope
    assert outcome is not None
    return finish_run(outcome.state, now=started + timedelta(milliseconds=10))


@pytest.fixture
def user(django_user_model):  # type: ignore[no-untyped-def]
    return django_user_model.objects.create_user("replayer", password="a-long-password-42")


@pytest.fixture
def api(user) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.force_authenticate(user)
    return client


def _persisted(run_id: str) -> RunRecord | None:
    record = RunRecord.objects.get(run_id=run_id)
    return record if record.persisted_at is not None else None


def _replay(api: APIClient, run_id: str) -> dict[str, Any]:
    response = api.post(f"{API}/runs/{run_id}/replay")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["replayOf"] == run_id and body["runId"] != run_id
    assert response["Location"] == f"{API}/runs/{body['runId']}"
    assert body["diffUrl"] == f"{API}/runs/{body['runId']}/diff"
    wait_for(lambda: _persisted(body["runId"]))
    return body


def _replay_links(graph: Any, run_id: str) -> list[str]:
    records, _, _ = graph.execute_query(
        "MATCH (:OrchestrationRun {runId: $id})-[:REPLAY_OF]->(o:OrchestrationRun) "
        "RETURN o.runId AS original", id=run_id, database_=settings.NEO4J_DATABASE)
    return [r["original"] for r in records]


def test_identical_replay_is_linked_and_its_diff_is_empty(api, user, celery_worker, graph):
    """A run made by the worker, replayed through the API with the same agents: the replay is
    a new run from the same stored request, linked REPLAY_OF to the original, and its diff
    (API and run page) is empty."""
    original = services.run_request_create(user=user, request=parse_input(LEMON))
    assert wait_for(lambda: _persisted(original.run_id)).status == RunStatus.SUCCEEDED

    body = _replay(api, original.run_id)
    replay = RunRecord.objects.get(run_id=body["runId"])
    assert replay.status == RunStatus.SUCCEEDED and replay.replay_of == original.run_id
    assert replay.request == original.request
    assert _replay_links(graph, replay.run_id) == [original.run_id]
    stored = api.get(f"{API}/runs/{replay.run_id}").json()
    assert stored["metadata"]["replayOf"] == original.run_id

    diff = api.get(body["diffUrl"]).json()
    assert diff["identical"] is True and diff["changeCount"] == 0, diff
    assert diff["base"]["runId"] == original.run_id and diff["head"]["runId"] == replay.run_id
    assert diff["context"] == {"request": {}, "agents": {}}
    explicit = api.get(f"{API}/runs/{original.run_id}/diff?against={replay.run_id}").json()
    assert explicit["identical"] is True

    web = Client()
    web.force_login(user)
    page = web.get(f"/runs/{replay.run_id}/").content.decode()
    assert 'data-testid="diff-identical"' in page and original.run_id in page
    page = web.get(f"/runs/{original.run_id}/").content.decode()
    assert 'data-testid="replays"' in page and replay.run_id in page
    assert 'data-testid="replay-button"' in page


def test_replay_with_changed_agents_shows_the_diff(api, user, celery_worker, graph):
    """A run stored by an earlier RecipeEngineer, replayed with the current one (on the
    worker, from the web page's button): the diff lists the re-weighted ingredients, the
    scaled quantities and costs that follow, and the agent that changed."""
    stored = _built("run-made-earlier", LEMON, EARLIER_AGENTS, started=timezone.now())
    services.run_result_ingest(user=user, run=stored)

    web = Client()
    web.force_login(user)
    response = web.post(f"/runs/{stored.run_id}/replay/")
    assert response.status_code == 303
    replay_id = response["Location"].strip("/").split("/")[-1]
    assert replay_id != stored.run_id
    wait_for(lambda: _persisted(replay_id))
    assert _replay_links(graph, replay_id) == [stored.run_id]

    diff = api.get(f"{API}/runs/{replay_id}/diff").json()
    assert diff["identical"] is False and diff["unavailable"] == []
    changed = {c["id"]: c["percentage"] for c in diff["ingredients"]["changed"]}
    low, high = sorted(c["delta"] for c in changed.values())
    assert len(changed) == 2 and low == -high and 0 < high <= 2.0
    assert diff["ingredients"]["added"] == [] and diff["ingredients"]["removed"] == []
    assert {q["id"] for q in diff["quantities"]["changed"]} == set(changed)
    assert "total" in diff["costs"] and diff["costs"]["byIngredient"]
    # The earlier agent left an ingredient at 0 %, which QAValidator warns about.
    assert set(diff["validation"]) <= {"warningCount"}
    assert diff["context"]["agents"] == {"RecipeEngineer": {
        "base": EARLIER_AGENTS["RecipeEngineer"], "head": DEFAULT_AGENTS["RecipeEngineer"]}}
    assert diff["changeCount"] == len(diff["ingredients"]["changed"]) + len(
        diff["quantities"]["changed"]) + len(diff["costs"]["byIngredient"]) + sum(
        1 for k in ("total", "perUnit") if k in diff["costs"]) + len(diff["validation"])

    page = web.get(f"/runs/{replay_id}/").content.decode()
    assert 'data-testid="diff"' in page and 'data-diff-section="ingredients"' in page
    assert "EarlierRecipeEngineer" in page


def test_condensed_run_can_be_replayed_and_diffed_on_what_it_kept(api, user, celery_worker,
                                                                  graph):
    """A run condensed by retention keeps its request, so it can be replayed; the diff says
    which sections the condensed original can no longer be compared on and still compares
    the validation outcome."""
    stored = _built("run-old-lemon", LEMON, dict(DEFAULT_AGENTS),
                    started=timezone.now() - timedelta(days=45))
    services.run_result_ingest(user=user, run=stored)
    assert runs_condense().graph.runs[0].run_id == stored.run_id

    body = _replay(api, stored.run_id)
    diff = api.get(body["diffUrl"]).json()
    assert diff["base"]["condensed"] is True and diff["identical"] is False
    assert {g["section"] for g in diff["unavailable"]} == {"ingredients", "quantities", "costs"}
    assert diff["validation"] == {} and diff["changeCount"] == 0


def test_replay_and_diff_errors(api, user, graph):
    """Unknown runs are 404; a diff of a run that is not a replay needs ?against= (400 naming
    it); unknown query parameters are refused; no credentials is a 401."""
    assert api.post(f"{API}/runs/run-nope/replay").status_code == 404
    assert api.get(f"{API}/runs/run-nope/diff").json()["code"] == "not_found"
    stored = _built("run-plain", LEMON, dict(DEFAULT_AGENTS), started=timezone.now())
    services.run_result_ingest(user=user, run=stored)
    response = api.get(f"{API}/runs/run-plain/diff")
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["against"]
    response = api.get(f"{API}/runs/run-plain/diff?agianst=run-x")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "agianst"
    assert api.get(f"{API}/runs/run-plain/diff?against=run-nope").status_code == 404
    same = api.get(f"{API}/runs/run-plain/diff?against=run-plain").json()
    assert same["identical"] is True
    anonymous = APIClient()
    assert anonymous.post(f"{API}/runs/run-plain/replay").status_code == 401
    assert anonymous.get(f"{API}/runs/run-plain/diff").status_code == 401
    assert json.loads(anonymous.get(f"{API}/runs/run-plain/diff").content)["code"] == (
        "not_authenticated")
