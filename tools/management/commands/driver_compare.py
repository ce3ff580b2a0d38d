"""manage.py driver_compare workload|report|cleanup: the parts of tools/driver_compare.sh that need
the project (the synthetic runs, the writer's statement, the statistics); the timing itself runs
in tools/driver_probe.py, once per driver build."""

from __future__ import annotations

import json
import pickle
import statistics
from argparse import ArgumentParser
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from graphstore.connection import database, get_driver
from graphstore.cypher import write as cypher
from graphstore.mapper import map_normalized_to_graph
from graphstore.writer import statement_params
from tools.bench import outbox, percentile
from tools.synthetic import make_run

PREFIX = "run-drv-"
# Everything the probes wrote (run-owned nodes; the shared ones stay, as any run's would).
CLEANUP = ("MATCH (r:OrchestrationRun) WHERE r.runId STARTS WITH $prefix "
           "OPTIONAL MATCH (r)-[:PRODUCED_CALCULATION|PRODUCED_GRAPH|PRODUCED_VALIDATION|"
           "PRODUCED_UI|HAS_AGENT_INVOCATION]->(o) "
           "WITH r, collect(o) AS owned LIMIT 500 "
           "FOREACH (o IN owned | DETACH DELETE o) DETACH DELETE r RETURN count(r) AS n")


class Command(BaseCommand):
    help = ("workload FILE: synthetic typical runs as the writer's statement parameters; "
            "report FILE: the probes' timings side by side; cleanup: delete the probes' runs.")

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("action", choices=["workload", "report", "cleanup"])
        parser.add_argument("file", nargs="?")
        parser.add_argument("--runs", type=int, default=100)

    def handle(self, *args: Any, action: str, file: str | None, runs: int,
               **options: Any) -> None:
        if action == "cleanup":
            with get_driver().session(database=database()) as session:
                while session.run(CLEANUP, prefix=PREFIX).single(strict=True)["n"]:
                    pass
            return
        if file is None:
            raise CommandError(f"{action} needs a FILE")
        if action == "workload":
            now = datetime.now(UTC)
            items = outbox([make_run(70_000 + i, now=now, run_id=f"{PREFIX}{i:05d}")
                            for i in range(runs)])
            params = [_plain(cypher.statement_args({**statement_params(map_normalized_to_graph(
                it.wire, checksum=it.checksum)), "now": now})) for it in items]
            workload = {"statement": cypher.WRITE_RUN, "params": params,
                        "connection": [settings.NEO4J_URI, settings.NEO4J_USER,
                                       settings.NEO4J_PASSWORD, database()]}
            Path(file).write_bytes(pickle.dumps(workload))
            return
        self.stdout.write(report(Path(file)))


def _plain(value: Any) -> Any:
    """The parameters with only standard-library types (a pydantic-parsed datetime carries
    pydantic_core's tzinfo, which a bare virtualenv cannot unpickle)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def report(path: Path) -> str:
    """The probes' JSON lines (one per pass) grouped by build: p50/p95 over every pass's writes
    but the first few of each pass (a new connection, plans in the client), and the ratio to the
    pinned driver."""
    groups: dict[str, list[float]] = {}
    labels: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        probe = json.loads(line)
        groups.setdefault(probe["build"], []).extend(probe["ms"][5:])
        labels[probe["build"]] = f"neo4j {probe['driver']}" + (
            " + neo4j-rust-ext" if probe["rust"] else " (pure Python)")
    if not groups:
        raise CommandError(f"{path} holds no probe result")
    base = statistics.median(next(iter(groups.values())))
    lines = ["| build | driver | writes | p50 ms | p95 ms | p50 vs the first |",
             "|---|---|---:|---:|---:|---:|"]
    for build, values in groups.items():
        p50 = percentile(values, 50)
        lines.append(f"| {build} | {labels[build]} | {len(values)} | {p50:.2f} | "
                     f"{percentile(values, 95):.2f} | x{p50 / base:.2f} |")
    return "\n".join(lines) + "\n"
