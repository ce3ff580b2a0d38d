"""Web pages: the request form, the run page (live while the run is in progress, then the result
rendered from its uiConfig), the run's status as JSON for the page to poll, and recent runs.

Thin edges: a view parses, calls one service (`run_request_create`) or reads the ledger and the
graph, and renders. Reading a finished run prefers the copy replayed from Neo4j and falls back
to the ledger's outbox copy. `result_blocks` shapes a RunResult into display blocks for the
template (presentation only: it decides nothing about the run).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from kombu.exceptions import OperationalError as BrokerUnavailable
from neo4j.exceptions import DriverError, Neo4jError
from pydantic import ValidationError
from redis.exceptions import RedisError

from contracts import STAGE_NAMES, RunResult
from graphstore.errors import ReplayError, RunNotFound

from . import replays, selectors
from .backpressure import QueueFull
from .errors import RunNotKnown
from .forms import EXAMPLES, PRODUCT_NAMES, UNITS, RunRequestForm
from .models import RunRecord, RunStatus
from .serializers import RunLedgerStatusSerializer
from .services import run_request_create

logger = logging.getLogger(__name__)

FINISHED = {RunStatus.SUCCEEDED.value, RunStatus.FAILED.value}
OVERLOADED = ("The system cannot accept new requests right now: its task queue is not "
              "reachable or is overloaded. Nothing was started. Please try again in a minute.")


# --- the request form ----------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def run_request_form(request: HttpRequest) -> HttpResponse:
    """GET: the form (prefilled from ?request=&size=&unit=); POST: start the run, 303 to it."""
    if request.method == "POST":
        form = RunRequestForm(request.POST)
        if form.is_valid() and form.contract is not None:
            try:
                record = run_request_create(user=request.user, request=form.contract)
            except QueueFull as exc:  # backpressure: nothing was recorded
                form.add_error(None, f"{exc} Your request was not submitted; the form keeps "
                               "what you typed.")
                response = _render_form(request, form, status=429)
                response["Retry-After"] = str(exc.retry_after_s)
                return response
            except (BrokerUnavailable, RedisError):
                logger.exception("the request could not be enqueued")
                form.add_error(None, OVERLOADED)
                return _render_form(request, form, status=503)
            response = HttpResponseRedirect(reverse("run-detail", args=[record.run_id]))
            response.status_code = 303  # See Other: the browser GETs the run page
            return response
        return _render_form(request, form, status=400)
    initial = {"user_request": request.GET.get("request", ""),
               "target_batch_size": request.GET.get("size") or None,
               "target_unit": request.GET.get("unit") if request.GET.get("unit") in UNITS
               else "kg"}
    return _render_form(request, RunRequestForm(initial=initial))


def _render_form(request: HttpRequest, form: RunRequestForm, *, status: int = 200) -> HttpResponse:
    return render(request, "orchestration/request_form.html",
                  {"form": form, "examples": EXAMPLES, "products": PRODUCT_NAMES,
                   "recent": selectors.run_list().filter(submitted_by=request.user.pk)
                   .only("run_id", "status", "request_text", "created_at")[:5]},
                  status=status)


# --- the run page ------------------------------------------------------------------------------


@login_required
@require_GET
@never_cache
def run_detail(request: HttpRequest, run_id: str) -> HttpResponse:
    """The run: header, live stage timeline, then (once finished) the rendered result."""
    try:
        record = selectors.run_get(run_id=run_id)
    except RunNotKnown as exc:
        raise Http404(str(exc)) from exc
    copy = result_copy(record)
    run = copy.run if copy else None
    context = {
        "record": record,
        "request_view": request_view(record.request),
        "stages": stage_rows(record.stages),
        "finished": record.status in FINISHED,
        "copy": copy,
        "run": run,
        "blocks": result_blocks(run) if run is not None else [],
        "accent": theme_accent(run),
        "failure": failure_of(record, run),
        "status_url": reverse("run-status-json", args=[record.run_id]),
        # Retention and replay: the condensed marker, the diff against the original, replays.
        "condensed": run.metadata.condensed if run is not None else None,
        "history": replays.run_history_get(record=record, run=run),
    }
    return render(request, "orchestration/run_detail.html", context)


@login_required
@require_POST
def run_replay_submit(request: HttpRequest, run_id: str) -> HttpResponse:
    """POST from the run page: replay the run with the current agents, 303 to the new run."""
    try:
        record = replays.run_replay_create(user=request.user, run_id=run_id)
    except RunNotFound:
        messages.error(request, "This run is not persisted in Neo4j (yet), so it cannot be "
                       "replayed.")
    except QueueFull as exc:
        messages.error(request, f"{exc} The replay was not submitted.")
    except (BrokerUnavailable, RedisError):
        logger.exception("the replay could not be enqueued")
        messages.error(request, OVERLOADED)
    else:
        response = HttpResponseRedirect(reverse("run-detail", args=[record.run_id]))
        response.status_code = 303
        return response
    response = HttpResponseRedirect(reverse("run-detail", args=[run_id]))
    response.status_code = 303
    return response


@require_GET
@never_cache
def run_status_json(request: HttpRequest, run_id: str) -> JsonResponse:
    """What the run page polls: the ledger's view of the run, in the shape of the JSON API's
    GET /api/orchestration/runs/{runId}/status. 401 (not a login redirect) without a session."""
    if not request.user.is_authenticated:
        return JsonResponse({"detail": "Log in to see this run.", "code": "not_authenticated",
                             "errors": []}, status=401)
    try:
        record = selectors.run_get(run_id=run_id)
    except RunNotKnown as exc:
        return JsonResponse({"detail": str(exc), "code": "not_found", "errors": []}, status=404)
    return JsonResponse(RunLedgerStatusSerializer(record).data)


@login_required
@require_GET
def run_list(request: HttpRequest) -> HttpResponse:
    """The 50 most recent runs."""
    runs = selectors.run_list().select_related("submitted_by").defer(
        "result", "request", "write_summary", "stages")[:50]
    return render(request, "orchestration/run_list.html", {"runs": runs})


# --- reading a finished run --------------------------------------------------------------------


@dataclass(frozen=True)
class ResultCopy:
    """The RunResult the page shows and where it came from ("neo4j" or "ledger")."""

    run: RunResult | None
    source: str
    note: str


def result_copy(record: RunRecord) -> ResultCopy | None:
    """The run's result: replayed from Neo4j when it was persisted and Neo4j answers, else the
    ledger's copy (the outbox); None while no stage has finished the run."""
    if record.result is None and record.persisted_at is None:
        return None
    if record.persisted_at is not None:
        try:
            return ResultCopy(selectors.run_replay(run_id=record.run_id), "neo4j", "")
        except RunNotFound:
            note = ("The ledger marks this run as persisted, but Neo4j holds no committed copy "
                    "of it (it may have been condensed or removed).")
        except ReplayError as exc:
            note = f"The copy in Neo4j cannot be read back: {exc}"
        except (Neo4jError, DriverError, OSError) as exc:
            logger.warning("run page of %s: Neo4j is not reachable: %s", record.run_id, exc)
            note = f"Neo4j is not reachable right now ({type(exc).__name__})."
    elif record.persist_error:
        note = f"Not persisted to Neo4j: {record.persist_error}"
    else:
        note = "Not persisted to Neo4j yet: the write is queued."
    if record.result is None:
        return ResultCopy(None, "", f"{note} The ledger holds no copy of the result either.")
    try:
        return ResultCopy(RunResult.model_validate(record.result), "ledger", note)
    except ValidationError as exc:
        return ResultCopy(None, "", f"{note} The ledger's copy does not read as a v1 RunResult "
                                    f"({exc.error_count()} errors).")


