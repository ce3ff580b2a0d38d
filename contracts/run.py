"""A run as a whole: the input contract, agent history, run metadata, the RunResult bundle and the
agent hand-off envelope (design document sections 3 and 6).

PURE: imports neither django, neo4j, celery nor the clock (`now` is always passed in).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Annotated, Any, Final, Literal, TypeVar

import pydantic_core
from pydantic import (
    AfterValidator,
    Field,
    JsonValue,
    ValidationError,
    ValidationInfo,
    model_validator,
)

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
    UtcDatetime,
    at,
    canonical_json,
    nul_errors,
    output_ref,
)
from .stages import ARTIFACT_OF, STAGE_NAMES, STAGE_ORDER, STAGES, WIRE_NAME
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


# Validation context for a run validated before, on its way in, and validated again from its wire
# form: a copy read back from storage (the ledger's outbox copy, Neo4j) or a validated run
# serialized again (`RunResult.model_validate(wire, context=ALREADY_VALIDATED)`). The rules that
# hash artifacts (outputRef) or came after runs were stored (agentHistory and status
# consistency, reserved runIds) are not applied again: hashing costs as much as the rest of the
# validation, and a run accepted before a rule existed still reads back as it was stored.
ALREADY_VALIDATED: Final[Mapping[str, bool]] = MappingProxyType({"alreadyValidated": True})


def _already_validated(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get("alreadyValidated"))


# --- runIds: every accepted one can be read back ------------------------------------------------

# The literal words of the URL space around a runId (orchestration/api/urls.py and
# orchestration/web/urls.py): a run named after one could not be read back
# (/api/orchestration/runs/similar is the similar-runs search, not a run), so none is a runId.
# tests/unit/orchestration/test_urls.py derives the literal segments of every route of both
# modules and checks that they are exactly these words (a new route fails it until added).
RESERVED_RUN_IDS: frozenset[str] = frozenset({
    "agents", "analytics", "budget-breaches", "compare", "context", "costs", "diff",
    "export.csv", "export.json", "ingredients", "ledger.json", "login", "logout", "replay",
    "requests", "runs", "search", "similar", "stages", "status", "status.json",
    "validation-errors",
})


def _not_reserved(value: str, info: ValidationInfo) -> str:
    if value in RESERVED_RUN_IDS and not _already_validated(info):
        raise ValueError(
            f"{value!r} is reserved: it is a fixed word of the API's and the web pages' URLs "
            "(/api/orchestration/runs/similar is the similar-runs search, not a run), so it "
            "cannot name a run; choose another runId")
    return value


RunId = Annotated[Identifier, AfterValidator(_not_reserved),
                  Field(json_schema_extra={"not": {"enum": sorted(RESERVED_RUN_IDS)}})]

OUTPUT_REF_PATTERN: Final = r"^sha256:[0-9a-f]{64}$"


def _output_ref_form(value: str, info: ValidationInfo) -> str:
    if not re.fullmatch(OUTPUT_REF_PATTERN, value) and not _already_validated(info):
        raise ValueError(f"must be \"sha256:\" and 64 lower-case hex digits (the SHA-256 of the "
                         f"artifact produced), got {value[:80]!r}")
    return value


# "sha256:<hex>" of the artifact an invocation produced (contracts.output_ref); RunResult
# verifies it against that artifact. (Checked by a validator rather than a pattern so that a
# stored copy from before the rule still reads back; the JSON Schema carries the pattern.)
OutputRef = Annotated[str, Field(max_length=300, json_schema_extra={"pattern": OUTPUT_REF_PATTERN}),
                      AfterValidator(_output_ref_form)]


class AgentHistoryEntry(ContractModel):
    agent: AgentName
    sequence: Annotated[int, Field(strict=True, ge=1, le=1000)]
    timestamp: UtcDatetime
    duration: NonNegative  # milliseconds
    status: InvocationStatus
    error: ShortText | None = None
    output_ref: OutputRef | None = None  # absent: the graph store fills it in
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

    condensed_at: UtcDatetime
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
    id: RunId  # the runId: an identifier, and no word of the URL space (RESERVED_RUN_IDS)
    status: RunStatus
    total_duration: NonNegative  # milliseconds
    timestamp: UtcDatetime  # when the run started
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

    Consistency rules: a run says one thing in all its parts. Each is refused naming the field
    (README, "The data contract"); `agentHistory` is read in `sequence` order (sequences are
    unique), which is the order the invocations ran in.

    Artifacts
      - Those present form a prefix of the stage order (recipe, calculation, graph, validation,
        uiConfig): an artifact after a missing one is refused (named).
      - A condensed run has none of the artifacts `metadata.condensed.removed` names.
      - `calculation.recipeId` is `recipe.id`.
    agentHistory
      - It follows the stage order: a stage's invocations come together, after those of the
        stage before it; a stage runs only once the stage before it has succeeded
        (`agentHistory[i].agent`).
      - A stage's invocations are failed attempts (retries) ending in at most one success; a
        stage that succeeded does not run again (`agentHistory[i].agent`).
      - `skipped` invocations come last, in a run that stopped at a failed invocation, for the
        stages after the failed one, each at most once, in stage order
        (`agentHistory[i].status` or `.agent`).
    Status
      - `succeeded`: every stage succeeded, so agentHistory is not empty and its last
        invocation is UIDesigner's success (`agentHistory` when empty, else `metadata.status`);
        all five artifacts are present, less those retention removed (`metadata.status`);
        `metadata.failedAgent` is absent.
      - `failed`: the last invocation that ran failed (`agentHistory` when empty, else
        `metadata.status`); `metadata.failedAgent` is present and names its agent.
    Artifacts and agentHistory
      - A stage that succeeded has its artifact, unless retention removed it (the artifact is
        named). With the rules above, the artifacts present are exactly those of the stages
        that succeeded: a stage that did not succeed is the failed one or comes after it.
    outputRef
      - Only a succeeded invocation has one (a failed or skipped one produced nothing).
      - It is "sha256:" and the SHA-256 of the artifact its stage produced, as canonical JSON
        (sorted keys, no white space, UTF-8; numbers as the contract writes them back, so a
        percentage sent as 5 is 5.0) without transient keys (contracts.output_ref). It is
        checked whenever that artifact is present (a condensed run keeps the outputRefs of the
        artifacts it lost). Left out, it is filled in when the run is stored (the pipeline's
        runs too).
    Other
      - `metadata.replayOf` does not name the run itself.
    """

    # A copy read back from storage is validated under the context ALREADY_VALIDATED: the rules
    # of agentHistory and status against it, of artifacts against agentHistory and of outputRef
    # (with RunMetadata.id's reserved words and outputRef's form) held on its way in and are
    # not applied again.

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
    def _consistent(self, info: ValidationInfo) -> RunResult:
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
        if _already_validated(info):
            return self
        outcome = _history_outcome(self.agent_history)
        _check_status(self.metadata, self.agent_history, outcome)
        for stage, (agent, artifact) in enumerate(STAGES):
            wire = WIRE_NAME[artifact]
            success = outcome.succeeded.get(stage)
            if success is not None and not present[stage] and wire not in removed:
                raise at(wire, f"is absent, but {agent} succeeded (agentHistory[{success}]); a "
                         "stage that succeeded leaves its artifact (only retention removes one, "
                         "and names it in metadata.condensed.removed)")
        for i, entry in enumerate(self.agent_history):
            if entry.output_ref is None:
                continue
            where = f"agentHistory[{i}].outputRef"
            if entry.status != "succeeded":
                raise at(where, f"is set on a {entry.status} invocation, which produced no "
                         "artifact")
            produced = getattr(self, ARTIFACT_OF[entry.agent])
            if produced is not None and (expected := output_ref(produced)) != entry.output_ref:
                raise at(where, f"is {entry.output_ref}, but {WIRE_NAME[ARTIFACT_OF[entry.agent]]}"
                         f" hashes to {expected}: an outputRef is the SHA-256 of the canonical "
                         "JSON of the artifact its invocation produced (transient keys dropped); "
                         "leave it out and it is filled in")
        return self


