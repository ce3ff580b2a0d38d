"""Install the constraints and indexes of graphstore/schema.py (idempotent: IF NOT EXISTS). I/O."""

from __future__ import annotations

from neo4j import Driver

from .cypher.schema import AWAIT_INDEXES, SCHEMA_STATEMENTS


def install_schema(driver: Driver, *, database: str) -> list[str]:
    """Run every schema statement; returns them. Safe to run any number of times."""
    with driver.session(database=database) as session:
        for statement in SCHEMA_STATEMENTS:
            session.run(statement).consume()
        session.run(AWAIT_INDEXES).consume()
    return list(SCHEMA_STATEMENTS)
