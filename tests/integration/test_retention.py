"""Retention against the real Neo4j: runs with backdated timestamps are condensed
(counts before and after), recipes and calculations an active formulation holds are kept, blobs
are removed unless shared, a second pass and a dry run change nothing; the ledger, the command,
the API and the run page follow."""

from __future__ import annotations

import json
import os
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from contracts import RunResult
from contracts.stages import STAGE_NAMES
from graphstore.blobstore import LocalBlobStore
from graphstore.replay import load_run, verify_run
from graphstore.retention import condense_runs, formulation_link, formulation_status_set
from graphstore.writer import RunWriter
from orchestration import services, tasks
from orchestration.models import RetentionSettings, RunRecord
from tests.conftest import NOW, count_graph
from tools.synthetic import make_run

pytestmark = [pytest.mark.integration]

OLD = NOW - timedelta(days=40)
CUTOFF = NOW - timedelta(days=30)
PADDING = 40_000  # cypherCommands past the 32 KB blob threshold


def _db() -> str:
    return str(settings.NEO4J_DATABASE)


def _labels(driver: Any) -> dict[str, int]:
    records, _, _ = driver.execute_query(
        "MATCH (n) UNWIND labels(n) AS label RETURN label, count(*) AS n", database_=_db())
    return {r["label"]: r["n"] for r in records}


def _state(driver: Any) -> list[Any]:
    """Every node and relationship with its properties: what "changes nothing" compares."""
    nodes, _, _ = driver.execute_query(
        "MATCH (n) RETURN labels(n) AS l, properties(n) AS p", database_=_db())
    rels, _, _ = driver.execute_query(
        "MATCH (a)-[r]->(b) RETURN elementId(a) AS a, type(r) AS t, properties(r) AS p, "
        "elementId(b) AS b", database_=_db())
    return sorted(repr(sorted(r.data().items())) for r in [*nodes, *rels])


