"""The transactional writer (design sections 5.3 to 5.7): one managed write transaction per run.

I/O. A run is mapped (pure, graphstore/mapper.py), its large cypherCommands put in the blob store
first, then written in ONE `session.execute_write`: a check of what is already committed under
the runId, then one fixed statement of UNWIND blocks (one per label and relationship type, see
graphstore/cypher/write.py) that ends with the commit marker. The transaction function is
idempotent (MERGE on uniqueness-backed keys), so running it again, after a retry or a replay, is
harmless. Retries follow an explicit policy: at most `max_attempts`, exponential backoff with full
jitter, retryable errors only (deadlock and other transient errors, unavailable, session expired,
and a commit whose outcome is unknown, which idempotency makes safe to repeat). The driver's own
30 s retry budget is switched off (see graphstore/connection.py).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from neo4j import Driver, ManagedTransaction
from neo4j.exceptions import DriverError, IncompleteCommit, Neo4jError

from contracts import RunResult

from .blobstore import BlobRef, BlobStore
from .codecs import GraphSnapshotCodec
from .cypher import write as cypher
from .errors import Neo4jWriteFailed, RunConflict
from .mapper import GraphWriteSet, map_run_to_graph
from .schema import LABELS, REL_TYPES

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3
    base_delay_s: float = 0.05
    max_delay_s: float = 1.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Full jitter: uniform in [0, min(max, base * 2^(attempt-1))]."""
        return rng.uniform(0.0, min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1)))


@dataclass(frozen=True)
class WriteSummary:
    run_id: str
    checksum: str
    created: bool  # False when the same run was already committed (only counters moved)
    nodes_created: int
    relationships_created: int
    node_count: int  # nodes and relationships of the write set (the commit marker's counts)
    relationship_count: int
    attempts: int
    latency_ms: float
    blob_uri: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "runId": self.run_id, "checksum": self.checksum, "created": self.created,
            "nodesCreated": self.nodes_created, "relationshipsCreated": self.relationships_created,
            "nodeCount": self.node_count, "relationshipCount": self.relationship_count,
            "attempts": self.attempts, "latencyMs": round(self.latency_ms, 3),
            "blobUri": self.blob_uri,
        }


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, IncompleteCommit):
        return True  # outcome unknown; the transaction is idempotent, so repeating it is safe
    if isinstance(exc, Neo4jError | DriverError):
        return exc.is_retryable()
    return False


FaultInjector = Callable[[int], None]  # called inside the transaction with the attempt number


class RunWriter:
    """Writes runs to Neo4j. Construction does no I/O."""

    def __init__(self, driver: Driver, *, database: str, blob_store: BlobStore,
                 retry: RetryPolicy | None = None, clock: Callable[[], datetime] | None = None,
                 sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None,
                 fault_injector: FaultInjector | None = None) -> None:
        self._driver = driver
        self._database = database
        self._blobs = blob_store
        self._retry = retry or RetryPolicy()
        self._clock = clock or (lambda: datetime.now(UTC))
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._fault_injector = fault_injector

    def write(self, run: RunResult) -> WriteSummary:
        """Persist one run exactly once; raises RunConflict, WriteSetTooLarge, Neo4jWriteFailed."""
        started = time.perf_counter()
        write_set = map_run_to_graph(run)  # refuses an oversized run before any I/O
        blob_ref = self._blobs.put(write_set.blob.data) if write_set.blob else None
        params = statement_params(write_set, blob_ref)
        attempts = 0
        while True:
            attempts += 1
            try:
                with self._driver.session(database=self._database) as session:
                    outcome = session.execute_write(self._transaction, write_set, params, attempts)
                break
            except RunConflict:
                raise
            except Exception as exc:
                if not is_retryable(exc) or attempts >= self._retry.max_attempts:
                    raise Neo4jWriteFailed(write_set.run_id, attempts, exc) from exc
                delay = self._retry.delay(attempts, self._rng)
                logger.warning("neo4j write of run %s failed on attempt %d (%s); retrying in "
                               "%.3f s", write_set.run_id, attempts, type(exc).__name__, delay)
                self._sleep(delay)
        created, nodes_created, rels_created = outcome
        return WriteSummary(
            run_id=write_set.run_id, checksum=write_set.checksum, created=created,
            nodes_created=nodes_created, relationships_created=rels_created,
            node_count=len(write_set.nodes), relationship_count=len(write_set.relationships),
            attempts=attempts, latency_ms=(time.perf_counter() - started) * 1000.0,
            blob_uri=blob_ref.uri if blob_ref else None,
        )

    def _transaction(self, tx: ManagedTransaction, write_set: GraphWriteSet,
                     params: dict[str, Any], attempt: int) -> tuple[bool, int, int]:
        existing = tx.run(cypher.EXISTING_RUN, runId=write_set.run_id).single(strict=True)
        stored = existing["checksum"]
        if stored is not None and stored != write_set.checksum:
            raise RunConflict(write_set.run_id, stored, write_set.checksum)
        if existing["condensed"]:
            # Retention condensed this run: writing it again would bring back what was removed.
            return False, 0, 0
        counters = tx.run(cypher.WRITE_RUN, params, now=self._clock()).consume().counters
        if self._fault_injector is not None:
            self._fault_injector(attempt)
        return stored is None, counters.nodes_created, counters.relationships_created


def statement_params(write_set: GraphWriteSet, blob_ref: BlobRef | None) -> dict[str, Any]:
    """The parameters of cypher.WRITE_RUN: rows for every label and relationship type."""
    params: dict[str, Any] = {
        "runId": write_set.run_id, "checksum": write_set.checksum,
        "schemaVersion": write_set.schema_version, "nodeCount": len(write_set.nodes),
        "relationshipCount": len(write_set.relationships),
        "replayOf": write_set.normalized.metadata.replay_of,
    }
    for label in LABELS:
        rows = []
        for node in write_set.nodes_of(label.name):
            create = dict(node.on_create)
            if label.name == GraphSnapshotCodec.name and blob_ref is not None:
                create.update(GraphSnapshotCodec.blob_uri(blob_ref.uri))
            rows.append({"key": node.key, "create": create, "match": dict(node.on_match)})
        params[cypher.node_param(label.name)] = rows
    for rel in REL_TYPES:
        params[cypher.rel_param(rel.name)] = [
            {"start": r.start, "end": r.end, "props": dict(r.properties)}
            for r in write_set.relationships_of(rel.name)]
    return params
