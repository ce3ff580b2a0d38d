"""manage.py analytics_rollups [--since DAY] [--until DAY] [--rebuild] [--json]: build the daily
analytics rollups of the closed UTC days that have none (or a stale one), with a progress line
per day; `--rebuild` recomputes every day of the range (after a bulk fill or a graph migration,
which bypass the services that mark changed days). Idempotent. See
orchestration/services/rollups.py."""

import json
from argparse import ArgumentParser
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from orchestration.services import rollups_refresh


def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{name} must be a day as YYYY-MM-DD, got {value!r}.") from exc


class Command(BaseCommand):
    help = ("Roll up the analytics of closed UTC days (per owner and over every run) so that "
            "windows of many days read a row per day. Days with a current rollup are skipped "
            "unless --rebuild.")

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--since", default=None,
                            help="first day (default: the first run's day, within "
                                 "CAP01_ANALYTICS_ROLLUP_DAYS)")
        parser.add_argument("--until", default=None,
                            help="last day, inclusive (default: the last closed day)")
        parser.add_argument("--rebuild", action="store_true",
                            help="recompute every day of the range, current or not")
        parser.add_argument("--json", action="store_true", dest="as_json",
                            help="print a JSON summary only")

    def handle(self, *args: object, since: str | None, until: str | None, rebuild: bool,
               as_json: bool, **options: object) -> None:
        first, last = _day(since, "--since"), _day(until, "--until")
        if first and last and first > last:
            raise CommandError(f"--since ({first}) is after --until ({last}).")

        def progress(day: date, runs: int | None, done: int, total: int) -> None:
            if not as_json:
                what = f"{runs} runs" if runs is not None else "changed while read, left stale"
                self.stdout.write(f"[{done}/{total}] {day}: {what}")

        report = rollups_refresh(since=first, until=last, rebuild=rebuild, progress=progress)
        if as_json:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
            return
        self.stdout.write(f"{len(report.rolled)} day(s) rolled up ({report.runs} runs) from "
                          f"{report.first} to {report.last} in {report.seconds:.1f} s; "
                          f"{len(report.changed)} changed while read.")
