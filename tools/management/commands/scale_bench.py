"""manage.py scale_bench [--samples N] [--writes W] [--out DIR] [--state PATH] [--store DIR]
[--analytics-only | --retention-only [--passes P] | --retrieval-only]: measure reads, pages,
analytics, the write, retention and blob GC at the graph's present size (tools/scale_bench.py);
adds the size to reports/scale.json, rewrites scale.md and scale.svg. `--analytics-only`: the
floors and the analytics windows alone (the daily rollups brought up to date first; nothing else
written), to DIR/scale-analytics.json. `--retention-only`: P timed retention passes of
--retention-runs runs each (they condense those runs, graph and ledger), runs per second
printed; nothing written to the report. `--retrieval-only`: the floors, run detail and the
reads that rank similar runs (run page, its similar runs, runs like this one, context, similar
?q=), printed only: nothing written to the graph or reports (the logins, as in every mode,
write their session rows to the ledger database)."""

import json
from argparse import ArgumentParser
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tools.scale_bench import RETENTION_BATCH, measure, write_report
from tools.scale_bench import retention_only as run_retention_only


class Command(BaseCommand):
    help = ("Measure what users meet at the graph's present size (fill it with scale_fill "
            "first): p50/p95 of every read, page, analytics window and the write beside their "
            "floors, a retention pass, blob GC, Neo4j's store, heap and page-cache hit ratio.")

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--samples", type=int, default=20, help="timed requests each")
        parser.add_argument("--writes", type=int, default=30, help="runs posted (timed)")
        parser.add_argument("--retention-runs", type=int, default=300,
                            help="the timed retention pass condenses the oldest N full runs")
        parser.add_argument("--out", type=Path, default=Path("reports"))
        parser.add_argument("--state", type=Path, default=Path("var/scale_fill.json"))
        parser.add_argument("--store", type=Path, default=None,
                            help="Neo4j's data folder, for the store size")
        parser.add_argument("--analytics-only", action="store_true",
                            help="only the floors and the analytics windows (no write, no "
                                 "retention pass); JSON to DIR/scale-analytics.json")
        parser.add_argument("--retention-only", action="store_true",
                            help="only timed retention passes of --retention-runs runs each "
                                 "(they condense those runs); runs per second printed")
        parser.add_argument("--passes", type=int, default=1,
                            help="--retention-only: passes, one after the other")
        parser.add_argument("--retention-batch", type=int, default=RETENTION_BATCH,
                            help="--retention-only: runs per condensing transaction")
        parser.add_argument("--retrieval-only", action="store_true",
                            help="only the floors, run detail, run page, runs like this one, "
                                 "context and similar ?q= (printed; nothing written to the graph)")

    def handle(self, *args: object, samples: int, writes: int, out: Path, state: Path,
               store: Path | None, retention_runs: int, analytics_only: bool,
               retention_only: bool, passes: int, retention_batch: int,
               retrieval_only: bool, **options: object) -> None:
        if retention_only:
            if retention_runs < 1 or passes < 1 or retention_batch < 1:
                raise CommandError("--retention-runs, --passes and --retention-batch must be at "
                                   "least 1.")
            run_retention_only(state=state, runs=retention_runs, batch_size=retention_batch,
                               passes=passes, log=self.stdout.write)
            return
        figures = measure(state=state, samples=samples, writes=writes, store_dir=store,
                          retention_runs=retention_runs, analytics_only=analytics_only,
                          retrieval_only=retrieval_only, log=self.stdout.write)
        if retrieval_only:
            return
        if analytics_only:
            out.mkdir(parents=True, exist_ok=True)
            (out / "scale-analytics.json").write_text(json.dumps(figures, indent=2) + "\n")
            self.stdout.write(f"figures written to {out}/scale-analytics.json")
            return
        write_report(figures, out)
        self.stdout.write(f"reports written to {out}/scale.md, scale.json, scale.svg")
