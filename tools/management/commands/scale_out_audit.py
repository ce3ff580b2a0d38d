"""manage.py scale_out_audit --loadtest FILE --web NAME=LOG ... --worker NAME=LOG ...
[--proxy-stats URL] [--user NAME] [--out DIR]: the scale-out demo's audit (tools/scale_out.py),
run by ops/scale_out.sh after the load test went through the proxy."""

import json
from argparse import ArgumentParser
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from graphstore.connection import database, get_driver
from tools.scale_out import gather, markdown


def _named(values: list[str], option: str) -> dict[str, Path]:
    named = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not name or not path:
            raise CommandError(f"{option}: expected NAME=LOGFILE, got {value!r}.")
        if not Path(path).is_file():
            raise CommandError(f"{option} {name}: no log file at {path}.")
        named[name] = Path(path)
    return named


class Command(BaseCommand):
    help = ("After `loadtest --base-url` through a proxy: check that every accepted run is in "
            "the ledger and in Neo4j exactly once, created by exactly one worker write, read "
            "back through the API, and that every web and worker instance took its share; "
            "print the table, write scale-out.md and scale-out.json; exit 1 on a failed check.")

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--loadtest", type=Path, required=True,
                            help="the loadtest.json of `loadtest --base-url`")
        parser.add_argument("--web", action="append", default=[], metavar="NAME=LOG",
                            help="a web instance's name (the proxy's server name) and its log")
        parser.add_argument("--worker", action="append", default=[], metavar="NAME=LOG",
                            help="a worker instance's name and its log")
        parser.add_argument("--proxy-stats", help="HAProxy's statistics CSV URL")
        parser.add_argument("--user", default="loadtest", help="the load test's user")
        parser.add_argument("--out", type=Path, default=None,
                            help="folder for scale-out.md and scale-out.json (default: beside "
                                 "the loadtest.json)")

    def handle(self, *args: object, loadtest: Path, web: list[str], worker: list[str],
               proxy_stats: str | None, user: str, out: Path | None,
               **options: object) -> None:
        data = json.loads(loadtest.read_text(encoding="utf-8"))
        if "http" not in data:
            raise CommandError(f"{loadtest} is not from `loadtest --base-url` (no `http` part).")
        result = gather(loadtest=data, web_logs=_named(web, "--web"),
                        worker_logs=_named(worker, "--worker"), proxy_url=proxy_stats,
                        driver=get_driver(), database=database(), user=user)
        folder = out or loadtest.parent
        folder.mkdir(parents=True, exist_ok=True)
        text = markdown(result)
        (folder / "scale-out.md").write_text(text, encoding="utf-8")
        (folder / "scale-out.json").write_text(json.dumps(result.as_dict(), indent=2),
                                               encoding="utf-8")
        self.stdout.write(text)
        self.stdout.write(f"Reports: {folder}/scale-out.md, scale-out.json")
        if not result.passed:
            failed = [c.what for c in result.checks if not c.passed]
            raise CommandError(f"Scale-out audit failed: {'; '.join(failed)}.")
