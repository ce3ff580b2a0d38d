"""Upgrades of graphs written by earlier versions. I/O (Neo4j).

`backfill_issue_lists`: ValidationReports written before the writer stored the issues' agents,
fields and severities as lists (graphstore/codecs/validation.py) get them, computed from their
JSON text by the same codec; validation analytics read only the lists. Idempotent, in batches;
`manage.py upgrade_graph` runs it. Condensed reports have no issue texts left and get no lists
(analytics counts them as details removed, as before).
"""

from __future__ import annotations

import json

from neo4j import Driver

from .codecs import ValidationReportCodec
from .cypher.migrate import REPORTS_WITHOUT_ISSUE_LISTS, SET_ISSUE_LISTS
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
