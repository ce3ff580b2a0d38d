"""manage.py loadtest [--runs N] [--warmup W] [--concurrency C] [--base-url URL [--user NAME]]:
the real pipeline under load, vs the budgets; in process, or through the API at a base URL."""

import time
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from rest_framework.authtoken.models import Token

from tools.loadtest import (
    ApiClient,
    HttpTally,
    drive,
    drive_http,
    http_section,
    markdown,
    write_reports,
)


class Command(BaseCommand):
    help = ("Drive N synthetic requests through the running pipeline (Celery workers needed), "
            "print p50/p95/p99 and peak memory per stage against the budgets, write JSON, "
            "Markdown and a PNG chart; exit 1 when a row breaks its budget. With --base-url, "
            "every request is POSTed to the API there (a web app, or a proxy in front of "
            "several) as --user, and every run read back through it once persisted.")

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--runs", type=int, default=100)
        parser.add_argument("--concurrency", type=int,
                            default=settings.CAP01_MAX_CONCURRENT_RUNS)
        parser.add_argument("--warmup", type=int, default=5,
                            help="runs made first and left out of the figures (a fresh worker's "
                                 "first imports, Neo4j planning each statement once)")
        parser.add_argument("--timeout", type=float, default=600.0)
        parser.add_argument("--out", default=str(Path(settings.BASE_DIR) / "reports"))
        parser.add_argument("--no-fail", action="store_true",
                            help="exit 0 even when a budget is broken")
        parser.add_argument("--base-url",
                            help="submit over HTTP to the API at this URL (e.g. the proxy of "
                                 "ops/scale_out.sh) instead of in this process")
        parser.add_argument("--user", default="loadtest",
                            help="with --base-url: the user the runs are submitted as (created "
                                 "if missing; its API token is used)")

    def handle(self, *args: object, runs: int, concurrency: int, timeout: float, out: str,
               no_fail: bool, warmup: int, base_url: str | None, user: str,
               **options: object) -> None:
        from tqdm import tqdm  # dev tooling (requirements/dev.txt): imported only when run

        if runs < 1 or warmup < 0:
            raise CommandError("--runs must be at least 1 and --warmup at least 0.")
        http: dict[str, Any] | None = None
        early: list[Any] = []
        if base_url is None:
            if warmup:
                with tqdm(total=warmup, desc="warm-up runs", unit="run") as bar:
                    early = drive(warmup, concurrency=concurrency, timeout_s=timeout,
                                  progress=bar.update)
            with tqdm(total=runs, desc="runs persisted", unit="run") as bar:
                records = drive(runs, concurrency=concurrency, timeout_s=timeout,
                                progress=bar.update)
        else:
            owner, _ = get_user_model().objects.get_or_create(username=user)
            token, _ = Token.objects.get_or_create(user=owner)
            client = ApiClient(base_url, token.key)
            tally = HttpTally()
            since = timezone.now().isoformat()
            if warmup:
                with tqdm(total=warmup, desc="warm-up runs (HTTP)", unit="run") as bar:
                    early, _ = drive_http(warmup, client=client, concurrency=concurrency,
                                          timeout_s=timeout, progress=bar.update, tally=tally)
            started = time.monotonic()
            with tqdm(total=runs, desc="runs persisted (HTTP)", unit="run") as bar:
                records, _ = drive_http(runs, client=client, concurrency=concurrency,
                                        timeout_s=timeout, progress=bar.update, tally=tally)
            http = http_section(tally, base_url=base_url, warmup=warmup, since=since,
                                window_s=time.monotonic() - started, measured=len(records))
        data, folder = write_reports(records, Path(out), warmup=early, http=http)
        self.stdout.write(markdown(data))
        self.stdout.write(f"Reports: {folder}/loadtest.json, loadtest.md, loadtest.png, "
                          "loadtest-segments.png")
        if not data["passed"] and not no_fail:
            failed = [r["stage"] for r in data["rows"] if not r["passed"]]
            raise CommandError(f"Budget broken by: {', '.join(failed)}.")
