"""Where a run's time goes: its latency broken into segments (STYLE section 8).

PURE: imports neither django, neo4j, celery nor the clock; every timestamp is passed in.

A pipeline run's life, in order (each segment in milliseconds):

    queue                 created (ledger row)          -> the first stage started
    stage:<Agent>         the stage's own time (agentHistory duration: open the envelope, run
                          the agent, validate its artifact)
    handoff:<Agent>       the previous stage finished   -> this stage started (ledger writes,
                          sealing, the broker, a free worker process, opening the task)
    outbox                the last stage finished       -> the finished run committed to the
                          outbox (RunResult assembled, normalized, ledger row written)
    writeQueue            outbox committed              -> the write started (the persist task
                          waiting in the broker for a worker process)
    write                 the write as the writer timed it (WriteSummary.latency_ms), split into
    write:mapping           the mapping of the run to its write set,
    write:blob              the blob uploads,
    write:database          the Neo4j transaction(s),
    write:other             the rest (retries' backoff, the driver session), when the split is known
    ledger                the write returned          -> persisted_at (the ledger update)
    endToEnd              created                     -> persisted_at

The additive ones (ADDITIVE) sum to endToEnd up to the clocks' resolution; the write's parts sum
to `write`. The stage timestamps are wall-clock times of the worker processes: on one host they
share a clock; across hosts a skew shows as a negative gap, which is clamped to 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

QUEUE, OUTBOX, WRITE_QUEUE, WRITE, LEDGER, END_TO_END = (
    "queue", "outbox", "writeQueue", "write", "ledger", "endToEnd")
WRITE_PARTS = (("write:mapping", "mappingMs"), ("write:blob", "blobMs"),
               ("write:database", "databaseMs"))
WRITE_OTHER = "write:other"


def stage_key(agent: str) -> str:
    return f"stage:{agent}"


def handoff_key(agent: str) -> str:
    """The hop into `agent` (from the stage before it)."""
    return f"handoff:{agent}"


def is_additive(segment: str) -> bool:
    """Whether the segment is one of the consecutive pieces that sum to endToEnd (the write's
    parts and the totals are not)."""
    return segment not in {WRITE, END_TO_END} and not segment.startswith("write:")


def _ms(delta: timedelta) -> float:
    return round(max(delta.total_seconds() * 1000.0, 0.0), 3)


def _at(value: datetime | str) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def pipeline_segments(*, created_at: datetime | str | None,
                      history: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """queue, each stage's own time and each hand-off, from the ledger row's creation time and
    the agentHistory entries (wire form: agent, timestamp = the stage's start, duration in ms).
    A stage that never ran (a failed run's tail) has no entry and no segment."""
    out: dict[str, float] = {}
    entries = sorted(history, key=lambda e: e["sequence"])
    if created_at is not None and entries:
        out[QUEUE] = _ms(_at(entries[0]["timestamp"]) - _at(created_at))
    previous_end: datetime | None = None
    for entry in entries:
        start = _at(entry["timestamp"])
        if previous_end is not None:
            out[handoff_key(entry["agent"])] = _ms(start - previous_end)
        out[stage_key(entry["agent"])] = round(float(entry["duration"]), 3)
        previous_end = start + timedelta(milliseconds=float(entry["duration"]))
    return out


def last_stage_end(history: Sequence[Mapping[str, Any]]) -> datetime | None:
    """When the last stage that ran finished (its start plus its duration)."""
    if not history:
        return None
    last = max(history, key=lambda e: e["sequence"])
    return _at(last["timestamp"]) + timedelta(milliseconds=float(last["duration"]))


def run_segments(*, created_at: datetime | None, history: Sequence[Mapping[str, Any]],
                 outbox_at: datetime | None = None, write_started_at: datetime | None = None,
                 write: Mapping[str, Any] | None = None,
                 persisted_at: datetime | None = None) -> dict[str, float]:
    """Every segment of a pipeline run that the timestamps given allow (see the module doc).
    `write` is WriteSummary.as_dict(): latencyMs and, once the writer reports them, mappingMs,
    blobMs and databaseMs."""
    out = pipeline_segments(created_at=created_at, history=history)
    end = last_stage_end(history)
    if end is not None and outbox_at is not None:
        out[OUTBOX] = _ms(outbox_at - end)
    if outbox_at is not None and write_started_at is not None:
        out[WRITE_QUEUE] = _ms(write_started_at - outbox_at)
    if write is not None and write.get("latencyMs") is not None:
        latency = float(write["latencyMs"])
        out[WRITE] = round(latency, 3)
        parts = {key: float(write[field]) for key, field in WRITE_PARTS
                 if write.get(field) is not None}
        out.update({key: round(value, 3) for key, value in parts.items()})
        if len(parts) == len(WRITE_PARTS):
            out[WRITE_OTHER] = round(max(latency - sum(parts.values()), 0.0), 3)
        if write_started_at is not None and persisted_at is not None:
            out[LEDGER] = _ms(persisted_at - write_started_at - timedelta(milliseconds=latency))
    if created_at is not None and persisted_at is not None:
        out[END_TO_END] = _ms(persisted_at - created_at)
    return out
