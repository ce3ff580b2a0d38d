"""orchestration.api.errors: blob-store failures on a read are answered in the JSON error shape."""

from __future__ import annotations

from graphstore import errors
from orchestration.api.errors import exception_handler


def test_a_missing_or_corrupted_blob_is_a_500_with_its_code_the_run_and_the_blob():
    """RunBlobMissing / RunBlobCorrupted: 500 (a damaged stored run, as any ReplayError) with
    code blob_missing / blob_corrupted, the runId and the blob URI."""
    uri = "file:///b/ab/ab12"
    for error, code in [
        (errors.RunBlobMissing("run-1", uri, "ab12"), "blob_missing"),
        (errors.RunBlobCorrupted("run-1", uri, "ab12",
                                 errors.BlobCorrupted(uri, "ab12", "cd34")), "blob_corrupted"),
    ]:
        response = exception_handler(error, {})
        assert response is not None and response.status_code == 500
        assert response.data == {"detail": str(error), "code": code, "errors": [],
                                 "runId": "run-1", "blobUri": uri}


def test_the_blob_store_failing_is_a_503_to_retry():
    """Any other blob store error on a read (the store unreachable, refusing) is a 503 with
    Retry-After: waiting may help."""
    response = exception_handler(errors.BlobStoreError("Could not download s3://b/k: S3 "
                                                       "returned SlowDown."), {})
    assert response is not None and response.status_code == 503
    assert response.data["code"] == "blob_store_unavailable" and response["Retry-After"] == "30"
