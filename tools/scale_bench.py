"""The scale benchmark (issue 13): what users meet at the graph's present size.

Measured from a client as users reach the app: Django's test client in this process, through
the whole stack (middleware, authentication, DRF, selectors, Neo4j), logged in as one of the
fill's users (the owner of the newest replay, a tenth of the runs) or, for the admin, a
superuser. Per endpoint:
`samples` timed requests after one untimed warm-up, p50/p95 in ms, beside the floor measured
in the same run (a Bolt round trip `RETURN 1`, and a Django request that does no I/O: the
health check... of the web stack alone is `GET /login/`). Then: the write (POST
/api/orchestration/runs of new runs of the mix), a retention pass (runs condensed per second),
blob garbage collection; Neo4j's store size (its data folder), heap (JMX), and the page-cache
hit ratio of the hot read statements (PROFILE of each: hits / (hits + misses); Neo4j 5.26
Community's slotted runtime reports 0 for both and has no page-cache MBean, so the report says
n/a there and the sizing advice rests on the store size); this process's
resident memory before and after the timed requests (the web side's; the worker's write path is
the same writer). Targets (issue 13) are printed beside the figures, never asserted.

The report accumulates sizes in reports/scale.json; reports/scale.md and reports/scale.svg are
written again from all of them.
"""

from __future__ import annotations

import json
import resource
import statistics
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.test import Client, override_settings

from graphstore.connection import database, get_driver
from orchestration.models import RunRecord
from orchestration.services import rollups_refresh, runs_condense
from orchestration.services.retention import blobs_collect

from .bench import percentile
from .scale_fill import MEASURE_DAYS, load_anchor, owners
from .scale_mix import PREFIX, build, plan

TARGET_READ_MS = 150.0
TARGET_ANALYTICS_MS = 500.0
TARGET_RETENTION_RPS = 500.0
RETENTION_BATCH = 500  # runs per condensing transaction (the condense_runs default)
ANALYTICS = ("agents", "budget-breaches", "ingredients", "costs", "validation-errors")
API = "/api/orchestration"
# the run page's "Similar runs", which the page fetches once shown (orchestration/web/views.py)
SIMILAR_BLOCK = "run page: its similar runs (web, fetched by the page)"
WRITE_WARMUP = 50  # untimed writes first: every shape of run the mix has (see measure)


