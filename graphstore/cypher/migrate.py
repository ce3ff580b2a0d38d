"""Upgrades of graphs written by earlier versions (graphstore/migrate.py).

PURE: imports neither django, neo4j, celery nor the clock.
"""

from __future__ import annotations

# ValidationReports written before the issue lists existed (and not condensed: their JSON is
# still there), a batch at a time.
REPORTS_WITHOUT_ISSUE_LISTS = (
    "MATCH (v:ValidationReport)\n"
    "WHERE v.errors IS NOT NULL AND v.warnings IS NOT NULL AND v.errorAgents IS NULL\n"
    "RETURN v.runId AS runId, v.errors AS errors, v.warnings AS warnings\n"
    "ORDER BY runId LIMIT $limit"
)
SET_ISSUE_LISTS = (
    "UNWIND $rows AS row\n"
    "MATCH (v:ValidationReport {runId: row.runId})\n"
    "SET v += row.props"
)
