"""manage.py gc_blobs [--dry-run] [--grace-hours H]: delete blobs no run references."""

import time
from argparse import ArgumentParser

from django.core.management.base import BaseCommand

from graphstore.blob_gc import collect_garbage
from graphstore.connection import database, get_blob_store, get_driver


class Command(BaseCommand):
    help = ("Delete blobs that no GraphSnapshot references (left by transactions that failed), "
            "older than a grace period. --dry-run lists them only.")

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--dry-run", action="store_true")
        parser.add_argument("--grace-hours", type=float, default=1.0,
                            help="keep unreferenced blobs younger than this (default 1 h)")

    def handle(self, *args: object, dry_run: bool, grace_hours: float, **options: object) -> None:
        report = collect_garbage(driver=get_driver(), database=database(),
                                 store=get_blob_store(), grace_s=grace_hours * 3600,
                                 now=time.time, dry_run=dry_run)
        for uri in report.deleted:
            self.stdout.write(f"{'would delete' if dry_run else 'deleted'} {uri}")
        self.stdout.write(report.line())
