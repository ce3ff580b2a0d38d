"""The scale-out demo's audit (issue 13, `make scale-out`, ops/scale_out.sh): after the load test
ran through the proxy in front of two web instances, with two worker instances behind Redis,
check that nothing was lost or duplicated and that every instance took its share.

Sources, each independent of the others:
- the load test's own record (loadtest.json, `http`): the runIds the API accepted (202), the
  ones it read back, and which web instance answered each request (the proxy's X-Served-By);
- the ledger (the Django database, PostgreSQL here): one row per accepted runId, persisted, no
  write error; and no other run of the load-test user since it started (a POST the proxy or
  the client sent twice would show up as one);
- Neo4j: each accepted runId held by exactly one run (read.RUN_COPIES);
- each web instance's access log: the requests it served, the 202s among them;
- each worker instance's log: the pipelines it ran ("run" events) and the writes it committed
  ("write" events, `new` when the write created the run): every accepted run created by
  exactly one write across all workers;
- the proxy's statistics (HAProxy's CSV): sessions and 2xx answers per server.

Not a test of speed: it prints the load test's figures beside the table, never judges them.
"""

from __future__ import annotations

import csv
import io
import json
import urllib.request
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from graphstore.cypher import read
from orchestration.models import RunRecord

REQUESTS_PATH = "/api/orchestration/requests"
HEALTH_PATH = "/healthz"  # what the proxy's health checks ask for


def log_events(path: Path) -> Iterable[dict[str, Any]]:
    """The JSON objects of a log file, one a line (lines that are not JSON are skipped)."""
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(event, dict):
                yield event


@dataclass
class WebTally:
    name: str
    requests: int = 0  # the API's and pages' requests (the proxy's health checks left out)
    accepted: int = 0  # POST /requests answered 202
    errors: int = 0  # 5xx

    @classmethod
    def from_log(cls, name: str, path: Path) -> WebTally:
        tally = cls(name)
        for event in log_events(path):
            if event.get("event") != "access" or event.get("path") == HEALTH_PATH:
                continue
            tally.requests += 1
            status = int(event.get("status") or 0)
            if event.get("method") == "POST" and event.get("path") == REQUESTS_PATH \
                    and status == 202:
                tally.accepted += 1
            if status >= 500:
                tally.errors += 1
        return tally


@dataclass
class WorkerTally:
    name: str
    pipelines: Counter[str] = field(default_factory=Counter)  # runId -> "run" events
    writes: Counter[str] = field(default_factory=Counter)  # runId -> committed writes
    created: Counter[str] = field(default_factory=Counter)  # runId -> writes that created it

    @classmethod
    def from_log(cls, name: str, path: Path, run_ids: set[str]) -> WorkerTally:
        tally = cls(name)
        for event in log_events(path):
            run_id = event.get("runId")
            if run_id not in run_ids:
                continue
            if event.get("event") == "run":
                tally.pipelines[run_id] += 1
            elif event.get("event") == "write" and event.get("status") == "committed":
                tally.writes[run_id] += 1
                if event.get("new"):
                    tally.created[run_id] += 1
        return tally