@dataclass(frozen=True)
class _Outcome:
    """What agentHistory says happened (`_history_outcome`)."""

    last: int | None  # the index of the last invocation that ran (None: none ran)
    stage: int  # the stage it belongs to (an index into the stage order)
    ok: bool  # whether it succeeded
    succeeded: dict[int, int]  # each stage that succeeded -> the index of its success


def _history_outcome(history: list[AgentHistoryEntry]) -> _Outcome:
    """Read agentHistory in sequence order against the stage order (RunResult's rules on
    agentHistory); raise at the first entry that breaks one."""
    order = sorted(range(len(history)), key=lambda i: history[i].sequence)
    stage, ok = -1, True  # the stage being run; whether its last invocation succeeded
    last: int | None = None  # the last invocation that ran
    skipped: tuple[int, int] | None = None  # (stage, index) of the last skipped invocation
    succeeded: dict[int, int] = {}
    for i in order:
        entry = history[i]
        at_stage = STAGE_ORDER[entry.agent]
        where = f"agentHistory[{i}]"
        if entry.status == "skipped":
            if ok:
                raise at(f"{where}.status", "is skipped, but the run did not stop at a failed "
                         "invocation before it; only the stages after a failed one are skipped")
            after = skipped[0] if skipped is not None else stage
            if at_stage <= after:
                raise at(f"{where}.agent", f"is {entry.agent}, skipped after "
                         f"{STAGE_NAMES[after]}; the stages skipped are those after the failed "
                         "one, each once, in stage order")
            skipped = (at_stage, i)
            continue
        if skipped is not None:
            raise at(f"{where}.status", f"is {entry.status}, but agentHistory[{skipped[1]}] "
                     "before it is skipped; nothing runs after a run stopped")
        if at_stage == stage and not ok:
            pass  # another attempt at the stage whose last attempt failed: a retry
        elif at_stage == stage + 1 and ok:
            stage = at_stage
        elif at_stage == stage:
            raise at(f"{where}.agent", f"is {entry.agent} again, after it succeeded "
                     f"(agentHistory[{last}]); a stage that succeeded does not run again")
        elif not ok:
            raise at(f"{where}.agent", f"is {entry.agent}, but {STAGE_NAMES[stage]} failed "
                     f"last (agentHistory[{last}]); a stage runs only after the one before it "
                     "succeeded")
        else:
            expected = (f"{STAGE_NAMES[stage + 1]} comes next" if stage + 1 < len(STAGE_NAMES)
                        else f"every stage had succeeded (agentHistory[{last}])")
            raise at(f"{where}.agent", f"is {entry.agent}, but {expected}; agentHistory, in "
                     f"sequence order, follows the stage order {' -> '.join(STAGE_NAMES)}")
        ok = entry.status == "succeeded"
        if ok:
            succeeded[stage] = i
        last = i
    return _Outcome(last, stage, ok, succeeded)


