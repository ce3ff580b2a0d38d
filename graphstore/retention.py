"""Retention (design section 6): runs older than the full-retention period are condensed.

I/O (Neo4j and the blob store; no Django). orchestration/services/retention.py reads the
settings, runs this and condenses the ledger after it; `manage.py condense_runs [--dry-run]`
and the Celery beat job `orchestration.condense_runs` call that.

What a condensed run keeps and loses
------------------------------------

    kept     OrchestrationRun (metadata, commit marker), its UserRequest and TRIGGERED link, its
             AgentInvocations (timings, statuses, errors, outputRefs; not their transcripts),
             REPLAY_OF links, the GraphSnapshot node with its counts (nodeCount, edgeCount,
             cypherCommandCount, cypherCommandsSize, checksum) and the ValidationReport node
             with its outcome (valid, canProceed, summary, errorCount, warningCount,
             criticalCount, checksum)
    removed  UIConfig (the node), the GraphSnapshot payload (nodes, edges, metadata,
             cypherCommands) and its blob, the ValidationReport details (errors, warnings,
             criticalErrors, checks and the issue lists beside them), AgentInvocation
             transcripts, and the CalculationResult
             and the run's RecipeVersion link unless an active formulation holds them (below)

The run node is marked `condensed: true, condensedAt` (the first condensation's time),
`condensedRemoved` (the artifacts it lost, wire names, in stage order) and
`condensedRetains` (it still links a recipe or a calculation that a formulation holds).
`graphstore.replay.load_run` reads it back as a summary: `metadata.condensed` says when and
what was removed, with the graph's counts and the validation's outcome, and the removed
artifacts are absent (the contract allows that for a condensed run only).

Integrity: the commit marker (commitChecksum, commitNodeCount, commitRelationshipCount) keeps
describing what the run's write transaction wrote; condensation adds `condensedNodeCount` and
`condensedRelationshipCount`, counted in the condensing transaction with the very subqueries
`verify_run` uses (cypher.read.VERIFY_COUNTS; one statement for the whole batch), and
`verify_run` compares a condensed run with those.

Formulations: what keeps a recipe or a calculation
---------------------------------------------------

Formulations live in the wider formulation graph; this module only reads them (and offers
`formulation_link` to declare one). The link is explicit:

    (:Formulation {formulationId, status})-[:USES_RECIPE]->(:RecipeVersion)
    (:Formulation {formulationId, status})-[:USES_CALCULATION]->(:CalculationResult)

Only a formulation whose `status` is exactly 'active' holds anything; a draft or retired one
holds nothing. A condensed run keeps its CalculationResult when an active formulation uses it,
and keeps its USED_RECIPE link when an active formulation uses that recipe or when its kept
calculation needs it (a calculation is read against its recipe). A RecipeVersion node is
deleted only when, after the link is dropped, no run at all (condensed or not) and no active
formulation uses it: a recipe shared with a newer run, which is not condensed, always stays.
Ingredient nodes are shared catalogue nodes and are never deleted here. When a formulation
is later retired, the next pass revisits the condensed runs that still retain something
(`condensedRetains`) and removes what no longer has a holder.

The properties removed are those the codecs mark as details (graphstore/codecs/, `details()`);
the statements are in graphstore/cypher/retention.py.

Batches, idempotency, blobs
---------------------------

Candidates are the committed runs whose `startedAt` (native datetime; the run's
metadata.timestamp) is before the cutoff and which are not condensed yet (or retain something
that lost its holder), taken in (startedAt, runId) order with a cursor, `batch_size` runs per
explicit write transaction. They are sought by `retentionStartedAt`, the run's startedAt that
only the runs retention has work on carry (range index orchestration_run_retention): the
writer sets it with the commit marker, a condensation removes it unless the run retains
something. So a pass never walks the runs condensed before (tens of thousands after a year),
and the cursor bounds the seek: a batch does not walk the runs before it again either. A graph
written before the property existed gets it from `manage.py upgrade_graph`
(graphstore.migrate.set_retention_started). Each transaction plans (what the batch holds),
applies (deletes and marks), deletes orphaned RecipeVersions and records the condensed counts;
an `on_batch` callback gets the batch's plans after the commit (the ledger derives its condensed
copies from them and its full copies: nothing is read back from Neo4j). A second pass finds no
candidates and changes nothing; a pass interrupted between batches resumes where it stopped.

Blobs are content-addressed, so another GraphSnapshot may reference the same one. The blob
references (blobUri, blobSha256) are collected in the transaction; only after the last batch
committed, each blob that no GraphSnapshot references any more (by blobSha256, as the blob
collector counts references) is deleted, the references checked again right before. Like the
blob collector (graphstore/blob_gc.py), a blob modified within `blob_grace_s` is left alone:
a writer re-puts (touches) a blob before the transaction that will reference it. A blob left
behind by an interrupted pass is unreferenced, so the blob collector deletes it later.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from neo4j import Driver, ManagedTransaction

from contracts.stages import STAGE_TABLE

from .blobstore import BlobStore
from .cypher.read import VERIFY_PARAMS
from .cypher.retention import (
    ACTIVE,
    APPLY,
    BLOB_USERS,
    CANDIDATES,
    FLOOR,
    LINK_FORMULATION,
    PLAN,
    RECIPE_GC,
    RECIPE_USERS,
    SET_COUNTS,
    SET_FORMULATION_STATUS,
)
from .errors import FormulationNotFound, InvalidBatchSize, RunNotFound

logger = logging.getLogger(__name__)

ARTIFACT_ORDER = tuple(stage.wire for stage in STAGE_TABLE)

# --- results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunPlan:
    """What condensing one run removes and keeps (one row of PLAN plus the decisions)."""

    run_id: str
    started_at: str
    status: str
    removed: tuple[str, ...]  # artifacts removed by this pass (wire names, stage order)
    removed_total: tuple[str, ...]  # with those removed by earlier passes
    keep_calculation: bool
    keep_recipe: bool
    recipe: str | None  # RecipeVersion checksum the run links now
    blob_uri: str | None
    blob_sha256: str | None
    checksum: str | None = None  # the run's (OrchestrationRun.checksum: of its normalized wire)
    condensed_before: bool = False  # condensed by an earlier pass (revisited: it retains)

    @property
    def retains(self) -> bool:
        return self.keep_calculation or (self.keep_recipe and self.recipe is not None)

    def as_dict(self) -> dict[str, Any]:
        return {"runId": self.run_id, "startedAt": self.started_at, "status": self.status,
                "removed": list(self.removed), "keptCalculation": self.keep_calculation,
                "keptRecipe": self.keep_recipe and self.recipe is not None,
                "blobUri": self.blob_uri}


@dataclass
class CondenseReport:
    cutoff: datetime
    dry_run: bool
    runs: list[RunPlan] = field(default_factory=list)
    batches: int = 0
    nodes_deleted: int = 0
    relationships_deleted: int = 0
    properties_changed: int = 0
    recipes_deleted: list[str] = field(default_factory=list)  # RecipeVersion checksums
    blobs_deleted: list[str] = field(default_factory=list)  # uris (would be, on a dry run)
    blobs_shared: list[str] = field(default_factory=list)  # still referenced: kept
    blobs_recent: list[str] = field(default_factory=list)  # modified within the grace: kept

    @property
    def calculations_kept(self) -> int:
        return sum(1 for p in self.runs if p.keep_calculation)

    @property
    def recipes_kept(self) -> int:
        return sum(1 for p in self.runs if p.keep_recipe and p.recipe is not None)

    def count(self, artifact: str) -> int:
        return sum(1 for p in self.runs if artifact in p.removed)

    def as_dict(self) -> dict[str, Any]:
        return {
            "cutoff": self.cutoff.isoformat(), "dryRun": self.dry_run, "runs": len(self.runs),
            "batches": self.batches,
            "removed": {a: self.count(a) for a in ARTIFACT_ORDER},
            "kept": {"calculations": self.calculations_kept, "recipeLinks": self.recipes_kept},
            "recipesDeleted": len(self.recipes_deleted), "nodesDeleted": self.nodes_deleted,
            "relationshipsDeleted": self.relationships_deleted,
            "propertiesChanged": self.properties_changed,
            "blobsDeleted": len(self.blobs_deleted), "blobsShared": len(self.blobs_shared),
            "blobsRecent": len(self.blobs_recent),
        }

    def lines(self) -> list[str]:
        """A human account of the pass (what `condense_runs` prints)."""
        dry = self.dry_run
        removes, deleted = ("would remove", "would be deleted") if dry else ("removed", "deleted")
        out = [f"{len(self.runs)} run(s) started before {self.cutoff.isoformat()} "
               f"{'would be' if dry else 'were'} condensed ({self.batches} batch(es))."]
        for p in self.runs:
            kept = [name for name, flag in (("calculation", p.keep_calculation),
                                            ("recipe", p.keep_recipe and p.recipe is not None))
                    if flag]
            out.append(f"  {p.run_id} ({p.status}, started {p.started_at}): "
                       f"{removes} {', '.join(p.removed) or 'nothing more'}"
                       + (f"; keeps its {' and '.join(kept)} (an active formulation uses them)"
                          if kept else "")
                       + (f"; its blob {p.blob_uri}" if p.blob_uri else ""))
        out.append(f"RecipeVersions no longer used, {deleted}: {len(self.recipes_deleted)}. "
                   f"Blobs {deleted}: {len(self.blobs_deleted)}; kept because another snapshot "
                   f"references them: {len(self.blobs_shared)}; kept because modified within "
                   f"the grace period (the blob collector takes them later): "
                   f"{len(self.blobs_recent)}.")
        if not dry:
            out.append(f"Neo4j: {self.nodes_deleted} nodes and {self.relationships_deleted} "
                       f"relationships deleted, {self.properties_changed} properties set or "
                       "removed.")
        return out


# --- the pass ----------------------------------------------------------------------------------


def _iso(value: Any) -> str:
    native = value.to_native() if hasattr(value, "to_native") else value
    return native.isoformat() if hasattr(native, "isoformat") else str(native)


def _decide(rec: Any) -> RunPlan:
    keep_calculation = bool(rec["calculationHeld"])
    keep_recipe = bool(rec["recipeHeld"]) or keep_calculation
    now_removed = set()
    if rec["hasUi"]:
        now_removed.add("uiConfig")
    if rec["graphPayload"]:
        now_removed.add("graph")
    if rec["validationDetails"]:
        now_removed.add("validation")
    if rec["hasCalculation"] and not keep_calculation:
        now_removed.add("calculation")
    if rec["recipe"] is not None and not keep_recipe:
        now_removed.add("recipe")
    total = now_removed | set(rec["removedBefore"])
    return RunPlan(
        run_id=rec["runId"], started_at=_iso(rec["startedAt"]), status=rec["status"],
        removed=tuple(a for a in ARTIFACT_ORDER if a in now_removed),
        removed_total=tuple(a for a in ARTIFACT_ORDER if a in total),
        keep_calculation=keep_calculation, keep_recipe=keep_recipe, recipe=rec["recipe"],
        blob_uri=rec["blobUri"], blob_sha256=rec["blobSha256"], checksum=rec["checksum"],
        condensed_before=bool(rec["condensedBefore"]))


def _candidates(driver: Driver, database: str, cutoff: datetime,
                batch_size: int) -> Iterable[list[str]]:
    after: tuple[Any, str] = (FLOOR, "")
    while True:
        records, _, _ = driver.execute_query(
            CANDIDATES, cutoff=cutoff, afterStartedAt=after[0], afterRunId=after[1],
            limit=batch_size, active=ACTIVE, database_=database)
        run_ids: list[str] = records[0]["runIds"]
        if not run_ids:
            return
        after = (records[0]["startedAt"], run_ids[-1])
        yield run_ids


@dataclass
class _BatchOutcome:
    plans: list[RunPlan]
    recipes_deleted: list[str]
    nodes_deleted: int
    relationships_deleted: int
    properties_changed: int


# What a pass hands, after each batch committed, to its `on_batch` callback: the batch's plans.
# A plan of a run condensed for the first time (not `condensed_before`) says all a condensed copy
# needs besides the full run: what was removed (`removed`) and when (the pass's `now`); see
# OrchestrationRunCodec.condense_wire.
BatchCallback = Callable[[list[RunPlan]], None]


def _condense_batch(tx: ManagedTransaction, run_ids: list[str], now: datetime,
                    planned: Callable[[list[RunPlan]], None] | None = None) -> _BatchOutcome:
    plans = [_decide(rec) for rec in tx.run(PLAN, runIds=run_ids, active=ACTIVE)]
    if planned is not None:
        planned(plans)
    rows = [{"runId": p.run_id, "keepCalculation": p.keep_calculation,
             "keepRecipe": p.keep_recipe, "removed": list(p.removed_total),
             "retains": p.retains} for p in plans]
    applied = tx.run(APPLY, rows=rows, now=now).consume().counters
    unlinked = sorted({p.recipe for p in plans if p.recipe is not None and not p.keep_recipe})
    gc = tx.run(RECIPE_GC, recipes=unlinked, active=ACTIVE)
    deleted = [r["key"] for r in gc]
    gc_counters = gc.consume().counters
    # what the graph holds for each run now, counted as verify_run counts: one statement
    tx.run(SET_COUNTS, VERIFY_PARAMS, runIds=[p.run_id for p in plans]).consume()
    return _BatchOutcome(
        plans=plans, recipes_deleted=deleted,
        nodes_deleted=applied.nodes_deleted + gc_counters.nodes_deleted,
        relationships_deleted=applied.relationships_deleted + gc_counters.relationships_deleted,
        properties_changed=applied.properties_set)  # set or removed


def condense_runs(*, driver: Driver, database: str, blob_store: BlobStore, cutoff: datetime,
                  now: datetime, batch_size: int = 500, dry_run: bool = False,
                  blob_grace_s: float = 3600.0,
                  clock: Callable[[], float] | None = None,
                  on_batch: BatchCallback | None = None,
                  on_plans: BatchCallback | None = None) -> CondenseReport:
    """Condense every committed run started before `cutoff` (see the module docstring).
    `dry_run` reads the same plan and changes nothing. `clock` (epoch seconds) measures the
    blobs' grace period; it defaults to `now`. `on_batch` (not called on a dry run) gets each
    batch's plans after the batch committed (BatchCallback): right after, or, with `on_plans`,
    while the next batch's transaction runs (before that batch's `on_plans`; the last batch's
    at the end, also when a later batch failed). `on_plans` (not on a dry run either) gets each
    batch's plans as soon as its transaction planned them, in the calling thread while the
    transaction applies and commits in another: the caller can prepare what follows the commit
    meanwhile. Those plans are not final (the transaction may still fail, or the driver retry
    it and plan again): `on_batch` gets the committed ones."""
    if batch_size < 1:
        raise InvalidBatchSize(batch_size)
    report = CondenseReport(cutoff=cutoff, dry_run=dry_run)
    # Overlapped (`on_plans`), a batch's `on_batch` (the ledger's UPDATE) runs while the next
    # batch's transaction does: still after its own commit, before the next batch's `on_plans`.
    committed: list[RunPlan] | None = None

    def hand_over() -> None:
        nonlocal committed
        if committed is not None and on_batch is not None:
            plans, committed = committed, None
            on_batch(plans)

    try:
        for run_ids in _candidates(driver, database, cutoff, batch_size):
            report.batches += 1
            if dry_run:
                records, _, _ = driver.execute_query(PLAN, runIds=run_ids, active=ACTIVE,
                                                     database_=database, routing_="r")
                report.runs += [_decide(rec) for rec in records]
                continue
            if on_plans is None:
                outcome = _write_batch(driver, database, run_ids, now, None)
                if on_batch is not None:
                    on_batch(outcome.plans)
            else:
                outcome = _write_batch_overlapped(driver, database, run_ids, now, on_plans,
                                                  meanwhile=hand_over)
                committed = outcome.plans
            report.runs += outcome.plans
            report.recipes_deleted += outcome.recipes_deleted
            report.nodes_deleted += outcome.nodes_deleted
            report.relationships_deleted += outcome.relationships_deleted
            report.properties_changed += outcome.properties_changed
            logger.info("retention condensed a batch of %d runs", len(outcome.plans), extra={
                "event": "retention", "runs": len(outcome.plans),
                "nodesDeleted": outcome.nodes_deleted})
    finally:  # a batch that committed has its on_batch, whatever stopped the pass
        hand_over()
    if dry_run:
        report.recipes_deleted = _recipes_to_delete(driver, database, report.runs)
    _blobs(driver, database, blob_store, report, grace_s=blob_grace_s,
           now_s=clock() if clock else now.timestamp())
    return report


def _write_batch(driver: Driver, database: str, run_ids: list[str], now: datetime,
                 planned: Callable[[list[RunPlan]], None] | None) -> _BatchOutcome:
    with driver.session(database=database) as session:
        return session.execute_write(_condense_batch, run_ids, now, planned)


def _write_batch_overlapped(driver: Driver, database: str, run_ids: list[str], now: datetime,
                            on_plans: BatchCallback, *,
                            meanwhile: Callable[[], None]) -> _BatchOutcome:
    """The batch's transaction in a thread of its own; in this thread meanwhile, `meanwhile()`
    (the previous batch's `on_batch`), then the transaction's first plans handed to `on_plans`
    while it goes on (condense_runs)."""
    # The transaction's plans, then None once it ended (so a transaction that failed before
    # planning wakes this thread too): the first item is what there is to hand over.
    handed: queue.SimpleQueue[list[RunPlan] | None] = queue.SimpleQueue()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="retention") as pool:
        future = pool.submit(_write_batch, driver, database, run_ids, now, handed.put)
        future.add_done_callback(lambda _: handed.put(None))
        meanwhile()
        if (plans := handed.get()) is not None:
            on_plans(plans)
        return future.result()


def _recipes_to_delete(driver: Driver, database: str, plans: list[RunPlan]) -> list[str]:
    """Dry run: the RecipeVersions the whole pass would leave without a user."""
    unlinking = {p.run_id for p in plans if p.recipe is not None and not p.keep_recipe}
    recipes = sorted({p.recipe for p in plans if p.recipe is not None and not p.keep_recipe})
    if not recipes:
        return []
    records, _, _ = driver.execute_query(RECIPE_USERS, recipes=recipes, active=ACTIVE,
                                         database_=database, routing_="r")
    return [r["key"] for r in records if not r["held"] and set(r["runs"]) <= unlinking]


def _blobs(driver: Driver, database: str, store: BlobStore, report: CondenseReport, *,
           grace_s: float, now_s: float) -> None:
    """Blobs of the condensed snapshots: delete (or, on a dry run, list) those no other
    snapshot references, after the graph change committed."""
    blobs = {p.blob_sha256: p.blob_uri for p in report.runs
             if p.blob_sha256 is not None and p.blob_uri is not None and "graph" in p.removed}
    if not blobs:
        return
    condensing = {p.run_id for p in report.runs}
    records, _, _ = driver.execute_query(BLOB_USERS, shas=sorted(blobs), database_=database,
                                         routing_="r")
    # On a real pass the condensed snapshots no longer reference their blobs; on a dry run
    # they still do, and count as gone.
    free = set()
    for rec in records:
        users = set(rec["runs"]) - (condensing if report.dry_run else set())
        if users:
            report.blobs_shared.append(blobs[rec["sha"]])
        else:
            free.add(rec["sha"])
    if not free:
        return
    modified = {ref.sha256: ref.modified_at for ref in store.iter_blobs() if ref.sha256 in free}
    for sha in sorted(free):
        uri = blobs[sha]
        if sha not in modified:
            continue  # already gone (an earlier pass, the blob collector): nothing to do
        mtime = modified[sha]
        if mtime is not None and mtime > now_s - grace_s:
            report.blobs_recent.append(uri)
            continue
        if not report.dry_run:
            again, _, _ = driver.execute_query(BLOB_USERS, shas=[sha], database_=database,
                                               routing_="r")
            if again[0]["runs"]:  # referenced since the first look: keep it
                report.blobs_shared.append(uri)
                continue
            store.delete(uri)
        report.blobs_deleted.append(uri)


# --- formulations ------------------------------------------------------------------------------


def formulation_link(*, driver: Driver, database: str, formulation_id: str, run_id: str,
                     now: datetime, status: str = ACTIVE, with_calculation: bool = True) -> None:
    """Declare that formulation `formulation_id` (created if new, its status set) uses the
    recipe of run `run_id` and, with `with_calculation`, that run's calculation."""
    records, _, _ = driver.execute_query(
        LINK_FORMULATION, formulationId=formulation_id, runId=run_id, status=status,
        withCalculation=with_calculation, now=now, database_=database)
    if not records:
        raise RunNotFound(run_id, f" The formulation {formulation_id!r} was not linked: give "
                                  "the runId of a committed run.")


def formulation_status_set(*, driver: Driver, database: str, formulation_id: str, status: str,
                           now: datetime) -> None:
    """Change a formulation's status ('active' holds its recipes and calculations)."""
    records, _, _ = driver.execute_query(SET_FORMULATION_STATUS, formulationId=formulation_id,
                                         status=status, now=now, database_=database)
    if not records:
        raise FormulationNotFound(formulation_id)
