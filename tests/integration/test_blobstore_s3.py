"""Integration tests for the S3 blob store against a real moto server process."""

from __future__ import annotations

import hashlib
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from graphstore.blobstore import (
    BlobCorrupted,
    BlobNotFound,
    BlobStoreConfigError,
    S3BlobStore,
    open_blob_store,
)

pytestmark = pytest.mark.integration

BUCKET = "blobs-test"
CREDENTIALS = {"s3_access_key": "test", "s3_secret_key": "test"}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _moto_server_executable() -> str | None:
    candidate = Path(sys.executable).parent / "moto_server"
    return str(candidate) if candidate.exists() else shutil.which("moto_server")


def _wait_until_serving(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto_server exited early with code {process.returncode}.")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except urllib.error.HTTPError:
            return  # Any HTTP answer, even an error status, means it is serving.
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"moto_server did not answer at {url} within {timeout} seconds.")


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """Run a standalone moto S3 server for this module and yield its endpoint URL."""
    executable = _moto_server_executable()
    if executable is None:
        pytest.fail("moto_server is not installed: install requirements/test.txt (moto[server]).")
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [executable, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_until_serving(endpoint, process, timeout=30)
        client = _client(endpoint)
        client.create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _client(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


@pytest.fixture
def s3_client(s3_endpoint: str) -> Any:
    return _client(s3_endpoint)


@pytest.fixture
def store(s3_endpoint: str, request: pytest.FixtureRequest) -> S3BlobStore:
    """A store under a per-test prefix, so tests do not see each other's blobs."""
    blob_store = open_blob_store(
        f"s3://{BUCKET}/tests/{request.node.name}", s3_endpoint_url=s3_endpoint, **CREDENTIALS
    )
    assert isinstance(blob_store, S3BlobStore)
    return blob_store


def test_put_get_round_trip(store: S3BlobStore, s3_client: Any) -> None:
    """Bytes written with put come back unchanged from get, with sha256 metadata set."""
    data = "Größe ✓".encode() + bytes(range(256))
    ref = store.put(data)

    assert ref.sha256 == hashlib.sha256(data).hexdigest()
    assert ref.size == len(data)
    assert ref.uri == f"s3://{BUCKET}/tests/test_put_get_round_trip/{ref.sha256}"
    assert store.exists(ref.uri)
    assert store.get(ref.uri, sha256=ref.sha256) == data

    head = s3_client.head_object(Bucket=BUCKET, Key=ref.uri.removeprefix(f"s3://{BUCKET}/"))
    assert head["ContentLength"] == len(data)
    assert head["Metadata"]["sha256"] == ref.sha256


def test_put_is_idempotent(store: S3BlobStore) -> None:
    """Putting the same bytes twice gives the same ref and one object."""
    first = store.put(b"same bytes")
    second = store.put(b"same bytes")

    assert first == second
    assert list(store.iter_blobs()) == [first]


def test_get_missing_raises_not_found(store: S3BlobStore) -> None:
    """get of a URI that was never stored raises BlobNotFound."""
    sha = hashlib.sha256(b"never stored").hexdigest()

    with pytest.raises(BlobNotFound):
        store.get(store.uri_for(sha), sha256=sha)
    assert not store.exists(store.uri_for(sha))


def test_delete_is_idempotent(store: S3BlobStore) -> None:
    """delete returns True once, then False, and the blob is gone."""
    ref = store.put(b"to delete")

    assert store.delete(ref.uri) is True
    assert store.delete(ref.uri) is False
    assert not store.exists(ref.uri)
    with pytest.raises(BlobNotFound):
        store.get(ref.uri, sha256=ref.sha256)


def test_iter_blobs_lists_what_was_put(store: S3BlobStore, s3_client: Any) -> None:
    """iter_blobs yields every blob under the prefix with its size, and nothing else."""
    refs = {store.put(data) for data in (b"", b"a", b"bb", b"c" * 5000)}
    s3_client.put_object(Bucket=BUCKET, Key=f"{store.prefix}/not-a-blob", Body=b"x")
    s3_client.put_object(Bucket=BUCKET, Key=f"{store.prefix}-other/{'0' * 64}", Body=b"x")

    assert set(store.iter_blobs()) == refs


def test_iter_blobs_paginates(store: S3BlobStore) -> None:
    """iter_blobs follows list_objects_v2 pagination past the first page."""
    store.client.meta.events.register(
        "before-parameter-build.s3.ListObjectsV2",
        lambda params, **_: params.setdefault("MaxKeys", 2),
    )
    refs = {store.put(f"blob {i}".encode()) for i in range(5)}

    assert set(store.iter_blobs()) == refs


def test_overwritten_object_raises_corrupted(store: S3BlobStore, s3_client: Any) -> None:
    """get refuses an object whose bytes were replaced behind the store's back."""
    ref = store.put(b"original")
    s3_client.put_object(Bucket=BUCKET, Key=f"{store.prefix}/{ref.sha256}", Body=b"tampered")

    with pytest.raises(BlobCorrupted) as excinfo:
        store.get(ref.uri, sha256=ref.sha256)

    message = str(excinfo.value)
    assert ref.uri in message
    assert ref.sha256 in message
    assert hashlib.sha256(b"tampered").hexdigest() in message


def test_uri_from_another_bucket_or_prefix_is_refused(store: S3BlobStore) -> None:
    """URIs outside this store's bucket and prefix are refused."""
    sha = hashlib.sha256(b"x").hexdigest()

    for uri in (f"s3://other-bucket/{store.prefix}/{sha}", f"s3://{BUCKET}/elsewhere/{sha}"):
        with pytest.raises(BlobStoreConfigError):
            store.get(uri, sha256=sha)


def test_empty_prefix_keys_by_sha_alone(s3_endpoint: str, s3_client: Any) -> None:
    """With no prefix the object key is the bare sha256, with no leading slash."""
    root_store = open_blob_store(f"s3://{BUCKET}", s3_endpoint_url=s3_endpoint, **CREDENTIALS)
    ref = root_store.put(b"at the bucket root")

    assert ref.uri == f"s3://{BUCKET}/{ref.sha256}"
    assert s3_client.get_object(Bucket=BUCKET, Key=ref.sha256)["Body"].read() == (
        b"at the bucket root"
    )
    assert root_store.get(ref.uri, sha256=ref.sha256) == b"at the bucket root"
    assert ref in set(root_store.iter_blobs())
    assert root_store.delete(ref.uri) is True
