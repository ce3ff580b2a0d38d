"""A run as a whole: the input contract, agent history, run metadata, the RunResult bundle and the
agent hand-off envelope (design document sections 3 and 6).

PURE: imports neither django, neo4j, celery nor the clock (`now` is always passed in).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AwareDatetime, Field, JsonValue, ValidationError, model_validator

from .artifacts import Calculation, Graph, Recipe, UIConfig, Validation
from .base import (
    CONTRACT_VERSION,
    ContractError,
    ContractModel,
    Identifier,
    JsonObject,
    NonNegative,
    Positive,
    ShortText,
    at,
    canonical_json,
    nul_errors,
)
from .stages import ARTIFACT_OF, STAGES, WIRE_NAME
from .units import Unit

# The stage names as a type (checked against stages.STAGE_TABLE by a test: a Literal cannot be
# built from a table and still be read by the type checker).
AgentName = Literal["RecipeEngineer", "ScalingCalculator", "GraphBuilder", "QAValidator",
                    "UIDesigner"]
M = TypeVar("M", bound=ContractModel)
RunStatus = Literal["succeeded", "failed"]
BudgetKind = Literal["duration", "memory"]
InvocationStatus = Literal["succeeded", "failed", "skipped"]

# --- input contract ----------------------------------------------------------------------------


class RequestContext(ContractModel):
    cost_map: dict[Identifier, NonNegative] = Field(default_factory=dict, max_length=500)
    density_map: dict[Identifier, Positive] = Field(default_factory=dict, max_length=500)


class RequestConfig(ContractModel):
    version: Literal["v1"] = CONTRACT_VERSION
    flags: dict[Identifier, bool] = Field(default_factory=dict, max_length=50)


class InputContract(ContractModel):
    """What a person or a program asks for: "lemon vinaigrette, 5 kg"."""

    user_request: Annotated[str, Field(min_length=1, max_length=2000)]
    target_batch_size: Annotated[Positive, Field(le=1_000_000_000)]
    target_unit: Unit
    context: RequestContext = Field(default_factory=RequestContext)
    config: RequestConfig = Field(default_factory=RequestConfig)

    @model_validator(mode="after")
    def _request_has_text(self) -> InputContract:
        if not self.user_request.strip():
            raise at("userRequest", "must contain text, not only white space")
        return self


# --- agent history and run metadata ------------------------------------------------------------


class Transcript(ContractModel):
    """An agent's raw exchange (prompt and response), stored only by opt-in, redacted."""

    prompt: Annotated[str, Field(max_length=200_000)] = ""
    response: Annotated[str, Field(max_length=200_000)] = ""
    redacted: bool = False  # redaction patterns were applied before storage


class AgentHistoryEntry(ContractModel):
    agent: AgentName
    sequence: Annotated[int, Field(strict=True, ge=1, le=1000)]
    timestamp: AwareDatetime
    duration: NonNegative  # milliseconds
    status: InvocationStatus
    error: ShortText | None = None
    output_ref: Annotated[str, Field(max_length=300)] | None = None  # "sha256:<hex>" of the output
    memory_mb: NonNegative | None = None  # tracemalloc peak of the stage, when measured
    rss_mb: NonNegative | None = None  # resident memory of the process after the stage
    budget_duration_ms: NonNegative | None = None  # the budget in force (design section 7)
    budget_memory_mb: NonNegative | None = None
    budget_breaches: Annotated[list[BudgetKind], Field(max_length=2)] = Field(default_factory=list)
    transcript: Transcript | None = None  # absent unless transcripts are stored (opt-in)


# --- retention: what a condensed run keeps of the artifacts it lost ----------------------------

ArtifactWireName = Literal["recipe", "calculation", "graph", "validation", "uiConfig"]
Count = Annotated[int, Field(strict=True, ge=0)]


class GraphSummary(ContractModel):
    """The counts kept of a condensed run's graph (its nodes, edges and cypherCommands are gone)."""

    node_count: Count
    edge_count: Count
    cypher_command_count: Count


