"""manage.py ingest_run FILE|-: validate and persist RunResults (JSON, or JSON Lines)."""

import json
import sys
from argparse import ArgumentParser
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from contracts import ContractError, parse_run_results_document
from graphstore.connection import get_writer
from graphstore.errors import GraphStoreError
from graphstore.mapper import MappingError, map_run_to_graph


class Command(BaseCommand):
    help = ("Validate RunResults (one JSON object, or JSON Lines) from FILE or - (stdin) and "
            "persist each to Neo4j. Bad input: field-level errors, exit 1, nothing written.")

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("source", help="a file path, or - for standard input")

    def handle(self, *args: object, source: str, **options: object) -> None:
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
        writer = get_writer()
        for run in runs:
            try:
                summary = writer.write(run)
            except GraphStoreError as exc:
                raise CommandError(str(exc)) from exc
            state = "persisted" if summary.created else "already persisted (unchanged)"
            self.stdout.write(f"{summary.run_id} {state}: {json.dumps(summary.as_dict())}")
