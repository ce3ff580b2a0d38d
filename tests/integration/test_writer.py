"""The transactional writer and replay against the real Neo4j."""

from __future__ import annotations

import os
import threading
import uuid

import pytest
from django.conf import settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from neo4j.exceptions import ClientError, TransientError

from contracts import RunResult, checksum
from graphstore.errors import (
    BlobCorrupted,
    BlobNotFound,
    Neo4jWriteFailed,
    ReplayError,
    RunBlobCorrupted,
    RunBlobMissing,
    RunConflict,
    RunNotFound,
    WriteSetTooLarge,
)
from graphstore.mapper import map_run_to_graph
from graphstore.replay import load_run, verify_run
from graphstore.writer import IngredientNameClash, RetryPolicy, RunWriter
from tests.conftest import count_graph
from tests.strategies import run_results
from tests.unit.graphstore.test_mapper import with_commands_size
from tools.synthetic import make_run

pytestmark = pytest.mark.integration
DB = settings.NEO4J_DATABASE


def writer(driver, blob_store, **kw) -> RunWriter:  # type: ignore[no-untyped-def]
    return RunWriter(driver, database=DB, blob_store=blob_store, sleep=lambda s: None, **kw)


def replay(driver, blob_store, run_id: str) -> RunResult:  # type: ignore[no-untyped-def]
    return load_run(run_id, driver=driver, database=DB, blob_store=blob_store)