def failure_of(record: RunRecord, run: RunResult | None) -> dict[str, str] | None:
    agent = record.failed_agent or (run.metadata.failed_agent if run else None) or ""
    if not agent and record.status != RunStatus.FAILED:
        return None
    error = record.error
    if run is not None and not error:
        error = next((e.error or "" for e in run.agent_history if e.status == "failed"), "")
    if not error and record.persist_error:
        error = record.persist_error
    return {"agent": agent or "the persistence step", "error": error or "No error was recorded."}


# --- presentation ------------------------------------------------------------------------------

_HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{3}(?:[0-9a-fA-F]{3})?$")
LABELS = {"scaledQuantity": "Quantity", "scaledUnit": "Unit", "unitCost": "Unit cost",
          "ingredientId": "Ingredient id", "id": "Id", "perUnit": "Per unit"}
MONEY = {"cost", "unitCost", "total", "perUnit"}


def humanize(key: str) -> str:
    """"scaledQuantity" -> "Scaled quantity"."""
    if key in LABELS:
        return LABELS[key]
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", key).replace("_", " ").split()
    return " ".join(words).capitalize() if words else key


def fmt(value: Any, *, money: bool = False) -> str:
    """Numbers rounded for reading (money to 2 decimals), the rest as text."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        if money:
            return f"{value:,.2f}"
        if value == int(value) and abs(value) < 1e15:
            return f"{int(value):,}"
        if abs(value) >= 1:
            return f"{value:,.3f}".rstrip("0").rstrip(".")
        return f"{value:.4g}"
    if value is None:
        return "—"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def theme_accent(run: RunResult | None) -> str:
    accent = run.ui_config.theme.get("accent") if run and run.ui_config else None
    return accent if isinstance(accent, str) and _HEX_COLOUR.match(accent) else "#344054"


def request_view(wire: Mapping[str, Any]) -> dict[str, Any]:
    context = wire.get("context") or {}
    return {
        "text": wire.get("userRequest", ""),
        "size": fmt(wire.get("targetBatchSize")),
        "unit": wire.get("targetUnit", ""),
        "cost_map": sorted((k, fmt(v)) for k, v in (context.get("costMap") or {}).items()),
        "density_map": sorted((k, fmt(v)) for k, v in (context.get("densityMap") or {}).items()),
    }


def stage_rows(stages: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for number, name in enumerate(STAGE_NAMES, start=1):
        info = stages.get(name) or {}
        duration = info.get("durationMs")
        memory = info.get("memoryMb")
        rows.append({"number": number, "agent": name, "status": info.get("status", "pending"),
                     "duration": f"{fmt(duration)} ms" if duration is not None else "",
                     "memory": f"{fmt(memory)} MB" if memory is not None else "",
                     "error": info.get("error") or ""})
    return rows


# A block is what the template renders: {"kind", "title", "width", ...}; kinds are "table",
# "costs", "validation", "timeline" and "keyvalue" (any component type the page does not know).
Block = dict[str, Any]
# Where the page puts an artifact the uiConfig does not show (UIDesigner's own positions).
DEFAULT_POSITION = {"ingredients": (0, 0, 6), "scaled": (0, 6, 6), "costs": (1, 0, 4),
                    "validation": (1, 4, 4), "timeline": (1, 8, 4)}


def result_blocks(run: RunResult) -> list[list[Block]]:
    """The result as rows of blocks: the uiConfig's components ordered by position, rendered by
    type, then whatever part of the run they leave out (ingredients, scaled quantities, costs,
    validation, timeline), so that a run without a uiConfig (a failed run) shows its artifacts."""
    rows: dict[int, list[tuple[int, Block]]] = {}
    covered: set[str] = set()
    for component in run.ui_config.components if run.ui_config else []:
        block = component_block(component.type, component.title, component.data,
                                dict(component.config), run)
        covered.add(block.get("covers", ""))
        block["width"] = component.position.width
        rows.setdefault(component.position.row, []).append((component.position.column, block))
    first_free = max(rows, default=-1) + 1
    for part in DEFAULT_POSITION:
        if part in covered:
            continue
        block = default_block(part, run)
        if block is None:
            continue
        row, column, width = DEFAULT_POSITION[part]
        block.update(width=width, added=True)
        rows.setdefault(first_free + row, []).append((column, block))
    return [[block for _, block in sorted(rows[r], key=lambda item: item[0])]
            for r in sorted(rows)]


def component_block(kind: str, title: str, data: Any, config: dict[str, Any],
                    run: RunResult) -> Block:
    currency = run.calculation.costs.currency if run.calculation else ""
    if kind == "table" and _rows_of_dicts(data):
        covers = ("scaled" if any("scaledQuantity" in r for r in data)
                  else "ingredients" if any("percentage" in r for r in data) else "")
        return table_block(title, data, config.get("columns"), config.get("units"), currency,
                           covers=covers)
    if kind == "summary" and isinstance(data, dict) and "costs" in data:
        return costs_block(title, data, run)
    if kind == "summary" and isinstance(data, dict) and "valid" in data:
        return validation_block(title, data, run)
    if kind == "timeline":
        return timeline_block(title, run)
    return keyvalue_block(kind, title, data)


def default_block(part: str, run: RunResult) -> Block | None:
    if part == "ingredients" and run.recipe:
        return table_block(f"Ingredients of {run.recipe.name}",
                           [i.to_wire() for i in run.recipe.ingredients],
                           ["name", "percentage", "function", "category"],
                           {"percentage": "%"}, "", covers="ingredients")
    if part == "scaled" and run.calculation:
        c = run.calculation
        return table_block(f"Scaled to {fmt(c.target_batch_size)} {c.target_unit}",
                           [s.to_wire() for s in c.scaled_ingredients],
                           ["name", "scaledQuantity", "scaledUnit", "cost"], {},
                           c.costs.currency, covers="scaled")
    if part == "costs" and run.calculation:
        return costs_block("Costs and yield", {"costs": run.calculation.costs.to_wire(),
                                               "yield": run.calculation.yield_.to_wire()}, run)
    if part == "validation" and run.validation:
        return validation_block("Validation", {}, run)
    if part == "timeline" and run.agent_history:
        return timeline_block("Agent timeline", run)
    return None


def _rows_of_dicts(data: Any) -> bool:
    return isinstance(data, list) and bool(data) and all(isinstance(r, dict) for r in data)


def table_block(title: str, data: list[dict[str, Any]], columns: Any, units: Any,
                currency: str, *, covers: str = "") -> Block:
    if not (isinstance(columns, list) and all(isinstance(c, str) for c in columns) and columns):
        columns = list(dict.fromkeys(key for row in data for key in row))
    units = units if isinstance(units, dict) else {}
    headers = []
    for column in columns:
        suffix = units.get(column) or (currency if column in MONEY and currency else "")
        numeric = any(isinstance(r.get(column), int | float) and not isinstance(r.get(column), bool)
                      for r in data)
        headers.append({"label": humanize(column) + (f" ({suffix})" if suffix else ""),
                        "numeric": numeric})
    rows = [[{"text": fmt(row.get(c), money=c in MONEY), "numeric": h["numeric"]}
             for c, h in zip(columns, headers, strict=True)] for row in data]
    return {"kind": "table", "title": title, "headers": headers, "rows": rows, "covers": covers}


def costs_block(title: str, data: Mapping[str, Any], run: RunResult) -> Block:
    costs = data.get("costs") if isinstance(data.get("costs"), dict) else {}
    yld = data.get("yield") if isinstance(data.get("yield"), dict) else {}
    currency = costs.get("currency", "")
    unit = run.calculation.target_unit if run.calculation else ""
    names = {i.id: i.name for i in run.recipe.ingredients} if run.recipe else {}
    items = [("Total cost", f"{fmt(costs.get('total'), money=True)} {currency}".strip())]
    if "perUnit" in costs:
        items.append((f"Cost per {unit or 'unit'}",
                      f"{fmt(costs['perUnit'], money=True)} {currency}".strip()))
    if yld:
        loss = yld.get("lossPercentage")
        items.append(("Yield", f"{fmt(yld.get('quantity'))} {yld.get('unit', '')}".strip()
                      + (f" (process loss {fmt(loss)} %)" if loss else "")))
    missing = [names.get(str(i), str(i)) for i in costs.get("missing") or []]
    warnings = list(run.calculation.warnings) if run.calculation else []
    return {"kind": "costs", "title": title, "items": items, "missing": missing,
            "warnings": warnings, "covers": "costs"}


def validation_block(title: str, data: Mapping[str, Any], run: RunResult) -> Block:
    v = run.validation
    valid = v.valid if v else bool(data.get("valid"))
    can_proceed = v.can_proceed if v else bool(data.get("canProceed"))
    checks = ([{"name": humanize(name), "passed": c.passed, "detail": c.detail or ""}
               for name, c in v.checks.items()] if v else
              [{"name": humanize(str(name)), "passed": bool(passed), "detail": ""}
               for name, passed in (data.get("checks") or {}).items()])
    issues = ([{"severity": i.severity, "field": i.field, "message": i.message, "agent": i.agent}
               for i in [*v.critical_errors, *v.errors, *v.warnings]] if v else [])
    # criticalErrors usually repeat entries of errors: show each issue once.
    issues = list({(i["severity"], i["field"], i["message"]): i for i in issues}.values())
    return {"kind": "validation", "title": title, "valid": valid, "can_proceed": can_proceed,
            "summary": v.summary if v else str(data.get("summary", "")),
            "error_count": len(v.errors) if v else data.get("errors", 0),
            "warning_count": len(v.warnings) if v else data.get("warnings", 0),
            "checks": checks, "issues": issues, "covers": "validation"}


def timeline_block(title: str, run: RunResult) -> Block:
    entries = [{"sequence": e.sequence, "agent": e.agent, "status": e.status,
                "duration": f"{fmt(e.duration)} ms",
                "memory": f"{fmt(e.memory_mb)} MB" if e.memory_mb is not None else "",
                "error": e.error or ""} for e in sorted(run.agent_history,
                                                         key=lambda e: e.sequence)]
    total = fmt(run.metadata.total_duration)
    return {"kind": "timeline", "title": title, "entries": entries, "total": f"{total} ms",
            "covers": "timeline"}


def keyvalue_block(kind: str, title: str, data: Any) -> Block:
    if isinstance(data, dict):
        items: Iterable[tuple[str, str]] = [(humanize(str(k)), fmt(v)) for k, v in data.items()]
    elif isinstance(data, list):
        items = [(str(i + 1), fmt(v)) for i, v in enumerate(data)]
    else:
        items = [("Value", fmt(data))]
    return {"kind": "keyvalue", "title": title, "type": kind, "items": list(items),
            "covers": ""}
