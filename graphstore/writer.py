"""The transactional writer (design sections 5.3 to 5.7): one managed write transaction per run.

I/O. A run is mapped (pure, graphstore/mapper.py; a run normalized at the boundary is not
validated again: `write(run, normalized=True)` or `write_normalized(wire, checksum=...)`), its
large cypherCommands put in the blob store first, then written in ONE `session.execute_write` of
ONE statement (graphstore/cypher/write.py): it reads what is already committed under the runId
and, only when that is nothing or the same content and the run is not condensed, runs the UNWIND
blocks (one per label and relationship type) and the commit marker; it returns what it found, so
the check and the write are one round trip. The statement's parameters are built once, before
the retry loop. An Ingredient id the run uses under another name than the graph's Ingredient
node keeps the node's (first) name; the run's name is on its HAS_INGREDIENT, and the same
statement returns the clash, which the summary carries (`ingredient_name_clashes`). The
transaction function is idempotent (MERGE on uniqueness-backed keys), so running it again, after
a retry or a replay, is harmless. Retries follow an explicit policy: at most `max_attempts`,
exponential backoff with full jitter, retryable errors only (deadlock and other transient
errors, unavailable, session expired, and a commit whose outcome is unknown, which idempotency
makes safe to repeat). The driver's own
30 s retry budget is switched off (see graphstore/connection.py).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from neo4j import Driver, ManagedTransaction
from neo4j.exceptions import DriverError, IncompleteCommit, Neo4jError

from contracts import RunResult

from .blobstore import BlobRef, BlobStore
from .codecs import GraphSnapshotCodec
from .cypher import write as cypher
from .cypher.retrieval import SET_RUN_EMBEDDING
from .embedding import Embedder, input_of_wire
from .errors import EmbedderError, Neo4jWriteFailed, RunConflict
from .mapper import GraphWriteSet, map_normalized_to_graph, map_run_to_graph
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


@dataclass(frozen=True, order=True)
class IngredientNameClash:
    """An Ingredient id the run used under another name than the graph's Ingredient node has.
    The node keeps its (first writer's) name; the run's name is on its HAS_INGREDIENT."""

    ingredient_id: str
    canonical_name: str  # the Ingredient node's name, kept
    run_name: str  # the name this run gave, on its HAS_INGREDIENT relationship

    def as_dict(self) -> dict[str, str]:
        return {"ingredientId": self.ingredient_id, "canonicalName": self.canonical_name,
                "runName": self.run_name}


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
    latency_ms: float  # the whole write: mapping_ms + blob_ms + database_ms (+ a little glue)
    blob_uri: str | None = None
    mapping_ms: float = 0.0  # laying the run out as a write set and its statement parameters
    blob_ms: float = 0.0  # putting large cypherCommands in the blob store (0 when none)
    database_ms: float = 0.0  # the transaction(s), retries and their backoff included
    # Ingredient ids this run used under another name than the graph's node (sorted by id);
    # reported on every write of the run, including one that found it already committed.
    ingredient_name_clashes: tuple[IngredientNameClash, ...] = ()
    # The causal-consistency bookmarks of the write's transaction: a read that passes them
    # (graphstore.replay.load_run) sees the run even on a cluster member that is catching up.
    bookmarks: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "runId": self.run_id, "checksum": self.checksum, "created": self.created,
            "nodesCreated": self.nodes_created, "relationshipsCreated": self.relationships_created,
            "nodeCount": self.node_count, "relationshipCount": self.relationship_count,
            "attempts": self.attempts, "latencyMs": round(self.latency_ms, 3),
            "blobUri": self.blob_uri, "mappingMs": round(self.mapping_ms, 3),
            "blobMs": round(self.blob_ms, 3), "databaseMs": round(self.database_ms, 3),
            "ingredientNameClashes": [c.as_dict() for c in self.ingredient_name_clashes],
            "bookmarks": list(self.bookmarks),
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
                 fault_injector: FaultInjector | None = None,
                 embedder: Embedder | None = None) -> None:
        self._driver = driver
        self._database = database
        self._blobs = blob_store
        self._retry = retry or RetryPolicy()
        self._clock = clock or (lambda: datetime.now(UTC))
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._fault_injector = fault_injector
        self._embedder = embedder  # the run's embedding for the vector index (retrieval)

    def write(self, run: RunResult, *, normalized: bool = False,
              owner_id: str | None = None, embed: bool = True) -> WriteSummary:
        """Persist one run exactly once; raises RunConflict, WriteSetTooLarge, Neo4jWriteFailed.
        `normalized=True`: the run is `normalize_run`'s output, not to be validated again.
        `owner_id`: who the run belongs to (OrchestrationRun.ownerId; None keeps what is
        stored, and a new run then has no owner). `embed=False`: the run's embedding is left
        to write_embedding, after the write (the vector index's upkeep off the write's path)."""
        started = time.perf_counter()
        write_set = map_run_to_graph(run, normalized=normalized)  # refuses an oversized run
        return self.write_mapped(write_set, started=started, owner_id=owner_id, embed=embed)

    def write_normalized(self, wire: Mapping[str, Any], *, checksum: str | None = None,
                         owner_id: str | None = None, embed: bool = True) -> WriteSummary:
        """Persist a run given as the wire dict of a normalized run and its checksum (the outbox
        copy), trusted as validated at the boundary: no pydantic, no second hash of the run."""
        started = time.perf_counter()
        write_set = map_normalized_to_graph(wire, checksum=checksum)
        return self.write_mapped(write_set, started=started, owner_id=owner_id, embed=embed)

    def write_mapped(self, write_set: GraphWriteSet, *, started: float | None = None,
                     owner_id: str | None = None, embed: bool = True) -> WriteSummary:
        """Persist a write set already mapped (`started`: perf_counter() when mapping began, so
        that mapping_ms counts it)."""
        begun = time.perf_counter() if started is None else started
        params = statement_params(write_set)
        mapped = time.perf_counter()
        blob_ref = self._blobs.put(write_set.blob.data) if write_set.blob else None
        if blob_ref is not None:
            params[cypher.node_param(GraphSnapshotCodec.name)] = _node_rows(
                write_set, GraphSnapshotCodec.name, blob_ref)
        stored = time.perf_counter()
        params["now"] = self._clock()
        params["ownerId"] = owner_id
        if embed:  # set with the commit marker
            params.update(embedding_params(self._embedder, write_set.wire, write_set.run_id))
        attempts = 0
        while True:
            attempts += 1
            try:
                with self._driver.session(database=self._database) as session:
                    outcome = session.execute_write(self._transaction, write_set, params, attempts)
                    bookmarks = tuple(sorted(session.last_bookmarks().raw_values))
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
        done = time.perf_counter()
        created, nodes_created, rels_created, clashes = outcome
        return WriteSummary(
            run_id=write_set.run_id, checksum=write_set.checksum, created=created,
            nodes_created=nodes_created, relationships_created=rels_created,
            node_count=len(write_set.nodes), relationship_count=len(write_set.relationships),
            attempts=attempts, latency_ms=(done - begun) * 1000.0,
            blob_uri=blob_ref.uri if blob_ref else None,
            mapping_ms=(mapped - begun) * 1000.0, blob_ms=(stored - mapped) * 1000.0,
            database_ms=(done - stored) * 1000.0, ingredient_name_clashes=clashes,
            bookmarks=bookmarks,
        )

    def write_embedding(self, wire: Mapping[str, Any], *, run_id: str) -> bool:
        """Set a committed run's embedding in a transaction of its own (after a write made with
        `embed=False`): the vector index, which has no eventually-consistent mode, is kept up
        outside the run's write. Advisory: False, logged, when there is no embedder or recipe,
        the embedder fails or Neo4j does (`manage.py backfill_embeddings` fills such runs)."""
        params = embedding_params(self._embedder, wire, run_id)
        if params["embedding"] is None:
            return False
        try:
            with self._driver.session(database=self._database) as session:
                found = session.execute_write(
                    lambda tx: tx.run(SET_RUN_EMBEDDING, runId=run_id,
                                      **params).single())
        except (Neo4jError, DriverError) as exc:
            logger.warning("run %s: its embedding was not written: %s", run_id, exc)
            return False
        return found is not None

    def _transaction(self, tx: ManagedTransaction, write_set: GraphWriteSet,
                     params: dict[str, Any], attempt: int
                     ) -> tuple[bool, int, int, tuple[IngredientNameClash, ...]]:
        # One statement: the committed-run check and, only if it passes, the write.
        result = tx.run(cypher.WRITE_RUN, cypher.statement_args(params))
        found = result.single(strict=True)
        counters = result.consume().counters
        stored = found["checksum"]
        if stored is not None and stored != write_set.checksum:
            # The statement wrote nothing; raising rolls the (empty) transaction back.
            raise RunConflict(write_set.run_id, stored, write_set.checksum)
        if found["condensed"]:
            # Retention condensed this run: the statement wrote nothing back.
            return False, 0, 0, ()
        if self._fault_injector is not None:
            self._fault_injector(attempt)
        clashes = tuple(sorted(IngredientNameClash(c["key"], c["stored"], c["used"])
                               for c in found["nameClashes"] or ()))
        return stored is None, counters.nodes_created, counters.relationships_created, clashes


def embedding_params(embedder: Embedder | None, wire: Mapping[str, Any],
                     run_id: str) -> dict[str, Any]:
    """The run's embedding and its model's name (`embedding`, `embeddingModel`: parameters of
    cypher.WRITE_RUN, set with the commit marker, and of SET_RUN_EMBEDDING), computed before the
    transaction; nulls without an embedder or a recipe. An embedder that fails does not fail
    the write: the run is written without one (`manage.py backfill_embeddings` adds it)."""
    none = {"embedding": None, "embeddingModel": None}
    if embedder is None:
        return none
    item = input_of_wire(dict(wire))
    if item is None:
        return none
    try:
        vector = embedder.embed([item])[0]
    except EmbedderError as exc:
        logger.warning("run %s written without its embedding: %s", run_id, exc)
        return none
    return {"embedding": vector, "embeddingModel": embedder.name}


def statement_params(write_set: GraphWriteSet, blob_ref: BlobRef | None = None
                     ) -> dict[str, Any]:
    """The parameters of cypher.WRITE_RUN: rows for every label and relationship type (all but
    `now`, which the writer adds; the owner and the embedding are null here: the writer sets
    what it has). The GraphSnapshot row carries blobUri when `blob_ref` names the stored
    blob."""
    params: dict[str, Any] = {
        "runId": write_set.run_id, "checksum": write_set.checksum,
        "schemaVersion": write_set.schema_version, "nodeCount": len(write_set.nodes),
        "relationshipCount": len(write_set.relationships),
        "replayOf": write_set.replay_of,
        "ownerId": None, "embedding": None, "embeddingModel": None,
    }
    node_rows: dict[str, list[dict[str, Any]]] = {label.name: [] for label in LABELS}
    for node in write_set.nodes:  # one pass; the write set is already in label and key order
        node_rows[node.label].append(
            {"key": node.key, "create": node.on_create, "match": node.on_match})
    for label in LABELS:
        params[cypher.node_param(label.name)] = node_rows[label.name]
    if blob_ref is not None:
        params[cypher.node_param(GraphSnapshotCodec.name)] = _node_rows(
            write_set, GraphSnapshotCodec.name, blob_ref)
    rel_rows: dict[str, list[dict[str, Any]]] = {rel.name: [] for rel in REL_TYPES}
    for r in write_set.relationships:
        rel_rows[r.type].append({"start": r.start, "end": r.end, "props": r.properties})
    for rel in REL_TYPES:
        params[cypher.rel_param(rel.name)] = rel_rows[rel.name]
    return params


def _node_rows(write_set: GraphWriteSet, label: str, blob_ref: BlobRef) -> list[dict[str, Any]]:
    """The rows of `label` with the stored blob's uri added to what a created node gets."""
    return [{"key": n.key, "create": {**n.on_create, **GraphSnapshotCodec.blob_uri(blob_ref.uri)},
             "match": n.on_match} for n in write_set.nodes_of(label)]
