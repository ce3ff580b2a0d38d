"""manage.py upgrade_graph: bring a graph written by an earlier version up to date (idempotent)."""

from django.core.management.base import BaseCommand

from graphstore.connection import database, get_driver
from graphstore.migrate import backfill_issue_lists, set_retention_started


class Command(BaseCommand):
    help = ("Upgrade a graph written by an earlier version: add the validation issue lists that "
            "analytics reads and the runs' retentionStartedAt that retention seeks. Safe to run "
            "any number of times.")

    def handle(self, *args: object, **options: object) -> None:
        count = backfill_issue_lists(driver=get_driver(), database=database())
        self.stdout.write(f"ValidationReports given their issue lists: {count}.")
        runs = set_retention_started(driver=get_driver(), database=database())
        self.stdout.write(f"Runs whose retentionStartedAt was set or removed: {runs}.")
