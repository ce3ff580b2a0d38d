"""The scale-out demo's audit (tools/scale_out.py) on made-up sources: it passes when every
source agrees that each accepted run was persisted once and every instance took its share, and
names the check that fails otherwise; the log and proxy readers count what they should."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from tools.scale_out import WebTally, WorkerTally, audit, markdown, proxy_stats

RUNS = [f"run-{i}" for i in range(6)]


def loadtest(**http: Any) -> dict[str, Any]:
    return {"runs": 6, "rows": [{"stage": "Run (end to end)", "p50_ms": 300.0, "p95_ms": 700.0}],
            "http": {"runIds": list(RUNS), "readBack": len(RUNS), "unexpected": [],
                     "servedBy": {"web-1": 6, "web-2": 6}, "runsPerSecond": 5.0,
                     "windowS": 1.2, "warmupRuns": 0, "throttled": 0, **http}}


def worker(name: str, runs: list[str], *, created: list[str] | None = None) -> WorkerTally:
    tally = WorkerTally(name)
    tally.pipelines.update(runs)
    tally.writes.update(runs)
    tally.created.update(runs if created is None else created)
    return tally


def sources(**changes: Any) -> dict[str, Any]:
    good: dict[str, Any] = {
        "loadtest": loadtest(),
        "ledger": {r: {"status": "succeeded", "persisted": True, "persistError": ""}
                   for r in RUNS},
        "others_since": [],
        "copies": dict.fromkeys(RUNS, 1),
        "web": [WebTally("web-1", requests=6, accepted=3), WebTally("web-2", requests=6,
                                                                    accepted=3)],
        "workers": [worker("worker-1", RUNS[:3]), worker("worker-2", RUNS[3:])],
        "proxy": {"web-1": {"sessions": 6, "answers2xx": 6, "answers5xx": 0},
                  "web-2": {"sessions": 6, "answers2xx": 6, "answers5xx": 0}},
    }
    return {**good, **changes}


def failed(result: Any) -> list[str]:
    return [c.what for c in result.checks if not c.passed]


def test_agreeing_sources_pass_and_the_table_names_every_instance() -> None:
    """All sources agree: every check passes; the table has a row per instance and the
    figures of the load test."""
    result = audit(**sources())
    assert result.passed, failed(result)
    text = markdown(result)
    for name in ("web-1", "web-2", "worker-1", "worker-2"):
        assert f"| {name} |" in text
    assert "5.0 runs/s" in text and "p95 **700 ms**" in text


def test_a_run_created_twice_or_missing_from_neo4j_fails_its_check() -> None:
    """Two workers both creating one run, or a run Neo4j does not hold, fails the matching
    check (and only that one)."""
    twice = sources(workers=[worker("worker-1", RUNS[:4]),
                             worker("worker-2", RUNS[3:])])
    assert failed(audit(**twice)) == [
        "workers: every accepted run created by exactly one write, across all workers"]
    lost = sources(copies={**dict.fromkeys(RUNS, 1), "run-5": 0})
    assert failed(audit(**lost)) == ["Neo4j: every accepted run held exactly once"]


def test_an_idle_instance_or_an_extra_run_fails() -> None:
    """A web instance that served nothing, a worker that ran nothing, a run of the load-test
    user that the API never accepted (a POST sent twice), an unpersisted run: each fails."""
    idle_web = sources(web=[WebTally("web-1", requests=12, accepted=6), WebTally("web-2")])
    assert "web: both instances served requests, none answered 5xx" in failed(audit(**idle_web))
    idle_worker = sources(workers=[worker("worker-1", RUNS), WorkerTally("worker-2")])
    assert failed(audit(**idle_worker)) == [
        "workers: both instances ran pipelines and committed writes"]
    extra = sources(others_since=["run-x"])
    assert failed(audit(**extra)) == [
        "ledger: no other run of the load-test user since it started (nothing submitted "
        "twice)"]
    ledger = {r: {"status": "succeeded", "persisted": r != "run-0", "persistError": ""}
              for r in RUNS}
    assert failed(audit(**sources(ledger=ledger))) == [
        "ledger: every accepted run has its row, persisted, no write error"]


def test_the_log_readers_count_access_lines_and_write_events(tmp_path: Path) -> None:
    """A web log: access lines but the proxy's health checks, the 202s of POST /requests, the
    5xx. A worker log: "run" events and committed writes of the accepted runs only, `new` ones
    as created. Lines that are not JSON are skipped."""
    web_log = tmp_path / "web.log"
    web_log.write_text("\n".join([
        json.dumps({"event": "access", "method": "POST",
                    "path": "/api/orchestration/requests", "status": 202}),
        json.dumps({"event": "access", "method": "GET", "path": "/api/orchestration/runs/r",
                    "status": 200}),
        json.dumps({"event": "access", "method": "GET", "path": "/api/orchestration/runs",
                    "status": 500}),
        json.dumps({"event": "access", "method": "GET", "path": "/healthz", "status": 503}),
        json.dumps({"message": "Booting worker"}), "not json"]) + "\n")
    assert WebTally.from_log("web-1", web_log) == WebTally("web-1", requests=3, accepted=1,
                                                            errors=1)
    worker_log = tmp_path / "worker.log"
    worker_log.write_text("\n".join(json.dumps(e) for e in [
        {"event": "run", "runId": "run-0"},
        {"event": "write", "status": "committed", "runId": "run-0", "new": True},
        {"event": "write", "status": "committed", "runId": "run-0", "new": False},
        {"event": "write", "status": "failed", "runId": "run-1"},
        {"event": "run", "runId": "someone-else"}]) + "\n")
    tally = WorkerTally.from_log("worker-1", worker_log, {"run-0", "run-1"})
    assert tally.pipelines == Counter({"run-0": 1})
    assert tally.writes == Counter({"run-0": 2})
    assert tally.created == Counter({"run-0": 1})


def test_the_proxy_statistics_are_read_per_server(tmp_path: Path) -> None:
    """HAProxy's CSV: the servers of the backend (type 2), their sessions and 2xx/5xx."""
    header = ("# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,"
              "eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,"
              "qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,"
              "check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,"
              "hrsp_5xx,hrsp_other,")
    cols = header.lstrip("# ").split(",")

    def row(px: str, sv: str, stot: int, kind: int, ok: int, bad: int) -> str:
        values = dict.fromkeys(cols, "")
        values.update(pxname=px, svname=sv, stot=str(stot), type=str(kind),
                      hrsp_2xx=str(ok), hrsp_5xx=str(bad), status="UP")
        return ",".join(values[c] for c in cols)

    csv_file = tmp_path / "stats.csv"
    csv_file.write_text("\n".join([header, row("cap01", "FRONTEND", 12, 0, 12, 0),
                                   row("cap01_web", "web-1", 7, 2, 7, 0),
                                   row("cap01_web", "web-2", 5, 2, 4, 1),
                                   row("cap01_web", "BACKEND", 12, 1, 11, 1)]) + "\n")
    assert proxy_stats(csv_file.as_uri()) == {
        "web-1": {"sessions": 7, "answers2xx": 7, "answers5xx": 0},
        "web-2": {"sessions": 5, "answers2xx": 4, "answers5xx": 1}}
