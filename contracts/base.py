"""Shared pieces of the v1 contract: the base model, canonical JSON and checksums, error paths.

PURE: imports neither django, neo4j, celery nor the clock.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Final

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    ValidationError,
)
from pydantic.alias_generators import to_camel

CONTRACT_VERSION: Final = "v1"

# Identifiers are printable, short and free of anything a path or query language cares about.
Identifier = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:\-]*$")
]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
ShortText = Annotated[str, StringConstraints(max_length=2000)]
# Finite, strictly typed numbers: "12.5" (a string), NaN and Infinity are refused.
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0)]
Positive = Annotated[float, Field(strict=True, allow_inf_nan=False, gt=0)]
Percentage = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0, le=100)]


def _finite_json(value: JsonValue) -> JsonValue:
    """Free-form JSON holds finite numbers only: NaN, Infinity and literals too large for a float
    (1e999) cannot be stored or checksummed as JSON. Pydantic's JSON-mode JsonValue lets them
    through, so they are refused here, naming the path inside the object.

    The common case (all finite) is checked by the C JSON encoder, which refuses NaN and
    Infinity; only then is the object walked in Python to name the path. Every artifact's free
    JSON passes here at each validation, so this is on the pipeline's hot path."""
    try:
        json.dumps(value, allow_nan=False)
        return value
    except (ValueError, TypeError):
        pass  # a non-finite number (or something the walk below lets through): find its path
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            message = f"must be a finite number, got {item!r}"
            raise at(path, message) if path else ValueError(message)
        if isinstance(item, Mapping):
            stack += [(f"{path}.{k}" if path else str(k), v) for k, v in item.items()]
        elif isinstance(item, list):
            stack += [(f"{path}[{i}]", v) for i, v in enumerate(item)]
    return value


# Free-form JSON (metadata, properties, parameters, layout...): any JSON, finite numbers only.
FreeJson = Annotated[JsonValue, AfterValidator(_finite_json)]
JsonObject = Annotated[dict[str, JsonValue], AfterValidator(_finite_json)]


def _representable_in_utc(value: datetime) -> datetime:
    """Every stored timestamp is converted to UTC (the ledger, Neo4j, the checksums' readers):
    one that leaves years 1 to 9999 once converted (9999-12-31T22:00:00-05:00 is year 10000 in
    UTC, 0001-01-01T03:00:00+05:00 is year 0) cannot be, so it is refused here, at the door."""
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise ValueError(
            f"cannot be represented in UTC (it falls outside the years 1 to 9999 once converted),"
            f" got {value.isoformat()}; send a time between 0001-01-01T00:00:00Z and "
            "9999-12-31T23:59:59.999999Z") from None
    return value


# A timezone-aware timestamp that can be converted to UTC: every datetime of the contract.
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_representable_in_utc)]


class ContractModel(BaseModel):
    """Base of every contract model: camelCase on the wire, unknown fields refused, immutable."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        str_strip_whitespace=False,
        ser_json_inf_nan="strings",
    )

    def to_wire(self) -> dict[str, Any]:
        """The JSON-ready dict of this model as it travels on the wire (camelCase, no nulls)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no whitespace, UTF-8 text kept as is, NaN refused."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json", by_alias=True, exclude_none=True)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def sha256_hex(data: str | bytes) -> str:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return hashlib.sha256(raw).hexdigest()


def checksum(value: Any) -> str:
    """SHA-256 of the canonical JSON of a model or JSON value."""
    return sha256_hex(canonical_json(value))


def strip_transient(value: JsonValue) -> JsonValue:
    """Drop transient keys (those starting with "_") from free-form JSON, recursively."""
    if isinstance(value, Mapping):
        return {k: strip_transient(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [strip_transient(v) for v in value]
    return value


def output_ref(artifact: Any) -> str:
    """An agentHistory entry's outputRef: "sha256:" and the SHA-256 of the canonical JSON of the
    artifact it produced, as stored (its contract serialization, transient keys dropped)."""
    if isinstance(artifact, BaseModel):
        artifact = artifact.model_dump(mode="json", by_alias=True, exclude_none=True)
    text = canonical_json(artifact)
    if '"_' in text:  # perhaps a transient key: hash the artifact without them
        text = canonical_json(strip_transient(artifact))
    return f"sha256:{sha256_hex(text)}"


# --- errors ------------------------------------------------------------------------------------


def field_path(loc: Iterable[int | str]) -> str:
    """("recipe", "ingredients", 3, "percentage") -> "recipe.ingredients[3].percentage"."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(root)"


class ContractError(ValueError):
    """Input that does not satisfy the v1 contract. `errors` lists {field, message, type}."""

    def __init__(self, errors: list[dict[str, str]], *, what: str = "input") -> None:
        self.errors = errors
        lines = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:20])
        more = f" (and {len(errors) - 20} more)" if len(errors) > 20 else ""
        super().__init__(f"The {what} does not satisfy the v1 contract: {lines}{more}")

    @classmethod
    def from_validation_error(cls, exc: ValidationError, *, what: str = "input",
                              prefix: tuple[str | int, ...] = ()) -> ContractError:
        errors = []
        for err in exc.errors(include_url=False):
            path = field_path((*prefix, *err["loc"]))
            message = err["msg"]
            if err["type"] == "value_error":
                message = message.removeprefix("Value error, ")
                if message.startswith("@"):  # a model validator naming a field inside the model
                    relative, _, message = message[1:].partition(": ")
                    joiner = "" if relative.startswith("[") or path == "(root)" else "."
                    path = relative if path == "(root)" else f"{path}{joiner}{relative}"
            elif err["type"] not in {"missing", "extra_forbidden"} and "input" in err:
                shown = repr(err["input"])
                message += f", got {shown if len(shown) <= 60 else shown[:57] + '...'}"
            errors.append({"field": path, "message": message, "type": err["type"]})
        return cls(errors, what=what)


def at(path: str, message: str) -> ValueError:
    """An error raised by a model validator for the field `path` inside that model."""
    return ValueError(f"@{path}: {message}")


def nul_errors(value: Any, path: str = "") -> list[dict[str, str]]:
    """Errors for every string (value or key) holding a NUL character: no text store keeps it
    faithfully (PostgreSQL's jsonb refuses it), so the contract refuses it at the door."""
    errors: list[dict[str, str]] = []
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str) and "\x00" in item:
            errors.append({"field": where or "(root)", "type": "nul_character",
                           "message": "must not contain the NUL character (U+0000)"})
        elif isinstance(item, Mapping):
            for key, sub in item.items():
                child = f"{where}.{key}" if where else str(key)
                if "\x00" in str(key):
                    errors.append({"field": where or "(root)", "type": "nul_character",
                                   "message": "has a key containing the NUL character"})
                stack.append((child, sub))
        elif isinstance(item, list):
            stack += [(f"{where}[{i}]", sub) for i, sub in enumerate(item)]
    return sorted(errors, key=lambda e: e["field"])
