"""manage.py ingest_run FILE|- [--owner USERNAME]: validate RunResults (JSON, or JSON Lines) and
persist each through the same service as POST /api/orchestration/runs: a ledger row (the outbox)
first, then the Neo4j write, so that ingested runs appear in the run list and the admin. Every
run is checked (the contract, the graph-element limit, conflicts with the other runs of the
document and with the ledger) before the first is written: bad input writes nothing.

Who owns them: the user named by --owner (as if that user had posted them to the API); without
it, nobody: runs without an owner are seen only by users with the permission to see every run
(the auditors group, superusers)."""

import json
import sys
from argparse import ArgumentParser
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from contracts import ContractError, parse_numbered_run_results
from graphstore.errors import GraphStoreError
from orchestration.errors import BatchRefused, OrchestrationError
from orchestration.services import run_result_ingest, run_results_check


class Command(BaseCommand):
    help = ("Validate RunResults (one JSON object, or JSON Lines) from FILE or - (stdin) and "
            "persist each (ledger, then Neo4j). Bad input (the contract, the graph-element "
            "limit, a runId given twice or already taken): field-level errors, exit 1, nothing "
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
            numbered = parse_numbered_run_results(text)
            runs = [(f"line {number}", run) for number, run in numbered]
            run_results_check(runs=runs)  # every run, before any is written
        except (ContractError, BatchRefused) as exc:
            for error in exc.errors:
                self.stderr.write(f"{error['field']}: {error['message']}")
            kind = "contract error(s)" if isinstance(exc, ContractError) else "problem(s)"
            raise CommandError(f"{len(exc.errors)} {kind}; nothing was written.") from exc
        written: list[str] = []
        outbox: list[str] = []
        for label, run in runs:
            try:
                # retry=None: the connection's full retry policy, as the command always had.
                outcome = run_result_ingest(user=user, run=run, retry=None)
            except (GraphStoreError, OrchestrationError) as exc:
                before = f" Written before it: {', '.join(written)}." if written else ""
                raise CommandError(f"{label}: {exc}{before}") from exc
            written.append(run.run_id)
            if not outcome.persisted:
                outbox.append(run.run_id)
                self.stdout.write(f"{outcome.run_id} in the outbox: Neo4j did not take the write")
            elif outcome.summary is None:  # condensed by retention since: nothing to write back
                self.stdout.write(f"{outcome.run_id} already persisted (condensed)")
            else:
                state = "persisted" if outcome.created else "already persisted (unchanged)"
                self.stdout.write(f"{outcome.run_id} {state}: "
                                  f"{json.dumps(outcome.summary.as_dict())}")
        if outbox:
            raise CommandError(f"{len(outbox)} run(s) are in the ledger (the outbox) but Neo4j "
                               f"did not take the write: {', '.join(outbox)}; a worker writes "
                               "them when Neo4j answers.")
