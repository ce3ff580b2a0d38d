"""Writes of the orchestration app, in the order a run meets them:

    intake.py       run_request_create (ledger row, backpressure queue), runs_dispatch
    stages.py       pipeline_run (every stage in one process), stage_run (one stage per task),
                    run_finish (the run into the outbox, then written at once)
    persistence.py  the outbox (normalized once), outbox_write / run_persist (the Neo4j write),
                    run_result_ingest (a RunResult from elsewhere: API and `ingest_run`),
                    run_results_check (ingest_run's runs, all checked before any is written)
    reconcile.py    outbox_reconcile (re-enqueue accepted work that is not done)
    replays.py      run_replay_create
    retention.py    runs_condense, blobs_collect
    rollups.py      rollups_refresh (daily analytics rollups), runs_changed (a closed day changed)
    enqueue.py      send tasks by name (the services never import orchestration.tasks)
    config.py       what the services read from settings (agents, budgets, TTL, clock)

Functions take keyword-only, typed arguments; views, APIs, the admin, commands and Celery tasks
call them and stay thin. Reads live in orchestration/selectors.py.
"""

from .config import agents
from .intake import admission, run_request_create, runs_dispatch
from .persistence import (
    IngestOutcome,
    outbox_backoff,
    run_persist,
    run_result_ingest,
    run_results_check,
)
from .reconcile import outbox_reconcile
from .replays import run_replay_create
from .retention import runs_condense
from .rollups import rollups_refresh, runs_changed
from .stages import pipeline_run, run_finish, stage_run

__all__ = [
    "IngestOutcome", "admission", "agents", "outbox_backoff", "outbox_reconcile", "pipeline_run",
    "run_finish",
    "run_persist", "run_replay_create", "run_request_create", "run_result_ingest",
    "run_results_check",
    "rollups_refresh", "runs_changed", "runs_condense", "runs_dispatch", "stage_run",
]
