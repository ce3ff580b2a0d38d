"""The run history's rules, PURE (imports neither django, neo4j, celery nor the clock): what the
ledger keeps of a finished run for the history page (`ledger_columns`), the history's query
(`parse_history_query`: filters, sort, page size and cursor, every bad value refused naming its
field), the keyset cursor (stable under inserts), and the export's rows (CSV and JSON).

orchestration/selectors.py (`run_history_page`, `run_history_export`) applies a HistoryQuery to
the ledger; the web view only parses and renders.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

from contracts.stages import STAGE_NAMES
from contracts.units import GRAMS_PER, MILLILITRES_PER

STATUSES: Final = ("queued", "running", "persisting", "succeeded", "failed")
PAGE_SIZE: Final = 50
MAX_PAGE_SIZE: Final = 200
EXPORT_LIMIT: Final = 10_000  # rows in one export (CSV or JSON); the export says when it is cut
MAX_TEXT: Final = 200
MAX_TERMS: Final = 8

# Sortable columns: the name in the URL -> the ledger column. A column that may be empty sorts
# as its NULL_KEY (below every real value), so that the keyset cursor never compares a NULL.
SORTS: Final[Mapping[str, str]] = {
    "created": "created_at", "duration": "total_duration_ms", "cost": "cost_total",
    "costPerKg": "cost_per_kg", "batch": "batch_kg", "status": "status", "product": "product",
    "user": "owner_name",
}
NULL_KEY: Final[Mapping[str, Any]] = {
    "total_duration_ms": -1.0, "cost_total": -1.0, "cost_per_kg": -1.0, "batch_kg": -1.0,
}
DEFAULT_SORT: Final = "-created"
# The type of each sort's key in a cursor.
_TEXT_SORTS: Final = frozenset({"status", "product", "user"})


class HistoryQueryError(ValueError):
    """Bad history parameters: `errors` maps each bad parameter to a sentence about it."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(f"{name}: {text}" for name, text in self.errors.items()))


@dataclass(frozen=True)
class HistoryQuery:
    """A validated history query. Dates are UTC; `until` is exclusive; durations are ms."""

    text: str = ""
    status: str = ""
    product: str = ""
    user: str = ""
    since: datetime | None = None
    until: datetime | None = None
    duration_min_ms: float | None = None
    duration_max_ms: float | None = None
    breached: bool | None = None
    qa: bool | None = None
    failed_agent: str = ""
    sort: str = DEFAULT_SORT
    size: int = PAGE_SIZE
    cursor: tuple[Any, int] | None = None

    @property
    def sort_field(self) -> str:
        return SORTS[self.sort.lstrip("-")]

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")

    @property
    def terms(self) -> list[str]:
        """The words of the text search: each must occur (case-insensitive) in the runId, the
        request text or the product."""
        return text_terms(self.text)


def text_terms(text: str) -> list[str]:
    return [word for word in text.split() if word][:MAX_TERMS]


# The query parameters of the history page, in the order of its form.
PARAMS: Final = ("q", "status", "product", "user", "since", "until", "duration_min",
                 "duration_max", "breached", "qa", "failed_agent", "sort", "size", "cursor")


def _day(name: str, raw: str, errors: dict[str, str]) -> date | None:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = f"must be a date written YYYY-MM-DD, got {raw[:40]!r}."
        return None


def _seconds(name: str, raw: str, errors: dict[str, str]) -> float | None:
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not (0 <= value <= 10_000_000):  # also refuses nan and inf
        errors[name] = f"must be a number of seconds from 0 to 10000000, got {raw[:40]!r}."
        return None
    return value * 1000.0


