"""The Celery app of the fault-injection workers (`celery -A faultworker`, this folder on the path):
cap01's own app, tasks and settings, plus two test-only knobs read from the environment. Nothing
outside tests/resilience uses it.

CAP01_FAULT_RESTORE_INTERVAL_S
    How often the worker sweeps Redis for unacknowledged messages whose visibility timeout
    (CAP01_VISIBILITY_TIMEOUT_S) has passed and puts them back on their queue. kombu sweeps
    every 10 s but scans only every 10th sweep (about every 100 s); with a short visibility
    timeout the sweep has to be frequent too, or a redelivery waits for the next scan.
CAP01_FAULT_HOLD_WRITE
    A file path. The first Neo4j write any process of this worker makes runs its statements,
    then, before COMMIT, writes its runId to the file and keeps the transaction open for
    CAP01_FAULT_HOLD_S (default 120) seconds: the test kills the worker meanwhile, so the worker
    dies in the middle of a write.
CAP01_FAULT_BREAK_CHAIN
    "<agent>:<file path>". The first time any process of this worker runs that agent's stage,
    the stage runs, then its task fails as if the broker had refused the next stage's message
    (kombu OperationalError; in the inline mode, the task running the whole pipeline fails
    there), and the runId is written to the file: the run's chain is broken.
"""

from __future__ import annotations

import os
import time
from typing import Any

from celery import signals

from cap01.celery import app

__all__ = ["app"]

_restore_interval = os.environ.get("CAP01_FAULT_RESTORE_INTERVAL_S")
if _restore_interval:
    app.conf.broker_transport_options = {
        **(app.conf.broker_transport_options or {}),
        "unacked_restore_interval": float(_restore_interval), "unacked_restore_throttle": 1}


def _claim(path: str, run_id: str) -> bool:
    """True the first time across all processes of this worker (O_EXCL); the runId is then
    written to `path` (atomically: it appears complete)."""
    try:
        os.close(os.open(f"{path}.claimed", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    with open(f"{path}.tmp", "w", encoding="utf-8") as handle:
        handle.write(run_id)
    os.replace(f"{path}.tmp", path)
    return True


@signals.worker_process_init.connect
def _break_chain(**_: object) -> None:
    spec = os.environ.get("CAP01_FAULT_BREAK_CHAIN")
    if not spec:
        return
    agent, _, path = spec.partition(":")

    from kombu.exceptions import OperationalError

    from orchestration.services import stages

    stage_step = stages.stage_step

    def breaking_stage_step(*, agent_name: str, envelope: Any, **options: Any) -> Any:
        result = stage_step(agent_name=agent_name, envelope=envelope, **options)
        if agent_name == agent and _claim(path, envelope.metadata.run_id):
            raise OperationalError("the broker refused the next stage's message (fault test)")
        return result

    stages.stage_step = breaking_stage_step  # type: ignore[assignment]


@signals.worker_process_init.connect
def _hold_first_write(**_: object) -> None:
    """In each prefork child (Django is set up by then): wrap the writer the services use."""
    path = os.environ.get("CAP01_FAULT_HOLD_WRITE")
    if not path:
        return
    hold_s = float(os.environ.get("CAP01_FAULT_HOLD_S", "120"))

    from graphstore import connection
    from graphstore.mapper import GraphWriteSet
    from graphstore.writer import RetryPolicy, RunWriter
    from orchestration.services import persistence

    class HoldingWriter(RunWriter):
        def _transaction(self, tx: Any, write_set: GraphWriteSet, params: dict[str, Any],
                         attempt: int) -> tuple[bool, int, int]:
            outcome = super()._transaction(tx, write_set, params, attempt)
            if _claim(path, write_set.run_id):  # only the first write of the whole worker
                time.sleep(hold_s)
            return outcome

    def get_writer(*, retry: RetryPolicy | None = None) -> RunWriter:
        return HoldingWriter(connection.get_driver(), database=connection.database(),
                             blob_store=connection.get_blob_store(),
                             retry=retry or connection.retry_policy())

    persistence.get_writer = get_writer  # type: ignore[assignment]
