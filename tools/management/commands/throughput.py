"""manage.py throughput [--configs 1,2,4,2x2] [--runs N] [--warmup W]: sustained runs per second."""

import json
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tools.throughput import as_json, markdown, measure, parse_configs


class Command(BaseCommand):
    help = ("Start Celery workers in each configuration (processes per instance, instances side "
            "by side), drive runs through the real pipeline, print sustained runs per second, "
            "end-to-end latency, the writes retried and any that escaped the retry policy; write "
            "reports/throughput.md and .json. Needs Neo4j and Redis up, no worker running.")

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--configs", default="1,2,4,2x2",
                            help="comma-separated: N (one instance of N processes) or IxN")
        parser.add_argument("--runs", type=int, default=200, help="measured runs per config")
        parser.add_argument("--warmup", type=int, default=10, help="runs first, not counted")
        parser.add_argument("--timeout", type=float, default=900.0)
        parser.add_argument("--out", default=str(Path(settings.BASE_DIR) / "reports"))

    def handle(self, *args: object, configs: str, runs: int, warmup: int, timeout: float,
               out: str, **options: Any) -> None:
        from tqdm import tqdm  # dev tooling (requirements/dev.txt): imported only when run

        try:
            chosen = parse_configs(configs)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if runs < 1 or warmup < 0:
            raise CommandError("--runs must be at least 1 and --warmup at least 0.")
        results = []
        bars: dict[str, Any] = {}

        def progress(label: str, done: int, total: int) -> None:
            bar = bars.get(label) or bars.setdefault(
                label, tqdm(total=total, desc=label, unit="run"))
            bar.update(done - bar.n)

        try:
            for config in chosen:
                results.append(measure(config, runs=runs, warmup=warmup, timeout_s=timeout,
                                       progress=progress))
        finally:
            for bar in bars.values():
                bar.close()
        text = markdown(results)
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "throughput.md").write_text(text, encoding="utf-8")
        (folder / "throughput.json").write_text(json.dumps(as_json(results), indent=2),
                                                encoding="utf-8")
        self.stdout.write(text)
        self.stdout.write(f"Reports: {folder}/throughput.md, throughput.json")
