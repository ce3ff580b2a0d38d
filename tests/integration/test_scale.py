"""The scale benchmark's fill (issue 13): its bulk path writes exactly the writer's graph and
ledger."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from neo4j import Driver

from graphstore.connection import database, get_blob_store, get_driver
from graphstore.schema import LABEL_BY_NAME
from orchestration.agents.catalogue import PRODUCTS
from orchestration.models import RunRecord
from orchestration.services import run_result_ingest
from tools.scale_fill import bulk_write
from tools.scale_mix import build, plan
from tools.synthetic import make_run

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
DB = settings.NEO4J_DATABASE
ANCHOR = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
WRITE_TIMES = {"createdAt", "committedAt"}  # when the write happened: differ between two writes


def _runs() -> list[Any]:
    """60 runs of the mix (failed, large, replays of earlier ones, every product seen) and one
    whose cypherCommands go to the blob store."""
    runs = [build(plan(i, ANCHOR), ANCHOR) for i in range(60)]
    runs.append(make_run(9999, now=ANCHOR, cypher_padding=300_000, run_id="scale-blob"))
    return runs


def _node_id(labels: list[str], props: dict[str, Any]) -> tuple[str, str]:
    label = next(x for x in labels if x in LABEL_BY_NAME)
    return label, str(props[LABEL_BY_NAME[label].key])


def dump(driver: Driver) -> tuple[dict[tuple[str, str], Any], list[Any]]:
    """Every node (by label and key: sorted labels, properties but the write times) and every
    relationship (type, its ends' ids, properties), comparable between two graphs."""
    nodes: dict[tuple[str, str], Any] = {}
    for rec in driver.execute_query("MATCH (n) RETURN labels(n) AS l, properties(n) AS p",
                                    database_=DB).records:
        props = dict(rec["p"])
        nodes[_node_id(rec["l"], props)] = (
            sorted(rec["l"]),
            sorted((k, repr(v)) for k, v in props.items() if k not in WRITE_TIMES))
    rels = sorted(
        (rec["t"], _node_id(rec["al"], rec["ap"]), _node_id(rec["bl"], rec["bp"]),
         sorted((k, repr(v)) for k, v in rec["p"].items()))
        for rec in driver.execute_query(
            "MATCH (a)-[r]->(b) RETURN type(r) AS t, labels(a) AS al, properties(a) AS ap, "
            "labels(b) AS bl, properties(b) AS bp, properties(r) AS p", database_=DB).records)
    return nodes, rels


LEDGER = ("run_id", "source", "submitted_by_id", "request_text", "request", "status", "result",
          "checksum", "failed_agent", "error", "started_at", "total_duration_ms", "stages",
          "condensed_at")


def ledger() -> list[tuple[Any, ...]]:
    return sorted(RunRecord.objects.values_list(*LEDGER))


def test_bulk_fill_writes_the_same_graph_and_ledger_as_the_writer(graph, app_blob_dir):
    """The same runs through run_result_ingest (one writer transaction each) and through the
    fill's bulk statement give the same nodes, properties, relationships and ledger rows."""
    user = get_user_model().objects.create(username="scale-owner")
    runs = _runs()
    assert {f"recipe-{p.slug}" for p in PRODUCTS} <= {r.recipe.id for r in runs if r.recipe}
    assert any(r.metadata.status == "failed" for r in runs)
    for run in runs:
        run_result_ingest(user=user, run=run, retry=None)
    by_writer = dump(graph)
    ledger_writer = ledger()
    assert all(row.persisted_at for row in RunRecord.objects.all())
    assert graph.execute_query("MATCH ()-[r:REPLAY_OF]->() RETURN count(r) AS c",
                               database_=DB).records[0]["c"] > 0

    graph.execute_query("MATCH (n) DETACH DELETE n", database_=DB)
    RunRecord.objects.all().delete()
    written = bulk_write([(run, user) for run in runs[:30]], driver=get_driver(),
                         database=database(), blobs=get_blob_store(), now=datetime.now(UTC))
    written += bulk_write([(run, user) for run in runs[30:]], driver=get_driver(),
                          database=database(), blobs=get_blob_store(), now=datetime.now(UTC))
    assert written == [run.run_id for run in runs]
    by_bulk = dump(graph)
    differ = {k: (v, by_writer[0].get(k)) for k, v in by_bulk[0].items()
              if by_writer[0].get(k) != v}
    assert not differ and set(by_bulk[0]) == set(by_writer[0]), list(differ.items())[:3]
    assert by_bulk[1] == by_writer[1]
    rows = ledger()
    assert [r for r in rows if r not in ledger_writer] == []
    assert rows == ledger_writer
    assert all(row.persisted_at for row in RunRecord.objects.all())


def test_bulk_fill_leaves_a_committed_run_as_it_is(graph, app_blob_dir):
    """A run already committed gets no second ledger row and its nodes keep their properties
    (only writeCount moves, as when the writer confirms a run it finds committed)."""
    runs = [build(plan(i, ANCHOR), ANCHOR) for i in range(3)]
    first = bulk_write([(runs[0], None)], driver=get_driver(), database=database(),
                       blobs=get_blob_store(), now=datetime.now(UTC))
    before = dump(graph)
    again = bulk_write([(run, None) for run in runs], driver=get_driver(), database=database(),
                       blobs=get_blob_store(), now=datetime.now(UTC))
    assert first == [runs[0].run_id]
    assert again == [runs[1].run_id, runs[2].run_id]
    def props(nodes: dict[Any, Any]) -> dict[Any, Any]:
        return {k: [p for p in v[1] if p[0] != "writeCount"] for k, v in nodes.items()
                if not LABEL_BY_NAME[k[0]].shared and k in before[0]}

    assert props(dump(graph)[0]) == props(before[0])
    assert RunRecord.objects.count() == 3
