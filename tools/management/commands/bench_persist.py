"""manage.py bench_persist [--runs N] [--large-runs L] [--naive-runs M] [--traced-runs T]:
the writer beside its floor (a plain CREATE transaction of the same write set, a Bolt round
trip), typical and 499-element runs; the writer's split; memory with the meter's overhead."""

from argparse import ArgumentParser

from django.core.management.base import BaseCommand

from graphstore.connection import database, get_driver, get_writer
from tools.bench import run_benchmark


class Command(BaseCommand):
    help = ("Persist synthetic runs with the transactional writer, interleaved with its floor "
            "(one plain UNWIND CREATE transaction of the same write set, a Bolt round trip), for "
            "typical and 499-element runs; print p50/p95, the ratios, the writer's split, peak "
            "memory (separate pass, with the meter's overhead) and the naive baseline.")

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--runs", type=int, default=200, help="typical runs")
        parser.add_argument("--large-runs", type=int, default=50,
                            help="499-element runs (the largest write set allowed)")
        parser.add_argument("--naive-runs", type=int, default=None,
                            help="runs for the naive baseline (default: same as --runs)")
        parser.add_argument("--traced-runs", type=int, default=50,
                            help="pairs of runs measured for peak memory and the meter's "
                                 "overhead (tracemalloc), in a separate pass")
        parser.add_argument("--ladder-runs", type=int, default=0,
                            help="typical runs for the floor ladder: the same plain CREATE into "
                                 "labels carrying a key index, + the uniqueness constraints, "
                                 "+ the range indexes, + full-text (synchronous), + full-text "
                                 "(eventually consistent); 0: skip")

    def handle(self, *args: object, runs: int, large_runs: int, naive_runs: int | None,
               traced_runs: int, ladder_runs: int, **options: object) -> None:
        naive_runs = runs if naive_runs is None else naive_runs
        self.stdout.write(f"Persisting {runs} typical and {large_runs} 499-element runs beside "
                          f"the floor, {traced_runs} pairs for memory, naive baseline over "
                          f"{naive_runs} ...")
        report = run_benchmark(get_writer(), get_driver(), database(), runs=runs,
                               large=large_runs, naive_runs=naive_runs, traced_runs=traced_runs,
                               progress=self.stdout.write, ladder_runs=ladder_runs)
        for line in report.lines():
            self.stdout.write(line)
