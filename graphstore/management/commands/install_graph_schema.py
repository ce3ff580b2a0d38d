"""manage.py install_graph_schema: create the Neo4j constraints and indexes (idempotent)."""

from django.core.management.base import BaseCommand

from graphstore.connection import database, get_driver
from graphstore.installer import install_schema


class Command(BaseCommand):
    help = "Create the Neo4j uniqueness constraints and indexes of the CAP-01 graph (idempotent)."

    def handle(self, *args: object, **options: object) -> None:
        for statement in install_schema(get_driver(), database=database()):
            self.stdout.write(f"ok  {statement}")
        self.stdout.write(self.style.SUCCESS("Graph schema installed."))
