"""The management commands against the real Neo4j: ingest_run (through the ledger, as POST
/api/orchestration/runs), show_run, install_graph_schema, formulation."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from prometheus_client import REGISTRY

from contracts import checksum
from graphstore.mapper import map_run_to_graph
from graphstore.schema import CONSTRAINTS, LABELS, SCHEMA_STATEMENTS
from orchestration.models import RunRecord, RunSource
from tests.conftest import count_graph
from tests.unit.graphstore.test_mapper import with_commands_size
from tools.synthetic import make_run

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _call(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def _jsonl(runs) -> str:  # type: ignore[no-untyped-def]
    return "".join(r.model_dump_json(by_alias=True, exclude_none=True) + "\n" for r in runs)


def test_ingesting_the_same_file_twice_leaves_counts_unchanged(graph, tmp_path: Path, now):
    """ingest_run of a JSON Lines file, twice: the second pass adds no node or relationship."""
    source = tmp_path / "runs.jsonl"
    source.write_text(_jsonl([make_run(40 + i, now=now) for i in range(5)]), encoding="utf-8")
    first = _call("ingest_run", str(source))
    counts = count_graph(graph)
    second = _call("ingest_run", str(source))
    assert first.count(" persisted:") == 5
    assert second.count("already persisted (unchanged)") == 5
    assert count_graph(graph) == counts and counts[0] > 0
    assert RunRecord.objects.count() == 5


def test_ingested_runs_have_a_ledger_row_like_posted_runs(graph, tmp_path, now):
    """Each ingested run gets a ledger row (source external, persisted, the normalized run and
    its checksum), so it appears in the run list and the admin."""
    runs = [make_run(45 + i, now=now) for i in range(2)]
    source = tmp_path / "runs.jsonl"
    source.write_text(_jsonl(runs), encoding="utf-8")
    _call("ingest_run", str(source))
    for run in runs:
        row = RunRecord.objects.get(run_id=run.run_id)
        write_set = map_run_to_graph(run)
        assert row.source == RunSource.EXTERNAL and row.persisted_at is not None
        assert row.checksum == write_set.checksum == checksum(row.result)
        assert row.result == write_set.normalized.to_wire()
        assert row.status == run.metadata.status and row.request_text == run.request.user_request


def test_bad_input_exits_non_zero_with_field_errors_and_writes_nothing(graph, tmp_path, now):
    """One bad line among good ones: field-level errors, CommandError, nothing written."""
    bad = make_run(50, now=now).to_wire()
    bad["recipe"]["ingredients"][2]["percentage"] = 140
    source = tmp_path / "runs.jsonl"
    source.write_text(_jsonl([make_run(51, now=now)]) + json.dumps(bad) + "\n", encoding="utf-8")
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing was written"):
        call_command("ingest_run", str(source), stdout=io.StringIO(), stderr=err)
    assert "line 2: recipe.ingredients[2].percentage" in err.getvalue()
    assert count_graph(graph) == (0, 0)
    assert not RunRecord.objects.exists()


def _refused(source: Path) -> str:
    """ingest_run of `source` fails saying nothing was written; its stderr."""
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing was written"):
        call_command("ingest_run", str(source), stdout=io.StringIO(), stderr=err)
    return err.getvalue()


def test_a_line_conflicting_with_an_earlier_line_writes_nothing(graph, tmp_path, now):
    """Line 2 giving line 1's runId with other content: both refused before either is written
    (line 1 used to be written), the error naming line 2's metadata.id."""
    first = make_run(53, now=now, run_id="run-twice")
    second = make_run(54, now=now, run_id="run-twice")
    source = tmp_path / "runs.jsonl"
    source.write_text(_jsonl([first, second]), encoding="utf-8")
    assert "line 2: metadata.id: is 'run-twice', which line 1 gives" in _refused(source)
    assert count_graph(graph) == (0, 0)
    assert not RunRecord.objects.exists()


def test_a_line_conflicting_with_a_stored_run_writes_nothing(graph, tmp_path, now):
    """A file whose line 2 changes a run already stored: line 1 (a new run) is not written
    either; the stored run is unchanged."""
    stored = make_run(55, now=now, run_id="run-stored")
    source = tmp_path / "stored.jsonl"
    source.write_text(_jsonl([stored]), encoding="utf-8")
    _call("ingest_run", str(source))
    counts = count_graph(graph)
    source.write_text(_jsonl([make_run(56, now=now), make_run(57, now=now,
                                                               run_id="run-stored")]))
    assert "line 2: metadata.id: is 'run-stored', which the ledger already holds" in _refused(
        source)
    assert count_graph(graph) == counts
    assert list(RunRecord.objects.values_list("run_id", flat=True)) == ["run-stored"]


