"""Unit tests for the local, filesystem-backed blob store."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from graphstore.blobstore import (
    BlobCorrupted,
    BlobNotFound,
    BlobRef,
    BlobStoreConfigError,
    LocalBlobStore,
    S3BlobStore,
    open_blob_store,
)


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


def _files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_put_get_round_trip(store: LocalBlobStore) -> None:
    """Bytes written with put come back unchanged from get."""
    ref = store.put(b"hello graph")

    assert ref.sha256 == hashlib.sha256(b"hello graph").hexdigest()
    assert ref.size == len(b"hello graph")
    assert store.get(ref.uri, sha256=ref.sha256) == b"hello graph"


def test_uri_layout(store: LocalBlobStore) -> None:
    """The URI is file:// plus <root>/<sha[0:2]>/<sha256> with an absolute root."""
    ref = store.put(b"layout")

    expected_path = store.root / ref.sha256[:2] / ref.sha256
    assert store.root.is_absolute()
    assert ref.uri == "file://" + str(expected_path)
    assert ref.uri == store.uri_for(ref.sha256)
    assert expected_path.read_bytes() == b"layout"


def test_put_is_idempotent(store: LocalBlobStore) -> None:
    """Putting the same bytes twice gives the same ref and stores one file."""
    first = store.put(b"same bytes")
    second = store.put(b"same bytes")

    assert first == second
    assert _files_under(store.root) == [store.root / first.sha256[:2] / first.sha256]


def test_put_leaves_no_temp_files(store: LocalBlobStore) -> None:
    """After put, only the blob itself is on disk (the temp file was renamed away)."""
    refs = [store.put(f"blob {i}".encode()) for i in range(5)]

    assert _files_under(store.root) == sorted(
        store.root / ref.sha256[:2] / ref.sha256 for ref in refs
    )


def test_get_of_tampered_blob_raises_corrupted(store: LocalBlobStore) -> None:
    """get refuses bytes that no longer match the expected sha256."""
    ref = store.put(b"original")
    path = store.root / ref.sha256[:2] / ref.sha256
    path.write_bytes(b"tampered")

    with pytest.raises(BlobCorrupted) as excinfo:
        store.get(ref.uri, sha256=ref.sha256)

    message = str(excinfo.value)
    assert ref.uri in message
    assert ref.sha256 in message
    assert hashlib.sha256(b"tampered").hexdigest() in message
    assert "not served" in message


def test_get_with_wrong_expected_sha_raises_corrupted(store: LocalBlobStore) -> None:
    """get checks against the caller's sha256, not just the file name."""
    ref = store.put(b"data")

    with pytest.raises(BlobCorrupted):
        store.get(ref.uri, sha256=hashlib.sha256(b"other data").hexdigest())


def test_get_missing_raises_not_found(store: LocalBlobStore) -> None:
    """get of a URI that was never stored raises BlobNotFound."""
    sha = hashlib.sha256(b"never stored").hexdigest()

    with pytest.raises(BlobNotFound):
        store.get(store.uri_for(sha), sha256=sha)
    assert not store.exists(store.uri_for(sha))


def test_delete_is_idempotent(store: LocalBlobStore) -> None:
    """delete returns True once, then False, and the blob is gone."""
    ref = store.put(b"to delete")

    assert store.exists(ref.uri)
    assert store.delete(ref.uri) is True
    assert store.delete(ref.uri) is False
    assert not store.exists(ref.uri)
    with pytest.raises(BlobNotFound):
        store.get(ref.uri, sha256=ref.sha256)


def test_iter_blobs_lists_what_was_put(store: LocalBlobStore) -> None:
    """iter_blobs yields a ref for every stored blob and ignores temp files."""
    assert list(store.iter_blobs()) == []  # Root does not even exist yet.

    refs = {store.put(data) for data in (b"a", b"bb", b"ccc")}
    (store.root / next(iter(refs)).sha256[:2] / ".tmp-leftover").write_bytes(b"partial")
    (store.root / "README").write_text("not a blob")

    assert set(store.iter_blobs()) == refs


