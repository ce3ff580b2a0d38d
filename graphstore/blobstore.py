"""Content-addressed storage for large artifacts.

Neo4j is a poor place for large binary payloads, so the graph stores only a
reference to them: a :class:`BlobRef` holding the blob's URI, SHA-256 digest and
size.  The bytes themselves live in a blob store, addressed by their SHA-256:

* :class:`LocalBlobStore` keeps blobs under a directory, as
  ``<root>/<sha256[0:2]>/<sha256>``, with URIs of the form ``file:///abs/path``.
* :class:`S3BlobStore` keeps blobs in an S3 (or S3-compatible) bucket under
  ``<prefix>/<sha256>``, with URIs of the form ``s3://bucket/key``.

Writing the same bytes twice yields the same URI, so ``put`` is idempotent.
Every ``get`` re-hashes what it reads and refuses to return bytes that do not
match the expected digest.  ``iter_blobs`` lists everything stored so that a
garbage collector can delete blobs the graph no longer references.

This module reads no settings and no environment variables: all configuration
is passed in explicitly, usually through :func:`open_blob_store`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from .errors import BlobCorrupted, BlobNotFound, BlobStoreConfigError, BlobStoreError

__all__ = [
    "BlobCorrupted", "BlobNotFound", "BlobRef", "BlobStore", "BlobStoreConfigError",
    "BlobStoreError", "LocalBlobStore", "S3BlobStore", "open_blob_store",
]

_SHA256_RE = re.compile(r"[0-9a-f]{64}")
_S3_NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound"})


@dataclass(frozen=True)
class BlobRef:
    """What the graph stores about a blob: where it is and what it must hash to."""

    uri: str
    sha256: str
    size: int
    # When the blob was last written (or re-put): the garbage collector's grace period runs
    # from here. Filled by iter_blobs; None where unknown.
    modified_at: float | None = field(default=None, compare=False)


class BlobStore(Protocol):
    """Interface shared by all blob stores."""

    def put(self, data: bytes) -> BlobRef:
        """Store ``data`` atomically and return its reference; same bytes, same URI."""
        ...

    def get(self, ref_or_uri: str, *, sha256: str) -> bytes:
        """Return the blob's bytes after checking they hash to ``sha256``."""
        ...

    def delete(self, uri: str) -> bool:
        """Delete the blob; return True if something was deleted."""
        ...

    def iter_blobs(self) -> Iterator[BlobRef]:
        """Yield a reference for every blob in the store."""
        ...

    def exists(self, uri: str) -> bool:
        """Return True if the blob is stored."""
        ...

    def uri_for(self, sha256: str) -> str:
        """Return the URI under which the blob with this digest is stored."""
        ...


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _check_sha256(sha256: str) -> str:
    if not _SHA256_RE.fullmatch(sha256):
        raise ValueError(f"{sha256!r} is not a lowercase hexadecimal SHA-256 digest.")
    return sha256


def _verified(uri: str, data: bytes, expected: str) -> bytes:
    actual = _sha256_hex(data)
    if actual != expected.lower():
        raise BlobCorrupted(uri, expected, actual)
    return data


