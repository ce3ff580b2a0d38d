"""Install the constraints and indexes of graphstore/schema.py (idempotent: IF NOT EXISTS). I/O."""

from __future__ import annotations

from neo4j import Driver

from .cypher.schema import (
    AWAIT_INDEXES,
    FULLTEXT_CONFIG,
    FULLTEXT_INDEX_CONFIGS,
    SCHEMA_STATEMENTS,
)
from .schema import FULLTEXT_INDEXES


def outdated_fulltext_indexes(configs: dict[str, dict[str, object]]) -> list[str]:
    """Our full-text indexes whose configuration differs from FULLTEXT_CONFIG (for example
    created before they became eventually consistent)."""
    ours = {ix.name for ix in FULLTEXT_INDEXES}
    return sorted(name for name, config in configs.items()
                  if name in ours and any(config.get(key) != value
                                          for key, value in FULLTEXT_CONFIG.items()))


def install_schema(driver: Driver, *, database: str) -> list[str]:
    """Run every schema statement; returns them. Safe to run any number of times. A full-text
    index of ours with another configuration is dropped first and built again (from the store,
    while the database stays up; db.awaitIndexes waits for it)."""
    with driver.session(database=database) as session:
        configs = {rec["name"]: dict(rec["config"] or {})
                   for rec in session.run(FULLTEXT_INDEX_CONFIGS)}
        for name in outdated_fulltext_indexes(configs):
            session.run(f"DROP INDEX {name} IF EXISTS").consume()  # name from our table
        for statement in SCHEMA_STATEMENTS:
            session.run(statement).consume()
        session.run(AWAIT_INDEXES).consume()
    return list(SCHEMA_STATEMENTS)
