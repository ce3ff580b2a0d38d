"""Backpressure (design section 7): at most N runs at once across every worker, a bounded queue
in front of them, and no new start while measured memory is above its high-water mark.

I/O (Redis). All state lives in Redis so that it holds across worker processes and machines:

    cap01:bp:running   sorted set   runId -> lease expiry (epoch s); a run holds a slot from its
                                    first stage to its end; a lease a crashed worker never
                                    released expires after `slot_ttl_s`
    cap01:bp:queue     list         runIds waiting for a slot, oldest first (bounded)
    cap01:bp:memory    hash         worker id -> "<rss MB> <epoch s>", reported after each stage

Starting is one Lua script (atomic): free the slot of a run that just ended (when one is
named), drop expired leases, move runs from the queue head into free slots while memory allows,
and return what the dispatcher reports (the queue and the slots held): one round trip where a
run's end took seven.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import redis

from .errors import QueueFull

RUNNING, QUEUE, MEMORY = "cap01:bp:running", "cap01:bp:queue", "cap01:bp:memory"
MEMORY_REPORT_TTL_S = 60.0

_ENQUEUE = """
if redis.call('LLEN', KEYS[1]) >= tonumber(ARGV[2]) then return -1 end
if redis.call('LPOS', KEYS[1], ARGV[1]) then return redis.call('LPOS', KEYS[1], ARGV[1]) + 1 end
return redis.call('RPUSH', KEYS[1], ARGV[1])
"""
_START = """
if ARGV[5] ~= '' then
  redis.call('ZREM', KEYS[1], ARGV[5])
  redis.call('LREM', KEYS[2], 0, ARGV[5])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local started = {}
if ARGV[4] == '1' then
  while redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) do
    local id = redis.call('LPOP', KEYS[2])
    if not id then break end
    redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), id)
    table.insert(started, id)
  end
end
return {started, redis.call('LRANGE', KEYS[2], 0, -1), redis.call('ZCARD', KEYS[1])}
"""


@dataclass(frozen=True)
class Admitted:
    """What one `admit` did and saw: the runs it started, the queue left, the slots held."""
    started: list[str]
    queued: list[str]
    running: int


@dataclass(frozen=True)
class Limits:
    max_running: int = 3
    queue_limit: int = 50
    slot_ttl_s: float = 120.0
    memory_budget_mb: float = 600.0
    high_water: float = 0.8  # fraction of the memory budget above which nothing new starts
    retry_after_s: int = 5


class Admission:
    def __init__(self, client: redis.Redis, limits: Limits,
                 clock: Callable[[], float] = time.time) -> None:
        self._r = client
        self.limits = limits
        self._clock = clock
        self._enqueue = client.register_script(_ENQUEUE)
        self._start = client.register_script(_START)

    def enqueue(self, run_id: str) -> int:
        """Queue a run; its 1-based position. QueueFull when the queue is at its limit."""
        position = int(self._enqueue(keys=[QUEUE], args=[run_id, self.limits.queue_limit]))
        if position < 0:
            raise QueueFull(self.limits.queue_limit, self.limits.retry_after_s)
        return position

    def start_ready(self) -> list[str]:
        """Move runs from the queue into free slots (none while memory is high)."""
        return self.admit().started

    def admit(self, *, released: str | None = None) -> Admitted:
        """`release(released)` when given, then `start_ready`, and the queue and slot count
        after both: atomically, in one script (plus the memory read)."""
        allowed = "1" if self.memory_ok() else "0"
        started, queued, running = self._start(
            keys=[RUNNING, QUEUE], args=[self._clock(), self.limits.slot_ttl_s,
                                         self.limits.max_running, allowed, released or ""])
        return Admitted(started=[_text(s) for s in started], queued=[_text(q) for q in queued],
                        running=int(running))

    def requeue_front(self, run_ids: list[str]) -> None:
        """Give started runs back (their start failed): release the slots, queue them first."""
        for run_id in reversed(run_ids):
            self._r.zrem(RUNNING, run_id)
            self._r.lpush(QUEUE, run_id)

    def refresh(self, run_id: str) -> None:
        """Extend a running run's lease (called at every stage)."""
        self._r.zadd(RUNNING, {run_id: self._clock() + self.limits.slot_ttl_s}, xx=True)

    def heartbeat(self, run_id: str, worker_id: str, rss_mb: float | None) -> None:
        """`refresh` and `report_memory` (when `rss_mb` is known) in one round trip: what a
        stage reports when it ends."""
        pipe = self._r.pipeline(transaction=False)
        pipe.zadd(RUNNING, {run_id: self._clock() + self.limits.slot_ttl_s}, xx=True)
        if rss_mb is not None:
            pipe.hset(MEMORY, worker_id, f"{rss_mb:.3f} {self._clock():.3f}")
        pipe.execute()

    def release(self, run_id: str) -> None:
        self._r.zrem(RUNNING, run_id)
        self._r.lrem(QUEUE, 0, run_id)

    def position(self, run_id: str) -> int | None:
        index = self._r.lpos(QUEUE, run_id)
        return None if index is None else int(index) + 1  # type: ignore[arg-type]

    def queued(self) -> list[str]:
        return [v.decode() for v in self._r.lrange(QUEUE, 0, -1)]  # type: ignore[union-attr]

    def holding(self) -> set[str]:
        """The runIds that hold a slot now."""
        self._r.zremrangebyscore(RUNNING, "-inf", self._clock())
        return {v.decode() for v in self._r.zrange(RUNNING, 0, -1)}  # type: ignore[union-attr]

    def depth(self) -> int:
        return int(self._r.llen(QUEUE))

    def running(self) -> int:
        self._r.zremrangebyscore(RUNNING, "-inf", self._clock())
        return int(self._r.zcard(RUNNING))

    def report_memory(self, worker_id: str, rss_mb: float) -> None:
        self._r.hset(MEMORY, worker_id, f"{rss_mb:.3f} {self._clock():.3f}")

    def memory_mb(self) -> float:
        """The largest fresh RSS report of any worker process (0 without reports)."""
        now, peak = self._clock(), 0.0
        for raw in self._r.hvals(MEMORY):
            text = raw.decode() if isinstance(raw, bytes) else str(raw)
            rss, at = (float(x) for x in text.split())
            if now - at <= MEMORY_REPORT_TTL_S:
                peak = max(peak, rss)
        return peak

    def memory_ok(self) -> bool:
        return self.memory_mb() <= self.limits.high_water * self.limits.memory_budget_mb

    def reset(self) -> None:
        """Forget every slot, queue entry and memory report (tests, or an operator's reset)."""
        self._r.delete(RUNNING, QUEUE, MEMORY)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
