"""Past one machine (issue 13): `make scale-out` at a small size. ops/scale_out.sh brings up
PostgreSQL as the ledger, two web instances behind HAProxy and two worker instances on the test
Neo4j and Redis (a broker database of its own), runs the load test over HTTP through the proxy
and audits the result; here with 20 runs (and 2 warm-up runs)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import free_port

pytestmark = [pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[2]
RUNS, WARMUP = 20, 2


@pytest.mark.timeout(600)
def test_two_web_and_two_worker_instances_lose_and_duplicate_nothing(neo4j_driver, tmp_path):  # type: ignore[no-untyped-def]
    """Every run the API accepted through the proxy is in the ledger and in Neo4j exactly once,
    created by exactly one worker write and read back through the proxy; both web instances
    answered (their logs, the proxy's statistics, the client's X-Served-By) and both worker
    instances ran pipelines and committed writes."""
    out = tmp_path / "report"
    env = {k: v for k, v in os.environ.items()
           if k not in {"DJANGO_DEBUG", "DJANGO_SECRET_KEY", "CAP01_SECURE_COOKIES",
                        "DATABASE_URL"}}
    web_ports = f"{free_port()} {free_port()}"
    env.update(
        CAP01_SERVICES_DIR=str(settings.SERVICES_DIR), NEO4J_PASSWORD=settings.NEO4J_PASSWORD,
        NEO4J_BOLT_PORT=settings.NEO4J_URI.rsplit(":", 1)[1],
        REDIS_PORT=settings.REDIS_URL.rsplit(":", 1)[1].split("/")[0],
        # A broker (and admission state) of its own: the session's worker, consuming the test
        # broker, must not take these runs.
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL.rsplit("/", 1)[0] + "/4",
        # The PostgreSQL of `make test-postgres` (ops/postgres.sh's defaults), left as found.
        CAP01_PG_PORT=os.environ.get("CAP01_PG_PORT", "15432"),
        CAP01_PG_DIR=str(ROOT / ".services" / "pg"),
        SCALE_OUT_RUNS=str(RUNS), SCALE_OUT_WARMUP=str(WARMUP), SCALE_OUT_CONCURRENCY="6",
        SCALE_OUT_PROXY_PORT=str(free_port()), SCALE_OUT_WEB_PORTS=web_ports,
        SCALE_OUT_STATS_PORT=str(free_port()), SCALE_OUT_OUT=str(out))
    result = subprocess.run([str(ROOT / "ops" / "scale_out.sh")], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=540)
    assert result.returncode == 0, (f"ops/scale_out.sh exited {result.returncode}:\n"
                                    f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    report = json.loads((out / "scale-out.json").read_text(encoding="utf-8"))
    assert report["passed"], [c for c in report["checks"] if not c["passed"]]
    assert report["runs"] == RUNS + WARMUP
    web = {w["name"]: w for w in report["web"]}
    assert set(web) == {"web-1", "web-2"}
    assert all(w["requests"] > 0 for w in web.values())
    assert sum(w["accepted"] for w in web.values()) == RUNS + WARMUP
    assert set(report["servedBy"]) == {"web-1", "web-2"}
    assert all(s["answers2xx"] > 0 for s in report["proxy"].values())
    workers = {w["name"]: w for w in report["workers"]}
    assert set(workers) == {"worker-1", "worker-2"}
    assert all(w["pipelines"] > 0 and w["runsCreated"] > 0 for w in workers.values())
    assert sum(w["runsCreated"] for w in workers.values()) == RUNS + WARMUP
    # What the script started it stopped: no proxy or app process left behind.
    for name in ("haproxy/pid", "app-web-1/web.pid", "app-web-2/web.pid",
                 "app-worker-1/worker.pid", "app-worker-2/worker.pid"):
        assert not (Path(settings.SERVICES_DIR) / name).exists(), name
