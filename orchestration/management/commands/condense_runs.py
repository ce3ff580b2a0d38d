"""manage.py condense_runs [--dry-run] [--days N] [--batch-size N] [--json]: condense the runs
older than the full-retention period (the admin's retention settings), in Neo4j and the ledger.
See orchestration/services/retention.py and graphstore/retention.py."""

import json
from argparse import ArgumentParser

from django.core.management.base import BaseCommand, CommandError

from orchestration.models import RetentionSettings
from orchestration.services import runs_condense


class Command(BaseCommand):
    help = ("Condense runs older than the full-retention period: keep the run, its request and "
            "agent invocations; remove UIConfig, graph payloads and their blobs, validation "
            "details, and recipes and calculations no active formulation holds. --dry-run "
            "prints what would be done and changes nothing.")

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--dry-run", action="store_true",
                            help="print what would be condensed; change nothing")
        parser.add_argument("--days", type=int, default=None,
                            help="full-retention days (default: the retention settings)")
        parser.add_argument("--batch-size", type=int, default=500,
                            help="runs per write transaction (default 500)")
        parser.add_argument("--json", action="store_true", dest="as_json",
                            help="print a JSON summary")

    def handle(self, *args: object, dry_run: bool, days: int | None, batch_size: int,
               as_json: bool, **options: object) -> None:
        if days is not None and days < 0:
            raise CommandError(f"--days must be 0 or more, got {days}.")
        if batch_size < 1:
            raise CommandError(f"--batch-size must be at least 1, got {batch_size}.")
        outcome = runs_condense(days=days, dry_run=dry_run, batch_size=batch_size)
        if as_json:
            self.stdout.write(json.dumps(outcome.as_dict(), indent=2))
            return
        if not RetentionSettings.load().condense_enabled:
            self.stdout.write("Note: the periodic condensation is switched off in the retention "
                              "settings; this command runs all the same.")
        if dry_run:
            self.stdout.write("Dry run: nothing is changed.")
        for line in outcome.lines():
            self.stdout.write(line)
