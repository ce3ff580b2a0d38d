"""Filling a graph for the scale benchmark (issue 13): `manage.py scale_fill --runs N`.

Two paths: `writer` sends every run through the real path of an external run (orchestration.
services.run_result_ingest: the ledger row, then the writer's transaction); `bulk` (the default)
writes a batch of runs in one transaction of graphstore/cypher/bulk.py's statement (derived from
the writer's own; tests/integration/test_scale.py proves both paths give the same graph) and
their ledger rows in one bulk insert, filled in as run_result_ingest and run_persist fill them.
On a busy 2-core machine the writer path manages a few runs per second (every transaction waits
for its commit), the bulk path some hundreds. The ledger row's created_at is set to the run's
start (the run list orders by it), as if the run had been posted then. Resumable: the runs
of the mix (tools/scale_mix.py) are written in index order and the fill starts after the highest
index the ledger holds; the anchor (the end of the span) is kept in a state file beside it. At
the end, formulations hold every FORMULATION_EVERY-th run, and retention condenses the runs
started more than `condense_days` before the anchor (the real pass), leaving the runs between
`measure_days` and `condense_days` for the benchmark's own timed retention pass.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from neo4j import Driver

from contracts import RunResult
from graphstore.blobstore import BlobStore
from graphstore.codecs import GraphSnapshotCodec
from graphstore.connection import database, get_blob_store, get_driver, get_embedder
from graphstore.cypher import bulk
from graphstore.cypher.write import node_param, statement_args
from graphstore.mapper import map_run_to_graph
from graphstore.retention import formulation_link
from graphstore.writer import _node_rows, embedding_params, statement_params
from orchestration.models import RunRecord, RunSource, owner_key
from orchestration.services import run_result_ingest, runs_changed, runs_condense
from orchestration.services.persistence import finished_fields, ledger_stages

from .scale_mix import OWNERS, PREFIX, build, plan, run_id

CONDENSE_DAYS = 45  # the fill condenses what is older than this
MEASURE_DAYS = 40  # the benchmark's timed pass condenses what is older than this


def owners() -> list[Any]:
    """The OWNERS users the runs belong to (scale-user-0 ..), created when missing."""
    model = get_user_model()
    users = []
    for i in range(OWNERS):
        user, _ = model.objects.get_or_create(username=f"scale-user-{i}")
        users.append(user)
    return users


def load_anchor(state: Path, *, now: datetime) -> datetime:
    """The anchor kept in `state`, or `now` to the hour, written there on first use."""
    if state.exists():
        return datetime.fromisoformat(json.loads(state.read_text())["anchor"])
    anchor = now.replace(minute=0, second=0, microsecond=0)
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text(json.dumps({"anchor": anchor.isoformat()}))
    return anchor


def filled() -> int:
    """How many runs of the mix the ledger holds (the highest index + 1)."""
    last = (RunRecord.objects.filter(run_id__startswith=PREFIX).order_by("-run_id")
            .values_list("run_id", flat=True).first())
    return 0 if last is None else int(last[len(PREFIX):]) + 1


class Progress:
    """A one-line progress bar on a stream (stderr): done/total, rate, time left."""

    def __init__(self, total: int, start: int, out: TextIO = sys.stderr) -> None:
        self.total, self.start, self.out = total, start, out
        self.t0 = time.perf_counter()
        self.last = 0.0

    def show(self, done: int, *, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self.last < 0.5:
            return
        self.last = now
        rate = (done - self.start) / max(now - self.t0, 1e-9)
        left = (self.total - done) / rate if rate > 0 else 0.0
        width = 30
        filled_ = int(width * done / max(self.total, 1))
        self.out.write(f"\r[{'#' * filled_}{'.' * (width - filled_)}] {done}/{self.total} "
                       f"{rate:6.1f} runs/s, {left / 60:5.1f} min left ")
        self.out.flush()
        if done >= self.total:
            self.out.write("\n")


def bulk_write(runs: list[tuple[RunResult, Any]], *, driver: Driver, database: str,
               blobs: BlobStore, now: datetime) -> list[str]:
    """Write `runs` ((run, owner user or None)) to Neo4j in one transaction of bulk.WRITE_RUNS
    and their ledger rows; the runIds written (a run already committed is left as it is)."""
    items = []
    for run, user in runs:
        write_set = map_run_to_graph(run)
        params = statement_params(write_set)
        if write_set.blob is not None:
            ref = blobs.put(write_set.blob.data)
            params[node_param(GraphSnapshotCodec.name)] = _node_rows(
                write_set, GraphSnapshotCodec.name, ref)
        params["ownerId"] = owner_key(getattr(user, "pk", None))
        # as the writer does
        params.update(embedding_params(get_embedder(), write_set.wire, write_set.run_id))
        items.append((run, user, write_set, params))

    def work(tx: object) -> list[dict[str, object]]:
        result = tx.run(bulk.WRITE_RUNS, runs=[statement_args(i[3]) for i in items],  # type: ignore[attr-defined]
                        now=now)
        return [dict(r) for r in result]

    with driver.session(database=database) as session:
        found = {r["runId"]: r for r in session.execute_write(work)}
    written = [i for i in items if found[i[0].run_id]["checksum"] is None
               and not found[i[0].run_id]["condensed"]]
    persisted = timezone.now()
    rows = []
    for run, user, write_set, _ in written:
        wire = write_set.normalized.to_wire()
        rows.append(RunRecord(
            run_id=run.run_id, source=RunSource.EXTERNAL, submitted_by=user,
            request_text=run.request.user_request, request=run.request.to_wire(),
            status=wire["metadata"]["status"], result=wire, checksum=write_set.checksum,
            failed_agent=finished_fields(run)["failed_agent"],
            total_duration_ms=run.metadata.total_duration,
            started_at=run.metadata.timestamp, finished_at=persisted,
            stages=ledger_stages(run), persisted_at=persisted, persist_attempts=1,
            write_summary={"runId": run.run_id, "checksum": write_set.checksum,
                           "created": True, "nodeCount": len(write_set.nodes),
                           "relationshipCount": len(write_set.relationships), "attempts": 1,
                           "bulk": True}))
    with transaction.atomic():
        RunRecord.objects.bulk_create(rows, ignore_conflicts=True)
    # as run_persist does: the closed days written into lose their analytics rollups
    runs_changed(started=[run.metadata.timestamp for run, *_ in written])
    return [run.run_id for run, *_ in written]


def wipe(state: Path) -> None:
    """Start again: every node of the graph, the mix's ledger rows and the anchor go (only where
    CAP01_ALLOW_GRAPH_WIPE=1 says this graph may be wiped: the test services)."""
    if os.environ.get("CAP01_ALLOW_GRAPH_WIPE") != "1":
        raise RuntimeError("--wipe deletes the whole graph: only with CAP01_ALLOW_GRAPH_WIPE=1")
    with get_driver().session(database=database()) as session:
        session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS").consume()
    RunRecord.objects.filter(run_id__startswith=PREFIX).delete()
    RunRecord.objects.filter(run_id__startswith="bench-write-").delete()
    state.unlink(missing_ok=True)


def fill(total: int, *, state: Path, batch: int = 200, condense: bool = True,
         path: str = "bulk", max_seconds: float | None = None,
         log: Callable[[str], None] = print) -> dict[str, object]:
    """Write runs of the mix up to `total`, resuming after what the ledger holds."""
    anchor = load_anchor(state, now=datetime.now(UTC))
    users = owners()
    start = filled()
    progress = Progress(total, start)
    log(f"scale_fill: anchor {anchor.isoformat()}, {start} runs there, filling to {total}")
    t0 = time.perf_counter()
    held: list[str] = []
    for lo in range(start, total, batch):
        if max_seconds is not None and time.perf_counter() - t0 > max_seconds:
            log(f"\nscale_fill: stopped after {max_seconds:.0f} s at {lo} runs (resumable)")
            total = progress.total = lo
            break
        ids = []
        pending: list[tuple[RunResult, Any]] = []
        for index in range(lo, min(total, lo + batch)):
            planned = plan(index, anchor)
            run = build(planned, anchor)
            if path == "writer":
                run_result_ingest(user=users[planned.owner], run=run, retry=None)
                progress.show(index + 1)
            else:
                pending.append((run, users[planned.owner]))
            ids.append(planned.run_id)
            if planned.formulation:
                held.append(planned.run_id)
        if pending:
            bulk_write(pending, driver=get_driver(), database=database(),
                       blobs=get_blob_store(), now=datetime.now(UTC))
            progress.show(lo + len(pending))
        # as if posted when it started: the run list orders by created_at
        RunRecord.objects.filter(run_id__in=ids).update(created_at=F("started_at"))
    progress.show(total, force=True)
    written = max(0, total - start)
    seconds = time.perf_counter() - t0
    for rid in held:
        formulation_link(driver=get_driver(), database=database(),
                         formulation_id=f"F-{rid}", run_id=rid, now=datetime.now(UTC))
    condensed = 0
    if condense:
        outcome = runs_condense(now=anchor, days=CONDENSE_DAYS, batch_size=500)
        condensed = len(outcome.graph.runs)
    return {"anchor": anchor.isoformat(), "written": written, "seconds": round(seconds, 1),
            "runsPerSecond": round(written / seconds, 1) if seconds else None,
            "formulations": len(held), "condensed": condensed, "total": total,
            "firstRun": run_id(0)}


def measure_cutoff(anchor: datetime) -> datetime:
    return anchor - timedelta(days=MEASURE_DAYS)
