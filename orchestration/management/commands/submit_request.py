"""manage.py submit_request TEXT [--batch N] [--unit U] [--wait S]: start a run from the shell."""

import time
from argparse import ArgumentParser

from django.core.management.base import BaseCommand, CommandError

from contracts import ContractError, parse_input
from orchestration.services import run_request_create


class Command(BaseCommand):
    help = "Submit a formulation request to the Celery pipeline and print its runId."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("text")
        parser.add_argument("--batch", type=float, default=5.0)
        parser.add_argument("--unit", default="kg")
        parser.add_argument("--wait", type=float, default=0.0,
                            help="seconds to wait for the run to be persisted (0: do not wait)")
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")

    def handle(self, *args: object, text: str, batch: float, unit: str, wait: float,
               base_url: str, **options: object) -> None:
        try:
            request = parse_input({"userRequest": text, "targetBatchSize": batch,
                                   "targetUnit": unit})
        except ContractError as exc:
            raise CommandError(str(exc)) from exc
        record = run_request_create(user=None, request=request)
        page = f"{base_url.rstrip('/')}/runs/{record.run_id}/"
        self.stdout.write(f"Submitted {record.run_id}: {page}")
        deadline = time.monotonic() + wait
        last = ""
        while wait and time.monotonic() < deadline:
            record.refresh_from_db()
            progress = ", ".join(f"{a}={s.get('status')}" for a, s in record.stages.items())
            if progress != last:
                self.stdout.write(f"  {record.status}: {progress}")
                last = progress
            if record.persisted_at is not None:
                self.stdout.write(f"Run {record.run_id} {record.status} and persisted to Neo4j.")
                return
            time.sleep(0.25)
        if wait:
            raise CommandError(f"Run {record.run_id} was not persisted within {wait:g} s "
                               f"(status {record.status}); is a Celery worker running?")
