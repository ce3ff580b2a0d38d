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

# Owners set from the authority on ownership (the caller's ledger), a batch at a time: runs
# written before the run node carried its owner, or whose owner changed since. A null
# `row.ownerId` removes the owner. Only runs whose owner differs are written; returns them.
SET_RUN_OWNERS = (
    "UNWIND $rows AS row\n"
    "MATCH (r:OrchestrationRun {runId: row.runId})\n"
    "WITH r, row\n"
    "WHERE NOT coalesce(r.ownerId = row.ownerId, r.ownerId IS NULL AND row.ownerId IS NULL)\n"
    "SET r.ownerId = row.ownerId\n"
    "RETURN count(r) AS changed"
)
