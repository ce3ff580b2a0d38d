"""manage.py similar_bench [--runs 20] [--user scale-user-3] [--auditor NAME] [--samples 1]
[--texts "lemon vinaigrette,olive oil"]: similar runs on the graph as it is, READ-ONLY (it
writes nothing: no session, no token, no ledger row), old path against new path in the same run.

For each of `--runs` of the user's full succeeded runs (spread over their history), GET
runs/{runId}/similar is timed through the API view (DRF request factory, the user forced as
the caller: serializers and selectors included, no middleware) on the exact path
(CAP01_SIMILAR_CANDIDATES=0, CAP01_FULLTEXT_FANOUT=0: every candidate read, as before issue 13's
bound) and on the bounded path (the settings, or --candidates/--fanout), alternating, each after
a Bolt round trip (the floor, `RETURN 1`) timed beside it. Then GET runs/similar?q= for each
text, both paths. Prints p50/p95 per path, the floor's, and how much of the exact top 10 the
bounded path returned ("vs exact@10") and how often its top 10 was the exact one, in order."""

from __future__ import annotations

import functools
import statistics
import time
from argparse import ArgumentParser
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.test import override_settings
from rest_framework.test import APIRequestFactory, force_authenticate

from graphstore.connection import database, get_driver
from orchestration.api.insights import RunLikeListApi, RunSimilarListApi
from orchestration.models import RunRecord
from tools.bench import ROUND_TRIP, percentile

API = "/api/orchestration"


def _timed(action: Callable[[], Any]) -> tuple[float, Any]:
    began = time.perf_counter()
    out = action()
    return (time.perf_counter() - began) * 1000, out


