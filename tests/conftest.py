"""Shared fixtures. Integration tests run against the real Neo4j (and Redis) that `make test`
starts on its own ports with its own data folder; they wipe that graph, so they refuse to run
unless CAP01_ALLOW_GRAPH_WIPE=1 (set by `make test`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from neo4j import Driver

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def now() -> datetime:
    return NOW


@pytest.fixture(scope="session")
def neo4j_driver() -> Iterator[Driver]:
    from django.conf import settings

    from graphstore.connection import get_driver
    from graphstore.installer import install_schema

    if os.environ.get("CAP01_ALLOW_GRAPH_WIPE") != "1":
        pytest.fail("Integration tests wipe the Neo4j graph they use: run them through `make test`"
                    " (which starts a separate test Neo4j) or set CAP01_ALLOW_GRAPH_WIPE=1.")
    driver = get_driver()
    try:
        driver.verify_connectivity()
    except Exception as exc:  # pragma: no cover - the message is the point
        pytest.fail(f"Neo4j at {settings.NEO4J_URI} is not answering ({exc}); start it with "
                    "`make services-up` or run the tests with `make test`.")
    install_schema(driver, database=settings.NEO4J_DATABASE)
    yield driver


@pytest.fixture
def graph(neo4j_driver: Driver) -> Driver:
    """A real Neo4j with an empty graph (constraints and indexes installed)."""
    from django.conf import settings

    with neo4j_driver.session(database=settings.NEO4J_DATABASE) as session:
        session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS").consume()
    return neo4j_driver


@pytest.fixture
def blob_store(tmp_path: Path):  # type: ignore[no-untyped-def]
    from graphstore.blobstore import LocalBlobStore

    return LocalBlobStore(tmp_path / "blobs")


def count_graph(driver: Driver) -> tuple[int, int]:
    """(nodes, relationships) in the whole graph."""
    from django.conf import settings

    records, _, _ = driver.execute_query(
        "CALL () { MATCH (n) RETURN count(n) AS nodes } "
        "CALL () { MATCH ()-[r]->() RETURN count(r) AS rels } RETURN nodes, rels",
        database_=settings.NEO4J_DATABASE)
    return records[0]["nodes"], records[0]["rels"]
