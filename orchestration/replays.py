"""Replay a stored run with the current agents, and compare two runs (issue part 2).

A replay re-executes a persisted run: its input contract is read back from Neo4j (the run's
UserRequest holds all of it: text, batch size, unit, cost and density maps, config flags) and
submitted through the normal intake (ledger, backpressure queue, the Celery chain of the five
stages) as a new run whose ledger row and metadata carry `replayOf`; the writer links
`(replay)-[:REPLAY_OF]->(original)` in the run's own transaction. The stored configSnapshot
records which agents produced the original; the replay runs the agents configured now and its
own configSnapshot records those, so the diff's `context.agents` shows what changed. A condensed
original can be replayed too: its UserRequest and configSnapshot are kept.

The diff (orchestration/diff.py, pure) compares the artifacts of two persisted runs as read back
from Neo4j: by default a replay against the run it replays.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from neo4j.exceptions import DriverError, Neo4jError

from contracts import RunResult
from graphstore.errors import ReplayError, RunNotFound

from .diff import diff_rows, diff_runs
from .models import RunRecord
from .selectors import run_replay
from .services import run_request_create

logger = logging.getLogger(__name__)


class DiffBaseMissing(ValueError):
    """No run to compare with: `against` was not given and the run is not a replay."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(f"Run {run_id} is not a replay, so there is no run to compare it with "
                         "by default; name one with ?against=<runId>.")


def run_replay_create(*, user: AbstractBaseUser | AnonymousUser | None,
                      run_id: str) -> RunRecord:
    """Queue a replay of the persisted run `run_id` (RunNotFound when it is not in Neo4j;
    QueueFull when the intake queue is full, as for any request)."""
    original = run_replay(run_id=run_id)
    return run_request_create(user=user, request=original.request, replay_of=run_id)


def run_diff_get(*, run_id: str, against: str | None = None) -> dict[str, Any]:
    """The diff from `against` (default: the run `run_id` replays) to `run_id`, both read back
    from Neo4j. RunNotFound when either is not persisted; DiffBaseMissing when there is no
    default to compare with."""
    head = run_replay(run_id=run_id)
    base_id = against or head.metadata.replay_of
    if not base_id:
        raise DiffBaseMissing(run_id)
    return diff_runs(run_replay(run_id=base_id), head)


# --- the run page ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunHistory:
    """What the run page shows about replays: the diff against the original (for a replay),
    why there is none, and the replays of this run."""

    replay_of: str
    diff: dict[str, Any] | None
    note: str
    replays: list[RunRecord] = field(default_factory=list)

    @property
    def rows(self) -> list[dict[str, str]]:
        return diff_rows(self.diff) if self.diff is not None else []


def run_history_get(*, record: RunRecord, run: RunResult | None) -> RunHistory:
    """The replay side of a run's page. Never raises for a missing or unreadable original: the
    page says why there is no diff."""
    replay_of = record.replay_of or (run.metadata.replay_of if run is not None else None) or ""
    replays = list(RunRecord.objects.filter(replay_of=record.run_id)
                   .only("run_id", "status", "created_at").order_by("-created_at")[:20])
    if not replay_of:
        return RunHistory("", None, "", replays)
    if record.persisted_at is None:
        return RunHistory(replay_of, None, "The diff with the original appears once this run "
                          "is persisted.", replays)
    try:
        diff = run_diff_get(run_id=record.run_id, against=replay_of)
    except RunNotFound as exc:
        return RunHistory(replay_of, None, f"No diff: {exc}", replays)
    except ReplayError as exc:
        return RunHistory(replay_of, None, f"No diff: a run cannot be read back ({exc}).",
                          replays)
    except (Neo4jError, DriverError, OSError) as exc:
        logger.warning("run page of %s: no diff, Neo4j is not reachable: %s", record.run_id, exc)
        return RunHistory(replay_of, None, f"No diff: Neo4j is not reachable right now "
                          f"({type(exc).__name__}).", replays)
    return RunHistory(replay_of, diff, "", replays)