class ValidationSummary(ContractModel):
    """The outcome kept of a condensed run's validation (its issues and checks are gone)."""

    valid: bool
    can_proceed: bool
    error_count: Count
    warning_count: Count
    critical_count: Count
    summary: ShortText


class Condensation(ContractModel):
    """Retention condensed the run (design section 6; graphstore/retention.py): the artifacts
    named in `removed` are absent from it for good; `graph` and `validation` keep their counts
    and outcome when those artifacts were removed."""

    condensed_at: AwareDatetime
    removed: Annotated[list[ArtifactWireName], Field(max_length=5)] = Field(default_factory=list)
    graph: GraphSummary | None = None
    validation: ValidationSummary | None = None

    @model_validator(mode="after")
    def _unique(self) -> Condensation:
        if len(set(self.removed)) != len(self.removed):
            raise at("removed", "names an artifact twice")
        return self


# A latency segment's name (orchestration/segments.py): "queue", "stage:<Agent>",
# "handoff:<Agent>", ...
SegmentName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z][A-Za-z:]*$")]


class RunMetadata(ContractModel):
    id: Identifier  # the runId
    status: RunStatus
    total_duration: NonNegative  # milliseconds
    timestamp: AwareDatetime  # when the run started
    config_snapshot: JsonObject = Field(default_factory=dict)
    config_snapshot_truncated: bool = False
    failed_agent: AgentName | None = None
    replay_of: Identifier | None = None  # the runId this run re-executed, if it is a replay
    peak_rss_mb: NonNegative | None = None  # largest process RSS seen during the run
    # Budgets broken ("<stage>.duration", "<stage>.memory", "run.duration", "run.memory").
    budget_breaches: Annotated[list[Annotated[str, Field(max_length=64)]],
                               Field(max_length=20)] = Field(default_factory=list)
    # Set by retention when the run was condensed: a summary, some artifacts removed for good.
    condensed: Condensation | None = None
    # Where the run's time went before it finished, in ms: queue, each stage's own time, each
    # hand-off (orchestration/segments.py). Set by this orchestrator; absent from others' runs.
    segments: Annotated[dict[SegmentName, NonNegative], Field(max_length=64)] | None = None


class RunResult(ContractModel):
    """One finished run: metadata, the request, the artifacts, agentHistory.

    Artifacts after a failed stage are absent; those present always form a prefix of the stage
    order (a calculation needs its recipe, and so on).
    """

    metadata: RunMetadata
    request: InputContract
    recipe: Recipe | None = None
    calculation: Calculation | None = None
    graph: Graph | None = None
    validation: Validation | None = None
    ui_config: UIConfig | None = None
    agent_history: Annotated[list[AgentHistoryEntry], Field(max_length=1000)] = Field(
        default_factory=list
    )

    @property
    def run_id(self) -> str:
        return self.metadata.id

    @model_validator(mode="after")
    def _consistent(self) -> RunResult:
        present = [getattr(self, artifact) is not None for _, artifact in STAGES]
        for i in range(1, len(STAGES)):
            if present[i] and not present[i - 1]:
                raise at(WIRE_NAME[STAGES[i][1]],
                         f"is present but {WIRE_NAME[STAGES[i - 1][1]]} is absent; artifacts "
                         "after a missing one cannot exist")
        removed = set(self.metadata.condensed.removed) if self.metadata.condensed else set()
        for (_, artifact), p in zip(STAGES, present, strict=True):
            if p and WIRE_NAME[artifact] in removed:
                raise at(WIRE_NAME[artifact], "is present but metadata.condensed.removed names "
                         "it; a condensed run no longer has the artifacts it lost")
        if self.metadata.status == "succeeded":
            # A condensed run lacks what retention removed; any other gap is an error.
            missing = [WIRE_NAME[a] for (_, a), p in zip(STAGES, present, strict=True)
                       if not p and WIRE_NAME[a] not in removed]
            if missing:
                raise at("metadata.status", f"is succeeded but {', '.join(missing)} is absent")
            if self.metadata.failed_agent is not None:
                raise at("metadata.failedAgent", "must be absent when the run succeeded")
        elif self.metadata.failed_agent is not None:
            if getattr(self, ARTIFACT_OF[self.metadata.failed_agent]) is not None:
                raise at("metadata.failedAgent",
                         f"names {self.metadata.failed_agent}, but its artifact is present")
        if self.metadata.replay_of == self.metadata.id:
            raise at("metadata.replayOf", "names the run itself; a replay is a new run")
        if self.recipe and self.calculation and self.calculation.recipe_id != self.recipe.id:
            raise at("calculation.recipeId",
                     f"is {self.calculation.recipe_id!r} but recipe.id is {self.recipe.id!r}")
        seen: set[int] = set()
        for i, entry in enumerate(self.agent_history):
            if entry.sequence in seen:
                raise at(f"agentHistory[{i}].sequence", f"duplicate sequence {entry.sequence}")
            seen.add(entry.sequence)
        return self


