"""What the services read from settings and the process: the clock, the hand-off TTL and the
envelope keys, the configured agents, the budgets, the plausible batch sizes, this process's
memory. The pure pipeline receives these as arguments; here is the one place they are looked
up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache

from django.conf import settings

from contracts import EnvelopeKeys
from orchestration import pipeline
from orchestration.agents import Agent, load_agents
from orchestration.agents.limits import BatchLimits, batch_limits


def now() -> datetime:
    return datetime.now(UTC)


def handoff_ttl() -> timedelta:
    return timedelta(seconds=settings.CAP01_HANDOFF_TTL_S)


def envelope_keys() -> EnvelopeKeys:
    """The keys that sign (the first) and verify (all) hand-off envelopes: CAP01_ENVELOPE_KEYS,
    parsed and checked when the settings load (in DEBUG without it, a development key derived
    from SECRET_KEY)."""
    keys: EnvelopeKeys = settings.CAP01_ENVELOPE_KEYS
    return keys


@cache
def agents() -> dict[str, Agent]:
    """The agents configured in settings.CAP01_AGENTS (a dotted path per stage)."""
    return load_agents(settings.CAP01_AGENTS)


def budget(name: str) -> pipeline.Budget:
    """The budget of a stage, of "Persistence" or of the whole "Run" (settings.CAP01_BUDGETS)."""
    duration_ms, memory_mb = settings.CAP01_BUDGETS[name]
    return pipeline.Budget(duration_ms=duration_ms, memory_mb=memory_mb)


@cache
def limits() -> BatchLimits:
    """The plausible batch size per unit (settings.CAP01_BATCH_LIMITS over the defaults of
    orchestration/agents/limits.py) and the factor beyond which a size is critical."""
    return batch_limits(settings.CAP01_BATCH_LIMITS, settings.CAP01_BATCH_CRITICAL_FACTOR)


def memory_sampled(run_id: str) -> bool:
    """Whether this run's stages and write are traced for memory (pipeline.memory_sampled):
    a CAP01_MEMORY_SAMPLE_RATE share of runs, every run under strict budgets (a run that breaks
    a memory budget must fail whichever run it is)."""
    rate = 1.0 if settings.CAP01_BUDGET_STRICT else settings.CAP01_MEMORY_SAMPLE_RATE
    return pipeline.memory_sampled(run_id, rate)


def process_rss_mb() -> float:
    """Resident memory of this process now (Linux /proc), in MB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0