def test_a_line_over_the_graph_limit_writes_nothing(graph, tmp_path, now):
    """A run over the 500-element limit on line 2: line 1 is not written either."""
    source = tmp_path / "runs.jsonl"
    source.write_text(_jsonl([make_run(58, now=now),
                              make_run(59, now=now, ingredients=1, history=243)]))
    assert "line 2: (run): Run run-synthetic-000059 maps to" in _refused(source)
    assert count_graph(graph) == (0, 0) and not RunRecord.objects.exists()


def test_the_same_run_twice_in_a_file_is_written_once(graph, tmp_path, now):
    """The same run on two lines (same content) is one run: written, then confirmed."""
    run = make_run(60, now=now)
    source = tmp_path / "runs.jsonl"
    source.write_text(_jsonl([run, run]), encoding="utf-8")
    out = _call("ingest_run", str(source))
    assert out.count(" persisted:") == 1 and out.count("already persisted (unchanged)") == 1
    assert RunRecord.objects.count() == 1


@pytest.mark.parametrize("depth", [300, 100_000])
def test_deeply_nested_input_is_refused_cleanly(graph, tmp_path, now, depth):
    """A document nested beyond the JSON parser's limit is refused as the API refuses it (no
    RecursionError traceback), naming the line; nothing written."""
    good = _jsonl([make_run(61, now=now)])
    deep = "[" * depth + "1" + "]" * depth
    bad = good.replace('"metadata":{"domain"', f'"metadata":{{"deep":{deep},"domain"', 1)
    source = tmp_path / "runs.jsonl"
    source.write_text(_jsonl([make_run(62, now=now)]) + bad, encoding="utf-8")
    err = _refused(source)
    assert "line 2: (root): Invalid JSON: recursion limit exceeded" in err
    assert count_graph(graph) == (0, 0) and not RunRecord.objects.exists()


@pytest.mark.parametrize(("change", "says"), [
    (lambda w: w["metadata"].update(timestamp="9999-12-31T22:00:00-05:00"),
     "line 1: metadata.timestamp: cannot be represented in UTC"),
    (lambda w: w["agentHistory"][2].update(timestamp="0001-01-01T03:00:00+05:00"),
     "line 1: agentHistory[2].timestamp: cannot be represented in UTC"),
    (lambda w: w["metadata"].update(id="similar"), "line 1: metadata.id: 'similar' is reserved"),
])
def test_input_the_contract_refuses_is_refused_before_anything_is_written(graph, tmp_path, now,
                                                                         change, says):
    """A timestamp UTC cannot hold, or a runId that is a word of the URL space, is a field
    error and nothing is written (the timestamp used to fail inside the write, saying the run
    could be written again safely)."""
    wire = make_run(63, now=now).to_wire()
    change(wire)
    source = tmp_path / "run.json"
    source.write_text(json.dumps(wire), encoding="utf-8")
    assert says in _refused(source)
    assert count_graph(graph) == (0, 0) and not RunRecord.objects.exists()


def test_ingest_then_show_run_round_trips(graph, tmp_path, now):
    """show_run --json prints the run exactly as ingested (after normalization)."""
    run = make_run(52, now=now, ingredients=9)
    source = tmp_path / "run.json"
    source.write_text(run.model_dump_json(by_alias=True, exclude_none=True), encoding="utf-8")
    _call("ingest_run", str(source))
    shown = json.loads(_call("show_run", run.run_id, "--json"))
    assert checksum(shown) == map_run_to_graph(run).checksum
    human = _call("show_run", run.run_id)
    assert "complete" in human and run.recipe.name in human and "matches" in human


def test_show_run_of_unknown_id_fails_clearly(graph):
    """show_run of an unknown runId is a CommandError naming it."""
    with pytest.raises(CommandError, match="run-nope"):
        _call("show_run", "run-nope")


def test_show_run_of_a_run_whose_blob_is_missing_fails_clearly(graph, tmp_path, now,
                                                              app_blob_dir):
    """show_run of a run whose cypherCommands blob was deleted from the store: one sentence on
    stderr naming the run and the missing blob, no traceback, exit status 1 (a real
    `manage.py` process)."""
    run = with_commands_size(make_run(53, now=now, run_id="run-blob-gone"), 40_000)
    source = tmp_path / "run.json"
    source.write_text(run.model_dump_json(by_alias=True, exclude_none=True), encoding="utf-8")
    _call("ingest_run", str(source))
    blobs = [p for p in app_blob_dir.rglob("*") if p.is_file()]
    assert len(blobs) == 1
    blobs[0].unlink()
    shown = subprocess.run(
        [sys.executable, "manage.py", "show_run", "run-blob-gone"], cwd=ROOT,
        env={**os.environ, "CAP01_BLOB_STORE_URL": f"file://{app_blob_dir}"},
        capture_output=True, text=True, timeout=120)
    assert shown.returncode == 1, shown.stdout
    assert "Traceback" not in shown.stderr and shown.stdout == ""
    assert "Run run-blob-gone is committed in Neo4j, but its cypherCommands blob is missing " \
           "from the blob store" in shown.stderr
    assert blobs[0].name in shown.stderr


