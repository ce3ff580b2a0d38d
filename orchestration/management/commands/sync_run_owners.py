"""manage.py sync_run_owners [--batch-size N]: copy each run's owner from the ledger (the
authority: RunRecord.submitted_by) onto its run node in Neo4j (OrchestrationRun.ownerId), where
the reads over many runs filter on it (analytics, similar runs; graphstore/scope.py).

The writer stores the owner with every write, so this is needed once for runs written before the
run node carried its owner, and after an owner changed in the ledger (a deleted user leaves the
run without one). Idempotent: only runs whose owner differs are written; prints how many."""

from argparse import ArgumentParser

from django.core.management.base import BaseCommand, CommandError

from graphstore.connection import database, get_driver
from graphstore.errors import InvalidBatchSize
from graphstore.migrate import set_run_owners
from orchestration.models import RunRecord, owner_key
from orchestration.services.rollups import rollups_invalidate


class Command(BaseCommand):
    help = "Copy every run's owner from the ledger to its run node in Neo4j (idempotent)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500,
                            help="runs per Neo4j transaction (default 500)")

    def handle(self, *args: object, batch_size: int = 500, **options: object) -> None:
        if batch_size < 1:
            raise CommandError(str(InvalidBatchSize(batch_size)))
        rows = (RunRecord.objects.filter(persisted_at__isnull=False)
                .values_list("run_id", "submitted_by_id").order_by("pk").iterator())
        changed = set_run_owners(((run_id, owner_key(owner)) for run_id, owner in rows),
                                 driver=get_driver(), database=database(),
                                 batch_size=batch_size)
        self.stdout.write(f"{changed} run(s) given their owner from the ledger.")
        if changed:  # the owners' analytics rollups no longer hold their runs
            stale = rollups_invalidate()
            self.stdout.write(f"{stale} day(s) of analytics rollups to be rolled up again.")
