"""Errors of the graph store.

    GraphStoreError
    ├── RunConflict          the runId is committed with different content (HTTP 409)
    ├── RunNotFound          no committed run under that runId (HTTP 404)
    ├── Neo4jWriteFailed     the write failed for good after the retry policy; carries the runId
    └── ReplayError          a stored run cannot be read back into the contract
    (mapper.MappingError / WriteSetTooLarge and blobstore.BlobStoreError are raised as they are)
"""

from __future__ import annotations


class GraphStoreError(Exception):
    """Root of the graph store's errors."""


class RunConflict(GraphStoreError):
    def __init__(self, run_id: str, stored_checksum: str, new_checksum: str) -> None:
        self.run_id, self.stored_checksum, self.new_checksum = run_id, stored_checksum, new_checksum
        super().__init__(
            f"Run {run_id} is already persisted with different content (stored checksum "
            f"{stored_checksum}, this one {new_checksum}); nothing was written. A runId names "
            "one run: submit changed content under a new runId."
        )


class RunNotFound(GraphStoreError):
    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(f"No persisted run has the runId {run_id!r}.")


class Neo4jWriteFailed(GraphStoreError):
    def __init__(self, run_id: str, attempts: int, cause: BaseException) -> None:
        self.run_id, self.attempts, self.cause = run_id, attempts, cause
        super().__init__(
            f"Run {run_id} could not be written to Neo4j after {attempts} attempt(s): "
            f"{type(cause).__name__}: {cause}. Nothing of it was committed; it can be written "
            "again safely (writes are idempotent)."
        )


class ReplayError(GraphStoreError):
    pass
