"""The blob collector's reads (graphstore/blob_gc.py): which blobs GraphSnapshots reference.

PURE: imports neither django, neo4j, celery nor the clock.
"""

from __future__ import annotations

REFERENCED = (
    "MATCH (g:GraphSnapshot) WHERE g.blobSha256 IS NOT NULL "
    "RETURN collect(DISTINCT g.blobSha256) AS shas"
)
IS_REFERENCED = (
    "MATCH (g:GraphSnapshot {blobSha256: $sha}) RETURN count(g) > 0 AS referenced"
)
