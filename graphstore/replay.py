"""Replay (design section 2): read a committed run back from Neo4j and the blob store into the v1
contract. I/O. The result's checksum equals the checksum of the normalized original, which
`verify_run` and the tests compare.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from neo4j import READ_ACCESS, Bookmarks, Driver
from pydantic import ValidationError

from contracts import ALREADY_VALIDATED, RunResult

from .blobstore import BlobStore
from .codecs import (
    AgentInvocationCodec,
    CalculationResultCodec,
    GraphSnapshotCodec,
    OrchestrationRunCodec,
    RecipeVersionCodec,
    UIConfigCodec,
    UserRequestCodec,
    ValidationReportCodec,
)
from .cypher.read import (
    LOAD_CONDENSED_RUNS,
    LOAD_RUN,
    LOAD_RUNS,
    VERIFY_PARAMS,
    VERIFY_RUN_WITH_CONDENSATION,
)
from .errors import (
    BlobCorrupted,
    BlobNotFound,
    BlobStoreConfigError,
    ReplayError,
    RunBlobCorrupted,
    RunBlobMissing,
    RunNotFound,
)


def load_run(run_id: str, *, driver: Driver, database: str, blob_store: BlobStore,
             bookmarks: Sequence[str] = ()) -> RunResult:
    """The committed run `run_id`; RunNotFound when there is none, ReplayError if damaged
    (RunBlobMissing / RunBlobCorrupted when its cypherCommands blob cannot be served). A read
    transaction (a cluster routes it to a secondary) that waits for `bookmarks` (the write's,
    WriteSummary.bookmarks) so that a run just written reads back on any member."""
    with driver.session(database=database, default_access_mode=READ_ACCESS,
                        bookmarks=Bookmarks.from_raw_values(bookmarks)) as session:
        records = session.execute_read(lambda tx: list(tx.run(LOAD_RUN, runId=run_id)))
    if not records or records[0]["run"].get("commitChecksum") is None:
        raise RunNotFound(run_id)
    return _decode(run_id, records[0], blob_store)


def load_runs(run_ids: Sequence[str], *, driver: Driver, database: str, blob_store: BlobStore,
              condensed_only: bool = False) -> dict[str, RunResult | ReplayError]:
    """Many committed runs in one read transaction and one round trip (cypher.read.LOAD_RUNS),
    each read back as `load_run` reads it: runId -> its RunResult, or the ReplayError (a
    RunBlobMissing, say) that `load_run` would raise for it. A runId with no committed run is
    absent, and so is one not condensed (graphstore/retention.py) with `condensed_only`: it is
    not read at all (cypher.read.LOAD_CONDENSED_RUNS; retention's ledger side wants the
    condensed ones only). For batch work; a page reads one run with `load_run`."""
    with driver.session(database=database, default_access_mode=READ_ACCESS) as session:
        statement = LOAD_CONDENSED_RUNS if condensed_only else LOAD_RUNS
        records = session.execute_read(lambda tx: list(tx.run(statement, runIds=list(run_ids))))
    return decode_runs(records, blob_store=blob_store, condensed_only=condensed_only)


def decode_runs(records: Iterable[Any], *, blob_store: BlobStore,
                condensed_only: bool = False) -> dict[str, RunResult | ReplayError]:
    """Rows of LOAD_RUNS as `load_runs` returns them: runId -> RunResult or ReplayError."""
    runs: dict[str, RunResult | ReplayError] = {}
    for rec in records:
        run_id = rec["run"].get("runId")
        if run_id in runs or rec["run"].get("commitChecksum") is None:
            continue
        if condensed_only and not rec["run"].get("condensed"):
            continue
        try:
            runs[run_id] = _decode(run_id, rec, blob_store)
        except ReplayError as exc:
            runs[run_id] = exc
    return runs


def _decode(run_id: str, rec: Any, blob_store: BlobStore) -> RunResult:
    """One row of LOAD_RUN / LOAD_RUNS as the v1 contract."""
    run = rec["run"]
    # A condensed run (graphstore/retention.py) reads back as a summary: what retention removed
    # is absent, even if a later write put some of it back.
    condensed = OrchestrationRunCodec.condensation(run, rec["graph"], rec["validation"])
    removed = set(condensed["removed"]) if condensed else set()
    metadata = OrchestrationRunCodec.decode(run)
    if condensed is not None:
        metadata["condensed"] = condensed
    wire: dict[str, Any] = {
        "metadata": metadata,
        "request": UserRequestCodec.decode(rec["request"]),
        "agentHistory": [AgentInvocationCodec.decode(a, condensed=condensed is not None)
                         for a in rec["invocations"]],
    }
    try:
        if (rv := rec["recipe"]) is not None and "recipe" not in removed:
            wire["recipe"] = RecipeVersionCodec.decode(rv, rec["ingredients"])
        if (c := rec["calculation"]) is not None and "calculation" not in removed:
            wire["calculation"] = CalculationResultCodec.decode(c)
        if (g := rec["graph"]) is not None and "graph" not in removed:
            wire["graph"] = GraphSnapshotCodec.decode(g, _blob(run_id, g, blob_store))
        if (v := rec["validation"]) is not None and "validation" not in removed:
            wire["validation"] = ValidationReportCodec.decode(v)
        if (ui := rec["ui"]) is not None and "uiConfig" not in removed:
            wire["uiConfig"] = UIConfigCodec.decode(ui)
        return RunResult.model_validate(wire, context=ALREADY_VALIDATED)
    except ValidationError as exc:
        raise ReplayError(f"Run {run_id} is stored but does not read back into the v1 contract: "
                          f"{exc}") from exc


def _blob(run_id: str, snapshot: dict[str, Any], blob_store: BlobStore) -> bytes | None:
    """The cypherCommands blob of a snapshot that has one (verified), else None. A blob that is
    missing from the store (or whose URI is not the store's) raises RunBlobMissing, one whose
    bytes do not match raises RunBlobCorrupted; the store failing otherwise raises its own
    BlobStoreError."""
    if (ref := GraphSnapshotCodec.blob_of(snapshot)) is None:
        return None
    uri, sha256 = ref
    try:
        return blob_store.get(uri, sha256=sha256)
    except BlobNotFound as exc:
        raise RunBlobMissing(run_id, uri, sha256) from exc
    except BlobStoreConfigError as exc:
        raise RunBlobMissing(run_id, uri, sha256,
                             f" (that URI is not in the configured store: {exc})") from exc
    except BlobCorrupted as exc:
        raise RunBlobCorrupted(run_id, uri, sha256, exc) from exc


@dataclass(frozen=True)
class Verification:
    """The commit marker against the graph. A condensed run is compared with the counts its
    condensation recorded (condensedNodeCount, condensedRelationshipCount); the marker's own
    counts keep describing what the write transaction wrote."""

    run_id: str
    checksum: str | None
    marker_nodes: int | None
    marker_relationships: int | None
    nodes: int
    relationships: int
    condensed: bool = False
    condensed_nodes: int | None = None
    condensed_relationships: int | None = None

    @property
    def complete(self) -> bool:
        expected = ((self.condensed_nodes, self.condensed_relationships) if self.condensed
                    else (self.marker_nodes, self.marker_relationships))
        return self.checksum is not None and expected == (self.nodes, self.relationships)


def verify_run(run_id: str, *, driver: Driver, database: str) -> Verification:
    """Compare a run's commit marker (or, condensed, its condensation's counts) with what the
    graph holds for it."""
    records, _, _ = driver.execute_query(VERIFY_RUN_WITH_CONDENSATION, VERIFY_PARAMS,
                                         runId=run_id, database_=database, routing_="r")
    if not records:
        raise RunNotFound(run_id)
    r = records[0]
    return Verification(run_id, r["checksum"], r["markerNodes"], r["markerRelationships"],
                        r["nodes"], r["relationships"], r["condensed"], r["condensedNodes"],
                        r["condensedRelationships"])
