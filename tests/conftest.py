"""Shared fixtures. Integration tests run against the real Neo4j (and Redis) that `make test`
starts on its own ports with its own data folder; they wipe that graph, so they refuse to run
unless CAP01_ALLOW_GRAPH_WIPE=1 (set by `make test`)."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from neo4j import Driver

from contracts import EnvelopeKeys
from tools.workers import CeleryWorker

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
# Hand-off envelopes built and opened inside a test process: a key of its own, made up per run.
ENVELOPE_KEYS = EnvelopeKeys((("test", secrets.token_bytes(32)),))


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
    from graphstore.connection import close

    close()


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


@pytest.fixture
def app_blob_dir(tmp_path: Path, settings):  # type: ignore[no-untyped-def]
    """The app's blob store (settings.CAP01_BLOB_STORE_URL, graphstore.connection) moved to a
    folder of this test's own, so a test may delete or damage its blobs."""
    from graphstore.connection import get_blob_store

    folder = tmp_path / "app-blobs"
    settings.CAP01_BLOB_STORE_URL = f"file://{folder}"
    get_blob_store.cache_clear()
    yield folder
    get_blob_store.cache_clear()


def count_graph(driver: Driver) -> tuple[int, int]:
    """(nodes, relationships) in the whole graph."""
    from django.conf import settings

    records, _, _ = driver.execute_query(
        "CALL () { MATCH (n) RETURN count(n) AS nodes } "
        "CALL () { MATCH ()-[r]->() RETURN count(r) AS rels } RETURN nodes, rels",
        database_=settings.NEO4J_DATABASE)
    return records[0]["nodes"], records[0]["rels"]


# --- who sees what --------------------------------------------------------------------------------


def make_auditor(user):  # type: ignore[no-untyped-def]
    """Put `user` in the auditors group, which holds orchestration.view_all_runs (every run,
    runs without an owner included). The group is made by a data migration; a transactional
    test's flush removes it, so it is made again here (as the migration makes it) if missing."""
    import importlib
    from types import SimpleNamespace

    from django.apps import apps
    from django.contrib.auth.models import Group
    from django.db import connection

    from orchestration.models import AUDITORS_GROUP

    migration = importlib.import_module("orchestration.migrations.0007_run_owner_access")
    migration.create_auditors(apps, SimpleNamespace(connection=connection))  # only reads .alias
    user.groups.add(Group.objects.get(name=AUDITORS_GROUP))
    return user


# --- a real Celery worker process ----------------------------------------------------------------


def _database_url_for_worker() -> str:
    """The URL of the database the tests use (pytest-django's test database), for a worker."""
    from django.db import connection

    cfg = connection.settings_dict
    if cfg["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{cfg['NAME']}"
    from urllib.parse import quote

    return (f"postgres://{quote(cfg['USER'] or '')}:{quote(cfg['PASSWORD'] or '')}@"
            f"{cfg['HOST'] or '127.0.0.1'}:{cfg['PORT'] or 5432}/{cfg['NAME']}")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class WorkerProcess(CeleryWorker):
    """A `celery worker -B` subprocess (prefork) on the test broker and the test database, with
    metrics as in production: prefork children write to a multiprocess directory and the main
    process serves them on a port of its own (`metrics_port`, new at every spawn)."""

    def __init__(self, log_path: Path, concurrency: int = 2, *, app: str = "cap01",
                 name: str | None = None, cwd: Path | None = None, wait: bool = True) -> None:
        super().__init__(log_path, name=name or f"test-{os.getpid()}-{id(self)}",
                         concurrency=concurrency, app=app, cwd=cwd,
                         beat_schedule=log_path.with_name("beat-schedule"))
        self.spawn()
        if wait:
            self.wait_ready()

    def worker_env(self) -> dict[str, str]:
        multiproc = self.log_path.with_name("metrics")
        multiproc.mkdir(exist_ok=True)
        return {**os.environ, "DATABASE_URL": _database_url_for_worker(),
                "DJANGO_SETTINGS_MODULE": "cap01.settings",
                "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
                "CAP01_WORKER_METRICS_PORT": str(self.metrics_port)}

    def spawn(self) -> None:
        """Start (or start again, in place: same log, same name) the worker process."""
        self.metrics_port = free_port()
        self.env = self.worker_env()
        self.start()


def flush_broker() -> None:
    """Drop whatever an earlier run left queued on the test Redis."""
    import redis
    from django.conf import settings

    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, neo4j_driver, tmp_path_factory):  # type: ignore[no-untyped-def]
    """A real Celery worker (prefork, 2 processes) sharing the test database, Redis and Neo4j.
    Tests that use it need `transactional_db` so that their rows are committed."""
    flush_broker()
    worker = WorkerProcess(tmp_path_factory.mktemp("celery") / "worker.log")
    yield worker
    worker.stop()


def wait_for(predicate, timeout: float = 60.0, interval: float = 0.2):  # type: ignore[no-untyped-def]
    """Poll `predicate` until it returns something truthy; fail the test after `timeout`."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout} s")


# --- a real browser -----------------------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")  # Debian's, installed by ops/bootstrap.sh
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


@contextlib.contextmanager
def chromium_page():  # type: ignore[no-untyped-def]
    """A page of headless Chromium driven by Playwright; fails (never skips) without Chromium.
    Open it after the test's database work: Playwright's sync API runs an event loop in this
    thread, next to which Django's ORM refuses to run."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: ops/bootstrap.sh installs Debian's chromium.")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(30_000)
            yield page
        finally:
            browser.close()