@hsettings(max_examples=15, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(run=run_results())
def test_write_then_replay_gives_an_equal_checksum(graph, blob_store, run):
    """Any valid run (failed or not, any text) reads back with the normalized checksum."""
    wire = run.to_wire()
    wire["metadata"]["id"] = f"run-{uuid.uuid4().hex}"  # examples share the graph fixture
    run = RunResult.model_validate(wire)
    summary = writer(graph, blob_store).write(run)
    back = replay(graph, blob_store, run.run_id)
    assert checksum(back.to_wire()) == summary.checksum == map_run_to_graph(run).checksum
    assert verify_run(run.run_id, driver=graph, database=DB).complete


def test_writing_twice_changes_nothing_but_counters(graph, blob_store, now):
    """A second write of the same run creates nothing; only writeCount moves."""
    run = make_run(21, now=now, ingredients=12)
    first = writer(graph, blob_store).write(run)
    before = count_graph(graph)
    second = writer(graph, blob_store).write(run)
    assert first.created and not second.created
    assert (second.nodes_created, second.relationships_created) == (0, 0)
    assert count_graph(graph) == before == (first.node_count, first.relationship_count)
    records, _, _ = graph.execute_query(
        "MATCH (r:OrchestrationRun {runId: $id}) RETURN r.writeCount AS n", id=run.run_id,
        database_=DB)
    assert records[0]["n"] == 2


def test_shared_nodes_are_merged_once(graph, blob_store, now):
    """Two runs with the same recipe and request share RecipeVersion, UserRequest, Ingredients."""
    w = writer(graph, blob_store)
    a = w.write(make_run(14, now=now, run_id="run-a"))
    b = w.write(make_run(14, now=now, run_id="run-b"))
    assert b.nodes_created == a.nodes_created - 2 - 8  # no new request, recipe, 8 ingredients
    records, _, _ = graph.execute_query(
        "MATCH (u:UserRequest)-[:TRIGGERED]->(r) RETURN count(DISTINCT u) AS u, count(r) AS r",
        database_=DB)
    assert (records[0]["u"], records[0]["r"]) == (1, 2)


def test_failed_run_is_persisted_without_later_artifacts(graph, blob_store, now):
    """A run failed at QAValidator is stored with its status, failed agent and no later nodes."""
    run = make_run(22, now=now, failed_agent="QAValidator")
    writer(graph, blob_store).write(run)
    back = replay(graph, blob_store, run.run_id)
    assert back.metadata.status == "failed" and back.metadata.failed_agent == "QAValidator"
    assert back.graph is not None and back.validation is None and back.ui_config is None
    assert [e.status for e in back.agent_history][-1] == "failed"


def test_twenty_ingredients_and_non_ascii(graph, blob_store, now):
    """20 ingredients and non-ASCII text round-trip exactly."""
    wire = make_run(23, now=now, ingredients=20).to_wire()
    wire["request"]["userRequest"] = "Crème hydratante à l'aloès — 保湿霜 🌿, 2 kg"
    wire["recipe"]["ingredients"][5]["name"] = "Beurre de karité (Ø 10 µm)"
    run = RunResult.model_validate(wire)
    writer(graph, blob_store).write(run)
    back = replay(graph, blob_store, run.run_id)
    assert back.request.user_request == "Crème hydratante à l'aloès — 保湿霜 🌿, 2 kg"
    assert len(back.recipe.ingredients) == 20
    assert back.recipe.ingredients[5].name == "Beurre de karité (Ø 10 µm)"


def test_blob_threshold_against_the_store(graph, blob_store, now):
    """32,768 bytes of cypherCommands stay inline; 32,769 go to the blob store and replay
    reads them back through their sha256."""
    w = writer(graph, blob_store)
    inline = with_commands_size(make_run(24, now=now, run_id="run-inline"), 32_768)
    big = with_commands_size(make_run(24, now=now, run_id="run-blob"), 32_769)
    assert w.write(inline).blob_uri is None
    summary = w.write(big)
    assert summary.blob_uri is not None and list(blob_store.iter_blobs())
    records, _, _ = graph.execute_query(
        "MATCH (g:GraphSnapshot) RETURN g.runId AS id, g.blobUri AS uri, g.blobSize AS size, "
        "g.cypherCommands IS NULL AS offloaded ORDER BY id", database_=DB)
    assert [(r["id"], r["offloaded"], r["size"]) for r in records] == [
        ("run-blob", True, 32_769), ("run-inline", False, None)]
    assert replay(graph, blob_store, "run-blob").graph == big.graph


def test_corrupted_blob_is_reported_not_served(graph, blob_store, now):
    """A blob whose bytes no longer match its sha256 makes replay fail loudly."""
    run = with_commands_size(make_run(25, now=now), 40_000)
    summary = writer(graph, blob_store).write(run)
    path = summary.blob_uri.removeprefix("file://")
    with open(path, "r+b") as handle:
        handle.write(b"X")
    with pytest.raises(RunBlobCorrupted) as info:
        replay(graph, blob_store, run.run_id)
    assert isinstance(info.value, ReplayError) and isinstance(info.value.__cause__, BlobCorrupted)
    assert info.value.run_id == run.run_id and info.value.code == "blob_corrupted"


def test_missing_blob_is_a_damaged_run_naming_the_run_and_the_blob(graph, blob_store, now):
    """A run whose blob was deleted from the store reads back as RunBlobMissing (a ReplayError
    of the tree, not a bare store error) naming the run, the URI and the way out."""
    run = with_commands_size(make_run(25, now=now), 40_000)
    summary = writer(graph, blob_store).write(run)
    os.remove(summary.blob_uri.removeprefix("file://"))
    with pytest.raises(RunBlobMissing) as info:
        replay(graph, blob_store, run.run_id)
    error = info.value
    assert isinstance(error, ReplayError) and isinstance(error.__cause__, BlobNotFound)
    assert (error.run_id, error.uri, error.code) == (run.run_id, summary.blob_uri, "blob_missing")
    assert "is missing from the blob store" in str(error) and "CAP01_BLOB_STORE_URL" in str(error)
    assert verify_run(run.run_id, driver=graph, database=DB).complete  # the graph is intact


def _renamed(run: RunResult, index: int, name: str, run_id: str) -> RunResult:
    """`run` under `run_id` with ingredient `index` renamed (its id kept)."""
    wire = run.to_wire()
    wire["metadata"]["id"] = run_id
    wire["recipe"]["ingredients"][index]["name"] = name
    return RunResult.model_validate(wire)


def test_an_ingredient_id_reused_with_another_name_is_reported_and_kept_per_run(
        graph, blob_store, now):
    """A second run that uses an Ingredient id under another name: the Ingredient node keeps
    its first name, the run's name is on its own HAS_INGREDIENT and reads back exactly, and
    the write (still one transaction) reports the clash; writing that run again reports it
    again; the first run reported none and reads back unchanged."""
    w = writer(graph, blob_store)
    first = make_run(32, now=now, run_id="run-name-a", ingredients=6)
    used = first.recipe.ingredients[2]
    a = w.write(first)
    second = _renamed(first, 2, f"{used.name} (cold-pressed)", "run-name-b")
    b = w.write(second)
    assert a.ingredient_name_clashes == ()
    assert b.created and b.ingredient_name_clashes == (
        IngredientNameClash(used.id, used.name, f"{used.name} (cold-pressed)"),)
    assert b.as_dict()["ingredientNameClashes"] == [{
        "ingredientId": used.id, "canonicalName": used.name,
        "runName": f"{used.name} (cold-pressed)"}]
    records, _, _ = graph.execute_query(
        "MATCH (i:Ingredient {ingredientId: $id}) "
        "MATCH (rv:RecipeVersion)-[h:HAS_INGREDIENT]->(i) "
        "RETURN i.name AS node, collect(h.name) AS used", id=used.id, database_=DB)
    assert records[0]["node"] == used.name
    assert sorted(records[0]["used"]) == sorted([used.name, f"{used.name} (cold-pressed)"])
    assert replay(graph, blob_store, "run-name-b").recipe.ingredients[2].name == \
        f"{used.name} (cold-pressed)"
    assert replay(graph, blob_store, "run-name-a").recipe.ingredients[2].name == used.name
    again = w.write(second)
    assert not again.created and again.ingredient_name_clashes == b.ingredient_name_clashes
    assert w.write(first).ingredient_name_clashes == ()
    for run_id in ("run-name-a", "run-name-b"):
        assert verify_run(run_id, driver=graph, database=DB).complete


def test_a_conflicting_write_reports_no_clash_and_changes_nothing(graph, blob_store, now):
    """The same runId with other content that also renames an ingredient: RunConflict, the
    Ingredient node and the stored run untouched (the clash check is inside the write)."""
    w = writer(graph, blob_store)
    first = make_run(33, now=now, run_id="run-name-c", ingredients=6)
    w.write(first)
    before = count_graph(graph)
    with pytest.raises(RunConflict):
        w.write(_renamed(first, 0, "Something else", "run-name-c"))
    assert count_graph(graph) == before
    records, _, _ = graph.execute_query(
        "MATCH (i:Ingredient {ingredientId: $id}) RETURN i.name AS name",
        id=first.recipe.ingredients[0].id, database_=DB)
    assert records[0]["name"] == first.recipe.ingredients[0].name


def test_oversized_write_set_writes_nothing(graph, blob_store, now):
    """A 501-element run is refused before any I/O: no node, no blob."""
    run = with_commands_size(make_run(26, now=now, ingredients=1, history=243), 40_000)
    with pytest.raises(WriteSetTooLarge):
        writer(graph, blob_store).write(run)
    assert count_graph(graph) == (0, 0)
    assert list(blob_store.iter_blobs()) == []


def test_retryable_error_is_retried_and_counted(graph, blob_store, now):
    """A transient error inside the transaction rolls it back; the retry commits once."""
    seen: list[int] = []

    def fail_first(attempt: int) -> None:
        seen.append(attempt)
        if attempt == 1:
            raise TransientError("injected deadlock")

    run = make_run(27, now=now)
    summary = writer(graph, blob_store, fault_injector=fail_first).write(run)
    assert seen == [1, 2] and summary.attempts == 2 and summary.created
    assert verify_run(run.run_id, driver=graph, database=DB).complete
    assert count_graph(graph) == (summary.node_count, summary.relationship_count)


def test_retries_stop_after_the_policy_and_carry_the_run_id(graph, blob_store, now):
    """An error that keeps coming fails after max_attempts with a typed error; nothing stays."""
    sleeps: list[float] = []

    def always(attempt: int) -> None:
        raise TransientError("injected")

    w = RunWriter(graph, database=DB, blob_store=blob_store, fault_injector=always,
                  retry=RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.05),
                  sleep=sleeps.append)
    with pytest.raises(Neo4jWriteFailed) as info:
        w.write(make_run(28, now=now))
    assert info.value.run_id == "run-synthetic-000028" and info.value.attempts == 3
    assert len(sleeps) == 2 and all(0 <= s <= 0.05 for s in sleeps)
    assert count_graph(graph) == (0, 0)


