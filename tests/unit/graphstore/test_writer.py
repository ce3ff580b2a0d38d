"""The writer's pure parts: the timing split of its summary and the statement parameters."""

from __future__ import annotations

from graphstore.blobstore import BlobRef
from graphstore.cypher import write as cypher
from graphstore.cypher.write import KEEP_PLAN
from graphstore.mapper import map_run_to_graph
from graphstore.schema import LABELS, REL_TYPES, rel_shared
from graphstore.writer import IngredientNameClash, WriteSummary, statement_params
from tests.unit.graphstore.test_mapper import with_commands_size
from tools.synthetic import make_run


def test_summary_carries_the_timing_split():
    """as_dict keeps every earlier key and adds mappingMs, blobMs, databaseMs, bookmarks."""
    summary = WriteSummary(run_id="r", checksum="c", created=True, nodes_created=3,
                           relationships_created=2, node_count=3, relationship_count=2,
                           attempts=1, latency_ms=10.12345, mapping_ms=1.23456, blob_ms=0.0,
                           database_ms=8.5)
    out = summary.as_dict()
    assert list(out) == ["runId", "checksum", "created", "nodesCreated", "relationshipsCreated",
                         "nodeCount", "relationshipCount", "attempts", "latencyMs", "blobUri",
                         "mappingMs", "blobMs", "databaseMs", "ingredientNameClashes",
                         "bookmarks"]
    assert (out["latencyMs"], out["mappingMs"], out["blobMs"], out["databaseMs"]) == (
        10.123, 1.235, 0.0, 8.5)
    assert out["ingredientNameClashes"] == []


def test_summary_lists_ingredient_name_clashes():
    """Each clash is the Ingredient id, the node's (kept) name and the name the run used."""
    clash = IngredientNameClash("ing-oil", "Olive oil", "Sunflower oil")
    summary = WriteSummary(run_id="r", checksum="c", created=True, nodes_created=3,
                           relationships_created=2, node_count=3, relationship_count=2,
                           attempts=1, latency_ms=1.0, ingredient_name_clashes=(clash,))
    assert summary.as_dict()["ingredientNameClashes"] == [
        {"ingredientId": "ing-oil", "canonicalName": "Olive oil", "runName": "Sunflower oil"}]


def test_statement_params_hold_every_row_once(now):
    """One row list per label and type, in the write set's order, and the run's scalars."""
    ws = map_run_to_graph(make_run(5, now=now, ingredients=9))
    params = statement_params(ws)
    for label in LABELS:
        assert [r["key"] for r in params[cypher.node_param(label.name)]] == [
            n.key for n in ws.nodes_of(label.name)]
    for rel in REL_TYPES:
        assert [(r["start"], r["end"]) for r in params[cypher.rel_param(rel.name)]] == [
            (r.start, r.end) for r in ws.relationships_of(rel.name)]
    assert (params["runId"], params["checksum"], params["nodeCount"]) == (
        ws.run_id, ws.checksum, len(ws.nodes))
    assert set(cypher.WRITE_RUN_PARAMS) <= set(params)


def test_statement_params_add_the_blob_uri_to_the_snapshot_only(now):
    """With a stored blob, the GraphSnapshot row gets blobUri; the write set is not changed."""
    ws = map_run_to_graph(with_commands_size(make_run(6, now=now), 40_000))
    assert ws.blob is not None
    ref = BlobRef(uri="file:///tmp/x", sha256=ws.blob.sha256, size=len(ws.blob.data))
    row = statement_params(ws, ref)[cypher.node_param("GraphSnapshot")][0]
    assert row["create"]["blobUri"] == "file:///tmp/x"
    assert "blobUri" not in ws.nodes_of("GraphSnapshot")[0].on_create


def test_the_check_and_the_write_are_one_statement():
    """WRITE_RUN reads the committed run first and returns what it found; the writes sit in two
    subqueries: the first write only when no run is committed, the rewrite only for the same
    content, neither for a condensed run."""
    assert cypher.WRITE_RUN.startswith(KEEP_PLAN)  # the plan kept when the statistics move
    text = cypher.WRITE_RUN.removeprefix(KEEP_PLAN)
    assert text.startswith("OPTIONAL MATCH (existing:OrchestrationRun {runId: $runId})")
    first = text.index("WHERE stored IS NULL AND NOT condensed")
    again = text.index("WHERE stored = $checksum AND NOT condensed")
    assert first < text.index("MERGE (") < again
    assert text.rstrip().endswith(
        "RETURN stored AS checksum, condensed, coalesce(firstClashes, againClashes) AS nameClashes")
    # the row stays when nothing is written
    assert text.count("OPTIONAL CALL (stored, condensed) {") == 2


def test_the_first_write_creates_what_belongs_to_the_run_and_merges_what_is_shared():
    """In the first-write path, shared labels (and relationships between two shared nodes) are
    merged, the run's own nodes and relationships created; the rewrite path merges all."""
    text = cypher.WRITE_RUN
    split = text.index("WHERE stored = $checksum AND NOT condensed")
    first, again = text[:split], text[split:]
    for label in LABELS:
        merge, create = f"MERGE (n:{label.name} {{", f"CREATE (n:{label.name} {{"
        assert (merge if label.shared else create) in first
        assert (create if label.shared else merge) not in first
        assert merge in again and create not in again
    for rel in REL_TYPES:
        merge, create = f"MERGE (a)-[r:{rel.name}]->(b)", f"CREATE (a)-[r:{rel.name}]->(b)"
        assert (merge if rel_shared(rel) else create) in first
        assert merge in again and create not in again


def test_the_ingredient_block_returns_name_clashes_without_overwriting():
    """The Ingredient MERGE sets the name on create only and returns the rows whose name
    differs from the node's; each write path returns them with the commit marker."""
    block = cypher.NAME_CLASH_BLOCK
    assert block.startswith(cypher.NODE_MERGE["Ingredient"])
    assert "WITH n, row WHERE n.name <> row.create.name" in block
    assert "AS nameClashes" in block and "ON MATCH SET n += row.match," in block
    assert cypher.WRITE_RUN.count("RETURN nameClashes AS firstClashes") == 1
    assert cypher.WRITE_RUN.count("RETURN nameClashes AS againClashes") == 1
