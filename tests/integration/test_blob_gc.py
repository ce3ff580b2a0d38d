"""The blob garbage collector against the real Neo4j and a real blob store."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from django.conf import settings
from neo4j.exceptions import ClientError

from graphstore.blob_gc import collect_garbage
from graphstore.errors import Neo4jWriteFailed
from graphstore.replay import load_run
from graphstore.writer import RunWriter
from tests.unit.graphstore.test_mapper import with_commands_size
from tools.synthetic import make_run

pytestmark = pytest.mark.integration
DB = settings.NEO4J_DATABASE


def _age(store, uri: str, seconds: float) -> None:  # type: ignore[no-untyped-def]
    path = uri.removeprefix("file://")
    old = time.time() - seconds
    os.utime(path, (old, old))


def test_blob_of_a_failed_transaction_is_collected_referenced_ones_never(graph, blob_store, now):
    """A blob whose transaction failed is deleted once past the grace period; a referenced
    blob, however old, is kept and still reads back; a young orphan is kept."""
    kept = with_commands_size(make_run(60, now=now, run_id="run-kept"), 40_000)
    kept_uri = RunWriter(graph, database=DB, blob_store=blob_store).write(kept).blob_uri

    def refuse(attempt: int) -> None:
        raise ClientError("the transaction fails after its blob was written")

    failed = with_commands_size(make_run(61, now=now, run_id="run-failed"), 41_000)
    with pytest.raises(Neo4jWriteFailed):
        RunWriter(graph, database=DB, blob_store=blob_store, fault_injector=refuse).write(failed)
    young = blob_store.put(b'[{"statement": "RETURN 1"}]' + b" " * 40_000)
    orphans = {b.uri for b in blob_store.iter_blobs()} - {kept_uri, young.uri}
    assert len(orphans) == 1
    orphan = orphans.pop()
    for uri in (kept_uri, orphan):
        _age(blob_store, uri, 7200)

    dry = collect_garbage(driver=graph, database=DB, store=blob_store, grace_s=3600,
                          now=time.time, dry_run=True)
    assert dry.deleted == [orphan] and blob_store.exists(orphan)
    report = collect_garbage(driver=graph, database=DB, store=blob_store, grace_s=3600,
                             now=time.time)
    print(report.line())
    assert report.deleted == [orphan] and not blob_store.exists(orphan)
    assert (report.scanned, report.referenced, report.too_young) == (3, 1, 1)
    assert blob_store.exists(kept_uri) and blob_store.exists(young.uri)
    assert load_run("run-kept", driver=graph, database=DB, blob_store=blob_store).graph == \
        kept.graph


def test_re_put_refreshes_a_blob_so_a_collection_spares_it(graph, blob_store, now):
    """Writing a run whose blob already exists (content-addressed) makes it young again."""
    run = with_commands_size(make_run(62, now=now, run_id="run-a"), 40_000)
    uri = RunWriter(graph, database=DB, blob_store=blob_store).write(run).blob_uri
    graph.execute_query("MATCH (n) DETACH DELETE n", database_=DB)  # as if never committed
    _age(blob_store, uri, 7200)
    blob_store.put(Path(uri.removeprefix("file://")).read_bytes())
    report = collect_garbage(driver=graph, database=DB, store=blob_store, grace_s=3600,
                             now=time.time)
    assert report.deleted == [] and report.too_young == 1 and blob_store.exists(uri)