def _age_blobs(root: Path) -> list[Path]:
    """Blobs as old as their runs (the blob grace period protects recently written ones)."""
    files = [p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")]
    old = OLD.timestamp()
    for path in files:
        os.utime(path, (old, old))
    return files


def _load(driver: Any, run_id: str, store: Any) -> RunResult:
    return load_run(run_id, driver=driver, database=_db(), blob_store=store)


@pytest.fixture
def scenario(graph: Any, blob_store: LocalBlobStore) -> dict[str, RunResult]:
    """Five old runs and one recent run:
    old-blob      graph in a blob of its own
    old-held      recipe and calculation held by an active formulation
    old-shared    same recipe and same blob as the recent run
    old-failed    failed at GraphBuilder (no graph, validation, UI)
    old-retired   recipe held only by a retired formulation
    new-shared    recent (not condensed), sharing recipe and blob with old-shared"""
    writer = RunWriter(graph, database=_db(), blob_store=blob_store)
    runs = {
        "old-blob": make_run(11, now=OLD, run_id="run-old-blob", cypher_padding=PADDING),
        "old-held": make_run(12, now=OLD, run_id="run-old-held"),
        "old-shared": make_run(13, now=OLD, run_id="run-old-shared", cypher_padding=PADDING + 1),
        "old-failed": make_run(14, now=OLD, run_id="run-old-failed", failed_agent="GraphBuilder"),
        "old-retired": make_run(16, now=OLD, run_id="run-old-retired"),
        "new-shared": make_run(13, now=NOW, run_id="run-new-shared", cypher_padding=PADDING + 1),
    }
    for run in runs.values():
        writer.write(run)
    formulation_link(driver=graph, database=_db(), formulation_id="f-held",
                     run_id="run-old-held", now=NOW)
    formulation_link(driver=graph, database=_db(), formulation_id="f-retired",
                     run_id="run-old-retired", now=NOW, status="retired")
    _age_blobs(blob_store.root)
    return runs


def _condense(graph: Any, store: Any, **kwargs: Any) -> Any:
    return condense_runs(driver=graph, database=_db(), blob_store=store, cutoff=CUTOFF,
                         now=NOW, clock=NOW.timestamp, **kwargs)


def test_condensing_keeps_summaries_and_removes_payloads(graph, blob_store, scenario):
    """Old runs lose UIConfig, graph payloads and blobs, validation details and unheld recipes
    and calculations; each stays readable as a summary marked condensed, with a consistent
    marker; the recent run and what it shares are untouched."""
    before = _labels(graph)
    blobs_before = _age_blobs(blob_store.root)
    assert before["OrchestrationRun"] == 6 and before["UIConfig"] == 5
    assert before["CalculationResult"] == 6 and len(blobs_before) == 2

    report = _condense(graph, blob_store, batch_size=2)

    old = sorted(r.run_id for k, r in scenario.items() if k.startswith("old"))
    assert sorted(p.run_id for p in report.runs) == old and report.batches == 3
    after = _labels(graph)
    assert after["OrchestrationRun"] == 6 and after["AgentInvocation"] == before["AgentInvocation"]
    assert after["UserRequest"] == before["UserRequest"]
    assert after["UIConfig"] == 1  # the recent run's
    assert after["GraphSnapshot"] == before["GraphSnapshot"]  # kept as counts
    assert after["ValidationReport"] == before["ValidationReport"]  # kept as outcomes
    assert after["CalculationResult"] == 2  # the recent run's and the one f-held holds
    # old-blob's and old-failed's recipes are gone; old-retired's too (a retired formulation
    # holds nothing); old-held's is held and old-shared's is used by the recent run.
    assert after["RecipeVersion"] == before["RecipeVersion"] - 3
    assert len(report.recipes_deleted) == 3

    for key in ("old-blob", "old-held", "old-shared", "old-failed", "old-retired"):
        run = _load(graph, scenario[key].run_id, blob_store)
        condensed = run.metadata.condensed
        assert condensed is not None and condensed.condensed_at == NOW
        assert run.graph is None and run.validation is None and run.ui_config is None
        assert run.request == scenario[key].request
        assert [e.agent for e in run.agent_history] == [
            e.agent for e in scenario[key].agent_history]
        check = verify_run(run.run_id, driver=graph, database=_db())
        assert check.condensed and check.complete, check
    held = _load(graph, "run-old-held", blob_store)
    assert held.recipe == scenario["old-held"].recipe
    assert held.calculation == scenario["old-held"].calculation
    assert held.metadata.condensed.removed == ["graph", "validation", "uiConfig"]
    assert held.metadata.condensed.validation.valid is True
    assert held.metadata.condensed.graph.node_count == len(scenario["old-held"].graph.nodes)
    failed = _load(graph, "run-old-failed", blob_store)
    assert failed.metadata.condensed.removed == ["recipe", "calculation"]
    assert failed.metadata.condensed.validation is None
    # The blob only old-blob used is gone; the one the recent run shares stays.
    assert [Path(u.removeprefix("file://")) for u in report.blobs_deleted] == [
        p for p in blobs_before if p.exists() is False]
    assert len(report.blobs_deleted) == 1 and len(report.blobs_shared) == 1
    recent = _load(graph, "run-new-shared", blob_store)
    assert recent.graph == scenario["new-shared"].graph  # read back whole, its blob too
    assert recent.ui_config is not None and recent.metadata.condensed is None
    assert verify_run("run-new-shared", driver=graph, database=_db()).complete


def test_second_pass_and_dry_run_change_nothing(graph, blob_store, scenario):
    """A dry run changes nothing and plans exactly what the pass then does; after the pass, a
    second one (dry or not) finds nothing and leaves the graph and the blobs as they are."""
    state, files = _state(graph), sorted(_age_blobs(blob_store.root))
    dry = _condense(graph, blob_store, dry_run=True)
    assert _state(graph) == state and sorted(_age_blobs(blob_store.root)) == files
    assert len(dry.runs) == 5 and dry.nodes_deleted == 0

    real = _condense(graph, blob_store)
    assert [p.as_dict() for p in real.runs] == [p.as_dict() for p in dry.runs]
    assert sorted(real.recipes_deleted) == sorted(dry.recipes_deleted)
    assert real.blobs_deleted == dry.blobs_deleted and real.blobs_shared == dry.blobs_shared
    assert real.nodes_deleted > 0

    state, files = _state(graph), sorted(_age_blobs(blob_store.root))
    nodes_rels = count_graph(graph)
    for dry_run in (True, False):
        again = _condense(graph, blob_store, dry_run=dry_run)
        assert again.runs == [] and again.nodes_deleted == 0 and again.blobs_deleted == []
    assert _state(graph) == state and count_graph(graph) == nodes_rels
    assert sorted(_age_blobs(blob_store.root)) == files


def test_retiring_a_formulation_releases_what_it_held(graph, blob_store, scenario):
    """A condensed run keeps its recipe and calculation while an active formulation uses them;
    once the formulation is retired, the next pass removes them (and only then)."""
    _condense(graph, blob_store)
    assert _condense(graph, blob_store).runs == []
    formulation_status_set(driver=graph, database=_db(), formulation_id="f-held",
                           status="retired", now=NOW)
    report = _condense(graph, blob_store)
    assert [p.run_id for p in report.runs] == ["run-old-held"]
    assert report.runs[0].removed == ("recipe", "calculation")
    run = _load(graph, "run-old-held", blob_store)
    assert run.recipe is None and run.calculation is None
    assert run.metadata.condensed.removed == ["recipe", "calculation", "graph", "validation",
                                              "uiConfig"]
    assert verify_run("run-old-held", driver=graph, database=_db()).complete
    assert _condense(graph, blob_store).runs == []


def test_a_recipe_used_by_a_newer_run_is_never_deleted(graph, blob_store, scenario):
    """old-shared's RecipeVersion loses old-shared's link but stays for the recent run."""
    _condense(graph, blob_store)
    records, _, _ = graph.execute_query(
        "MATCH (r:OrchestrationRun)-[:USED_RECIPE]->(rv:RecipeVersion) "
        "WHERE r.runId IN ['run-old-shared', 'run-new-shared'] RETURN r.runId AS run",
        database_=_db())
    assert [r["run"] for r in records] == ["run-new-shared"]
    assert _load(graph, "run-new-shared", blob_store).recipe == scenario["new-shared"].recipe


# --- the ledger, the command, the beat task, the API and the run page --------------------------


@pytest.fixture
def ingested(graph: Any, transactional_db: Any, django_user_model: Any) -> dict[str, Any]:
    """An old run with a blob and a recent one, ingested as external runs of the user "ret"
    (ledger + Neo4j) through the configured blob store, the old run's blob as old as the run."""
    owner = django_user_model.objects.create_user("ret", password="a-long-password-42")
    now = timezone.now()
    old = make_run(21, now=now - timedelta(days=40), run_id="run-ledger-old",
                   cypher_padding=PADDING + 7)
    new = make_run(22, now=now, run_id="run-ledger-new")
    blob_uri = services.run_result_ingest(user=owner, run=old).summary.blob_uri
    services.run_result_ingest(user=owner, run=new)
    blob = Path(blob_uri.removeprefix("file://"))
    stamp = (now - timedelta(days=40)).timestamp()
    os.utime(blob, (stamp, stamp))
    return {"old": old.run_id, "new": new.run_id, "blob": str(blob), "wire": old.to_wire(),
            "owner": owner}


def test_command_dry_run_then_condense_the_ledger_too(graph, ingested):
    """`condense_runs --dry-run` prints the plan and changes nothing; `condense_runs` condenses
    Neo4j and the ledger row (the removed payloads are gone from the Django database), deletes
    the blob, and a second call does nothing. The API and the run page show a summary marked
    condensed; the run list still lists it."""
    from io import StringIO

    state = _state(graph)
    out = StringIO()
    call_command("condense_runs", "--dry-run", stdout=out)
    text = out.getvalue()
    assert "Dry run" in text and "run-ledger-old" in text and "would remove" in text
    assert "run-ledger-new" not in text and "1 ledger row(s) would be condensed" in text
    assert _state(graph) == state and Path(ingested["blob"]).exists()
    assert RunRecord.objects.get(run_id="run-ledger-old").condensed_at is None

    out = StringIO()
    call_command("condense_runs", stdout=out)
    assert "1 run(s)" in out.getvalue() and "1 ledger row(s) were condensed" in out.getvalue()
    assert not Path(ingested["blob"]).exists()
    row = RunRecord.objects.get(run_id="run-ledger-old")
    assert row.condensed_at is not None
    assert {"graph", "validation", "uiConfig", "recipe", "calculation"}.isdisjoint(row.result)
    assert RunResult.model_validate(row.result).metadata.condensed is not None
    assert RunRecord.objects.get(run_id="run-ledger-new").condensed_at is None

    state = _state(graph)
    out = StringIO()
    call_command("condense_runs", stdout=out)
    assert "0 run(s)" in out.getvalue() and "0 ledger row(s)" in out.getvalue()
    assert _state(graph) == state

    user = ingested["owner"]  # whose runs they are
    api = APIClient()
    api.force_authenticate(user)
    body = api.get("/api/orchestration/runs/run-ledger-old").json()
    assert body["metadata"]["condensed"]["removed"] == ["recipe", "calculation", "graph",
                                                        "validation", "uiConfig"]
    assert "graph" not in body and body["agentHistory"]
    listed = api.get("/api/orchestration/runs?text=run-ledger").json()["results"]
    assert {r["runId"] for r in listed} == {"run-ledger-old", "run-ledger-new"}
    # Posting the original again is the same run, already persisted: nothing is written back.
    again = api.post("/api/orchestration/runs", data=json.dumps(ingested["wire"]),
                     content_type="application/json")
    assert again.status_code == 200 and again.json()["created"] is False, again.content
    assert _state(graph) == state and not Path(ingested["blob"]).exists()
    assert RunRecord.objects.get(run_id="run-ledger-old").status == row.status
    from django.test import Client

    web = Client()
    web.force_login(user)
    page = web.get("/runs/run-ledger-old/")
    assert page.status_code == 200
    assert b'data-testid="condensed"' in page.content and b"by retention" in page.content


def test_beat_task_follows_the_retention_settings(graph, ingested):
    """The periodic job does nothing while switched off, and condenses when on."""
    RetentionSettings.objects.update_or_create(pk=1, defaults={"condense_enabled": False})
    assert tasks.condense_runs() is None
    assert RunRecord.objects.get(run_id="run-ledger-old").condensed_at is None
    RetentionSettings.objects.update_or_create(pk=1, defaults={"condense_enabled": True,
                                                               "full_retention_days": 30})
    summary = tasks.condense_runs()
    assert summary["runs"] == 1 and summary["ledgerRows"] == 1
    assert summary["runIds"] == ["run-ledger-old"]
    RetentionSettings.objects.update_or_create(pk=1, defaults={"full_retention_days": 0})
    assert tasks.condense_runs()["runIds"] == ["run-ledger-new"]


# --- batches spanning many runs (issue 13: a pass at 100,000 runs) -------------------------------


def _keyed_state(driver: Any) -> list[str]:
    """Every node and relationship with its properties (but the write's own time stamps),
    relationships named by their ends' labels and keys (not element ids): comparable across
    two graphs written alike."""
    key = "coalesce(x.runId, x.checksum, x.ingredientId, x.invocationId, x.formulationId)"
    nodes, _, _ = driver.execute_query(
        "MATCH (n) RETURN labels(n) AS l, properties(n) AS p", database_=_db())
    rels, _, _ = driver.execute_query(
        f"MATCH (a)-[r]->(b) WITH a, r, b, [x IN [a, b] | [labels(x), {key}]] AS ends "
        "RETURN ends, type(r) AS t, properties(r) AS p", database_=_db())
    stamps = {"createdAt", "updatedAt", "committedAt"}  # when the writer wrote (its clock)
    return sorted(repr(sorted({**r.data(), "p": {k: v for k, v in r["p"].items()
                                                 if k not in stamps}}.items()))
                  for r in [*nodes, *rels])


def _many_old_runs(driver: Any, store: Any) -> list[str]:
    """28 old runs: succeeded ones sharing recipes (seed % 7), failures at every later stage,
    and two held by an active formulation; one recent run shares a recipe."""
    writer = RunWriter(driver, database=_db(), blob_store=store)
    stages = [None, *STAGE_NAMES[:4]]  # succeeded, or failed at one of the first four stages
    ids = []
    for i in range(28):
        run = make_run(100 + i, now=OLD + timedelta(minutes=i), run_id=f"run-many-{i:02d}",
                       failed_agent=stages[i % len(stages)])
        writer.write(run)
        ids.append(run.run_id)
    writer.write(make_run(100, now=NOW, run_id="run-many-recent"))
    for run_id in ("run-many-05", "run-many-10"):
        formulation_link(driver=driver, database=_db(), formulation_id=f"f-{run_id}",
                         run_id=run_id, now=NOW)
    return ids


def test_one_batch_spanning_many_runs_condenses_as_one_run_at_a_time(graph, blob_store):
    """Condensing 28 runs in a single batch (one transaction, one statement per step) leaves
    exactly the graph that condensing them one run per transaction leaves, every run verified
    against the counts its condensation recorded."""
    ids = _many_old_runs(graph, blob_store)
    one_by_one = _condense(graph, blob_store, batch_size=1)
    assert one_by_one.batches == 28 and sorted(p.run_id for p in one_by_one.runs) == ids
    expected = _keyed_state(graph)

    graph.execute_query("MATCH (n) DETACH DELETE n", database_=_db())
    _many_old_runs(graph, blob_store)
    batched = _condense(graph, blob_store, batch_size=100)
    assert batched.batches == 1
    assert [p.as_dict() for p in batched.runs] == [p.as_dict() for p in one_by_one.runs]
    assert sorted(batched.recipes_deleted) == sorted(one_by_one.recipes_deleted)
    state = _keyed_state(graph)
    assert state == expected, (sorted(set(expected) - set(state))[:2],
                               sorted(set(state) - set(expected))[:2])
    for run_id in ids:
        check = verify_run(run_id, driver=graph, database=_db())
        assert check.condensed and check.complete, check
    assert _condense(graph, blob_store, batch_size=100).runs == []


def test_the_ledger_follows_in_one_update_per_batch(graph, transactional_db, django_user_model):
    """The ledger side writes a batch's rows with one UPDATE statement executed for each row
    (one executemany per batch): each condensed row holds exactly the run as read back from
    Neo4j, a recent run's row is left alone, and a second pass changes nothing."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from graphstore.connection import get_blob_store, get_driver

    owner = django_user_model.objects.create_user("many", password="a-long-password-42")
    now = timezone.now()
    for i in range(12):
        services.run_result_ingest(user=owner, run=make_run(
            200 + i, now=now - timedelta(days=40, minutes=i), run_id=f"run-ledger-many-{i:02d}",
            failed_agent="GraphBuilder" if i % 4 == 3 else None))
    services.run_result_ingest(user=owner, run=make_run(230, now=now, run_id="run-ledger-now"))

    with CaptureQueriesContext(connection) as captured:
        outcome = services.runs_condense(now=now, batch_size=5)
    assert sorted(outcome.ledger) == [f"run-ledger-many-{i:02d}" for i in range(12)]
    updates = [q["sql"] for q in captured.captured_queries
               if 'UPDATE "orchestration_runrecord" SET "result"' in q["sql"]]
    # 12 rows in batches of 5: one statement executed for each row of a batch
    assert [u.split(" times: ")[0] for u in updates] == ["5", "5", "2"], updates

    for row in RunRecord.objects.filter(run_id__startswith="run-ledger-many-"):
        run = load_run(row.run_id, driver=get_driver(), database=_db(),
                       blob_store=get_blob_store())
        assert run.metadata.condensed is not None
        assert row.result == run.to_wire()
        assert row.condensed_at == run.metadata.condensed.condensed_at
    assert RunRecord.objects.get(run_id="run-ledger-now").condensed_at is None

    rows = {r.run_id: (r.result, r.condensed_at) for r in RunRecord.objects.all()}
    assert services.runs_condense(now=now, batch_size=5).ledger == []
    assert {r.run_id: (r.result, r.condensed_at) for r in RunRecord.objects.all()} == rows


def test_on_batch_gets_each_batchs_plans_after_it_committed(graph, blob_store):
    """`on_batch` gets each batch's plans, the batch committed (a new session sees its runs
    condensed), each plan carrying the run's checksum and whether an earlier pass condensed it;
    a dry run hands nothing."""
    ids = _many_old_runs(graph, blob_store)

    def refuse(plans: Any) -> None:
        raise AssertionError("a dry run condenses nothing")

    _condense(graph, blob_store, batch_size=10, dry_run=True, on_batch=refuse)
    seen: list[Any] = []

    def on_batch(plans: list[Any]) -> None:
        records, _, _ = graph.execute_query(
            "UNWIND $ids AS id MATCH (r:OrchestrationRun {runId: id}) "
            "RETURN r.runId AS runId, r.condensed AS condensed, r.checksum AS checksum",
            ids=[p.run_id for p in plans], database_=_db())
        assert all(r["condensed"] for r in records) and len(records) == len(plans)
        assert {r["runId"]: r["checksum"] for r in records} == \
            {p.run_id: p.checksum for p in plans}
        seen.extend(plans)

    report = _condense(graph, blob_store, batch_size=10, on_batch=on_batch)
    assert report.batches == 3 and sorted(p.run_id for p in seen) == ids
    assert not any(p.condensed_before for p in seen)
    # retiring run-many-05's formulation: the next pass revisits it, condensed before
    formulation_status_set(driver=graph, database=_db(), formulation_id="f-run-many-05",
                           status="retired", now=NOW)
    seen.clear()
    _condense(graph, blob_store, batch_size=10, on_batch=on_batch)
    assert [(p.run_id, p.condensed_before) for p in seen] == [("run-many-05", True)]


def test_overlapped_on_batch_runs_during_the_next_transaction_and_after_a_failed_one(
        graph, blob_store, monkeypatch):
    """With `on_plans`, a batch's `on_batch` runs while the next batch's transaction does:
    after its own commit, before the next batch's `on_plans`, so the hand-overs keep their
    order; when a later batch's transaction fails, the batches that committed still get their
    `on_batch`, and the failure is raised."""
    from graphstore import retention as graph_retention

    ids = _many_old_runs(graph, blob_store)
    events: list[tuple[str, tuple[str, ...]]] = []

    def on_plans(plans: list[Any]) -> None:
        events.append(("plans", tuple(p.run_id for p in plans)))

    def on_batch(plans: list[Any]) -> None:
        events.append(("batch", tuple(p.run_id for p in plans)))

    writes = graph_retention._write_batch
    calls = {"n": 0}

    def second_fails(*args: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("the second batch's transaction fails")
        return writes(*args)

    monkeypatch.setattr(graph_retention, "_write_batch", second_fails)
    with pytest.raises(RuntimeError, match="second batch"):
        _condense(graph, blob_store, batch_size=10, on_batch=on_batch, on_plans=on_plans)
    # the first batch planned, then committed; its on_batch ran although the second failed
    assert [kind for kind, _ in events] == ["plans", "batch"]
    first = set(events[1][1])
    assert events[0][1] == events[1][1] and len(first) == 10
    # the rest: the first batch's on_batch waits for the second batch's transaction to have
    # begun, which it does only if that transaction runs meanwhile
    second_began = threading.Event()
    waited: list[bool] = []

    def beginning(*args: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            second_began.set()
        return writes(*args)

    def on_batch_overlapped(plans: list[Any]) -> None:
        if not waited:
            waited.append(second_began.wait(10))
        on_batch(plans)

    calls["n"] = 0
    monkeypatch.setattr(graph_retention, "_write_batch", beginning)
    events.clear()
    report = _condense(graph, blob_store, batch_size=10, on_batch=on_batch_overlapped,
                       on_plans=on_plans)
    assert waited == [True]
    # the rest, in two batches: each planned, then handed over, in order
    assert [kind for kind, _ in events] == ["plans", "batch", "plans", "batch"]
    assert report.batches == 2 and events[0][1] == events[1][1] and events[2][1] == events[3][1]
    assert {r for kind, runs in events if kind == "batch" for r in runs} == set(ids) - first


def test_the_ledger_copies_are_derived_exactly_as_replay_reads_the_runs(
        graph, transactional_db, django_user_model, monkeypatch):
    """The ledger rows of the runs a pass condenses get their condensed copies from their own
    full copies and the batch's plans, without reading the runs from Neo4j: for runs of every
    shape (typical, a large one whose graph is in a blob, failures at each stage, recipe and
    calculation held by an active formulation, recipes shared with a recent run) each row is
    exactly the run as replay reads it back. A row whose checksum is not the run node's is
    left to the catch-up, which reads its run from Neo4j."""
    from graphstore.connection import get_blob_store, get_driver
    from orchestration.services import retention as service

    owner = django_user_model.objects.create_user("derive", password="a-long-password-42")
    now = timezone.now()
    stages = [None, *STAGE_NAMES[:4]]
    ids = []
    for i in range(12):
        run = make_run(300 + i, now=now - timedelta(days=40, minutes=i),
                       run_id=f"run-derive-{i:02d}", failed_agent=stages[i % len(stages)],
                       cypher_padding=PADDING if i == 5 else 0)
        services.run_result_ingest(user=owner, run=run)
        ids.append(run.run_id)
    services.run_result_ingest(user=owner, run=make_run(300, now=now, run_id="run-derive-now"))
    formulation_link(driver=get_driver(), database=_db(), formulation_id="f-derive",
                     run_id="run-derive-10", now=now)
    RunRecord.objects.filter(run_id="run-derive-07").update(checksum="0" * 64)
    read: list[str] = []
    replay_condensed = service.runs_replay_condensed

    def reading(**kwargs: Any) -> Any:
        read.extend(kwargs["run_ids"])
        return replay_condensed(**kwargs)

    monkeypatch.setattr(service, "runs_replay_condensed", reading)
    outcome = services.runs_condense(now=now, batch_size=5)
    assert sorted(outcome.ledger) == ids
    assert "run-derive-07" in read  # caught up from Neo4j
    assert set(read).isdisjoint(set(ids) - {"run-derive-07"}), read  # derived, not read
    for row in RunRecord.objects.filter(run_id__in=ids):
        run = load_run(row.run_id, driver=get_driver(), database=_db(),
                       blob_store=get_blob_store())
        assert run.metadata.condensed is not None
        assert row.result == run.to_wire(), row.run_id
        assert row.condensed_at == run.metadata.condensed.condensed_at
    held = RunResult.model_validate(RunRecord.objects.get(run_id="run-derive-10").result)
    assert held.calculation is not None and held.recipe is not None  # kept for a formulation
    large = RunResult.model_validate(RunRecord.objects.get(run_id="run-derive-05").result)
    assert large.graph is None and large.metadata.condensed is not None
    assert large.metadata.condensed.graph is not None
    assert RunRecord.objects.get(run_id="run-derive-now").condensed_at is None


def test_the_ledger_catches_up_rows_an_interrupted_pass_left(graph, transactional_db,
                                                             django_user_model):
    """A pass whose graph side committed but whose ledger side did not run (interrupted) leaves
    ledger rows in full; the next pass condenses nothing more in Neo4j and catches those rows
    up from Neo4j's copies, exactly as the batch-by-batch path writes them (the run as replay
    reads it back)."""
    from graphstore.connection import get_blob_store, get_driver

    owner = django_user_model.objects.create_user("late", password="a-long-password-42")
    now = timezone.now()
    ids = []
    for i in range(7):
        run = make_run(240 + i, now=now - timedelta(days=40, minutes=i),
                       run_id=f"run-ledger-late-{i}",
                       failed_agent="QAValidator" if i == 3 else None)
        services.run_result_ingest(user=owner, run=run)
        ids.append(run.run_id)
    services.run_result_ingest(user=owner, run=make_run(250, now=now, run_id="run-late-now"))
    graph_only = condense_runs(driver=get_driver(), database=_db(), blob_store=get_blob_store(),
                               cutoff=now - timedelta(days=30), now=now, batch_size=3)
    assert sorted(p.run_id for p in graph_only.runs) == sorted(ids)
    assert not RunRecord.objects.filter(condensed_at__isnull=False).exists()

    outcome = services.runs_condense(now=now, batch_size=3)
    assert outcome.graph.runs == [] and sorted(outcome.ledger) == sorted(ids)
    for row in RunRecord.objects.filter(run_id__in=ids):
        run = load_run(row.run_id, driver=get_driver(), database=_db(),
                       blob_store=get_blob_store())
        assert row.result == run.to_wire()
        assert run.metadata.condensed is not None
        assert row.condensed_at == run.metadata.condensed.condensed_at
    assert RunRecord.objects.get(run_id="run-late-now").condensed_at is None


def _retention_started(driver: Any) -> dict[str, Any]:
    records, _, _ = driver.execute_query(
        "MATCH (r:OrchestrationRun) RETURN r.runId AS runId, r.retentionStartedAt AS at, "
        "r.startedAt AS started", database_=_db())
    return {r["runId"]: (r["at"], r["started"]) for r in records}


def test_candidates_are_the_runs_carrying_retention_started(graph, blob_store, scenario):
    """The writer gives every run `retentionStartedAt` (its startedAt); a condensation removes
    it unless the run retains something (old-held keeps it and is revisited once its holder is
    retired, then loses it); a pass finds only runs that carry it: one whose property is
    removed is not condensed."""
    before = _retention_started(graph)
    assert all(at == started and at is not None for at, started in before.values())
    graph.execute_query("MATCH (r:OrchestrationRun {runId: 'run-old-retired'}) "
                        "REMOVE r.retentionStartedAt", database_=_db())
    report = _condense(graph, blob_store)
    assert sorted(p.run_id for p in report.runs) == [
        "run-old-blob", "run-old-failed", "run-old-held", "run-old-shared"]
    after = _retention_started(graph)
    assert {k for k, (at, _) in after.items() if at is not None} == {
        "run-old-held", "run-new-shared"}
    formulation_status_set(driver=graph, database=_db(), formulation_id="f-held",
                           status="retired", now=NOW)
    assert [p.run_id for p in _condense(graph, blob_store).runs] == ["run-old-held"]
    assert _retention_started(graph)["run-old-held"][0] is None


def test_upgrade_sets_retention_started_as_the_writer_and_retention_leave_it(
        graph, blob_store, scenario):
    """`set_retention_started` (manage.py upgrade_graph) makes `retentionStartedAt` on a graph
    written without it, or condensed by a version that did not keep it, exactly what the
    writer and retention leave: full runs and condensed runs that retain something carry their
    startedAt, others nothing; page by page; a second run changes nothing."""
    from graphstore.migrate import set_retention_started

    _condense(graph, blob_store)
    expected = _retention_started(graph)
    assert expected["run-old-held"][0] is not None and expected["run-old-blob"][0] is None
    graph.execute_query("MATCH (r:OrchestrationRun) REMOVE r.retentionStartedAt",
                        database_=_db())
    graph.execute_query("MATCH (r:OrchestrationRun {runId: 'run-old-blob'}) "
                        "SET r.retentionStartedAt = r.startedAt", database_=_db())
    assert set_retention_started(driver=graph, database=_db(), batch_size=2) == 3
    assert _retention_started(graph) == expected
    assert set_retention_started(driver=graph, database=_db()) == 0


def test_copies_prepared_from_plans_the_commit_did_not_keep_are_derived_again(
        graph, transactional_db, django_user_model, monkeypatch):
    """The ledger prepares its copies from the plans a batch's transaction hands over before it
    commits; when the committed plans say otherwise (the driver retried the transaction, and
    it planned again), the prepared copies are not written: each row is derived again from the
    committed plan, and is exactly the run as replay reads it back."""
    import dataclasses

    from graphstore import retention as graph_retention
    from graphstore.connection import get_blob_store, get_driver

    owner = django_user_model.objects.create_user("retried", password="a-long-password-42")
    now = timezone.now()
    ids = []
    for i in range(4):
        run = make_run(330 + i, now=now - timedelta(days=40, minutes=i),
                       run_id=f"run-retried-{i}")
        services.run_result_ingest(user=owner, run=run)
        ids.append(run.run_id)
    overlapped = graph_retention._write_batch_overlapped
    handed: list[Any] = []

    def retried(driver: Any, database: str, run_ids: list[str], now: Any, on_plans: Any,
                **kwargs: Any) -> Any:
        def first_attempt(plans: list[Any]) -> None:
            stale = [dataclasses.replace(p, removed_total=p.removed_total[1:]) for p in plans]
            handed.extend(stale)
            on_plans(stale)
        return overlapped(driver, database, run_ids, now, first_attempt, **kwargs)

    monkeypatch.setattr(graph_retention, "_write_batch_overlapped", retried)
    outcome = services.runs_condense(now=now, batch_size=10)
    assert sorted(outcome.ledger) == ids and len(handed) == 4
    for row in RunRecord.objects.filter(run_id__in=ids):
        run = load_run(row.run_id, driver=get_driver(), database=_db(),
                       blob_store=get_blob_store())
        assert row.result == run.to_wire(), row.run_id
        assert len(run.metadata.condensed.removed) == 5  # what the stale plans said was 4