def parse_history_query(params: Mapping[str, str], *, may_filter_user: bool) -> HistoryQuery:
    """The history query of the page's parameters (blank ones count as absent). Raises
    HistoryQueryError naming every bad parameter: an unknown name, a value out of its set, a
    malformed date or number, a window or range the wrong way round, a cursor this list did not
    hand out, a user filter from someone who sees only their own runs."""
    errors: dict[str, str] = {}
    values = {name: str(value).strip() for name, value in params.items() if str(value).strip()}
    for name in sorted(set(values) - set(PARAMS)):
        errors[name] = f"is not a filter of the run history; use one of {', '.join(PARAMS)}."
    for name in sorted(set(values) & set(PARAMS)):
        if "\x00" in values[name]:
            errors[name] = "must not contain a NUL character."
            values[name] = values[name].replace("\x00", "")
    get = values.get
    kwargs: dict[str, Any] = {}
    text = get("q", "")
    if len(text) > MAX_TEXT:
        errors["q"] = f"must be at most {MAX_TEXT} characters, got {len(text)}."
    kwargs["text"] = text
    status = get("status", "")
    if status and status not in STATUSES:
        errors["status"] = f"must be one of {', '.join(STATUSES)}, got {status[:40]!r}."
    kwargs["status"] = status
    product = get("product", "")
    if len(product) > MAX_TEXT:
        errors["product"] = f"must be at most {MAX_TEXT} characters, got {len(product)}."
    kwargs["product"] = product
    user = get("user", "")
    if user and not may_filter_user:
        errors["user"] = ("you see only your own runs, so there is no other user to filter on; "
                          "leave it empty.")
    elif len(user) > 150:
        errors["user"] = "must be a user name of at most 150 characters."
    kwargs["user"] = user
    since = _day("since", values["since"], errors) if "since" in values else None
    until = _day("until", values["until"], errors) if "until" in values else None
    if since is not None and until is not None and until < since:
        errors["until"] = (f"must be on or after since ({since.isoformat()}), "
                           f"got {until.isoformat()}.")
    kwargs["since"] = datetime.combine(since, time(), UTC) if since else None
    # `until` is a whole day, included: the window ends at the next midnight.
    kwargs["until"] = (datetime.combine(until, time(), UTC) + timedelta(days=1)
                       if until and until < date.max else None)
    dmin = _seconds("duration_min", values["duration_min"], errors) \
        if "duration_min" in values else None
    dmax = _seconds("duration_max", values["duration_max"], errors) \
        if "duration_max" in values else None
    if dmin is not None and dmax is not None and dmax < dmin:
        errors["duration_max"] = "must be at least duration_min."
    kwargs["duration_min_ms"], kwargs["duration_max_ms"] = dmin, dmax
    breached = get("breached", "")
    if breached and breached not in ("yes", "no"):
        errors["breached"] = f"must be yes or no, got {breached[:40]!r}."
    kwargs["breached"] = {"yes": True, "no": False}.get(breached)
    qa = get("qa", "")
    if qa and qa not in ("valid", "invalid"):
        errors["qa"] = f"must be valid or invalid, got {qa[:40]!r}."
    kwargs["qa"] = {"valid": True, "invalid": False}.get(qa)
    agent = get("failed_agent", "")
    if agent and agent not in STAGE_NAMES:
        errors["failed_agent"] = f"must be one of {', '.join(STAGE_NAMES)}, got {agent[:40]!r}."
    kwargs["failed_agent"] = agent
    sort = get("sort", DEFAULT_SORT)
    if sort.lstrip("-") not in SORTS or sort.count("-") > 1:
        errors["sort"] = (f"must be one of {', '.join(SORTS)}, with a leading - for "
                          f"descending, got {sort[:40]!r}.")
        sort = DEFAULT_SORT
    kwargs["sort"] = sort
    size_raw = get("size", str(PAGE_SIZE))
    size = int(size_raw) if size_raw.isdigit() else 0
    if not 1 <= size <= MAX_PAGE_SIZE:
        errors["size"] = f"must be a whole number from 1 to {MAX_PAGE_SIZE}, got {size_raw[:40]!r}."
    kwargs["size"] = size
    if "cursor" in values:
        try:
            kwargs["cursor"] = decode_cursor(values["cursor"], sort=sort)
        except ValueError as exc:
            errors["cursor"] = str(exc)
    if errors:
        raise HistoryQueryError(errors)
    return HistoryQuery(**kwargs)


# --- the keyset cursor -------------------------------------------------------------------------
# A page ends at a row: its sort key and its id. The next page is the rows after that one in
# the same order, whatever was inserted since (an offset would shift by every new run).