class LocalBlobStore:
    """Blob store on a local (or mounted) filesystem: ``<root>/<sha[0:2]>/<sha256>``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    def __repr__(self) -> str:
        return f"LocalBlobStore({str(self.root)!r})"

    def uri_for(self, sha256: str) -> str:
        return "file://" + str(self._path_for_sha(sha256))

    def put(self, data: bytes) -> BlobRef:
        sha256 = _sha256_hex(data)
        path = self._path_for_sha(sha256)
        ref = BlobRef(uri=self.uri_for(sha256), sha256=sha256, size=len(data))
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_size == len(data):
                # Already stored: touch it, so that a garbage collection running now sees a
                # fresh blob (within its grace period) that a transaction is about to reference.
                os.utime(path)
                return ref
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write to a hidden temp file in the same directory, then rename it into
        # place, so readers only ever see a missing or a complete blob.
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as tmp:
                tmp.write(data)
                tmp.flush()
                os.fsync(tmp.fileno())
            os.chmod(tmp_name, 0o644)
            os.replace(tmp_name, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            raise
        return ref

    def get(self, ref_or_uri: str, *, sha256: str) -> bytes:
        path = self._path_for_uri(ref_or_uri)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(f"No blob is stored at {ref_or_uri}.") from None
        return _verified(ref_or_uri, data, sha256)

    def delete(self, uri: str) -> bool:
        try:
            self._path_for_uri(uri).unlink()
        except FileNotFoundError:
            return False
        return True

    def exists(self, uri: str) -> bool:
        return self._path_for_uri(uri).is_file()

    def iter_blobs(self) -> Iterator[BlobRef]:
        if not self.root.is_dir():
            return
        for shard in sorted(self.root.iterdir()):
            if not (shard.is_dir() and re.fullmatch(r"[0-9a-f]{2}", shard.name)):
                continue
            for path in sorted(shard.iterdir()):
                name = path.name
                if not (_SHA256_RE.fullmatch(name) and name.startswith(shard.name)):
                    continue  # Temp files and strays are not blobs.
                try:
                    stat = path.stat()
                except FileNotFoundError:
                    continue  # Deleted while we were listing.
                yield BlobRef(uri=self.uri_for(name), sha256=name, size=stat.st_size,
                              modified_at=stat.st_mtime)

    def _path_for_sha(self, sha256: str) -> Path:
        _check_sha256(sha256)
        return self.root / sha256[:2] / sha256

    def _path_for_uri(self, uri: str) -> Path:
        # Accept only the exact URIs this store hands out, so a URI can never
        # make us touch a path outside the root.
        name = uri.rsplit("/", 1)[-1]
        if not _SHA256_RE.fullmatch(name) or uri != self.uri_for(name):
            raise BlobStoreConfigError(
                f"The URI {uri!r} does not name a blob in the local store rooted at "
                f"{self.root}, so it is refused."
            )
        return self._path_for_sha(name)


class S3BlobStore:
    """Blob store in an S3 bucket: ``s3://<bucket>/<prefix>/<sha256>``."""

    def __init__(self, bucket: str, prefix: str, *, client: Any) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client

    def __repr__(self) -> str:
        return f"S3BlobStore(bucket={self.bucket!r}, prefix={self.prefix!r})"

    def uri_for(self, sha256: str) -> str:
        return f"s3://{self.bucket}/{self._key_for_sha(sha256)}"

    def put(self, data: bytes) -> BlobRef:
        sha256 = _sha256_hex(data)
        ref = BlobRef(uri=self.uri_for(sha256), sha256=sha256, size=len(data))
        # Always PUT, even when the object exists: that refreshes LastModified, so a garbage
        # collection running now sees a fresh blob a transaction is about to reference.
        # A single PUT is atomic in S3: the object appears only once complete.
        with self._s3_errors("upload", ref.uri):
            self.client.put_object(
                Bucket=self.bucket,
                Key=self._key_for_sha(sha256),
                Body=data,
                ContentLength=len(data),
                Metadata={"sha256": sha256},
            )
        return ref

    def get(self, ref_or_uri: str, *, sha256: str) -> bytes:
        key = self._key_for_uri(ref_or_uri)
        with self._s3_errors("download", ref_or_uri):
            data = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return _verified(ref_or_uri, data, sha256)

    def delete(self, uri: str) -> bool:
        # S3 DELETE succeeds whether or not the key exists, so look first.
        if not self.exists(uri):
            return False
        with self._s3_errors("delete", uri):
            self.client.delete_object(Bucket=self.bucket, Key=self._key_for_uri(uri))
        return True

    def exists(self, uri: str) -> bool:
        key = self._key_for_uri(uri)
        try:
            with self._s3_errors("check", uri):
                self.client.head_object(Bucket=self.bucket, Key=key)
        except BlobNotFound:
            return False
        return True

    def iter_blobs(self) -> Iterator[BlobRef]:
        list_prefix = f"{self.prefix}/" if self.prefix else ""
        paginator = self.client.get_paginator("list_objects_v2")
        with self._s3_errors("list", f"s3://{self.bucket}/{list_prefix}"):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=list_prefix):
                for obj in page.get("Contents", []):
                    name = obj["Key"][len(list_prefix) :]
                    if _SHA256_RE.fullmatch(name):
                        yield BlobRef(uri=self.uri_for(name), sha256=name, size=obj["Size"],
                                      modified_at=obj["LastModified"].timestamp())

    def _key_for_sha(self, sha256: str) -> str:
        _check_sha256(sha256)
        return f"{self.prefix}/{sha256}" if self.prefix else sha256

    def _key_for_uri(self, uri: str) -> str:
        name = uri.rsplit("/", 1)[-1]
        if not _SHA256_RE.fullmatch(name) or uri != self.uri_for(name):
            raise BlobStoreConfigError(
                f"The URI {uri!r} does not name a blob in s3://{self.bucket}/{self.prefix}, "
                "so it is refused."
            )
        return self._key_for_sha(name)

    @contextlib.contextmanager
    def _s3_errors(self, action: str, uri: str) -> Iterator[None]:
        """Translate botocore errors into blob store errors."""
        try:
            yield
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _S3_NOT_FOUND_CODES:
                raise BlobNotFound(f"No blob is stored at {uri}.") from exc
            raise BlobStoreError(f"Could not {action} {uri}: S3 returned {code}.") from exc
        except BotoCoreError as exc:
            raise BlobStoreError(f"Could not {action} {uri}: {exc}.") from exc


def open_blob_store(
    url: str,
    *,
    s3_endpoint_url: str | None = None,
    s3_region: str = "us-east-1",
    s3_access_key: str | None = None,
    s3_secret_key: str | None = None,
) -> BlobStore:
    """Open the blob store described by ``url``.

    Accepted forms are ``file:///absolute/path``, a plain absolute path, and
    ``s3://bucket/prefix``.  For S3, ``None`` credentials mean boto3's default
    credential chain (``AWS_ACCESS_KEY_ID`` and friends, profiles, instance roles).
    """
    if url.startswith("file://"):
        path = url[len("file://") :]
        if path.startswith("/"):
            return LocalBlobStore(Path(path))
    elif url.startswith("/"):
        return LocalBlobStore(Path(url))
    elif url.startswith("s3://"):
        parts = urlsplit(url)
        if parts.netloc and not parts.query and not parts.fragment:
            client = boto3.client(
                "s3",
                endpoint_url=s3_endpoint_url,
                region_name=s3_region,
                aws_access_key_id=s3_access_key,
                aws_secret_access_key=s3_secret_key,
            )
            return S3BlobStore(parts.netloc, parts.path, client=client)
    raise BlobStoreConfigError(
        f"The blob store URL {url!r} is not supported. Use file:///absolute/path, "
        "an absolute filesystem path, or s3://bucket/prefix."
    )
