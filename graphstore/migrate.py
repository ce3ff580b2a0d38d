"""Upgrades of graphs written by earlier versions. I/O (Neo4j).

`backfill_issue_lists`: ValidationReports written before the writer stored the issues' agents,
fields and severities as lists (graphstore/codecs/validation.py) get them, computed from their
JSON text by the same codec; validation analytics read only the lists. Idempotent, in batches;
`manage.py upgrade_graph` runs it. Condensed reports have no issue texts left and get no lists
(analytics counts them as details removed, as before).

`set_retention_started`: `retentionStartedAt` (the property retention's candidates are sought
by, graphstore/retention.py) made right on runs written, or condensed, by a version that did not
keep it: the committed runs that are full, or condensed and still retain something, carry their
startedAt, no other run carries it. Idempotent, in pages of runs by runId; `manage.py
upgrade_graph` runs it.

`set_run_owners`: the owner id of each run node (OrchestrationRun.ownerId, see
graphstore/scope.py) set to what the caller says, for runs written before the node carried it
or whose owner changed; the graph store does not know users, so the caller (the orchestration
app's `manage.py sync_run_owners`, from its ledger) gives the pairs. Idempotent, in batches.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from itertools import islice

from neo4j import Driver

from .codecs import ValidationReportCodec
from .cypher.migrate import (
    REPORTS_WITHOUT_ISSUE_LISTS,
    SET_ISSUE_LISTS,
    SET_RETENTION_STARTED,
    SET_RUN_OWNERS,
)
from .errors import InvalidBatchSize


def backfill_issue_lists(*, driver: Driver, database: str, batch_size: int = 500) -> int:
    """Add the issue lists to every ValidationReport that lacks them; the number updated."""
    if batch_size < 1:
        raise InvalidBatchSize(batch_size)
    updated = 0
    while True:
        records, _, _ = driver.execute_query(REPORTS_WITHOUT_ISSUE_LISTS, limit=batch_size,
                                             database_=database)
        if not records:
            return updated
        rows = [{"runId": r["runId"], "props": ValidationReportCodec.issue_props(
            json.loads(r["errors"]), json.loads(r["warnings"]))} for r in records]
        driver.execute_query(SET_ISSUE_LISTS, rows=rows, database_=database)
        updated += len(rows)


def set_retention_started(*, driver: Driver, database: str, batch_size: int = 5000) -> int:
    """Make `retentionStartedAt` right on every run (see the module docstring); the number of
    runs changed."""
    if batch_size < 1:
        raise InvalidBatchSize(batch_size)
    after, changed = "", 0
    while True:
        records, _, _ = driver.execute_query(SET_RETENTION_STARTED, after=after,
                                             limit=batch_size, database_=database)
        changed += int(records[0]["changed"])
        if records[0]["seen"] < batch_size:
            return changed
        after = records[0]["last"]


def set_run_owners(owners: Iterable[tuple[str, str | None]], *, driver: Driver, database: str,
                   batch_size: int = 500) -> int:
    """Set OrchestrationRun.ownerId from (runId, owner id or None) pairs; runs not in the graph
    are skipped. The number of runs whose owner changed."""
    if batch_size < 1:
        raise InvalidBatchSize(batch_size)
    pairs = iter(owners)
    changed = 0
    while batch := list(islice(pairs, batch_size)):
        records, _, _ = driver.execute_query(
            SET_RUN_OWNERS, rows=[{"runId": run_id, "ownerId": owner} for run_id, owner in batch],
            database_=database)
        changed += int(records[0]["changed"])
    return changed
