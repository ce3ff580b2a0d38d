"""manage.py backfill_embeddings [--all] [--batch N]: give committed runs written before the
vector index (or by a writer without an embedder) their embedding, with the configured embedder
(CAP01_EMBEDDER). --all recomputes every run's (after changing the embedder)."""

from argparse import ArgumentParser

from django.core.management.base import BaseCommand

from graphstore.connection import database, get_driver, get_embedder
from graphstore.retrieval import backfill_embeddings


class Command(BaseCommand):
    help = "Store the retrieval embedding on committed runs that have none (or on all)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--all", action="store_true", dest="everything",
                            help="recompute every run's embedding")
        parser.add_argument("--batch", type=int, default=500, help="runs per transaction")

    def handle(self, *args: object, everything: bool, batch: int, **options: object) -> None:
        embedder = get_embedder()
        done = backfill_embeddings(embedder=embedder, driver=get_driver(), database=database(),
                                   batch=max(1, batch), everything=everything)
        self.stdout.write(f"{done} run(s) given a {embedder.name} embedding.")
