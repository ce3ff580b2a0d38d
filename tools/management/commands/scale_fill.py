"""manage.py scale_fill --runs N [--state PATH] [--batch B] [--no-condense]: fill the graph and
the ledger with the scale benchmark's mix of runs (tools/scale_fill.py), resumable, with a
progress bar on stderr."""

import json
from argparse import ArgumentParser
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tools.scale_fill import fill
from tools.scale_fill import wipe as wipe_graph


class Command(BaseCommand):
    help = ("Fill Neo4j and the ledger with N runs of the scale mix (every catalogue product, "
            "failures, large runs, replays, formulations, the older share condensed) through the "
            "real ingest path; resumes after the runs already there.")

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--runs", type=int, required=True, help="the size to fill to")
        parser.add_argument("--state", type=Path, default=Path("var/scale_fill.json"),
                            help="where the anchor (end of the time span) is kept")
        parser.add_argument("--batch", type=int, default=200)
        parser.add_argument("--path", choices=("bulk", "writer"), default="bulk",
                            help="bulk: batches in one transaction (proven the same graph); "
                                 "writer: every run through run_result_ingest")
        parser.add_argument("--wipe", action="store_true",
                            help="start from an empty graph (needs CAP01_ALLOW_GRAPH_WIPE=1)")
        parser.add_argument("--max-seconds", type=float, default=None,
                            help="stop cleanly after the batch that passes this time")
        parser.add_argument("--no-condense", action="store_true",
                            help="leave the older runs in full")

    def handle(self, *args: object, runs: int, state: Path, batch: int, no_condense: bool,
               path: str, wipe: bool, max_seconds: float | None,
               **options: object) -> None:
        if wipe:
            try:
                wipe_graph(state)
            except RuntimeError as exc:
                raise CommandError(str(exc)) from exc
        result = fill(runs, state=state, batch=batch, condense=not no_condense, path=path,
                      max_seconds=max_seconds,
                      log=self.stderr.write)
        self.stdout.write(json.dumps(result))
