"""Errors of the graph store: one tree, defined here and nowhere else.

    GraphStoreError
    ├── MappingError             a run cannot be mapped to the graph; nothing is written (422)
    │   └── WriteSetTooLarge     its write set is over the per-run limit
    ├── RunConflict              the runId is committed with different content (409)
    ├── RunNotFound              no committed run under that runId (404)
    ├── Neo4jWriteFailed         the write failed for good after the retry policy; carries runId
    ├── ReplayError              a stored run cannot be read back into the contract (500)
    │   └── RunBlobUnreadable    its cypherCommands blob cannot be served; carries run_id, uri
    │       ├── RunBlobMissing   the blob is not in the configured store (deleted, lost, or
    │       │                    the store URL changed since the run was written)
    │       └── RunBlobCorrupted its bytes do not hash to the sha256 the run recorded
    ├── RetrievalIndexMissing    the full-text indexes of retrieval are not installed
    ├── EmbedderError            the configured embedder is misconfigured or failed
    ├── InvalidAnalyticsQuery    an analytics function was asked what it does not compute
    ├── RetentionError           retention was asked something it cannot do
    │   ├── InvalidBatchSize     batch_size below 1
    │   └── FormulationNotFound  no formulation under that id
    └── BlobStoreError           the blob store failed or refused
        ├── BlobNotFound         no blob at that URI
        ├── BlobCorrupted        the stored bytes do not hash to the expected SHA-256
        └── BlobStoreConfigError a store URL or blob URI is malformed or not the store's

Replay turns a blob that is missing or corrupted into a RunBlobUnreadable, naming the run (the
stored run is damaged: answered 500, like any run that does not read back); any other
BlobStoreError on a read is the store failing (unreachable, refusing: answered 503).

Some classes also derive from the built-in they replace (MappingError, InvalidBatchSize and
InvalidAnalyticsQuery from ValueError; RunNotFound and FormulationNotFound from LookupError), so
callers that caught the built-in before keep working. graphstore.mapper, graphstore.blobstore and
graphstore.retrieval re-export their errors from here.
"""

from __future__ import annotations


class GraphStoreError(Exception):
    """Root of the graph store's errors."""


# --- mapping -------------------------------------------------------------------------------------


class MappingError(GraphStoreError, ValueError):
    """A run that cannot be mapped to the graph. Nothing is written."""


class WriteSetTooLarge(MappingError):
    def __init__(self, run_id: str, nodes: int, relationships: int, limit: int) -> None:
        self.run_id, self.limit = run_id, limit
        self.nodes, self.relationships = nodes, relationships
        super().__init__(
            f"Run {run_id} maps to {nodes} nodes and {relationships} relationships "
            f"({nodes + relationships} in all), over the limit of {limit} per run (design "
            "section 7); nothing was written. Split the run or shorten its agentHistory."
        )


# --- writing and reading runs --------------------------------------------------------------------


class RunConflict(GraphStoreError):
    def __init__(self, run_id: str, stored_checksum: str, new_checksum: str) -> None:
        self.run_id, self.stored_checksum, self.new_checksum = run_id, stored_checksum, new_checksum
        super().__init__(
            f"Run {run_id} is already persisted with different content (stored checksum "
            f"{stored_checksum}, this one {new_checksum}); nothing was written. A runId names "
            "one run: submit changed content under a new runId."
        )


class RunNotFound(GraphStoreError, LookupError):
    def __init__(self, run_id: str, detail: str = "") -> None:
        self.run_id = run_id
        super().__init__(f"No persisted run has the runId {run_id!r}.{detail}")


class Neo4jWriteFailed(GraphStoreError):
    def __init__(self, run_id: str, attempts: int, cause: BaseException) -> None:
        self.run_id, self.attempts, self.cause = run_id, attempts, cause
        super().__init__(
            f"Run {run_id} could not be written to Neo4j after {attempts} attempt(s): "
            f"{type(cause).__name__}: {cause}. Nothing of it was committed; it can be written "
            "again safely (writes are idempotent)."
        )