def _check_status(metadata: RunMetadata, history: list[AgentHistoryEntry],
                  outcome: _Outcome) -> None:
    """metadata.status and metadata.failedAgent against what agentHistory says happened."""
    status, last = metadata.status, outcome.last
    if last is None:
        raise at("agentHistory", f"is empty, but metadata.status is {status}; a run records "
                 "the invocation of every stage that ran")
    agent = history[last].agent
    if status == "succeeded":
        if not outcome.ok:
            raise at("metadata.status", f"is succeeded, but the last invocation, "
                     f"agentHistory[{last}] ({agent}), failed")
        if outcome.stage < len(STAGE_NAMES) - 1:
            raise at("metadata.status", f"is succeeded, but agentHistory ends with {agent} "
                     f"(agentHistory[{last}]): {', '.join(STAGE_NAMES[outcome.stage + 1:])} "
                     "never ran")
        return
    if outcome.ok:
        raise at("metadata.status", f"is failed, but no invocation failed last: "
                 f"agentHistory[{last}] ({agent}) succeeded")
    if metadata.failed_agent is None:
        raise at("metadata.failedAgent", f"is required when the run failed: here {agent} "
                 f"(agentHistory[{last}])")
    if metadata.failed_agent != agent:
        raise at("metadata.failedAgent", f"is {metadata.failed_agent}, but the invocation "
                 f"that failed is {agent}'s (agentHistory[{last}])")


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
    """One RunResult as JSON (on one line or many), or many as JSON Lines; every run is
    validated before any is used (parse_numbered_run_results, without the line numbers)."""
    return [run for _, run in parse_numbered_run_results(text)]


def parse_numbered_run_results(text: str) -> list[tuple[int, RunResult]]:
    """One RunResult as JSON (on one line or many), or many as JSON Lines, each with the line it
    starts on; every run is validated before any is used.

    Each run is parsed as POST /api/orchestration/runs parses its body (pydantic's JSON parser,
    with its nesting limit), so a document too deeply nested is a ContractError, never a
    RecursionError. ContractError lists the errors of every bad run, each field path prefixed
    with its line ("line 3: recipe.ingredients[2].percentage: ...") when the document is JSON
    Lines or a single line.
    """
    stripped = text.strip()
    if not stripped:
        raise ContractError([{"field": "(document)", "message": "is empty; expected a RunResult "
                              "as JSON or RunResults as JSON Lines", "type": "empty"}],
                            what="document")
    lines = [(number, line) for number, line in enumerate(text.splitlines(), start=1)
             if line.strip()]
    if len(lines) > 1 and (isinstance(_json_or_none(stripped), dict)
                           or _json_or_none(lines[0][1]) is None):
        # One JSON object over several lines (or a document that is neither it nor JSON Lines,
        # whose first line is no JSON: its error names the line and column in the document).
        return [(lines[0][0], parse_run_result(stripped))]
    runs: list[tuple[int, RunResult]] = []
    errors: list[dict[str, str]] = []
    for number, line in lines:
        try:
            runs.append((number, parse_run_result(line)))
        except ContractError as exc:
            errors += [{**e, "field": f"line {number}: {e['field']}",
                        "message": e["message"].replace(" at line 1 column ", " at column ")}
                       for e in exc.errors]
    if errors:
        raise ContractError(errors, what="document")
    return runs


def _json_or_none(text: str) -> Any:
    """The JSON value of `text` by pydantic's parser (the one that validates runs, with the
    same nesting limit), or None when it is not JSON."""
    try:
        return pydantic_core.from_json(text)
    except ValueError:
        return None


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
    expires_at: UtcDatetime


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
    "open_envelope", "parse_input", "parse_numbered_run_results", "parse_run_result",
    "parse_run_results_document", "ALREADY_VALIDATED", "RESERVED_RUN_IDS", "RunId", "seal",
]
