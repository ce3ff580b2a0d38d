"""A real Prometheus server scrapes the web app and a Celery worker and sees a run's metrics."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from contracts import parse_input
from orchestration.models import RunRecord
from orchestration.services import run_request_create
from orchestration.services.config import memory_sampled
from tests.conftest import free_port, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def prometheus(live_server, celery_worker, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Prometheus (Debian's) scraping the live web app and the worker every second."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("prometheus is missing: ops/bootstrap.sh installs Debian's prometheus package.")
    web = urllib.parse.urlparse(live_server.url).netloc
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"rule_files: ['{Path(__file__).resolve().parents[2] / 'ops/prometheus/alerts.yml'}']\n"
        "scrape_configs:\n"
        f"  - job_name: web\n    static_configs: [{{targets: ['{web}']}}]\n"
        f"  - job_name: worker\n    static_configs: "
        f"[{{targets: ['127.0.0.1:{celery_worker.metrics_port}']}}]\n")
    port = free_port()
    log = (tmp_path / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=log)
    api = f"http://127.0.0.1:{port}/api/v1/query"

    def query(expr: str) -> float | None:
        url = f"{api}?{urllib.parse.urlencode({'query': expr})}"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                result = json.load(response)["data"]["result"]
        except OSError:
            return None
        return float(result[0]["value"][1]) if result else None

    try:
        wait_for(lambda: query("min(up{job=~'web|worker'})") == 1.0, timeout=60)
        yield query
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_prometheus_sees_the_metrics_move_after_a_run(prometheus, graph):
    """Before a run the worker has no run counted; after it Prometheus has scraped the run's
    duration, write latency, stage durations and memory from the worker and requests from the
    web app. Durations are observed for runs not traced for memory (CAP01_MEMORY_SAMPLE_RATE):
    runs are submitted until one is untraced."""
    query = prometheus
    before = query("sum(orchestration_runs_total)") or 0.0
    request = parse_input({"userRequest": "tomato ketchup", "targetBatchSize": 3,
                           "targetUnit": "kg"})
    ids = [run_request_create(user=None, request=request).run_id]
    while memory_sampled(ids[-1]) and len(ids) < 20:
        ids.append(run_request_create(user=None, request=request).run_id)
    assert not memory_sampled(ids[-1])
    wait_for(lambda: RunRecord.objects.filter(run_id__in=ids, persisted_at__isnull=False)
             .count() == len(ids), timeout=60)
    wait_for(lambda: (query("sum(orchestration_runs_total)") or 0.0) >= before + len(ids),
             timeout=30)
    assert (query("sum(neo4j_write_latency_ms_count)") or 0) >= 1
    assert (query("sum(orchestration_duration_ms_count)") or 0) >= 1
    assert (query("sum(run_memory_mb_count)") or 0) >= 1
    assert (query("count(orchestration_stage_duration_ms_count)") or 0) == 5  # one per agent
    # Where the time went: queue, 5 stages, 4 hand-offs, outbox, writeQueue, write, ledger, ...
    assert (query("count(orchestration_segment_ms_count)") or 0) >= 14
    assert (query("sum(orchestration_segment_ms_count{segment='endToEnd'})") or 0) >= 1
    time.sleep(1.5)
    assert (query("sum(django_http_requests_total_by_method_total{job='web'})") or 0) > 0
