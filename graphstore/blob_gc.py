"""Garbage collection of the blob store: blobs no GraphSnapshot references.

I/O. A blob is written before its run's transaction (design section 5.6); when that transaction
then fails for good, the blob is left behind. The collector deletes blobs that no GraphSnapshot
references and that are older than a grace period — so a blob written (or re-put, which refreshes
its time) for a transaction still in flight is never taken. It never deletes a referenced blob:
references are read from Neo4j, and each candidate is checked again right before its deletion.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from neo4j import Driver

from .blobstore import BlobStore
from .cypher.blob_gc import IS_REFERENCED, REFERENCED


@dataclass
class GcReport:
    scanned: int = 0
    referenced: int = 0
    too_young: int = 0
    deleted: list[str] = field(default_factory=list)  # uris (would be deleted, on a dry run)
    dry_run: bool = False

    def line(self) -> str:
        verb = "would delete" if self.dry_run else "deleted"
        return (f"{self.scanned} blobs scanned: {self.referenced} referenced, "
                f"{self.too_young} unreferenced but within the grace period, "
                f"{len(self.deleted)} {verb}.")


def collect_garbage(*, driver: Driver, database: str, store: BlobStore, grace_s: float,
                    now: Callable[[], float], dry_run: bool = False) -> GcReport:
    records, _, _ = driver.execute_query(REFERENCED, database_=database, routing_="r")
    referenced = set(records[0]["shas"])
    report = GcReport(dry_run=dry_run)
    cutoff = now() - grace_s
    for blob in store.iter_blobs():
        report.scanned += 1
        if blob.sha256 in referenced:
            report.referenced += 1
            continue
        if blob.modified_at is None or blob.modified_at > cutoff:
            report.too_young += 1
            continue
        again, _, _ = driver.execute_query(IS_REFERENCED, sha=blob.sha256, database_=database,
                                           routing_="r")
        if again[0]["referenced"]:  # referenced since the first read
            report.referenced += 1
            continue
        if not dry_run:
            store.delete(blob.uri)
        report.deleted.append(blob.uri)
    return report