class Command(BaseCommand):
    help = ("Similar runs on the graph as it is (read-only): exact path against bounded path, "
            "p50/p95 with the Bolt floor beside them, and the bounded path's agreement.")

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--runs", type=int, default=20, help="query runs (default 20)")
        parser.add_argument("--user", default="scale-user-3",
                            help="whose runs, as whom (default scale-user-3, a tenth of the "
                                 "scale fill's runs)")
        parser.add_argument("--auditor", default="",
                            help="also as this existing superuser or auditor (every run)")
        parser.add_argument("--samples", type=int, default=1,
                            help="timed calls per run and path (default 1)")
        parser.add_argument("--candidates", type=int, default=None,
                            help="bounded path: CAP01_SIMILAR_CANDIDATES (default the setting)")
        parser.add_argument("--fanout", type=int, default=None,
                            help="bounded path: CAP01_FULLTEXT_FANOUT (default the setting)")
        parser.add_argument("--texts", default="lemon vinaigrette,olive oil,glycerin water",
                            help="comma-separated words for runs/similar?q=")

    def handle(self, *args: object, runs: int, user: str, auditor: str, samples: int,
               candidates: int | None, fanout: int | None, texts: str,
               **options: object) -> None:
        from django.conf import settings

        model = get_user_model()
        viewer = model.objects.filter(username=user).first()
        if viewer is None:
            raise CommandError(f"no user {user!r} (the scale fill's users are scale-user-N)")
        bounded = {"CAP01_SIMILAR_CANDIDATES": settings.CAP01_SIMILAR_CANDIDATES
                   if candidates is None else candidates,
                   "CAP01_FULLTEXT_FANOUT": settings.CAP01_FULLTEXT_FANOUT
                   if fanout is None else fanout}
        paths = {"exact": {"CAP01_SIMILAR_CANDIDATES": 0, "CAP01_FULLTEXT_FANOUT": 0},
                 "bounded": bounded}
        mine = list(RunRecord.objects.filter(submitted_by=viewer, status="succeeded",
                                             condensed_at__isnull=True,
                                             persisted_at__isnull=False)
                    .order_by("-created_at").values_list("run_id", flat=True))
        if len(mine) < runs:
            raise CommandError(f"{user} has {len(mine)} full succeeded runs, fewer than {runs}")
        step = max(1, len(mine) // runs)
        picked = mine[::step][:runs]
        total = RunRecord.objects.count()
        self.stdout.write(f"similar_bench: {total} runs in the ledger; {user} owns "
                          f"{RunRecord.objects.filter(submitted_by=viewer).count()}; "
                          f"{len(picked)} query runs; bounded = {bounded}")
        viewers = [("user", viewer)]
        if auditor:
            other = model.objects.filter(username=auditor).first()
            if other is None:
                raise CommandError(f"no user {auditor!r}")
            viewers.append(("auditor", other))
        factory = APIRequestFactory()
        like_view, text_view = RunLikeListApi.as_view(), RunSimilarListApi.as_view()
        driver, db = get_driver(), database()

        def like(who: Any, run_id: str) -> Any:
            request = factory.get(f"{API}/runs/{run_id}/similar", {"limit": "10"})
            force_authenticate(request, user=who)
            response = like_view(request, run_id=run_id)
            if response.status_code != 200:
                raise CommandError(f"runs/{run_id}/similar: {response.status_code}")
            return [h["runId"] for h in response.data["results"]]

        def words(who: Any, text: str) -> Any:
            request = factory.get(f"{API}/runs/similar", {"q": text, "limit": "10"})
            force_authenticate(request, user=who)
            response = text_view(request)
            if response.status_code != 200:
                raise CommandError(f"runs/similar?q={text}: {response.status_code}")
            return [h["runId"] for h in response.data["results"]]

        def floor() -> float:
            return _timed(lambda: driver.execute_query(ROUND_TRIP, database_=db))[0]

        rows: list[str] = []
        for label, who in viewers:
            cases: list[tuple[str, Callable[[], Any]]] = [
                (f"runs/{r}/similar", functools.partial(like, who, r)) for r in picked]
            cases += [(f"runs/similar?q={t}", functools.partial(words, who, t))
                      for t in texts.split(",") if t.strip()]
            for kind, selected in (("runs like this one", [c for c in cases
                                                          if "?q=" not in c[0]]),
                                   ("full text (runs/similar?q=)", [c for c in cases
                                                                    if "?q=" in c[0]])):
                ms: dict[str, list[float]] = {p: [] for p in paths}
                ms["floor"] = []
                vs, same = [], []
                for name, action in selected:
                    answers: dict[str, list[str]] = {}
                    for path, values in paths.items():
                        with override_settings(**values):
                            action()  # warm: the plan cached, as for a user's second call
                            for _ in range(samples):
                                ms["floor"].append(floor())
                                took, answers[path] = _timed(action)
                                ms[path].append(took)
                    exact, got = answers["exact"], answers["bounded"]
                    vs.append(len(set(got) & set(exact)) / len(exact) if exact else 1.0)
                    same.append(float(got == exact))
                    self.stdout.write(f"  {label} {name}: exact {ms['exact'][-1]:.0f} ms, "
                                      f"bounded {ms['bounded'][-1]:.0f} ms, "
                                      f"{len(set(got) & set(exact))}/{len(exact)} of the "
                                      "exact top 10")
                for path in ("floor", "exact", "bounded"):
                    rows.append(f"| {label} | {kind} | {path} | {len(ms[path])} | "
                                f"{percentile(ms[path], 50):.1f} | "
                                f"{percentile(ms[path], 95):.1f} | "
                                + (f"{statistics.fmean(vs):.3f} | {statistics.fmean(same):.3f} |"
                                   if path == "bounded" else "| |"))
        self.stdout.write("")
        self.stdout.write("| as | endpoint | path | n | p50 ms | p95 ms | vs exact@10 | "
                          "same top 10 |")
        self.stdout.write("|---|---|---|---:|---:|---:|---:|---:|")
        for row in rows:
            self.stdout.write(row)
