"""Process-wide Neo4j driver, blob store and writer built from Django settings.

I/O boundary: the only graphstore module that reads settings. Each process (web worker, Celery
worker child) creates its driver lazily on first use, after any fork.
"""

from __future__ import annotations

import atexit
import functools
from typing import Any

from django.conf import settings
from neo4j import Driver, GraphDatabase, TrustCustomCAs

from .blobstore import BlobStore, open_blob_store
from .embedding import Embedder, build_embedder
from .writer import RetryPolicy, RunWriter


def tls_target(uri: str, trusted_ca: str | None) -> tuple[str, dict[str, Any]]:
    """The URI to open a driver on and its TLS options. Without a CA file of our own, the URI as
    given (neo4j+s:// and bolt+s:// trust the system's CAs). With one (NEO4J_TRUSTED_CA), the
    same scheme without "+s" plus `encrypted=True` and exactly those CAs trusted: what "+s"
    means (TLS, the certificate and host name verified) with a private CA; the driver refuses
    trust options on a "+s" URI, hence the rewrite (settings refuse a CA for a plain scheme)."""
    if trusted_ca is None:
        return uri, {}
    scheme, sep, rest = uri.partition("://")
    return (f"{scheme.removesuffix('+s')}{sep}{rest}",
            {"encrypted": True, "trusted_certificates": TrustCustomCAs(trusted_ca)})


def open_driver(uri: str, *, user: str, password: str, trusted_ca: str | None = None,
                connection_timeout_s: float = 5.0) -> Driver:
    """A driver as the app opens its own (get_driver): any scheme (bolt, neo4j, +s), the
    writer's retry policy instead of the driver's, a bounded pool."""
    target, tls = tls_target(uri, trusted_ca)
    return GraphDatabase.driver(
        target,
        auth=(user, password),
        # The writer owns the retry policy; the driver's own 30 s retry loop is switched off.
        max_transaction_retry_time=0.0,
        connection_timeout=connection_timeout_s,
        connection_acquisition_timeout=connection_timeout_s * 2,
        max_connection_pool_size=20,
        notifications_min_severity="OFF",
        **tls,
    )


@functools.cache
def get_driver() -> Driver:
    atexit.register(close)
    return open_driver(settings.NEO4J_URI, user=settings.NEO4J_USER,
                       password=settings.NEO4J_PASSWORD, trusted_ca=settings.NEO4J_TRUSTED_CA,
                       connection_timeout_s=settings.CAP01_NEO4J_CONNECTION_TIMEOUT_S)


def configure_neomodel() -> None:
    """neomodel's own driver (the admin's graph browser) on the same TLS terms as ours: with
    NEO4J_TRUSTED_CA, settings hand it the URI without "+s" and this turns encryption on with
    those CAs (neomodel passes these two options to a URI without "+s" only)."""
    if settings.NEO4J_TRUSTED_CA is not None:
        from neomodel import config

        config.ENCRYPTED = True
        config.TRUSTED_CERTIFICATES = TrustCustomCAs(settings.NEO4J_TRUSTED_CA)


@functools.cache
def get_blob_store() -> BlobStore:
    return open_blob_store(settings.CAP01_BLOB_STORE_URL,
                           s3_endpoint_url=settings.CAP01_S3_ENDPOINT_URL,
                           s3_region=settings.CAP01_S3_REGION)


def database() -> str:
    return str(settings.NEO4J_DATABASE)


def retry_policy() -> RetryPolicy:
    return RetryPolicy(max_attempts=settings.CAP01_WRITE_MAX_ATTEMPTS,
                       base_delay_s=settings.CAP01_WRITE_BACKOFF_BASE_S,
                       max_delay_s=settings.CAP01_WRITE_BACKOFF_MAX_S)


@functools.cache
def get_embedder() -> Embedder:
    """The embedder of the vector index (CAP01_EMBEDDER: composition, the offline default, or
    http with CAP01_EMBEDDER_URL; graphstore/embedding.py)."""
    return build_embedder(settings.CAP01_EMBEDDER, url=settings.CAP01_EMBEDDER_URL,
                          timeout_s=settings.CAP01_EMBEDDER_TIMEOUT_S)


def get_writer(*, retry: RetryPolicy | None = None) -> RunWriter:
    return RunWriter(get_driver(), database=database(), blob_store=get_blob_store(),
                     retry=retry or retry_policy(), embedder=get_embedder())


def close() -> None:
    if get_driver.cache_info().currsize:
        get_driver().close()
        get_driver.cache_clear()
