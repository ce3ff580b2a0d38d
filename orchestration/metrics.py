"""Prometheus metrics (design section 8), shared by web and worker processes.

Buckets resolve the budgets of design section 7 (each budget is a bucket bound). In gunicorn and
Celery prefork workers, set PROMETHEUS_MULTIPROC_DIR (ops/app.sh does) so that every child's
samples are collected: the web app serves them at /metrics (django-prometheus), the worker's main
process at http://127.0.0.1:$CAP01_WORKER_METRICS_PORT/metrics.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

_STAGE_MS = (10, 25, 50, 100, 200, 300, 400, 500, 800, 1200, 2000, 4000)
_STAGE_MB = (1, 5, 10, 25, 50, 60, 80, 120, 150, 200, 300)

ORCHESTRATION_DURATION_MS = Histogram(
    "orchestration_duration_ms", "End-to-end duration of a run (ms); budget 4000.",
    buckets=(100, 250, 500, 750, 1000, 1500, 2000, 3000, 4000, 6000, 10000, 30000))
NEO4J_WRITE_LATENCY_MS = Histogram(
    "neo4j_write_latency_ms", "Latency of one run's Neo4j write, retries included (ms); "
    "budget 450, alert at p95 > 750.",
    buckets=(5, 10, 25, 45, 100, 250, 450, 600, 750, 1000, 2500, 5000))
RUN_MEMORY_MB = Histogram(
    "run_memory_mb", "Peak resident memory of the worker during a run (MB); budget 600.",
    buckets=(50, 100, 150, 200, 300, 400, 480, 600, 800, 1200))
STAGE_DURATION_MS = Histogram(
    "orchestration_stage_duration_ms", "Duration of one agent stage (ms).", ["agent"],
    buckets=_STAGE_MS)
STAGE_MEMORY_MB = Histogram(
    "orchestration_stage_memory_mb", "tracemalloc peak of one agent stage (MB).", ["agent"],
    buckets=_STAGE_MB)
SEGMENT_MS = Histogram(
    "orchestration_segment_ms", "Where a run's time goes (ms), per segment: queue, stage:<Agent>, "
    "handoff:<Agent>, outbox, writeQueue, write, write:<part>, ledger, endToEnd "
    "(orchestration/segments.py); runs traced for memory are left out.", ["segment"],
    buckets=(1, 2, 5, 10, 20, 35, 50, 75, 100, 150, 250, 400, 600, 1000, 2000, 4000))
RUNS = Counter("orchestration_runs", "Finished runs by status.", ["status"])
WRITE_FAILURES = Counter("neo4j_write_failures", "Neo4j writes that failed after the policy.")
WRITE_RETRIES = Counter("neo4j_write_retries", "Extra attempts the write retry policy made.")
INGREDIENT_NAME_CLASHES = Counter(
    "neo4j_ingredient_name_clashes", "Ingredient ids a newly committed run used under another "
    "name than the graph's Ingredient node (which keeps its name; the run's is on "
    "HAS_INGREDIENT).")
BUDGET_BREACHES = Counter("orchestration_budget_breaches",
                          "Budget breaches by stage (an agent, Persistence or run) and kind.",
                          ["stage", "kind"])
QUEUE_DEPTH = Gauge("orchestration_queue_depth", "Runs waiting for a slot.",
                    multiprocess_mode="mostrecent")
RUNNING = Gauge("orchestration_running_runs", "Runs holding a slot.",
                multiprocess_mode="mostrecent")
REJECTED = Counter("orchestration_rejected_requests", "Requests refused because the queue was "
                   "full (HTTP 429).")
