"""One stage of a run, and the assembly of a finished run (design sections 5.1 and 6).

PURE: imports neither django, neo4j, celery nor the clock: `now` and a `timer` are passed in.

The state of a run in progress travels between stages in a hand-off envelope (the v1 envelope:
payload, metadata {agent, runId, sequence, keyId, signature}, resources, expiresAt), signed
with a keyed HMAC-SHA256 (the keys are passed in, contracts.EnvelopeKeys). The envelope is
addressed to the stage that consumes it: metadata.agent and metadata.sequence name that stage.
Its payload is a RunState:

    {"runId", "request", "startedAt", "configSnapshot", "artifacts": {recipe, ...},
     "agentHistory": [...]}
"""

from __future__ import annotations

import hashlib
import re
import tracemalloc
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from contracts import (
    STAGE_NAMES,
    STAGES,
    WIRE_NAME,
    Calculation,
    ContractError,
    ContractModel,
    EnvelopeError,
    EnvelopeKeys,
    Graph,
    HandoffEnvelope,
    InputContract,
    Recipe,
    Resources,
    RunResult,
    UIConfig,
    Validation,
    open_envelope,
    seal,
)
from orchestration.agents import Agent, AgentContext, AgentOutput
from orchestration.agents.limits import BatchLimits
from orchestration.segments import pipeline_segments

_ARTIFACT_MODELS: dict[str, type[ContractModel]] = {
    "recipe": Recipe, "calculation": Calculation, "graph": Graph, "validation": Validation,
    "ui_config": UIConfig,
}


@dataclass(frozen=True)
class Budget:
    """A time and memory budget (design section 7)."""

    duration_ms: float
    memory_mb: float

    def breaches(self, *, duration_ms: float | None, memory_mb: float | None) -> list[str]:
        """The kinds broken; a measure given as None (not taken, or not trusted) has no
        verdict."""
        out = []
        if duration_ms is not None and duration_ms > self.duration_ms:
            out.append("duration")
        if memory_mb is not None and memory_mb > self.memory_mb:
            out.append("memory")
        return out


@dataclass(frozen=True)
class TranscriptPolicy:
    """Whether agents' raw prompts and responses are kept, and what is redacted from them."""

    store: bool = False
    patterns: tuple[str, ...] = ()

    def redact(self, text: str) -> str:
        for pattern in self.patterns:
            text = re.sub(pattern, "[REDACTED]", text)
        return text


@dataclass(frozen=True)
class StageOutcome:
    agent: str
    sequence: int
    succeeded: bool
    state: dict[str, Any]  # the RunState after this stage (history entry appended)
    entry: dict[str, Any]  # this stage's agentHistory entry (wire form)
    next_envelope: HandoffEnvelope | None  # None after the last stage or on failure
    # The models this stage parsed or validated, keyed by wire name, each beside the very wire
    # object it was read from: a next stage run in the same process (run_stage's `parsed`)
    # reuses them instead of parsing every earlier artifact again.
    parsed: Mapping[str, tuple[Any, Any]] = field(default_factory=dict)

    @property
    def is_last(self) -> bool:
        return self.sequence == len(STAGE_NAMES)


