"""Process-wide Neo4j driver, blob store and writer built from Django settings.

I/O boundary: the only graphstore module that reads settings. Each process (web worker, Celery
worker child) creates its driver lazily on first use, after any fork.
"""

from __future__ import annotations

import atexit
import functools

from django.conf import settings
from neo4j import Driver, GraphDatabase

from .blobstore import BlobStore, open_blob_store
from .embedding import Embedder, build_embedder
from .writer import RetryPolicy, RunWriter


@functools.cache
def get_driver() -> Driver:
    atexit.register(close)
    return GraphDatabase.driver(
        settings.NEO4J_URI,
        auth=(settings.NEO4J_USER, settings.NEO4J_PASSWORD),
        # The writer owns the retry policy; the driver's own 30 s retry loop is switched off.
        max_transaction_retry_time=0.0,
        connection_timeout=settings.CAP01_NEO4J_CONNECTION_TIMEOUT_S,
        connection_acquisition_timeout=settings.CAP01_NEO4J_CONNECTION_TIMEOUT_S * 2,
        max_connection_pool_size=20,
        notifications_min_severity="OFF",
    )


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
