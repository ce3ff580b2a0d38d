"""Past one machine (issue 13): the routing scheme against the local server, a run read back
through a read transaction that waits for its write's bookmarks, and the TLS schemes
(neo4j+s://, bolt+s://) against a local Neo4j that requires TLS, trusting a throwaway CA."""

from __future__ import annotations

import os
import secrets
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from neo4j import GraphDatabase
from neo4j.exceptions import ServiceUnavailable

from graphstore.connection import configure_neomodel, open_driver
from graphstore.installer import install_schema
from graphstore.replay import load_run
from graphstore.writer import RunWriter
from orchestration.models import RunRecord
from orchestration.selectors import run_replay
from orchestration.services import run_result_ingest
from tests.conftest import free_port
from tools.synthetic import make_run

pytestmark = pytest.mark.integration
DB = settings.NEO4J_DATABASE
ROOT = Path(__file__).resolve().parents[2]


def routing_driver():  # type: ignore[no-untyped-def]
    """A driver on the neo4j:// (routing) scheme to the configured server."""
    _, _, hostport = settings.NEO4J_URI.partition("://")
    return GraphDatabase.driver(f"neo4j://{hostport}",
                                auth=(settings.NEO4J_USER, settings.NEO4J_PASSWORD),
                                max_transaction_retry_time=0.0)


def test_a_routing_uri_writes_and_another_driver_reads_back_with_the_bookmarks(
        graph, blob_store, now):
    """Through neo4j:// the writer commits and returns bookmarks; a second driver (another
    process) reads the run back in a read transaction that waits for them."""
    run = make_run(4242, now=now, run_id="run-routing-1")
    with routing_driver() as writer_driver, routing_driver() as reader_driver:
        summary = RunWriter(writer_driver, database=DB, blob_store=blob_store).write(run)
        assert summary.created and summary.bookmarks
        assert summary.as_dict()["bookmarks"] == list(summary.bookmarks)
        back = load_run(run.run_id, driver=reader_driver, database=DB, blob_store=blob_store,
                        bookmarks=summary.bookmarks)
    assert back.run_id == run.run_id
    assert back.metadata.status == run.metadata.status


@pytest.mark.django_db
def test_the_ledger_keeps_the_bookmarks_and_the_run_reads_back_through_them(
        graph, app_blob_dir, now):
    """A posted run's ledger row carries its write's bookmarks, and the run page's read of the
    run (selectors.run_replay) returns it."""
    user = get_user_model().objects.create(username="bookmarks")
    run = make_run(4243, now=now, run_id="run-bookmarks-1")
    run_result_ingest(user=user, run=run, retry=None)
    record = RunRecord.objects.get(run_id=run.run_id)
    assert record.write_summary["bookmarks"]
    assert run_replay(viewer=user, run_id=run.run_id).run_id == run.run_id


# --- TLS: neo4j+s:// and bolt+s:// against a local Neo4j that requires TLS -------------------
#
# A throwaway CA and a server certificate for 127.0.0.1/localhost (ops/neo4j/make_test_certs.sh),
# a second Neo4j of its own (own folder, port and password; small heap and page cache) started
# by ops/services.sh with NEO4J_BOLT_TLS_DIR, stopped at the end of the module.


@pytest.fixture(scope="module")
def tls_neo4j(tmp_path_factory):  # type: ignore[no-untyped-def]
    """(port, password, CA file) of a Neo4j whose Bolt connector requires TLS."""
    base = tmp_path_factory.mktemp("tls-neo4j")
    subprocess.run([str(ROOT / "ops/neo4j/make_test_certs.sh"), str(base / "certs")],
                   check=True, capture_output=True, timeout=60)
    password = secrets.token_urlsafe(12)
    port = free_port()
    env = {**os.environ, "CAP01_SERVICES_DIR": str(base / "services"),
           "NEO4J_BOLT_PORT": str(port), "NEO4J_PASSWORD": password,
           "NEO4J_BOLT_TLS_DIR": str(base / "certs" / "bolt"),
           "NEO4J_HEAP_MB": "256", "NEO4J_PAGECACHE_MB": "16"}
    try:
        started = subprocess.run([str(ROOT / "ops/services.sh"), "up", "neo4j"], env=env,
                                 capture_output=True, text=True, timeout=300)
        assert started.returncode == 0, f"the TLS Neo4j did not start: {started.stderr[-3000:]}"
        with open_driver(f"bolt+s://127.0.0.1:{port}", user="neo4j", password=password,
                         trusted_ca=str(base / "certs" / "ca.pem")) as driver:
            install_schema(driver, database=DB)
        yield port, password, str(base / "certs" / "ca.pem")
    finally:
        subprocess.run([str(ROOT / "ops/services.sh"), "down", "neo4j"], env=env,
                       capture_output=True, timeout=120)


