"""manage.py admin_bench [--samples N] [--user NAME]: p50/p95 of the admin pages, writing nothing
(tools/admin_bench.py)."""

from argparse import ArgumentParser

from django.core.management.base import BaseCommand

from tools.admin_bench import measure


class Command(BaseCommand):
    help = ("Time the admin run changelist and graph browser pages (p50/p95) as an existing "
            "superuser, writing nothing to the ledger or the graph.")

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--samples", type=int, default=20, help="timed requests each")
        parser.add_argument("--user", default="scale-admin", help="an existing superuser")

    def handle(self, *args: object, samples: int, user: str, **options: object) -> None:
        measure(samples=samples, username=user, log=self.stdout.write)
