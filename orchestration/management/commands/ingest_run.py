"""manage.py ingest_run FILE|- [--owner USERNAME]: validate RunResults (JSON, or JSON Lines) and
persist each through the same service as POST /api/orchestration/runs: a ledger row (the outbox)
first, then the Neo4j write, so that ingested runs appear in the run list and the admin.

Who owns them: the user named by --owner (as if that user had posted them to the API); without
it, nobody: runs without an owner are seen only by users with the permission to see every run
(the auditors group, superusers)."""

import json
import sys
from argparse import ArgumentParser
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from contracts import ContractError, parse_run_results_document
from graphstore.errors import GraphStoreError, MappingError
from graphstore.mapper import map_run_to_graph
from orchestration.errors import OrchestrationError
from orchestration.services import run_result_ingest


class Command(BaseCommand):
    help = ("Validate RunResults (one JSON object, or JSON Lines) from FILE or - (stdin) and "
            "persist each (ledger, then Neo4j). Bad input: field-level errors, exit 1, nothing "
            "written.")

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("source", help="a file path, or - for standard input")
        parser.add_argument("--owner", metavar="USERNAME", default=None,
                            help="the user the runs belong to (default: no owner; only users "
                                 "allowed to see every run see them)")

    def handle(self, *args: object, source: str, owner: str | None = None,
               **options: object) -> None:
        user = None
        if owner is not None:
            user_model = get_user_model()
            try:
                user = user_model.objects.get(**{user_model.USERNAME_FIELD: owner})
            except user_model.DoesNotExist as exc:
                raise CommandError(f"--owner: no user is called {owner!r}; nothing was "
                                   "written.") from exc
        try:
            text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {source}: {exc}") from exc
        try:
            runs = parse_run_results_document(text)
            for run in runs:  # refuse oversized runs before anything is written
                map_run_to_graph(run)
        except ContractError as exc:
            for error in exc.errors:
                self.stderr.write(f"{error['field']}: {error['message']}")
            count = len(exc.errors)
            raise CommandError(f"{count} contract error(s); nothing was written.") from exc
        except MappingError as exc:
            raise CommandError(f"{exc}") from exc
        for run in runs:
            try:
                # retry=None: the connection's full retry policy, as the command always had.
                outcome = run_result_ingest(user=user, run=run, retry=None)
            except (GraphStoreError, OrchestrationError) as exc:
                raise CommandError(str(exc)) from exc
            if not outcome.persisted:
                raise CommandError(f"Run {run.run_id} is in the ledger (the outbox) but Neo4j did "
                                   "not take the write; a worker writes it when Neo4j answers.")
            if outcome.summary is None:  # condensed by retention since: nothing to write back
                self.stdout.write(f"{outcome.run_id} already persisted (condensed)")
                continue
            state = "persisted" if outcome.created else "already persisted (unchanged)"
            self.stdout.write(f"{outcome.run_id} {state}: {json.dumps(outcome.summary.as_dict())}")