def encode_cursor(*, sort: str, key: Any, row_id: int) -> str:
    if isinstance(key, datetime):
        key = {"t": key.astimezone(UTC).isoformat()}
    raw = json.dumps([sort, key, row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(raw: str, *, sort: str) -> tuple[Any, int]:
    """(sort key, row id) of a cursor; ValueError when it is not one this list handed out for
    this sort order."""
    bad = "is not a cursor this list handed out; follow the page's Next link."
    try:
        data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError(bad) from exc
    if not (isinstance(data, list) and len(data) == 3 and isinstance(data[2], int)):
        raise ValueError(bad)
    cursor_sort, key, row_id = data
    if cursor_sort != sort:
        raise ValueError("belongs to another sort order; start again from the first page.")
    name = sort.lstrip("-")
    if name == "created":
        if not (isinstance(key, dict) and set(key) == {"t"} and isinstance(key["t"], str)):
            raise ValueError(bad)
        try:
            key = datetime.fromisoformat(key["t"])
        except ValueError as exc:
            raise ValueError(bad) from exc
        if key.tzinfo is None:
            raise ValueError(bad)
    elif name in _TEXT_SORTS:
        if not isinstance(key, str):
            raise ValueError(bad)
    elif isinstance(key, bool) or not isinstance(key, int | float):
        raise ValueError(bad)
    return key, row_id


# --- what the ledger keeps of a finished run ---------------------------------------------------


def cost_per_kg(total: float | None, batch: float | None, unit: str | None) -> float | None:
    """Cost per kg of a batch given by mass; None for a volume (no density at this level)."""
    if total is None or not batch or unit not in GRAMS_PER:
        return None
    return total / (batch * GRAMS_PER[unit] / 1000.0)


def batch_kg(batch: float | None, unit: str | None) -> float | None:
    """The batch in kg (mass units), or in litres (volume units, as if water): a sort key."""
    if batch is None or not unit:
        return None
    if unit in GRAMS_PER:
        return batch * GRAMS_PER[unit] / 1000.0
    if unit in MILLILITRES_PER:
        return batch * MILLILITRES_PER[unit] / 1000.0
    return None


def ledger_columns(result: Mapping[str, Any]) -> dict[str, Any]:
    """The history columns of a finished run, from its RunResult in wire form: product (the
    recipe's name) and recipe id, total cost and currency, cost per kg, QA outcome, whether a
    budget was breached."""
    recipe = result.get("recipe") or {}
    calc = result.get("calculation") or {}
    costs = calc.get("costs") or {}
    validation = result.get("validation") or {}
    condensed = (result.get("metadata") or {}).get("condensed") or {}
    request = result.get("request") or {}
    total = costs.get("total")
    breaches = list((result.get("metadata") or {}).get("budgetBreaches") or [])
    breaches += [kind for e in result.get("agentHistory") or []
                 for kind in e.get("budgetBreaches") or []]
    qa = validation.get("valid")
    if qa is None and isinstance(condensed.get("validation"), Mapping):
        qa = condensed["validation"].get("valid")
    return {
        "product": str(recipe.get("name") or "")[:200],
        "recipe_id": str(recipe.get("id") or "")[:128],
        "cost_total": float(total) if isinstance(total, int | float) else None,
        "cost_currency": str(costs.get("currency") or "")[:3] if total is not None else "",
        "cost_per_kg": cost_per_kg(total, request.get("targetBatchSize"),
                                   request.get("targetUnit")),
        "qa_valid": qa if isinstance(qa, bool) else None,
        "budget_breached": bool(breaches),
    }


# --- export ------------------------------------------------------------------------------------

EXPORT_COLUMNS: Final = (
    "runId", "status", "createdAt", "user", "product", "recipeId", "batchSize", "batchUnit",
    "costTotal", "currency", "costPerKg", "qaValid", "budgetBreached", "durationMs",
    "failedAgent", "replayOf", "requestText",
)


def csv_cell(value: Any) -> Any:
    """A cell a spreadsheet shows as text: a leading = + - @ (a formula) gets a quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_rows(rows: Iterable[Mapping[str, Any]]) -> Iterable[list[Any]]:
    yield list(EXPORT_COLUMNS)
    for row in rows:
        yield [csv_cell("" if row.get(name) is None else row[name]) for name in EXPORT_COLUMNS]


# --- the analytics page's ledger charts --------------------------------------------------------


def nearest_rank(values: list[float], fraction: float) -> float | None:
    """The nearest-rank percentile (an observed value, as Neo4j's percentileDisc)."""
    if not values:
        return None
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1))
    return ordered[index]


def ledger_timeline(rows: Iterable[tuple[datetime, str, float | None, str, str, float | None]]
                    ) -> dict[str, Any]:
    """Per UTC day, from ledger rows (createdAt, status, durationMs, product, currency,
    costPerKg): the finished runs' latency (p50, p95) and error rate, and the cost per kg of
    each product (and currency): the mean of its runs' costs per kg, with min and max. A run
    whose batch is a volume has no cost per kg and is left out of that chart only."""
    latency: dict[str, dict[str, Any]] = {}
    costs: dict[tuple[str, str], dict[str, list[float]]] = {}
    for created, status, duration, product, currency, per_kg in rows:
        day = created.astimezone(UTC).date().isoformat()
        if status in ("succeeded", "failed"):
            bucket = latency.setdefault(day, {"runs": 0, "failed": 0, "durations": []})
            bucket["runs"] += 1
            bucket["failed"] += status == "failed"
            if duration is not None:
                bucket["durations"].append(duration)
        if per_kg is not None and product:
            costs.setdefault((product, currency), {}).setdefault(day, []).append(per_kg)
    days = sorted(latency)
    return {
        "latency": [{"day": day, "runs": latency[day]["runs"], "failed": latency[day]["failed"],
                     "errorRate": latency[day]["failed"] / latency[day]["runs"],
                     "p50Ms": nearest_rank(latency[day]["durations"], 0.5),
                     "p95Ms": nearest_rank(latency[day]["durations"], 0.95)} for day in days],
        "costPerKg": [{"product": product, "currency": currency, "points": [
            {"day": day, "runs": len(values), "avg": sum(values) / len(values),
             "min": min(values), "max": max(values)}
            for day, values in sorted(by_day.items())]}
            for (product, currency), by_day in sorted(
                costs.items(), key=lambda kv: (-sum(map(len, kv[1].values())), kv[0]))],
    }