@pytest.mark.parametrize(
    "uri",
    [
        "file:///etc/passwd",
        "file://{root}/../outside/{shard}/{sha}",
        "file://{root}/{shard}/../../etc/passwd",
        "file://{root}-evil/{shard}/{sha}",
        "file://{root}/{sha}",
        "{root}/{shard}/{sha}",
        "s3://bucket/{sha}",
    ],
)
def test_uri_outside_root_is_refused(store: LocalBlobStore, uri: str) -> None:
    """URIs that are not exactly this store's blob URIs are refused, never read."""
    sha = hashlib.sha256(b"x").hexdigest()
    uri = uri.format(root=store.root, shard=sha[:2], sha=sha)

    with pytest.raises(BlobStoreConfigError) as excinfo:
        store.get(uri, sha256=sha)
    assert "refused" in str(excinfo.value)
    with pytest.raises(BlobStoreConfigError):
        store.exists(uri)
    with pytest.raises(BlobStoreConfigError):
        store.delete(uri)


def test_uri_of_another_local_store_is_refused(tmp_path: Path) -> None:
    """A blob URI from one local store is not served by a store with another root."""
    ref = LocalBlobStore(tmp_path / "one").put(b"shared")

    with pytest.raises(BlobStoreConfigError):
        LocalBlobStore(tmp_path / "two").get(ref.uri, sha256=ref.sha256)


def test_uri_for_rejects_malformed_digest(store: LocalBlobStore) -> None:
    """uri_for only accepts a 64-character lowercase hex digest."""
    with pytest.raises(ValueError):
        store.uri_for("../../etc/passwd")


def test_open_blob_store_dispatch(tmp_path: Path) -> None:
    """open_blob_store maps file://, absolute paths and s3:// to the right store."""
    from_file_url = open_blob_store(f"file://{tmp_path}/a")
    from_path = open_blob_store(f"{tmp_path}/b")
    from_s3 = open_blob_store(
        "s3://my-bucket/some/prefix/",
        s3_endpoint_url="http://127.0.0.1:9",
        s3_access_key="test",
        s3_secret_key="test",
    )
    from_s3_no_prefix = open_blob_store("s3://my-bucket", s3_access_key="t", s3_secret_key="t")

    assert isinstance(from_file_url, LocalBlobStore)
    assert from_file_url.root == (tmp_path / "a").resolve()
    assert isinstance(from_path, LocalBlobStore)
    assert from_path.root == (tmp_path / "b").resolve()
    assert isinstance(from_s3, S3BlobStore)
    assert (from_s3.bucket, from_s3.prefix) == ("my-bucket", "some/prefix")
    assert from_s3.uri_for("0" * 64) == f"s3://my-bucket/some/prefix/{'0' * 64}"
    assert isinstance(from_s3_no_prefix, S3BlobStore)
    assert from_s3_no_prefix.uri_for("0" * 64) == f"s3://my-bucket/{'0' * 64}"


@pytest.mark.parametrize(
    "url",
    ["", "relative/path", "file://relative/path", "http://example.com/x", "s3://", "gs://b/p"],
)
def test_open_blob_store_rejects_bad_url(url: str) -> None:
    """Unsupported URLs raise BlobStoreConfigError naming the URL and accepted forms."""
    with pytest.raises(BlobStoreConfigError) as excinfo:
        open_blob_store(url)

    message = str(excinfo.value)
    assert repr(url) in message
    assert "file:///" in message
    assert "s3://bucket/prefix" in message


def test_binary_and_non_ascii_data_round_trips(store: LocalBlobStore) -> None:
    """Arbitrary bytes, including NULs, invalid UTF-8 and non-ASCII text, survive."""
    payloads = [
        bytes(range(256)) * 4,
        "Größe 数据 ✓ \U0001f600".encode(),
        b"\x00\xff\xfe\r\n\x00",
    ]
    for data in payloads:
        ref = store.put(data)
        assert store.get(ref.uri, sha256=ref.sha256) == data


@pytest.mark.parametrize("size", [0, 1, 4096, 1024 * 1024])
def test_size_is_reported_exactly(store: LocalBlobStore, size: int) -> None:
    """put and iter_blobs report the exact byte size, including for empty blobs."""
    data = b"\xab" * size
    ref = store.put(data)

    assert ref.size == size
    assert list(store.iter_blobs()) == [BlobRef(ref.uri, ref.sha256, size)]
    assert store.get(ref.uri, sha256=ref.sha256) == data