@pytest.mark.parametrize("scheme", ["neo4j+s", "bolt+s"])
def test_a_tls_uri_with_the_private_ca_writes_and_reads_back(tls_neo4j, scheme, blob_store, now):  # type: ignore[no-untyped-def]
    """Through the app's connection code (open_driver, as get_driver uses it with
    NEO4J_TRUSTED_CA), neo4j+s:// (routing) and bolt+s:// connect over TLS with the certificate
    and host name verified against the private CA; a run written by one driver reads back from
    another with the write's bookmarks."""
    port, password, ca = tls_neo4j
    uri = f"{scheme}://127.0.0.1:{port}"
    run = make_run(4300 + len(scheme), now=now, run_id=f"run-tls-{scheme.replace('+', '-')}")
    with open_driver(uri, user="neo4j", password=password, trusted_ca=ca) as writer_driver, \
            open_driver(uri, user="neo4j", password=password, trusted_ca=ca) as reader_driver:
        assert writer_driver.encrypted and reader_driver.encrypted
        summary = RunWriter(writer_driver, database=DB, blob_store=blob_store).write(run)
        assert summary.created and summary.bookmarks
        back = load_run(run.run_id, driver=reader_driver, database=DB, blob_store=blob_store,
                        bookmarks=summary.bookmarks)
    assert back.run_id == run.run_id


def test_the_server_certificate_is_verified_and_plain_bolt_is_refused(tls_neo4j):  # type: ignore[no-untyped-def]
    """Without the private CA (the system's CAs only) neo4j+s:// and bolt+s:// do not connect,
    the certificate check being the reason (bolt+s:// keeps it; the routing driver reports only
    that no router answered); a plain bolt:// connection to the TLS-only server is refused: the
    tests above did use TLS."""
    port, password, _ = tls_neo4j
    for scheme in ("neo4j+s", "bolt+s", "bolt"):
        with open_driver(f"{scheme}://127.0.0.1:{port}", user="neo4j", password=password,
                         connection_timeout_s=3.0) as driver, \
                pytest.raises(ServiceUnavailable) as refused:
            driver.verify_connectivity()
        if scheme == "bolt+s":
            assert "certificate verify failed" in _causes(refused.value)


def _causes(error: BaseException | None) -> str:
    """The messages of an exception and of everything it was raised from."""
    texts = []
    while error is not None:
        texts.append(str(error))
        error = error.__cause__ or error.__context__
    return "\n".join(texts)


def test_ssl_cert_file_is_the_other_way_to_trust_the_ca(tls_neo4j, monkeypatch):  # type: ignore[no-untyped-def]
    """Without NEO4J_TRUSTED_CA, a +s URI trusts the system's CAs, which SSL_CERT_FILE (read by
    OpenSSL when the driver builds its TLS context) can name: neo4j+s:// then connects."""
    port, password, ca = tls_neo4j
    monkeypatch.setenv("SSL_CERT_FILE", ca)
    with open_driver(f"neo4j+s://127.0.0.1:{port}", user="neo4j", password=password) as driver:
        driver.verify_connectivity()
        records, _, _ = driver.execute_query("RETURN 1 AS one", database_=DB, routing_="r")
    assert records[0]["one"] == 1


def test_neomodel_connects_over_tls_with_the_private_ca(tls_neo4j, settings):  # type: ignore[no-untyped-def]
    """neomodel's driver (the admin's graph browser) on the same terms: with NEO4J_TRUSTED_CA,
    configure_neomodel turns on encryption with the CA and the URL without "+s" (settings)
    connects to the TLS-only server."""
    from neomodel import config
    from neomodel.sync_.core import Database

    port, password, ca = tls_neo4j
    saved = config.ENCRYPTED, config.TRUSTED_CERTIFICATES
    settings.NEO4J_TRUSTED_CA = ca
    database = Database()
    try:
        configure_neomodel()
        assert config.ENCRYPTED is True
        database.set_connection(url=f"neo4j://neo4j:{password}@127.0.0.1:{port}/{DB}")
        rows, _ = database.cypher_query("RETURN 1")
        assert rows == [[1]]
    finally:
        if database.driver is not None:
            database.close_connection()
        config.ENCRYPTED, config.TRUSTED_CERTIFICATES = saved
