"""Replay a stored run with the current agents.

A replay re-executes a persisted run: its input contract is read back from Neo4j (the run's
UserRequest holds all of it: text, batch size, unit, cost and density maps, config flags) and
submitted through the normal intake (ledger, backpressure queue, the Celery chain of the five
stages) as a new run whose ledger row and metadata carry `replayOf`; the writer links
`(replay)-[:REPLAY_OF]->(original)` in the run's own transaction. The stored configSnapshot
records which agents produced the original; the replay runs the agents configured now and its
own configSnapshot records those, so the diff's `context.agents` shows what changed. A condensed
original can be replayed too: its UserRequest and configSnapshot are kept. The diff itself is a
read (orchestration/selectors.py, run_diff_get).
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from orchestration import selectors
from orchestration.models import RunRecord

from .intake import run_request_create


def run_replay_create(*, user: AbstractBaseUser | AnonymousUser | None,
                      run_id: str) -> RunRecord:
    """Queue a replay of the persisted run `run_id`, owned by `user` (graphstore RunNotFound
    when it is not in Neo4j or `user` may not see it; QueueFull when the intake queue is full,
    as for any request). No user (the shell) may replay any run."""
    viewer = selectors.SYSTEM if user is None else user
    original = selectors.run_replay(viewer=viewer, run_id=run_id)
    return run_request_create(user=user, request=original.request, replay_of=run_id)
