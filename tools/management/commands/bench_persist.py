"""manage.py bench_persist [--runs N] [--naive-runs M]: persistence latency and memory figures."""

from argparse import ArgumentParser

from django.core.management.base import BaseCommand

from graphstore.connection import get_writer
from tools.bench import HEADER, run_benchmark


class Command(BaseCommand):
    help = ("Persist N synthetic runs with the transactional writer and naively (one neomodel "
            "save per node and relationship); print p50/p95/max latency and peak memory.")

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--runs", type=int, default=200)
        parser.add_argument("--naive-runs", type=int, default=None,
                            help="runs for the naive baseline (default: same as --runs)")
        parser.add_argument("--traced-runs", type=int, default=50,
                            help="runs measured for peak memory (tracemalloc), in a second pass")

    def handle(self, *args: object, runs: int, naive_runs: int | None, traced_runs: int,
               **options: object) -> None:
        naive_runs = runs if naive_runs is None else naive_runs
        self.stdout.write(f"Persisting {runs} synthetic runs (+{traced_runs} traced for memory), "
                          f"naive baseline over {naive_runs} ...")
        tx, naive = run_benchmark(get_writer(), runs=runs, naive_runs=naive_runs,
                                  traced_runs=traced_runs, progress=self.stdout.write)
        self.stdout.write(HEADER)
        self.stdout.write(tx.row())
        if naive is not None:
            self.stdout.write(naive.row())
            self.stdout.write(f"naive / transactional: p50 x{naive.p50_ms / tx.p50_ms:.1f}, "
                              f"p95 x{naive.p95_ms / tx.p95_ms:.1f}")
        self.stdout.write(
            f"targets: p95 <= 45 ms ({'met' if tx.p95_ms <= 45 else 'NOT met'}), peak <= 20 MB "
            f"({'met' if tx.peak_mb <= 20 else 'NOT met'}); design budget 450 ms / 70 MB")