def memory_sampled(run_id: str, rate: float) -> bool:
    """Whether the run is in the memory sample (its stages and its write run under tracemalloc).

    The meter moves what it measures: tracemalloc hooks every allocation, which more than doubles
    a write's time (STYLE section 8). So memory is measured on a sample of runs and durations on
    the others. The draw is deterministic per runId (a hash, not a random number), so every
    stage of a sampled run and its write are traced, in whichever worker process they run, and a
    redelivered stage draws the same. rate 1.0: every run; 0.0: none."""
    if rate >= 1.0:
        return True
    if rate <= 0.0:
        return False
    digest = hashlib.blake2b(run_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < rate


def config_snapshot(request: InputContract, *, agents: Mapping[str, str]) -> dict[str, Any]:
    """The request context worth keeping with the run (the mapper bounds its size)."""
    return {
        "contractVersion": request.config.version,
        "targetBatchSize": request.target_batch_size,
        "targetUnit": request.target_unit,
        "flags": dict(request.config.flags),
        "costMapSize": len(request.context.cost_map),
        "densityMapSize": len(request.context.density_map),
        "agents": dict(agents),
    }


def first_envelope(*, run_id: str, request: InputContract, now: datetime, ttl: timedelta,
                   snapshot: dict[str, Any], keys: EnvelopeKeys, replay_of: str | None = None,
                   created_at: datetime | None = None) -> HandoffEnvelope:
    """The envelope of the first stage. `created_at` (when the request was recorded) lets the
    finished run carry its segments (metadata.segments, orchestration/segments.py)."""
    state: dict[str, Any] = {"runId": run_id, "request": request.to_wire(),
                             "startedAt": now.isoformat(), "configSnapshot": snapshot,
                             "artifacts": {}, "agentHistory": []}
    if replay_of is not None:
        state["replayOf"] = replay_of
    if created_at is not None:
        state["createdAt"] = created_at.isoformat()
    return seal(state, agent=STAGE_NAMES[0], run_id=run_id, sequence=1, expires_at=now + ttl,
                keys=keys)


def run_stage(envelope: HandoffEnvelope, agent: Agent, *, now: datetime, ttl: timedelta,
              keys: EnvelopeKeys, timer: Callable[[], float], measure_memory: bool = True,
              budget: Budget | None = None, strict: bool = False,
              rss_mb: Callable[[], float] | None = None,
              transcripts: TranscriptPolicy | None = None,
              parsed: Mapping[str, tuple[Any, Any]] | None = None,
              limits: BatchLimits | None = None) -> StageOutcome:
    """Open the envelope (signature, deadline), run the agent, seal the next envelope (signed
    with the first of `keys`; the envelope opens with any of them).

    Duration is measured with `timer`; with `measure_memory` (the run is in the memory sample,
    see `memory_sampled`) memory as the tracemalloc peak of the stage (Python allocations made
    while the agent ran), and without it memoryMb is absent. With `rss_mb`, the process's
    resident memory after it. A budget breach is recorded in the history entry; with `strict` it
    fails the stage. Verdicts: memory on a traced stage; duration on an untraced one (a traced
    duration includes the meter's overhead), except in strict mode, where every stage is traced
    and its duration is held to the budget all the same (conservatively).
    Any failure (a tampered or expired envelope, an agent error, an artifact that breaks the
    contract) becomes a failed StageOutcome that names the agent; nothing is raised.
    `parsed`: the previous StageOutcome.parsed, when that stage ran in this process; a model is
    reused only for the identical wire object the envelope carries (its signature verified).
    `limits`: the plausible batch sizes the agents hold the request to (the defaults when None)."""
    meta = envelope.metadata
    sequence, name = meta.sequence, meta.agent
    state: dict[str, Any] = dict(envelope.payload)
    started = timer()
    error: str | None = None
    artifact_wire: dict[str, Any] | None = None
    transcript: dict[str, Any] | None = None  # raw prompts/responses: not kept by default
    peak_mb: float | None = None
    models: dict[str, tuple[Any, Any]] = {}
    if measure_memory:
        tracemalloc.start()
    try:
        open_envelope(envelope, now=now, keys=keys)
        if agent.name != name:
            raise EnvelopeError(f"The hand-off is addressed to {name} but reached {agent.name}.")
        ctx = _context(state, now, parsed or {}, models, limits or BatchLimits())
        artifact = agent.run(ctx)
        if isinstance(artifact, AgentOutput):
            if transcripts is not None and transcripts.store:
                transcript = {
                    "prompt": transcripts.redact(artifact.prompt or ""),
                    "response": transcripts.redact(artifact.response or ""),
                    "redacted": bool(transcripts.patterns),
                }
            artifact = artifact.artifact
        artifact_name = STAGES[sequence - 1][1]
        model = _ARTIFACT_MODELS[artifact_name]
        # Re-validate: a plugged-in agent must still honour the contract.
        validated = model.model_validate(artifact.to_wire())
        artifact_wire = validated.to_wire()
        models[WIRE_NAME[artifact_name]] = (artifact_wire, validated)
    except (EnvelopeError, ContractError) as exc:
        error = str(exc)
    except ValidationError as exc:
        error = str(ContractError.from_validation_error(
            exc, what=f"{name} output", prefix=(WIRE_NAME[STAGES[sequence - 1][1]],)))
    except Exception as exc:  # an agent's own error, or a bug in a plugged-in agent
        error = f"{name} failed: {type(exc).__name__}: {exc}"
    finally:
        if measure_memory:
            peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
    duration_ms = (timer() - started) * 1000.0
    entry: dict[str, Any] = {
        "agent": name, "sequence": sequence, "timestamp": now.isoformat(),
        "duration": round(duration_ms, 3), "status": "failed" if error else "succeeded",
    }
    if peak_mb is not None:
        entry["memoryMb"] = round(peak_mb, 3)
    if transcript is not None:
        entry["transcript"] = transcript
    if rss_mb is not None:
        entry["rssMb"] = round(rss_mb(), 3)
    if budget is not None:
        judged_ms = duration_ms if strict or peak_mb is None else None
        breaches = budget.breaches(duration_ms=judged_ms, memory_mb=peak_mb)
        entry.update(budgetDurationMs=budget.duration_ms, budgetMemoryMb=budget.memory_mb,
                     budgetBreaches=breaches)
        if breaches and strict and not error:
            detail = _describe(breaches, duration_ms, peak_mb, budget)
            error = (f"{name} broke its budget ({detail}) and strict budgets are on; the run "
                     "stops here.")
            artifact_wire = None
    if error:
        entry["error"] = error[:2000]
    else:
        # The entry's outputRef is filled in when the finished run is normalized
        # (graphstore.mapper.normalize_wire), from the artifact as stored.
        assert artifact_wire is not None
        state = {**state, "artifacts": {**state["artifacts"],
                                        WIRE_NAME[STAGES[sequence - 1][1]]: artifact_wire}}
    state = {**state, "agentHistory": [*state["agentHistory"], entry]}
    next_envelope = None
    if not error and sequence < len(STAGE_NAMES):
        next_envelope = seal(state, agent=STAGE_NAMES[sequence], run_id=meta.run_id,
                             sequence=sequence + 1, expires_at=now + ttl, keys=keys,
                             resources=Resources(memory_mb=peak_mb or 0.0, cpu_ms=duration_ms))
    return StageOutcome(name, sequence, error is None, state, entry, next_envelope,
                        models if next_envelope is not None else {})


def _describe(breaches: list[str], duration_ms: float, memory_mb: float | None,
              budget: Budget) -> str:
    parts = []
    if "duration" in breaches:
        parts.append(f"{duration_ms:.0f} ms > {budget.duration_ms:g} ms")
    if "memory" in breaches:
        parts.append(f"{memory_mb:.1f} MB > {budget.memory_mb:g} MB")
    return ", ".join(parts)


def _context(state: Mapping[str, Any], now: datetime, known: Mapping[str, tuple[Any, Any]],
             models: dict[str, tuple[Any, Any]], limits: BatchLimits) -> AgentContext:
    """The agent's typed view of the run so far. Each artifact (and the request) is parsed from
    its wire form, unless `known` holds the model read from that very wire object; `models`
    receives every model used, for the next stage."""

    def model(key: str, cls: Any, wire: Any) -> Any:
        hit = known.get(key)
        parsed = hit[1] if hit is not None and hit[0] is wire else cls.model_validate(wire)
        models[key] = (wire, parsed)
        return parsed

    artifacts = state["artifacts"]
    earlier: dict[str, Any] = {
        a: model(WIRE_NAME[a], _ARTIFACT_MODELS[a], artifacts[WIRE_NAME[a]])
        for _, a in STAGES[:-1] if WIRE_NAME[a] in artifacts}
    return AgentContext(run_id=state["runId"],
                        request=model("request", InputContract, state["request"]), now=now,
                        limits=limits, **earlier)


def finish_run(state: Mapping[str, Any], *, now: datetime,
               run_budget: Budget | None = None) -> RunResult:
    """The RunResult of a finished run (succeeded, or failed at the last history entry), with
    the stage budget breaches and the whole run's checked against `run_budget`."""
    return RunResult.model_validate(finish_wire(state, now=now, run_budget=run_budget))


def finish_wire(state: Mapping[str, Any], *, now: datetime,
                run_budget: Budget | None = None) -> dict[str, Any]:
    """`finish_run`'s RunResult in wire form, not yet validated (the caller validates it once,
    with its normalization: graphstore.mapper.normalize_wire)."""
    history = state["agentHistory"]
    failed = next((e for e in history if e["status"] == "failed"), None)
    started = datetime.fromisoformat(state["startedAt"])
    total_ms = round(max((now - started).total_seconds() * 1000.0, 0.0), 3)
    rss = [e["rssMb"] for e in history if e.get("rssMb") is not None]
    peak_rss = max(rss) if rss else None
    breaches = [f"{e['agent']}.{kind}" for e in history for kind in e.get("budgetBreaches", [])]
    if run_budget is not None:
        breaches += [f"run.{kind}" for kind in run_budget.breaches(duration_ms=total_ms,
                                                                   memory_mb=peak_rss)]
    wire = {
        "metadata": {
            "id": state["runId"],
            "status": "failed" if failed else "succeeded",
            "totalDuration": total_ms,
            "timestamp": state["startedAt"],
            "configSnapshot": state["configSnapshot"],
            **({"failedAgent": failed["agent"]} if failed else {}),
            **({"replayOf": state["replayOf"]} if state.get("replayOf") else {}),
            **({"peakRssMb": peak_rss} if peak_rss is not None else {}),
            "budgetBreaches": breaches,
            **({"segments": pipeline_segments(created_at=state["createdAt"], history=history)}
               if state.get("createdAt") else {}),
        },
        "request": state["request"],
        **state["artifacts"],
        "agentHistory": history,
    }
    return wire


def failed_state(state: Mapping[str, Any], *, agent: str, sequence: int, now: datetime,
                 error: str) -> dict[str, Any]:
    """The state after a stage that could not even start (its envelope was unreadable)."""
    entry = {"agent": agent, "sequence": sequence, "timestamp": now.isoformat(), "duration": 0.0,
             "status": "failed", "error": error[:2000]}
    return {**state, "agentHistory": [*state["agentHistory"], entry]}
