"""manage.py retrieval_eval [--sizes 1000,10000] [--queries 200] [--candidates N] [--fanout N]
[--report reports/retrieval.md]: the labelled evaluation set of tools/retrieval_eval.py written
through the real writer (the graph is wiped first: CAP01_ALLOW_GRAPH_WIPE=1, as `make
retrieval-eval` sets for the test Neo4j), then recall@5, recall@10 and MRR for full-text alone,
composition alone, vectors alone and the combination (graphstore.retrieval.runs_like and
search_runs), with the latency of each (p50, p95 ms), for each size, on both paths: exact
(every candidate read) and bounded (--candidates nearest runs for composition, --fanout runs
per common ingredient word; default the settings). For the bounded path it also prints how
much of the exact path's top 10 it returns ("vs exact@10") and how often its top 10 is the exact
path's, in the same order ("same top 10"). The sizes grow one set: the first 1,000 runs of the
10,000 are the 1,000."""

from __future__ import annotations

import os
import statistics
import time
from argparse import ArgumentParser
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from graphstore import retrieval
from graphstore.connection import database, get_driver, get_embedder, get_writer
from graphstore.cypher.retrieval import DROP_VECTOR_INDEX, EVAL_WIPE_GRAPH
from graphstore.installer import install_schema
from graphstore.scope import RunScope
from tools.bench import percentile
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
            "full-text, composition, vectors and their combination, exact and bounded.")

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--sizes", default="1000,10000",
                            help="comma-separated run counts, growing (default 1000,10000)")
        parser.add_argument("--queries", type=int, default=200,
                            help="query runs per size (at most one per family)")
        parser.add_argument("--workers", type=int, default=4,
                            help="threads writing the set (the writer is thread-safe)")
        parser.add_argument("--candidates", type=int, default=None,
                            help="the bounded path's nearest runs for composition "
                                 "(default CAP01_SIMILAR_CANDIDATES)")
        parser.add_argument("--fanout", type=int, default=None,
                            help="the bounded path's runs per common ingredient word "
                                 "(default CAP01_FULLTEXT_FANOUT)")
        parser.add_argument("--report", default="",
                            help="also write the tables to this Markdown file")

    def handle(self, *args: object, sizes: str, queries: int, report: str, workers: int,
               candidates: int | None, fanout: int | None, **options: object) -> None:
        if os.environ.get("CAP01_ALLOW_GRAPH_WIPE") != "1":
            raise CommandError("retrieval_eval wipes the graph it writes to: run it through "
                               "`make retrieval-eval` (the test Neo4j) or set "
                               "CAP01_ALLOW_GRAPH_WIPE=1.")
        bounds = {"exact": (0, 0), "bounded": (
            settings.CAP01_SIMILAR_CANDIDATES if candidates is None else candidates,
            settings.CAP01_FULLTEXT_FANOUT if fanout is None else fanout)}
        if min(bounds["bounded"]) <= 0:
            raise CommandError("--candidates and --fanout must be positive (the bounded path).")
        counts = [int(x) for x in sizes.split(",") if x.strip()]
        driver, db, writer = get_driver(), database(), get_writer()
        with driver.session(database=db) as session:
            session.run(EVAL_WIPE_GRAPH).consume()
            session.run(DROP_VECTOR_INDEX).consume()  # recreated with the current config
        install_schema(driver, database=db)
        full = build_eval_set(max(counts), now=NOW)
        n_cand, n_fan = bounds["bounded"]
        lines = ["# Retrieval quality and latency (manage.py retrieval_eval)", "",
                 f"Command: `manage.py retrieval_eval --sizes {sizes} --queries {queries} "
                 f"--candidates {n_cand} --fanout {n_fan}`; true neighbours by construction "
                 "(tools/retrieval_eval.py). Exact: every candidate read; bounded: composition "
                 f"over the {n_cand} nearest runs, {n_fan} runs per common ingredient word.", ""]
        scope = RunScope.every_run()
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
            texts = {r.run_id: text_query(r) for r in present if r.run_id in truth}
            self.stdout.write(f"{count} runs written ({len(batch)} new in {write_s:.1f} s); "
                              f"{len(query_ids)} queries ...")

            def like(qid: str, signals: tuple[str, ...], bound: tuple[int, int]) -> list[str]:
                hits = retrieval.runs_like(qid, scope=scope, driver=driver, database=db,
                                           limit=10, signals=signals, candidates=bound[0],
                                           fanout=bound[1])
                return [h.run_id for h in hits]

            def words(qid: str, signals: tuple[str, ...], bound: tuple[int, int],
                      texts: dict[str, str] = texts) -> list[str]:
                found = retrieval.search_runs(texts[qid], scope=scope, driver=driver,
                                              database=db, embedder=get_embedder(), limit=11,
                                              signals=signals, fanout=bound[1])
                return [h.run_id for h in found.hits if h.run_id != qid][:10]

            kinds: dict[str, Callable[[str, tuple[str, ...], tuple[int, int]], list[str]]] = {
                "runs like this one": like,
                f"free words, e.g. \"{texts[query_ids[0]]}\"": words}
            for title, ask in kinds.items():
                block = [f"## {count} runs, {title} ({len(query_ids)} queries, 5 true "
                         "neighbours each)", "",
                         "| signal | path | recall@5 | recall@10 | MRR | p50 ms | p95 ms "
                         "| vs exact@10 | same top 10 |",
                         "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
                for mode, signals in MODES.items():
                    exact: dict[str, list[str]] = {}
                    for path, bound in bounds.items():
                        r5, r10, rr, ms, vs, same = [], [], [], [], [], []
                        for qid in query_ids:
                            t0 = time.perf_counter()
                            ranked = ask(qid, signals, bound)
                            ms.append((time.perf_counter() - t0) * 1000)
                            r5.append(recall_at(ranked, truth[qid], 5))
                            r10.append(recall_at(ranked, truth[qid], 10))
                            rr.append(reciprocal_rank(ranked, truth[qid]))
                            if path == "exact":
                                exact[qid] = ranked
                            else:
                                vs.append(recall_at(ranked, set(exact[qid][:10]), 10)
                                          if exact[qid] else float(not ranked))
                                same.append(float(ranked[:10] == exact[qid][:10]))
                        agreement = (f"{statistics.fmean(vs):.3f} | {statistics.fmean(same):.3f}"
                                     if vs else "– | –")
                        block.append(
                            f"| {mode} | {path} | {statistics.fmean(r5):.3f} | "
                            f"{statistics.fmean(r10):.3f} | {statistics.fmean(rr):.3f} | "
                            f"{percentile(ms, 50):.1f} | {percentile(ms, 95):.1f} | "
                            f"{agreement} |")
                block.append("")
                lines += block
                for line in block:
                    self.stdout.write(line)
        if report:
            path_ = Path(report)
            path_.parent.mkdir(parents=True, exist_ok=True)
            path_.write_text("\n".join(lines) + "\n", encoding="utf-8")
            self.stdout.write(f"report written to {path_}")
