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

# `retentionStartedAt` (retention's candidates seek it: graphstore/retention.py) made right on
# runs written or condensed by a version that did not keep it, a page of runs at a time in runId
# order after the cursor $after: a committed run that is full, or condensed and retains
# something, carries its startedAt; any other run carries nothing. Returns the page's size, its
# last runId (the next cursor) and how many runs changed.
SET_RETENTION_STARTED = (
    "MATCH (r:OrchestrationRun) WHERE r.runId > $after\n"
    "WITH r ORDER BY r.runId LIMIT $limit\n"
    "WITH collect(r) AS page\n"
    "CALL (page) {\n"
    "  UNWIND page AS r\n"
    "  WITH r, CASE WHEN r.commitChecksum IS NOT NULL\n"
    "               AND (r.condensed IS NULL OR r.condensedRetains = true)\n"
    "          THEN r.startedAt END AS wanted\n"
    "  WITH r, wanted WHERE NOT coalesce(r.retentionStartedAt = wanted,\n"
    "                                    r.retentionStartedAt IS NULL AND wanted IS NULL)\n"
    "  SET r.retentionStartedAt = wanted\n"
    "  RETURN count(r) AS changed\n"
    "}\n"
    "RETURN size(page) AS seen, page[-1].runId AS last, changed"
)