def test_non_retryable_error_is_not_retried(graph, blob_store, now):
    """A client error fails at once (one attempt) and rolls everything back."""
    def bad(attempt: int) -> None:
        raise ClientError("injected client error")

    with pytest.raises(Neo4jWriteFailed) as info:
        writer(graph, blob_store, fault_injector=bad).write(make_run(29, now=now))
    assert info.value.attempts == 1
    assert count_graph(graph) == (0, 0)


def test_same_run_id_with_other_content_is_a_conflict(graph, blob_store, now):
    """A runId already committed with a different checksum is refused; the stored run stays."""
    w = writer(graph, blob_store)
    original = make_run(30, now=now, run_id="run-x")
    w.write(original)
    with pytest.raises(RunConflict) as info:
        w.write(make_run(31, now=now, run_id="run-x"))
    assert info.value.run_id == "run-x"
    assert checksum(replay(graph, blob_store, "run-x").to_wire()) == \
        map_run_to_graph(original).checksum


def test_unknown_run_is_not_found(graph, blob_store):
    """Replay of a runId never written raises RunNotFound."""
    with pytest.raises(RunNotFound):
        replay(graph, blob_store, "run-missing")


def test_concurrent_writers_share_ingredients_without_duplicates(graph, blob_store, now):
    """Four threads writing 40 runs over the same ingredients: no Ingredient duplicated,
    every run complete."""
    runs = [make_run(100 + i, now=now, ingredients=10) for i in range(40)]
    errors: list[BaseException] = []

    def work(chunk: list[RunResult]) -> None:
        w = RunWriter(graph, database=DB, blob_store=blob_store)
        for run in chunk:
            try:
                w.write(run)
            except BaseException as exc:  # collected and asserted below
                errors.append(exc)

    threads = [threading.Thread(target=work, args=(runs[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    records, _, _ = graph.execute_query(
        "MATCH (i:Ingredient) RETURN count(i) AS n, count(DISTINCT i.ingredientId) AS d",
        database_=DB)
    assert records[0]["n"] == records[0]["d"]
    assert all(verify_run(r.run_id, driver=graph, database=DB).complete for r in runs)


def test_opted_in_transcripts_round_trip(graph, blob_store, now):
    """A redacted transcript on an agentHistory entry is stored on its AgentInvocation and
    read back exactly."""
    wire = make_run(63, now=now).to_wire()
    wire["agentHistory"][0]["transcript"] = {"prompt": "make it [REDACTED] — 🍋",
                                             "response": "ok", "redacted": True}
    run = RunResult.model_validate(wire)
    writer(graph, blob_store).write(run)
    back = replay(graph, blob_store, run.run_id)
    assert back.agent_history[0].transcript == run.agent_history[0].transcript
    assert back.agent_history[1].transcript is None
