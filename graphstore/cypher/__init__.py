"""Every Cypher statement of the graph store, as fixed text: one module per concern.

    write.py      the run's one write statement (graphstore/writer.py)
    read.py       replay's load and the commit-marker verification (graphstore/replay.py)
    retention.py  condensing old runs, formulations (graphstore/retention.py)
    analytics.py  the aggregations of graphstore/analytics.py
    retrieval.py  full-text ranking and a run's context (graphstore/retrieval.py)
    admin.py      the admin's relationship listing (graphstore/admin.py)
    blob_gc.py    blob references (graphstore/blob_gc.py)
    migrate.py    upgrades of graphs written by earlier versions (graphstore/migrate.py)
    schema.py     constraints and indexes (graphstore/installer.py)

PURE: imports neither django, neo4j, celery nor the clock. Statements are built once, at import,
from the schema tables and the codecs; their text never varies with the data (so Neo4j's plan
cache holds), no label, type or property name comes from input, and values travel as
$parameters. A test (tests/unit/graphstore/cypher) keeps Cypher out of the other modules.

The write and read statements are re-exported here, as they were from the former single module.
"""

from __future__ import annotations

from .read import LOAD_RUN, VERIFY_PARAMS, VERIFY_RUN, VERIFY_RUN_WITH_CONDENSATION
from .write import (
    NODE_MERGE,
    REL_MERGE,
    WRITE_RUN,
    WRITE_RUN_PARAMS,
    node_param,
    rel_param,
    statement_args,
)

__all__ = [
    "LOAD_RUN", "NODE_MERGE", "REL_MERGE", "VERIFY_PARAMS", "VERIFY_RUN",
    "VERIFY_RUN_WITH_CONDENSATION", "WRITE_RUN", "WRITE_RUN_PARAMS", "node_param", "rel_param",
    "statement_args",
]