def proxy_stats(url: str) -> dict[str, dict[str, int]]:
    """HAProxy's statistics CSV at `url`: per server of the web backend, sessions and answers."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no *_proxy
    with opener.open(url, timeout=10) as response:
        text = response.read().decode()
    rows = csv.DictReader(io.StringIO(text.lstrip("# ")))
    return {row["svname"]: {"sessions": int(row["stot"] or 0),
                            "answers2xx": int(row["hrsp_2xx"] or 0),
                            "answers5xx": int(row["hrsp_5xx"] or 0)}
            for row in rows if row["svname"] not in {"FRONTEND", "BACKEND"}
            and row["type"] == "2"}  # type 2: a server


@dataclass
class Check:
    what: str
    passed: bool
    detail: str


@dataclass
class Audit:
    runs: int
    checks: list[Check]
    web: list[WebTally]
    workers: list[dict[str, Any]]
    proxy: dict[str, dict[str, int]]
    served_by: dict[str, int]
    figures: dict[str, Any]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "runs": self.runs,
                "checks": [asdict(c) for c in self.checks],
                "web": [asdict(w) for w in self.web], "workers": self.workers,
                "proxy": self.proxy, "servedBy": self.served_by, "figures": self.figures}


def _counts(counter: Counter[str], run_ids: Sequence[str]) -> Counter[int]:
    """How many runs were seen 0, 1, 2, ... times."""
    return Counter(counter.get(r, 0) for r in run_ids)


def _fmt(hist: Counter[int]) -> str:
    return ", ".join(f"{n} run{'s' if n != 1 else ''} x{times}"
                     for times, n in sorted(hist.items()))


def audit(*, loadtest: dict[str, Any], ledger: dict[str, dict[str, Any]],
          others_since: list[str], copies: dict[str, int], web: list[WebTally],
          workers: list[WorkerTally], proxy: dict[str, dict[str, int]]) -> Audit:
    """The checks, from what each source said (gathered by `gather`)."""
    http = loadtest["http"]
    run_ids: list[str] = list(http["runIds"])
    unique = set(run_ids)
    checks: list[Check] = []

    def check(what: str, passed: bool, detail: str) -> None:
        checks.append(Check(what, passed, detail))

    check("the API accepted every request, each runId once",
          bool(run_ids) and len(unique) == len(run_ids) and not http["unexpected"],
          f"{len(run_ids)} accepted, {len(unique)} distinct, "
          f"{len(http['unexpected'])} unexpected answers")
    missing = [r for r in run_ids if r not in ledger]
    unpersisted = [r for r in run_ids if r in ledger and not ledger[r]["persisted"]]
    write_errors = [r for r in run_ids if r in ledger and ledger[r]["persistError"]]
    check("ledger: every accepted run has its row, persisted, no write error",
          not missing and not unpersisted and not write_errors,
          f"{len(run_ids) - len(missing)} rows; missing {len(missing)}, not persisted "
          f"{len(unpersisted)}, write errors {len(write_errors)}; statuses "
          f"{dict(Counter(ledger[r]['status'] for r in run_ids if r in ledger))}")
    check("ledger: no other run of the load-test user since it started (nothing submitted "
          "twice)", not others_since, f"{len(others_since)} other runs")
    copy_hist = Counter(copies.get(r, 0) for r in run_ids)
    check("Neo4j: every accepted run held exactly once", set(copy_hist) == {1},
          f"copies per run: {_fmt(copy_hist)}")
    created: Counter[str] = sum((w.created for w in workers), Counter())
    created_hist = _counts(created, run_ids)
    check("workers: every accepted run created by exactly one write, across all workers",
          set(created_hist) == {1}, f"creating writes per run: {_fmt(created_hist)}")
    check("API: every run read back through the proxy (GET /runs/{runId})",
          http["readBack"] == len(run_ids), f"{http['readBack']} of {len(run_ids)}")
    check("web: both instances served requests, none answered 5xx",
          len(web) >= 2 and all(w.requests > 0 for w in web) and not any(w.errors for w in web),
          ", ".join(f"{w.name}: {w.requests} requests, {w.errors} 5xx" for w in web))
    logged_202 = sum(w.accepted for w in web)
    check("web: the instances' access logs hold one 202 per accepted run",
          logged_202 == len(run_ids), f"{logged_202} 202s logged for {len(run_ids)} runs")
    check("workers: both instances ran pipelines and committed writes",
          len(workers) >= 2 and all(w.pipelines and w.writes for w in workers),
          ", ".join(f"{w.name}: {sum(w.pipelines.values())} pipelines, "
                    f"{sum(w.writes.values())} writes" for w in workers))
    if proxy:
        check("proxy: both servers answered", len(proxy) >= 2
              and all(s["answers2xx"] > 0 for s in proxy.values()),
              ", ".join(f"{n}: {s['sessions']} sessions, {s['answers2xx']} 2xx"
                        for n, s in sorted(proxy.items())))
    rows = {r["stage"]: r for r in loadtest["rows"]}
    end_to_end = rows.get("Run (end to end)", {})
    figures = {"runsPerSecond": http.get("runsPerSecond"), "windowS": http.get("windowS"),
               "measuredRuns": loadtest["runs"], "warmupRuns": http.get("warmupRuns"),
               "endToEndP50Ms": end_to_end.get("p50_ms"),
               "endToEndP95Ms": end_to_end.get("p95_ms"), "throttled": http.get("throttled")}
    worker_rows = [{"name": w.name, "pipelines": sum(w.pipelines.values()),
                    "writesCommitted": sum(w.writes.values()),
                    "runsCreated": sum(w.created.values())} for w in workers]
    return Audit(len(run_ids), checks, web, worker_rows, proxy, http["servedBy"], figures)


def gather(*, loadtest: dict[str, Any], web_logs: dict[str, Path],
           worker_logs: dict[str, Path], proxy_url: str | None, driver: Any,
           database: str, user: str) -> Audit:
    """Read every source (the ledger through the Django ORM, Neo4j through `driver`)."""
    run_ids = list(loadtest["http"]["runIds"])
    ledger = {r.run_id: {"status": r.status, "persisted": r.persisted_at is not None,
                         "persistError": r.persist_error}
              for r in RunRecord.objects.filter(run_id__in=run_ids)}
    since = datetime.fromisoformat(loadtest["http"]["since"])
    others = list(RunRecord.objects.filter(submitted_by__username=user, created_at__gte=since)
                  .exclude(run_id__in=run_ids).values_list("run_id", flat=True))
    records, _, _ = driver.execute_query(read.RUN_COPIES, {"runIds": run_ids},
                                         database_=database, routing_="r")
    copies = {rec["runId"]: rec["copies"] for rec in records}
    unique = set(run_ids)
    return audit(loadtest=loadtest, ledger=ledger, others_since=others, copies=copies,
                 web=[WebTally.from_log(n, p) for n, p in web_logs.items()],
                 workers=[WorkerTally.from_log(n, p, unique) for n, p in worker_logs.items()],
                 proxy=proxy_stats(proxy_url) if proxy_url else {})


def markdown(result: Audit) -> str:
    f = result.figures

    def ms(value: Any) -> str:
        return f"{value:.0f}" if isinstance(value, int | float) else "n/a"

    lines = [f"# Scale-out: {result.runs} runs through one address, two web and two worker "
             "instances", "",
             f"**{'PASS' if result.passed else 'FAIL'}**: nothing lost, nothing duplicated, "
             "every instance took its share." if result.passed else
             "**FAIL**: see the checks below.", "",
             f"Measured: {f['measuredRuns']} runs (after {f['warmupRuns']} warm-up) in "
             f"{f['windowS']} s = **{f['runsPerSecond']} runs/s**; end to end p50 "
             f"**{ms(f['endToEndP50Ms'])} ms**, p95 **{ms(f['endToEndP95Ms'])} ms**; "
             f"429s waited out: {f['throttled']}.", "",
             "| instance | role | requests served | runs accepted (202) | proxy: 2xx answers | "
             "client saw (X-Served-By) | pipelines run | writes committed | runs created |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for w in result.web:
        proxied = result.proxy.get(w.name, {}).get("answers2xx", "n/a")
        lines.append(f"| {w.name} | web (gunicorn) | {w.requests} | {w.accepted} | {proxied} | "
                     f"{result.served_by.get(w.name, 0)} | | | |")
    for wk in result.workers:
        lines.append(f"| {wk['name']} | worker (celery) | | | | | {wk['pipelines']} | "
                     f"{wk['writesCommitted']} | {wk['runsCreated']} |")
    lines += ["", "| check | result | detail |", "|---|---|---|"]
    for c in result.checks:
        lines.append(f"| {c.what} | {'pass' if c.passed else 'FAIL'} | {c.detail} |")
    return "\n".join(lines) + "\n"