def rss_mb() -> float:
    """This process's resident memory now (Linux /proc), in MB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(action: Callable[[], Any], samples: int) -> tuple[list[float], Any]:
    action()  # warm-up, untimed
    out: list[float] = []
    last = None
    for _ in range(samples):
        t = time.perf_counter()
        last = action()
        out.append((time.perf_counter() - t) * 1000)
    return out, last


def _get(client: Client, url: str) -> Callable[[], Any]:
    def go() -> Any:
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"GET {url}: {response.status_code} {response.content[:300]!r}")
        return response
    return go


def _row(name: str, kind: str, values: list[float]) -> dict[str, Any]:
    return {"name": name, "kind": kind, "samples": len(values),
            "p50": round(percentile(values, 50), 2), "p95": round(percentile(values, 95), 2)}


def neo4j_figures(store_dir: Path | None) -> dict[str, Any]:
    driver = get_driver()
    rec = driver.execute_query(
        'CALL dbms.queryJmx("java.lang:type=Memory") YIELD attributes RETURN attributes',
        database_=database()).records[0]["attributes"]
    heap = rec["HeapMemoryUsage"]["value"]["properties"]
    counts = driver.execute_query(
        "CALL () { MATCH (n) RETURN count(n) AS nodes } "
        "CALL () { MATCH ()-[r]->() RETURN count(r) AS rels } RETURN nodes, rels",
        database_=database()).records[0]
    size = None
    if store_dir is not None and store_dir.exists():
        size = sum(p.stat().st_size for p in store_dir.rglob("*") if p.is_file())
    return {"heapUsedMb": round(heap["used"] / 2**20, 1),
            "heapMaxMb": round(heap["max"] / 2**20, 1),
            "storeMb": round(size / 2**20, 1) if size is not None else None,
            "nodes": counts["nodes"], "relationships": counts["rels"]}


def page_cache(statements: Sequence[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """PROFILE each statement once (warm): page-cache hits and misses summed over the plan."""
    hits = misses = 0
    driver = get_driver()

    def walk(plan: Any) -> tuple[int, int]:
        h, m = plan.get("pageCacheHits", 0), plan.get("pageCacheMisses", 0)
        for child in plan.get("children", []):
            ch, cm = walk(child)
            h, m = h + ch, m + cm
        return h, m

    for text, params in statements:
        with driver.session(database=database()) as session:
            session.run(text, params).consume()
            summary = session.run("PROFILE " + text, params).consume()
        h, m = walk(summary.profile or {})
        hits, misses = hits + h, misses + m
    return {"hits": hits, "misses": misses,
            "ratio": round(hits / (hits + misses), 4) if hits + misses else None}


def measure(*, state: Path, samples: int, writes: int, store_dir: Path | None,
            log: Callable[[str], None], retention_runs: int = 300,
            analytics_only: bool = False, retrieval_only: bool = False) -> dict[str, Any]:
    """Everything (the report's figures at this size), or with `analytics_only` the floors and
    the analytics windows alone (after bringing the daily rollups up to date), or with
    `retrieval_only` the floors and the reads that rank similar runs (run page, runs like this
    one, context, similar ?q=) beside run detail: reads only, nothing condensed or written to
    the graph (nor reports, with retrieval_only)."""
    anchor = load_anchor(state, now=datetime.now(UTC))
    owners()
    size = RunRecord.objects.filter(run_id__startswith=PREFIX).count()
    # the user of the newest replay (by start) whose original is in full (a tenth of the runs)
    replays = {p.run_id: p.replay_of for p in (plan(i, anchor) for i in range(size))
               if p.replay_of}
    full = set(RunRecord.objects.filter(condensed_at__isnull=True, status="succeeded",
                                        run_id__in=[*replays, *replays.values()])
               .values_list("run_id", flat=True))
    replay = (RunRecord.objects.filter(run_id__in=[r for r, o in replays.items()
                                                   if r in full and o in full])
              .order_by("-created_at").select_related("submitted_by").first())
    if replay is None or replay.submitted_by is None:
        raise RuntimeError("no replay of a full run: fill the graph first (manage.py scale_fill)")
    user = replay.submitted_by
    admin, _ = get_user_model().objects.get_or_create(
        username="scale-admin", defaults={"is_staff": True, "is_superuser": True})
    client, admin_client = Client(), Client()
    client.force_login(user)
    admin_client.force_login(admin)
    log(f"scale_bench: {size} runs of the mix; {samples} samples per endpoint")
    mine = RunRecord.objects.filter(submitted_by=user, run_id__startswith=PREFIX)
    run = mine.filter(condensed_at__isnull=True, status="succeeded").order_by("-created_at").first()
    condensed = mine.filter(condensed_at__isnull=False).first()
    if run is None:
        raise RuntimeError(f"{user} has no full succeeded run: fill the graph first")
    day1 = (anchor - timedelta(days=1)).isoformat().replace("+00:00", "Z")
    day30 = (anchor - timedelta(days=30)).isoformat().replace("+00:00", "Z")
    until = (anchor + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    rows: list[dict[str, Any]] = []
    rss_before = rss_mb()

    # floors
    driver = get_driver()
    bolt, _ = timed(lambda: driver.execute_query("RETURN 1", database_=database()), samples)
    rows.append(_row("floor: Bolt round trip (RETURN 1)", "floor", bolt))
    web, _ = timed(_get(client, "/healthz"), samples)
    rows.append(_row("floor: GET /healthz", "floor", web))
    for floor in rows:
        log(f"  {floor['name']}: p50 {floor['p50']} ms, p95 {floor['p95']} ms")

    def add(name: str, kind: str, url: str, c: Client = client, n: int = samples) -> Any:
        values, response = timed(_get(c, url), n)
        rows.append(_row(name, kind, values))
        log(f"  {name}: p50 {rows[-1]['p50']} ms, p95 {rows[-1]['p95']} ms")
        return response

    if retrieval_only:
        add("run detail (API)", "read", f"{API}/runs/{run.run_id}")
        add("run page (web)", "page", f"/runs/{run.run_id}/")
        add(SIMILAR_BLOCK, "page", f"/runs/{run.run_id}/similar/")
        add("runs like this one (API, 5)", "read", f"{API}/runs/{run.run_id}/similar?limit=5")
        add("context", "read", f"{API}/runs/{run.run_id}/context")
        add("similar runs ?q=lemon vinaigrette", "read",
            f"{API}/runs/similar?q=lemon+vinaigrette")
        return {"size": size, "measuredAt": datetime.now(UTC).isoformat(timespec="seconds"),
                "rows": rows}

    if analytics_only:
        rollups = analytics_rows(add, client=client, admin_client=admin_client, day1=day1,
                                 day30=day30, until=until, log=log)
        return {"size": size, "measuredAt": datetime.now(UTC).isoformat(timespec="seconds"),
                "anchor": anchor.isoformat(), "rows": rows, "rollups": rollups}

    # the run history list, its filters, a deep cursor page
    add("run list", "read", f"{API}/runs")
    add("run list ?status=failed", "read", f"{API}/runs?status=failed")
    add("run list ?failedAgent=QAValidator", "read", f"{API}/runs?failedAgent=QAValidator")
    add("run list ?since&until (1 day)", "read", f"{API}/runs?since={day1}&until={until}")
    add("run list ?text=vinaigrette", "read", f"{API}/runs?text=vinaigrette")
    url = f"{API}/runs?page_size=200"
    depth = 0
    while depth < 10:
        nxt = client.get(url).json().get("next")
        if not nxt:
            break
        url, depth = nxt, depth + 1
    add(f"run list, cursor page {depth + 1} (200 a page)", "read", url)
    add("run list page (web)", "page", "/runs/")
    add("run detail (API)", "read", f"{API}/runs/{run.run_id}")
    if condensed is not None:
        add("run detail, condensed (API)", "read", f"{API}/runs/{condensed.run_id}")
    add("run page (web)", "page", f"/runs/{run.run_id}/")
    add(SIMILAR_BLOCK, "page", f"/runs/{run.run_id}/similar/")
    add("run status", "read", f"{API}/runs/{run.run_id}/status")
    add("replay read (API detail of a replay)", "read", f"{API}/runs/{replay.run_id}")
    # both sides of a diff must be the caller's (a replay's original here belongs to another)
    add("diff (two full runs)", "read", f"{API}/runs/{replay.run_id}/diff?against={run.run_id}")
    add("similar runs ?q=lemon vinaigrette", "read", f"{API}/runs/similar?q=lemon+vinaigrette")
    add("context", "read", f"{API}/runs/{run.run_id}/context")
    rollups = analytics_rows(add, client=client, admin_client=admin_client, day1=day1,
                             day30=day30, until=until, log=log)
    add("admin run changelist", "page", "/admin/orchestration/runrecord/", c=admin_client)
    add("admin run changelist ?q=", "page", "/admin/orchestration/runrecord/?q=vinaigrette",
        c=admin_client)
    add("admin graph browser: OrchestrationRun list", "page", "/admin/graph/OrchestrationRun/",
        c=admin_client)
    add("admin graph browser: a run node", "page",
        f"/admin/graph/OrchestrationRun/{run.run_id}/", c=admin_client)
    add("admin graph browser: Ingredient ing-salt", "page", "/admin/graph/Ingredient/ing-salt/",
        c=admin_client)
    rss_after = rss_mb()

    # the write, as a client posts a run. Neo4j caches a statement's plan per text AND
    # parameter types: a failed run (empty row lists where a full run has rows) or a large one
    # is planned apart, once, for 1.5-4 s here (and a plan is made again when the graph's
    # statistics have moved since, as after a fill). The first 50 runs of the mix hold every shape
    # (failed at each later stage, large, full): written untimed first, their slowest kept.
    warm_ms: list[float] = []
    write_ms: list[float] = []
    base = 10_000_000 + size * 100
    for i in range(WRITE_WARMUP + writes):
        planned = plan(base + i, anchor)
        body = build(planned, anchor).to_wire()
        body["metadata"]["id"] = f"bench-write-{size}-{i}"
        body["metadata"].pop("replayOf", None)
        t = time.perf_counter()
        response = client.post(f"{API}/runs", data=json.dumps(body),
                               content_type="application/json")
        if response.status_code not in (200, 201):
            raise RuntimeError(f"POST runs: {response.status_code} {response.content[:300]!r}")
        (warm_ms if i < WRITE_WARMUP else write_ms).append((time.perf_counter() - t) * 1000)
    rows.append(_row("write: POST /runs (ledger + Neo4j)", "write", write_ms))
    log(f"  write: p50 {rows[-1]['p50']} ms, p95 {rows[-1]['p95']} ms; warm-up (every shape "
        f"planned once) max {max(warm_ms):.0f} ms")

    # retention over the `retention_runs` oldest full runs, whatever the size; blob gc
    retention = retention_pass(anchor, runs=retention_runs)
    t = time.perf_counter()
    gc_line = blobs_collect(grace_s=3600)
    gc_s = time.perf_counter() - t
    log(f"  retention: {retention}; blob gc {gc_s:.2f} s ({gc_line})")

    hot = hot_statements(anchor, run.run_id, user.pk)
    figures = {
        "size": size, "measuredAt": datetime.now(UTC).isoformat(timespec="seconds"),
        "anchor": anchor.isoformat(), "rows": rows, "retention": retention, "rollups": rollups,
        "writeWarmup": {"runs": len(warm_ms), "maxMs": round(max(warm_ms), 1),
                        "p50Ms": round(statistics.median(warm_ms), 1)},
        "blobGc": {"seconds": round(gc_s, 3), "report": gc_line},
        "neo4j": {**neo4j_figures(store_dir), "pageCache": page_cache(hot)},
        "process": {"rssBeforeMb": round(rss_before, 1), "rssAfterMb": round(rss_after, 1)},
        "ledgerRows": RunRecord.objects.count(),
        "fullRuns": RunRecord.objects.filter(Q(condensed_at__isnull=True)).count(),
    }
    return figures


def retention_pass(anchor: datetime, *, runs: int,
                   batch_size: int = RETENTION_BATCH) -> dict[str, Any]:
    """A timed retention pass (`runs_condense`, graph and ledger, as `condense_runs` runs it)
    over the `runs` oldest full runs of the mix (and at least those older than MEASURE_DAYS):
    runs condensed per second. It condenses them: each pass takes the next oldest."""
    oldest = (RunRecord.objects.filter(condensed_at__isnull=True, persisted_at__isnull=False,
                                       run_id__startswith=PREFIX)
              .order_by("started_at").values_list("started_at", flat=True)
              [runs - 1:runs].first())
    cutoff = anchor - timedelta(days=MEASURE_DAYS)
    if oldest is not None:
        cutoff = max(cutoff, oldest + timedelta(seconds=1))
    cutoff_days = (anchor - cutoff).total_seconds() / 86400
    neo4j_cpu, python_cpu = neo4j_cpu_s(), time.process_time()
    t = time.perf_counter()
    outcome = runs_condense(now=anchor, days=cutoff_days,  # type: ignore[arg-type]
                            batch_size=batch_size)
    seconds = time.perf_counter() - t
    neo4j_cpu, python_cpu = neo4j_cpu_s() - neo4j_cpu, time.process_time() - python_cpu
    condensed = len(outcome.graph.runs)
    return {"runs": condensed, "ledgerRows": len(outcome.ledger), "batchSize": batch_size,
            "seconds": round(seconds, 2),
            "runsPerSecond": round(condensed / seconds, 1) if seconds else None,
            # CPU the pass used (Neo4j's process, this one): what it costs whatever else runs
            "cpuMsPerRun": {"neo4j": round(1000 * neo4j_cpu / condensed, 2),
                            "python": round(1000 * python_cpu / condensed, 2)}
            if condensed else None,
            "cutoffDays": round(cutoff_days, 2)}


def neo4j_cpu_s() -> float:
    """The Neo4j server process's CPU time so far (JMX), in seconds."""
    rec = get_driver().execute_query(
        'CALL dbms.queryJmx("java.lang:type=OperatingSystem") YIELD attributes '
        "RETURN attributes", database_=database()).records[0]["attributes"]
    return float(rec["ProcessCpuTime"]["value"]) / 1e9


def retention_only(*, state: Path, runs: int, batch_size: int, passes: int,
                   log: Callable[[str], None]) -> list[dict[str, Any]]:
    """`scale_bench --retention-only`: `passes` timed retention passes of `runs` runs each, one
    after the other, nothing else measured or written."""
    anchor = load_anchor(state, now=datetime.now(UTC))
    out = []
    for i in range(passes):
        figures = retention_pass(anchor, runs=runs, batch_size=batch_size)
        log(f"retention pass {i + 1}/{passes}: {figures['runs']} runs condensed "
            f"({figures['ledgerRows']} ledger rows) in {figures['seconds']} s = "
            f"{figures['runsPerSecond']} runs/s (batches of {batch_size}; target >= "
            f"{TARGET_RETENTION_RPS:.0f}); CPU per run, ms: {figures['cpuMsPerRun']}")
        out.append(figures)
    return out


def analytics_rows(add: Callable[..., Any], *, client: Client, admin_client: Client, day1: str,
                   day30: str, until: str, log: Callable[[str], None]) -> dict[str, Any]:
    """Bring the daily analytics rollups up to date (timed: a backfill the first time), then time
    every analytics endpoint over 1 and 30 days as the user and as an auditor, and the auditor's
    30-day agents with the rollups switched off (the raw path, for comparison)."""
    t = time.perf_counter()
    report = rollups_refresh()
    rolled = {**report.as_dict(), "seconds": round(time.perf_counter() - t, 2)}
    log(f"  analytics rollups brought up to date: {rolled}")
    for name in ANALYTICS:
        for label, since in (("1 day", day1), ("30 days", day30)):
            add(f"analytics/{name} ({label})", "analytics",
                f"{API}/analytics/{name}?since={since}&until={until}")
    add("analytics page (web, 30 days)", "analytics", "/analytics/")
    for name in ANALYTICS:
        add(f"analytics/{name} (30 days, auditor: every run)", "analytics",
            f"{API}/analytics/{name}?since={day30}&until={until}", c=admin_client)
    with override_settings(CAP01_ANALYTICS_ROLLUPS=False):
        add("analytics/agents (30 days, auditor, rollups off: raw)", "analytics",
            f"{API}/analytics/agents?since={day30}&until={until}", c=admin_client)
    return rolled


def hot_statements(anchor: datetime, run_id: str, owner_pk: Any
                   ) -> list[tuple[str, dict[str, Any]]]:
    """The hot read statements with the parameters the benchmark's requests give them."""
    from graphstore.cypher import analytics as a
    from graphstore.cypher.read import LOAD_RUN
    from graphstore.cypher.retrieval import RUN_CONTEXT

    window = {"since": anchor - timedelta(days=30), "until": anchor + timedelta(hours=1),
              "ownerId": str(owner_pk)}
    return [
        (LOAD_RUN, {"runId": run_id}),
        (RUN_CONTEXT, {"runId": run_id}),
        (a.RUN_TOTALS["owned"], window),
        (a.AGENT_STATS["owned"], window),
        (a.TOP_INGREDIENTS["owned"], {**window, "limit": 10}),
    ]


# --- the report ------------------------------------------------------------------------------


def _target(row: dict[str, Any]) -> str:
    if row["kind"] in ("read", "page"):
        return f"<= {TARGET_READ_MS:.0f}"
    if row["kind"] == "analytics" and "30 days" in row["name"]:
        return f"<= {TARGET_ANALYTICS_MS:.0f}"
    return ""


def markdown(data: dict[str, Any]) -> str:
    sizes = sorted(data["sizes"].values(), key=lambda d: d["size"])
    names: list[str] = []
    for d in sizes:
        for row in d["rows"]:
            if row["name"] not in names:
                names.append(row["name"])
    head = " | ".join(f"{d['size']:,} runs p50 / p95" for d in sizes)
    lines = ["# Scale: cost against the size of the graph (issue 13)", "",
             "Written by `manage.py scale_bench` (tools/scale_bench.py); the graph filled by "
             "`manage.py scale_fill` (tools/scale_fill.py). Milliseconds, from Django's test "
             "client through the whole stack, on the shared 2-core machine (other work running: "
             "read the floors in the same column, not the absolute figures). Targets from the "
             "issue, printed, not asserted.", "",
             f"| what | kind | {head} | target p95 |",
             "|---|---|" + "---|" * len(sizes) + "---|"]
    for name in names:
        cells = []
        kind = target = ""
        for d in sizes:
            row = next((r for r in d["rows"] if r["name"] == name), None)
            if row is None:
                cells.append("")
                continue
            kind, target = row["kind"], _target(row)
            cells.append(f"{row['p50']:.1f} / {row['p95']:.1f}")
        lines.append(f"| {name} | {kind} | {' | '.join(cells)} | {target} |")
    lines += ["", "| figure | " + " | ".join(f"{d['size']:,} runs" for d in sizes) + " |",
              "|---|" + "---|" * len(sizes)]

    def fig(label: str, get: Callable[[dict[str, Any]], Any]) -> None:
        lines.append(f"| {label} | " + " | ".join(str(get(d)) for d in sizes) + " |")

    fig("retention pass: runs condensed (the oldest full ones)", lambda d: d["retention"]["runs"])
    fig(f"retention pass: runs per second (target >= {TARGET_RETENTION_RPS:.0f})",
        lambda d: d["retention"]["runsPerSecond"])
    fig("write warm-up: slowest of 50 (a shape's first plan), ms",
        lambda d: d.get("writeWarmup", {}).get("maxMs", ""))
    fig("blob GC: seconds", lambda d: d["blobGc"]["seconds"])
    fig("Neo4j nodes", lambda d: f"{d['neo4j']['nodes']:,}")
    fig("Neo4j relationships", lambda d: f"{d['neo4j']['relationships']:,}")
    fig("Neo4j store on disk (MB)", lambda d: d["neo4j"]["storeMb"])
    fig("Neo4j heap used / max (MB)",
        lambda d: f"{d['neo4j']['heapUsedMb']} / {d['neo4j']['heapMaxMb']}")
    fig("page-cache hit ratio of the hot reads (PROFILE)",
        lambda d: d["neo4j"]["pageCache"]["ratio"] if d["neo4j"]["pageCache"]["ratio"] is not None
        else "n/a (Community: no counters)")
    fig("store per run (KB)", lambda d: round(d["neo4j"]["storeMb"] * 1024 / d["size"], 1)
        if d["neo4j"]["storeMb"] else "")
    fig("web process RSS before / after the reads (MB)",
        lambda d: f"{d['process']['rssBeforeMb']} / {d['process']['rssAfterMb']}")
    fig("ledger rows", lambda d: f"{d['ledgerRows']:,}")
    return "\n".join(lines) + "\n"


def chart(data: dict[str, Any], path: Path) -> None:
    """Latency (p95) against graph size, one line per endpoint, log-log, as SVG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted(data["sizes"].values(), key=lambda d: d["size"])
    names: list[str] = []
    for d in sizes:
        names += [r["name"] for r in d["rows"] if r["name"] not in names]
    fig, axes = plt.subplots(1, 2, figsize=(13, 6), sharey=True)
    for ax, kinds, title in ((axes[0], ("read", "page", "write", "floor"), "reads, pages, write"),
                             (axes[1], ("analytics", "floor"), "analytics")):
        for name in names:
            points = [(d["size"], r["p95"]) for d in sizes for r in d["rows"]
                      if r["name"] == name and r["kind"] in kinds]
            if points:
                style = ":" if name.startswith("floor") else "-"
                ax.plot(*zip(*points, strict=True), style, marker="o", markersize=3,
                        linewidth=1, label=name)
        ax.axhline(TARGET_READ_MS if kinds[0] == "read" else TARGET_ANALYTICS_MS,
                   color="crimson", linestyle="--", linewidth=1)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("runs in the graph")
        ax.set_title(f"p95 ms: {title} (dashed red: target)", fontsize=10)
        ax.legend(fontsize=5.5, loc="upper left")
    axes[0].set_ylabel("p95 latency, ms")
    fig.tight_layout()
    fig.savefig(path, format="svg")
    plt.close(fig)


def write_report(figures: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "scale.json"
    data: dict[str, Any] = {"sizes": {}}
    if path.exists():
        data = json.loads(path.read_text())
    data["sizes"][str(figures["size"])] = figures
    path.write_text(json.dumps(data, indent=1))
    (out_dir / "scale.md").write_text(markdown(data))
    chart(data, out_dir / "scale.svg")
    return data