def _parse(model: type[M], data: str | bytes | dict[str, Any], what: str) -> M:
    try:
        if isinstance(data, dict):
            parsed = model.model_validate(data)
        else:
            parsed = model.model_validate_json(data)
    except ValidationError as exc:
        raise ContractError.from_validation_error(exc, what=what) from exc
    if errors := nul_errors(parsed.to_wire()):
        raise ContractError(errors, what=what)
    return parsed


def parse_run_result(data: str | bytes | dict[str, Any]) -> RunResult:
    """Validate one RunResult from JSON text or a dict; ContractError names every bad field."""
    return _parse(RunResult, data, "RunResult")


def parse_run_results_document(text: str) -> list[RunResult]:
    """One RunResult as JSON, or many as JSON Lines; every run is validated before any is used.

    ContractError lists the errors of every bad run, each field path prefixed with its line
    ("line 3: recipe.ingredients[2].percentage: ...") when the document is JSON Lines.
    """
    stripped = text.strip()
    if not stripped:
        raise ContractError([{"field": "(document)", "message": "is empty; expected a RunResult "
                              "as JSON or RunResults as JSON Lines", "type": "empty"}],
                            what="document")
    try:
        whole = json.loads(stripped)
    except json.JSONDecodeError:
        whole = None
    if isinstance(whole, dict):
        return [parse_run_result(whole)]
    runs: list[RunResult] = []
    errors: list[dict[str, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            runs.append(parse_run_result(line))
        except ContractError as exc:
            errors += [{**e, "field": f"line {number}: {e['field']}"} for e in exc.errors]
    if errors:
        raise ContractError(errors, what="document")
    return runs


def parse_input(data: str | bytes | dict[str, Any]) -> InputContract:
    """Validate one input contract; ContractError names every bad field."""
    return _parse(InputContract, data, "request")


# --- agent hand-off envelope (design section 6) ---------------------------------------------------

# A key id travels in the envelope's metadata: short, printable, no separator characters.
_KEY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MIN_ENVELOPE_SECRET_BYTES = 32
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class EnvelopeKeyError(ValueError):
    """A set of envelope keys that cannot be used: empty, malformed, a duplicate key id or a
    secret shorter than MIN_ENVELOPE_SECRET_BYTES."""


@dataclass(frozen=True, repr=False)
class EnvelopeKeys:
    """The keys that sign and verify hand-off envelopes (HMAC-SHA256): the FIRST signs, EVERY
    one verifies. To rotate without losing runs in flight, put the new key first and keep the
    old one listed until the envelopes it signed have expired (CAP01_HANDOFF_TTL_S), then drop
    it. Built from explicit values (`parse` reads the "id:secret,id:secret" text of
    CAP01_ENVELOPE_KEYS); the secrets never appear in a repr or an error message."""

    keys: tuple[tuple[str, bytes], ...]
    _by_id: dict[str, bytes] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        if not self.keys:
            raise EnvelopeKeyError("At least one envelope key is needed (id:secret).")
        by_id: dict[str, bytes] = {}
        for key_id, secret in self.keys:
            if not _KEY_ID.fullmatch(key_id):
                raise EnvelopeKeyError(
                    f"The envelope key id {key_id!r} is not 1-64 letters, digits, '.', '_' or "
                    "'-' (starting with a letter or digit).")
            if key_id in by_id:
                raise EnvelopeKeyError(f"The envelope key id {key_id!r} is listed twice; each "
                                       "key needs its own id.")
            if len(secret) < MIN_ENVELOPE_SECRET_BYTES:
                raise EnvelopeKeyError(
                    f"The secret of envelope key {key_id!r} is {len(secret)} bytes; at least "
                    f"{MIN_ENVELOPE_SECRET_BYTES} are needed (a random value, for example "
                    "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`).")
            by_id[key_id] = secret
        object.__setattr__(self, "_by_id", by_id)

    @classmethod
    def parse(cls, text: str) -> EnvelopeKeys:
        """Keys from "id:secret[,id:secret...]" (the signing key first; white space around an
        entry is ignored; a secret is its UTF-8 bytes and holds no comma)."""
        keys: list[tuple[str, bytes]] = []
        for number, entry in enumerate(text.split(","), start=1):
            key_id, sep, secret = entry.strip().partition(":")
            if not sep or not key_id or not secret:
                raise EnvelopeKeyError(
                    f"Envelope key {number} is not of the form id:secret (keys are separated "
                    "by commas, the signing key first).")
            keys.append((key_id, secret.encode("utf-8")))
        return cls(tuple(keys))

    @property
    def signing_key_id(self) -> str:
        return self.keys[0][0]

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(key_id for key_id, _ in self.keys)

    def secret(self, key_id: str) -> bytes | None:
        return self._by_id.get(key_id)

    def __repr__(self) -> str:
        return f"EnvelopeKeys(key_ids={self.key_ids!r})"


class HandoffMetadata(ContractModel):
    agent: AgentName
    run_id: Identifier
    sequence: Annotated[int, Field(strict=True, ge=1, le=1000)]
    # The key that signed the envelope and its HMAC-SHA256 (hex) over the whole envelope: the
    # payload's canonical JSON, agent, runId, sequence, keyId, resources and expiresAt.
    key_id: Annotated[str, Field(pattern=f"^{_KEY_ID.pattern}$")]
    signature: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class Resources(ContractModel):
    memory_mb: NonNegative = 0.0
    cpu_ms: NonNegative = 0.0


class HandoffEnvelope(ContractModel):
    """What passes between stages: the payload, signed with a keyed HMAC-SHA256 (metadata keyId
    and signature), with a deadline."""

    payload: JsonObject
    metadata: HandoffMetadata
    resources: Resources = Field(default_factory=Resources)
    expires_at: AwareDatetime


class EnvelopeError(ValueError):
    """A hand-off envelope that must not be used: altered, signed with a key this process does
    not hold, or expired."""


def _signature(secret: bytes, payload_json: str, *, agent: str, run_id: str, sequence: int,
               key_id: str, expires_at: datetime, resources: Resources) -> str:
    """HMAC-SHA256 of the envelope: a short header (the metadata, resources and deadline as a
    JSON array, which delimits itself) followed by the payload's canonical JSON, the one
    serialization the checksum needed before."""
    microseconds = (expires_at - _EPOCH) // timedelta(microseconds=1)
    header = canonical_json([agent, run_id, sequence, key_id, microseconds,
                             float(resources.memory_mb), float(resources.cpu_ms)])
    mac = hmac.new(secret, header.encode("utf-8"), hashlib.sha256)
    mac.update(payload_json.encode("utf-8"))
    return mac.hexdigest()


def seal(payload: dict[str, JsonValue], *, agent: str, run_id: str, sequence: int,
         expires_at: datetime, keys: EnvelopeKeys,
         resources: Resources | None = None) -> HandoffEnvelope:
    """The envelope of `payload`, signed with the first of `keys`. The payload is not validated
    again value by value (a hop's largest cost, ~3 ms for a last stage's state): its canonical
    JSON, which the signature covers, refuses anything that is not JSON (NaN included), so a
    payload that seals is JSON."""
    if expires_at.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware")
    resources = resources or Resources()
    key_id = keys.signing_key_id
    secret = keys.secret(key_id)
    assert secret is not None
    signature = _signature(secret, canonical_json(payload), agent=agent, run_id=run_id,
                           sequence=sequence, key_id=key_id, expires_at=expires_at,
                           resources=resources)
    metadata = HandoffMetadata(agent=agent, run_id=run_id, sequence=sequence,  # type: ignore[arg-type]
                               key_id=key_id, signature=signature)
    return HandoffEnvelope.model_construct(payload=payload, metadata=metadata,
                                           resources=resources, expires_at=expires_at)


def envelope_from_wire(wire: object) -> HandoffEnvelope:
    """An envelope received as JSON (a Celery message). Its metadata, resources and deadline are
    validated; its payload, decoded from JSON, is only checked to be an object: open_envelope
    then checks the signature over it (canonical JSON) before a stage runs on it, which
    refuses any altered or non-JSON payload. Raises pydantic's ValidationError (or ValueError)
    on an unreadable envelope."""
    if not isinstance(wire, dict):
        raise ValueError("A hand-off envelope is a JSON object.")
    payload = wire.get("payload")
    if not isinstance(payload, dict):
        raise ValueError("The hand-off envelope's payload must be a JSON object.")
    shell = HandoffEnvelope.model_validate({**wire, "payload": {}})
    return shell.model_copy(update={"payload": payload})


def envelope_to_wire(envelope: HandoffEnvelope) -> dict[str, Any]:
    """The JSON-ready form of an envelope; the payload (already JSON) is not dumped again."""
    return {**envelope.model_dump(mode="json", by_alias=True, exclude={"payload"}),
            "payload": envelope.payload}


def open_envelope(envelope: HandoffEnvelope, *, now: datetime,
                  keys: EnvelopeKeys) -> dict[str, JsonValue]:
    """The payload, after checking its signature (with the key its metadata names, which must
    be one of `keys`) and its deadline; EnvelopeError otherwise."""
    meta = envelope.metadata
    which = f"The hand-off to {meta.agent} (run {meta.run_id}, sequence {meta.sequence})"
    secret = keys.secret(meta.key_id)
    if secret is None:
        raise EnvelopeError(
            f"{which} is signed with the envelope key {meta.key_id!r}, which this process does "
            f"not hold (it holds {', '.join(keys.key_ids)}). The key was retired before the "
            "envelope expired, or the sender uses other CAP01_ENVELOPE_KEYS; the stage is not "
            "run on it.")
    expected = _signature(secret, canonical_json(envelope.payload), agent=meta.agent,
                          run_id=meta.run_id, sequence=meta.sequence, key_id=meta.key_id,
                          expires_at=envelope.expires_at, resources=envelope.resources)
    if not hmac.compare_digest(expected, meta.signature):
        raise EnvelopeError(
            f"{which} fails its signature (HMAC-SHA256 with the envelope key {meta.key_id!r}): "
            "the payload, metadata or deadline was altered after it was sealed, or it was "
            "signed with another secret under that key id; the stage is not run on it.")
    if now >= envelope.expires_at:
        raise EnvelopeError(
            f"{which} expired at {envelope.expires_at.isoformat()} (now {now.isoformat()}); the "
            "stage is not run on stale input. Submit the request again."
        )
    return envelope.payload


__all__ = [
    "ARTIFACT_OF", "STAGES", "WIRE_NAME", "AgentHistoryEntry", "AgentName", "ArtifactWireName",
    "Condensation", "EnvelopeError", "EnvelopeKeyError", "EnvelopeKeys", "GraphSummary",
    "MIN_ENVELOPE_SECRET_BYTES", "ValidationSummary",
    "HandoffEnvelope", "HandoffMetadata",
    "envelope_from_wire", "envelope_to_wire", "InputContract", "InvocationStatus", "RequestConfig",
    "RequestContext", "Resources", "RunMetadata", "RunResult", "RunStatus", "ShortText",
    "Transcript",
    "open_envelope", "parse_input", "parse_run_result", "parse_run_results_document", "seal",
]