def test_ingesting_a_run_that_renames_an_ingredient_reports_the_clash(graph, tmp_path, now,
                                                                       caplog):
    """ingest_run of a run reusing an Ingredient id under another name: the printed summary
    and the ledger's write summary list the clash, a WARNING log line names it, and
    neo4j_ingredient_name_clashes_total counts it once (not again when the run is rewritten)."""
    first = make_run(54, now=now, run_id="run-clash-a", ingredients=5)
    wire = first.to_wire()
    wire["metadata"]["id"] = "run-clash-b"
    ingredient = wire["recipe"]["ingredients"][1]
    ingredient["name"] = "Renamed " + ingredient["name"]
    source = tmp_path / "runs.jsonl"
    source.write_text(_jsonl([first]) + json.dumps(wire) + "\n", encoding="utf-8")

    def counted() -> float:
        return REGISTRY.get_sample_value("neo4j_ingredient_name_clashes_total") or 0.0

    before = counted()
    with caplog.at_level(logging.WARNING, logger="orchestration.services.persistence"):
        printed = _call("ingest_run", str(source))
    clash = {"ingredientId": ingredient["id"], "canonicalName": first.recipe.ingredients[1].name,
             "runName": ingredient["name"]}
    assert json.dumps(clash) in printed
    assert RunRecord.objects.get(run_id="run-clash-b").write_summary[
        "ingredientNameClashes"] == [clash]
    assert RunRecord.objects.get(run_id="run-clash-a").write_summary[
        "ingredientNameClashes"] == []
    warnings = [r for r in caplog.records if getattr(r, "event", "") == "ingredient_name_clash"]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    assert warnings[0].runId == "run-clash-b" and warnings[0].clashes == [clash]
    assert ingredient["id"] in warnings[0].getMessage()
    assert counted() - before == 1
    _call("ingest_run", str(source))  # already persisted: confirmed in Neo4j, not counted again
    assert counted() - before == 1


def test_schema_installer_is_idempotent_and_complete(graph):
    """Running the installer twice leaves one uniqueness constraint per merge key."""
    _call("install_graph_schema")
    _call("install_graph_schema")
    records, _, _ = graph.execute_query(
        "SHOW CONSTRAINTS YIELD name, type, labelsOrTypes, properties "
        "WHERE type = 'UNIQUENESS' RETURN labelsOrTypes[0] AS label, properties[0] AS key",
        database_=settings.NEO4J_DATABASE)
    assert {(r["label"], r["key"]) for r in records} >= {(lb.name, lb.key) for lb in LABELS}
    installed = [st for st in SCHEMA_STATEMENTS if st.startswith("CREATE CONSTRAINT")]
    assert len(records) == len(installed) >= len(CONSTRAINTS)
    indexes, _, _ = graph.execute_query("SHOW INDEXES YIELD name RETURN collect(name) AS names",
                                        database_=settings.NEO4J_DATABASE)
    assert {"agent_invocation_run_seq", "graph_snapshot_hash"} <= set(indexes[0]["names"])


def test_formulation_command_links_and_retires(graph, tmp_path, now):
    """`formulation F --uses RUN` links F to the run's recipe and calculation; `--status
    retired` changes it; an unknown run is a CommandError."""
    run = make_run(53, now=now)
    source = tmp_path / "run.json"
    source.write_text(run.model_dump_json(by_alias=True, exclude_none=True), encoding="utf-8")
    _call("ingest_run", str(source))
    _call("formulation", "F-1", "--uses", run.run_id)
    records, _, _ = graph.execute_query(
        "MATCH (f:Formulation {formulationId: 'F-1'}) "
        "OPTIONAL MATCH (f)-[:USES_RECIPE]->(rv:RecipeVersion) "
        "OPTIONAL MATCH (f)-[:USES_CALCULATION]->(c:CalculationResult) "
        "RETURN f.status AS status, rv.recipeId AS recipe, c.runId AS calc",
        database_=settings.NEO4J_DATABASE)
    assert (records[0]["status"], records[0]["recipe"], records[0]["calc"]) == (
        "active", run.recipe.id, run.run_id)
    _call("formulation", "F-1", "--status", "retired")
    records, _, _ = graph.execute_query(
        "MATCH (f:Formulation {formulationId: 'F-1'}) RETURN f.status AS status",
        database_=settings.NEO4J_DATABASE)
    assert records[0]["status"] == "retired"
    with pytest.raises(CommandError, match="run-unknown"):
        _call("formulation", "F-2", "--uses", "run-unknown")
