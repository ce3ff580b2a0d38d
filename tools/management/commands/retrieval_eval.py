"""manage.py retrieval_eval [--sizes 1000,10000] [--queries 200] [--report reports/retrieval.md]:
the labelled evaluation set of tools/retrieval_eval.py written through the real writer (the
graph is wiped first: CAP01_ALLOW_GRAPH_WIPE=1, as `make retrieval-eval` sets for the test
Neo4j), then recall@5, recall@10 and MRR for full-text alone, composition alone, vectors alone
and the combination (graphstore.retrieval.runs_like), with the latency of each (p50, p95 ms),
for each size. The sizes grow one set: the first 1,000 runs of the 10,000 are the 1,000."""

from __future__ import annotations

import os
import statistics
import time
from argparse import ArgumentParser
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from graphstore import retrieval
from graphstore.connection import database, get_driver, get_embedder, get_writer
from graphstore.cypher.retrieval import DROP_VECTOR_INDEX, EVAL_WIPE_GRAPH
from graphstore.installer import install_schema
from graphstore.scope import RunScope
from tools.retrieval_eval import (
    build_eval_set,
    recall_at,
    reciprocal_rank,
    relevant,
    text_query,
)

MODES = {"full-text alone": ("fulltext",), "composition alone": ("composition",),
         "vectors alone": ("vector",), "combination": retrieval.SIGNALS}
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


class Command(BaseCommand):
    help = ("Write the labelled retrieval set and print recall@5, recall@10, MRR and latency for "
            "full-text, composition, vectors and their combination.")

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--sizes", default="1000,10000",
                            help="comma-separated run counts, growing (default 1000,10000)")
        parser.add_argument("--queries", type=int, default=200,
                            help="query runs per size (at most one per family)")
        parser.add_argument("--workers", type=int, default=4,
                            help="threads writing the set (the writer is thread-safe)")
        parser.add_argument("--report", default="",
                            help="also write the tables to this Markdown file")

    def handle(self, *args: object, sizes: str, queries: int, report: str, workers: int,
               **options: object) -> None:
        if os.environ.get("CAP01_ALLOW_GRAPH_WIPE") != "1":
            raise CommandError("retrieval_eval wipes the graph it writes to: run it through "
                               "`make retrieval-eval` (the test Neo4j) or set "
                               "CAP01_ALLOW_GRAPH_WIPE=1.")
        counts = [int(x) for x in sizes.split(",") if x.strip()]
        driver, db, writer = get_driver(), database(), get_writer()
        with driver.session(database=db) as session:
            session.run(EVAL_WIPE_GRAPH).consume()
            session.run(DROP_VECTOR_INDEX).consume()  # recreated with the current config
        install_schema(driver, database=db)
        full = build_eval_set(max(counts), now=NOW)
        lines = ["# Retrieval quality and latency (manage.py retrieval_eval)", "",
                 f"Command: `manage.py retrieval_eval --sizes {sizes} --queries {queries}`; "
                 "true neighbours by construction (tools/retrieval_eval.py).", ""]
        written = 0
        for count in counts:
            batch = full[written:count]
            began = time.perf_counter()
            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(lambda item: writer.write(item.run), batch))
            write_s = time.perf_counter() - began
            written = count
            present = full[:count]
            truth = relevant(present)
            query_ids = sorted(truth)[:queries]
            self.stdout.write(f"{count} runs written ({len(batch)} new in {write_s:.1f} s); "
                              f"{len(query_ids)} queries ...")
            rows = []
            for mode, signals in MODES.items():
                r5, r10, rr, ms = [], [], [], []
                for qid in query_ids:
                    t0 = time.perf_counter()
                    hits = retrieval.runs_like(qid, scope=RunScope.every_run(), driver=driver,
                                               database=db, limit=10, signals=signals)
                    ms.append((time.perf_counter() - t0) * 1000)
                    ranked = [h.run_id for h in hits]
                    r5.append(recall_at(ranked, truth[qid], 5))
                    r10.append(recall_at(ranked, truth[qid], 10))
                    rr.append(reciprocal_rank(ranked, truth[qid]))
                ms.sort()
                rows.append((mode, statistics.fmean(r5), statistics.fmean(r10),
                             statistics.fmean(rr), statistics.median(ms),
                             ms[max(0, int(len(ms) * 0.95) - 1)]))
            texts = {r.run_id: text_query(r) for r in present if r.run_id in truth}
            text_rows = []
            for mode, signals in MODES.items():
                r5, r10, rr, ms = [], [], [], []
                for qid in query_ids:
                    t0 = time.perf_counter()
                    found = retrieval.search_runs(
                        texts[qid], scope=RunScope.every_run(), driver=driver, database=db,
                        embedder=get_embedder(), limit=11, signals=signals)
                    ms.append((time.perf_counter() - t0) * 1000)
                    ranked = [h.run_id for h in found.hits if h.run_id != qid][:10]
                    r5.append(recall_at(ranked, truth[qid], 5))
                    r10.append(recall_at(ranked, truth[qid], 10))
                    rr.append(reciprocal_rank(ranked, truth[qid]))
                ms.sort()
                text_rows.append((mode, statistics.fmean(r5), statistics.fmean(r10),
                                  statistics.fmean(rr), statistics.median(ms),
                                  ms[max(0, int(len(ms) * 0.95) - 1)]))
            for title, table in (("runs like this one", rows),
                                 (f"free words, e.g. \"{texts[query_ids[0]]}\"", text_rows)):
                block = [f"## {count} runs, {title} ({len(query_ids)} queries, 5 true "
                         "neighbours each)", "",
                         "| signal | recall@5 | recall@10 | MRR | p50 ms | p95 ms |",
                         "|---|---:|---:|---:|---:|---:|"]
                block += [f"| {m} | {a:.3f} | {b:.3f} | {c:.3f} | {d:.1f} | {e:.1f} |"
                          for m, a, b, c, d, e in table]
                block.append("")
                lines += block
                for line in block:
                    self.stdout.write(line)
        if report:
            path = Path(report)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
            self.stdout.write(f"report written to {path}")