class ReplayError(GraphStoreError):
    """A stored run does not read back into the v1 contract (the message says why)."""


class RunBlobUnreadable(ReplayError):
    """A committed run whose cypherCommands blob cannot be served: the run cannot be read back
    whole. `code` names the case for the API (blob_missing, blob_corrupted)."""

    code = "blob_unreadable"

    def __init__(self, message: str, *, run_id: str, uri: str, sha256: str) -> None:
        self.run_id, self.uri, self.sha256 = run_id, uri, sha256
        super().__init__(message)


class RunBlobMissing(RunBlobUnreadable):
    """The run's blob is not in the configured blob store."""

    code = "blob_missing"

    def __init__(self, run_id: str, uri: str, sha256: str, detail: str = "") -> None:
        super().__init__(
            f"Run {run_id} is committed in Neo4j, but its cypherCommands blob is missing from "
            f"the blob store ({uri}, SHA-256 {sha256}){detail}, so the run cannot be read back "
            "whole. Restore the blob (it is content-addressed: any copy of those bytes will do) "
            "or point CAP01_BLOB_STORE_URL at the store the run was written to.",
            run_id=run_id, uri=uri, sha256=sha256)


class RunBlobCorrupted(RunBlobUnreadable):
    """The run's blob is stored but its bytes do not hash to the recorded SHA-256."""

    code = "blob_corrupted"

    def __init__(self, run_id: str, uri: str, sha256: str, cause: BaseException) -> None:
        super().__init__(
            f"Run {run_id}: its cypherCommands blob is corrupted and is not served: {cause} "
            "Restore the blob from a copy whose SHA-256 matches.",
            run_id=run_id, uri=uri, sha256=sha256)


class RetrievalIndexMissing(GraphStoreError):
    """The full-text indexes are not installed (run `manage.py install_graph_schema`)."""

    def __init__(self, cause: BaseException, index_names: tuple[str, ...] = ()) -> None:
        names = f" ({', '.join(index_names)})" if index_names else ""
        super().__init__(
            f"The full-text indexes for retrieval are not installed in Neo4j{names}; run "
            f"`manage.py install_graph_schema`. ({cause})")


class EmbedderError(GraphStoreError):
    """The embedder (graphstore/embedding.py) is misconfigured or its service failed."""


class InvalidAnalyticsQuery(GraphStoreError, ValueError):
    """An analytics function was asked for something it does not compute (the message says
    what it accepts)."""


# --- retention -----------------------------------------------------------------------------------


class RetentionError(GraphStoreError):
    """Retention was asked something it cannot do."""


class InvalidBatchSize(RetentionError, ValueError):
    def __init__(self, batch_size: int) -> None:
        self.batch_size = batch_size
        super().__init__(f"batch_size must be at least 1, got {batch_size}; pass a positive "
                         "number of runs per transaction.")


class FormulationNotFound(RetentionError, LookupError):
    def __init__(self, formulation_id: str) -> None:
        self.formulation_id = formulation_id
        super().__init__(f"No formulation has the id {formulation_id!r}; link it to a run "
                         "first (`manage.py formulation ID --uses RUN_ID`).")


# --- blob store ----------------------------------------------------------------------------------


class BlobStoreError(GraphStoreError):
    """Root of all blob store errors."""


class BlobNotFound(BlobStoreError):
    """The requested blob does not exist in the store."""


class BlobCorrupted(BlobStoreError):
    """The stored bytes do not hash to the expected SHA-256."""

    def __init__(self, uri: str, expected: str, actual: str) -> None:
        super().__init__(
            f"The blob at {uri} is corrupted: expected SHA-256 {expected} but the stored "
            f"bytes hash to {actual}, so the blob is not served."
        )
        self.uri = uri
        self.expected = expected
        self.actual = actual


class BlobStoreConfigError(BlobStoreError):
    """A store URL or blob URI is malformed or does not belong to the store."""
