"""Presentation of the web pages: pure functions that turn a ledger row and its RunResult into
template context (header, request, stage timeline, failure, result blocks). They decide nothing
about the run.

PURE: imports neither django, neo4j, celery nor the clock.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, Protocol
from urllib.parse import urlencode

from contracts import STAGE_NAMES, RunResult
from orchestration.diff import diff_rows

from . import explorer

FAILED = "failed"
FINISHED = frozenset({"succeeded", FAILED})  # the ledger statuses of a finished run


class LedgerRow(Protocol):
    """What the presenters read of a ledger row (orchestration.models.RunRecord)."""

    @property
    def status(self) -> str: ...
    @property
    def failed_agent(self) -> str: ...
    @property
    def error(self) -> str: ...
    @property
    def persist_error(self) -> str: ...
    @property
    def request(self) -> Any: ...
    @property
    def stages(self) -> Any: ...
    @property
    def run_id(self) -> str: ...
    @property
    def created_at(self) -> Any: ...
    @property
    def segments(self) -> Any: ...
    @property
    def write_summary(self) -> Any: ...
    @property
    def replay_of(self) -> str: ...


class ResultSource(Protocol):
    """A run's result as a page shows it (orchestration.selectors.ResultCopy)."""

    @property
    def run(self) -> RunResult | None: ...


def run_page(record: LedgerRow, copy: ResultSource | None, history: object) -> dict[str, Any]:
    """The run page's context (the view adds its URLs); `history` is passed through
    (orchestration.selectors.RunHistory)."""
    run = copy.run if copy else None
    return {
        "record": record,
        "request_view": request_view(record.request),
        "stages": stage_rows(record.stages, failed=record.status == FAILED),
        "finished": record.status in FINISHED,
        "copy": copy,
        "run": run,
        "blocks": result_blocks(run) if run is not None else [],
        "accent": theme_accent(run),
        "failure": failure_of(record, run),
        # Retention and replay: the condensed marker, the diff against the original, replays.
        "condensed": run.metadata.condensed if run is not None else None,
        "history": history,
    }


def failure_of(record: LedgerRow, run: RunResult | None) -> dict[str, str] | None:
    """Which stage failed and why (the ledger first, then the RunResult), or None."""
    agent = record.failed_agent or (run.metadata.failed_agent if run else None) or ""
    if not agent and record.status != FAILED:
        return None
    error = record.error
    if run is not None and not error:
        error = next((e.error or "" for e in run.agent_history if e.status == "failed"), "")
    if not error and record.persist_error:
        error = record.persist_error
    error = error or "No error was recorded."
    return {"agent": agent or "the persistence step", "error": error,
            "plain": explorer.plain_error(error, agent)}


# --- the run explorer: waterfall, stage inspector, graph, failure help ---------------------------


def run_explorer(record: LedgerRow, run: RunResult | None, *,
                 budgets: Mapping[str, Any], selected: str,
                 products: list[tuple[str, list[str]]]) -> dict[str, Any]:
    """The explorer's parts of the run page: the waterfall, the inspected stage (`selected`,
    default: the failed stage, else none), the graph picture and, after a failure, the closest
    catalogue products and the resubmit link's parameters."""
    failed = record.status == FAILED
    spans = explorer.run_segments_of(ledger_segments=record.segments, run=run,
                                     created_at=record.created_at)
    if selected not in STAGE_NAMES:
        selected = ""
    inspected = explorer.stage_parts(run, selected) if run is not None and selected else None
    wire = record.request or {}
    resubmit = resubmit_fields(wire)
    out: dict[str, Any] = {
        "waterfall": explorer.waterfall(segments=spans, run=run, stages=record.stages,
                                        failed=failed, budgets=budgets,
                                        write_summary=record.write_summary, selected=selected),
        "selected_stage": selected,
        "inspected": inspected and {
            "agent": selected,
            "parts": [{"part": part, "title": title, "id": f"json-{part}",
                       "html": explorer.json_tree(inspected[part], open_depth=2),
                       "data": inspected[part]}
                      for part, title in (("envelope", "Hand-off envelope it opened"),
                                          ("output", "Its output"))]},
        "graph": explorer.graph_picture(run) if run is not None else None,
        "is_replay": bool(record.replay_of or (run and run.metadata.replay_of)),
        "closest": [],
        "resubmit_query": urlencode(resubmit),
    }
    if failed:
        out["closest"] = [
            {**p, "query": urlencode({**resubmit, "request": p["name"]})}
            for p in explorer.closest_products(str(wire.get("userRequest", "")), products)]
    return out


def resubmit_fields(wire: Mapping[str, Any]) -> dict[str, str]:
    """The request form's GET parameters that fill it in with the request `wire`: the text,
    the batch, and the cost and density maps as "id = value" lines."""
    context = wire.get("context") or {}
    size = wire.get("targetBatchSize")
    return {"request": str(wire.get("userRequest", "")),
            "size": f"{size:.15g}" if isinstance(size, int | float) else "",
            "unit": str(wire.get("targetUnit", "")),
            **{field: "\n".join(f"{k} = {v:.15g}" for k, v in sorted(values.items()))
               for field, key in (("cost_map", "costMap"), ("density_map", "densityMap"))
               if (values := context.get(key))}}


def compare_side(record: LedgerRow, run: RunResult | None) -> dict[str, Any]:
    """One run of the comparison page: its header facts and its per-segment timings."""
    return {"record": record, "run": run,
            "request": record.request.get("userRequest", "") if record.request else "",
            "replay_of": record.replay_of or (run.metadata.replay_of if run else "") or "",
            "segments": explorer.run_segments_of(ledger_segments=record.segments, run=run,
                                                 created_at=record.created_at)}


def diff_table(diff: Mapping[str, Any]) -> list[dict[str, str]]:
    """The rows of an artifact diff (orchestration/diff.py)."""
    return diff_rows(diff)


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


def stage_rows(stages: Mapping[str, Any], *, failed: bool = False) -> list[dict[str, Any]]:
    """The stages in pipeline order; after a failure the ones that never ran are "skipped"."""
    statuses = explorer.stage_statuses(stages, failed=failed)
    rows = []
    for number, name in enumerate(STAGE_NAMES, start=1):
        info = stages.get(name) or {}
        duration = info.get("durationMs")
        memory = info.get("memoryMb")
        rows.append({"number": number, "agent": name, "status": statuses[name],
                     "duration": f"{fmt(duration)} ms" if duration is not None else "",
                     "memory": f"{fmt(memory)} MB" if memory is not None else "",
                     "error": info.get("error") or ""})
    return rows


# A block is what the template renders: {"kind", "title", "width", ...}; kinds are "table",
# "costs", "validation", "timeline" and "keyvalue" (any component type the page does not know).
Block = dict[str, Any]
# Where the page puts an artifact the uiConfig does not show (UIDesigner's own positions).
# The agent timeline is not one of them: the page's waterfall shows it, once.
DEFAULT_POSITION = {"ingredients": (0, 0, 6), "scaled": (0, 6, 6), "costs": (1, 0, 6),
                    "validation": (1, 6, 6)}


def result_blocks(run: RunResult) -> list[list[Block]]:
    """The result as rows of blocks: the uiConfig's components ordered by position, rendered by
    type (a timeline component is left to the page's waterfall), then whatever part of the run
    they leave out (ingredients, scaled quantities, costs, validation), so that a run without a
    uiConfig (a failed run) shows its artifacts."""
    rows: dict[int, list[tuple[int, Block]]] = {}
    covered: set[str] = set()
    for component in run.ui_config.components if run.ui_config else []:
        if component.type == "timeline":  # drawn once, as the page's waterfall
            continue
        block = component_block(component.type, component.title, component.data,
                                dict(component.config), run)
        covered.add(block.get("covers", ""))
        block["width"] = component.position.width
        rows.setdefault(component.position.row, []).append((component.position.column, block))
    first_free = max(rows, default=-1) + 1
    for part in DEFAULT_POSITION:
        if part in covered:
            continue
        added = default_block(part, run)
        if added is None:
            continue
        row, column, width = DEFAULT_POSITION[part]
        added.update(width=width, added=True)
        rows.setdefault(first_free + row, []).append((column, added))
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
                           ["name", "id", "percentage", "function", "category"],
                           {"percentage": "%"}, "", covers="ingredients")
    if part == "scaled" and run.calculation:
        c = run.calculation
        return table_block(f"Scaled to {fmt(c.target_batch_size)} {c.target_unit}",
                           [s.to_wire() for s in c.scaled_ingredients],
                           ["name", "ingredientId", "scaledQuantity", "scaledUnit", "cost"], {},
                           c.costs.currency, covers="scaled")
    if part == "costs" and run.calculation:
        return costs_block("Costs and yield", {"costs": run.calculation.costs.to_wire(),
                                               "yield": run.calculation.yield_.to_wire()}, run)
    if part == "validation" and run.validation:
        return validation_block("Validation", {}, run)
    return None


def _rows_of_dicts(data: Any) -> bool:
    return isinstance(data, list) and bool(data) and all(isinstance(r, dict) for r in data)


# The key of an ingredient's id in the rows of a table covering the recipe or the quantities:
# always shown (people need the ids for the cost and density maps), even when a run's uiConfig
# leaves it out of its columns.
ID_COLUMN = {"ingredients": "id", "scaled": "ingredientId"}


def with_id_column(columns: list[str], data: list[dict[str, Any]], covers: str) -> list[str]:
    """`columns` with the ingredient id column of `covers` added after "name" (first when
    there is no name) when the rows have it and the columns do not."""
    key = ID_COLUMN.get(covers)
    if key is None or key in columns or not any(key in row for row in data):
        return columns
    at = columns.index("name") + 1 if "name" in columns else 0
    return [*columns[:at], key, *columns[at:]]


def table_block(title: str, data: list[dict[str, Any]], columns: Any, units: Any,
                currency: str, *, covers: str = "") -> Block:
    if not (isinstance(columns, list) and all(isinstance(c, str) for c in columns) and columns):
        columns = list(dict.fromkeys(key for row in data for key in row))
    columns = with_id_column(columns, data, covers)
    units = units if isinstance(units, dict) else {}
    headers = []
    for column in columns:
        suffix = units.get(column) or (currency if column in MONEY and currency else "")
        numeric = any(isinstance(r.get(column), int | float) and not isinstance(r.get(column), bool)
                      for r in data)
        label = "Ingredient id" if column == ID_COLUMN.get(covers) else humanize(column)
        headers.append({"label": label + (f" ({suffix})" if suffix else ""),
                        "numeric": numeric, "code": column in ID_COLUMN.values()})
    rows = [[{"text": fmt(row.get(c), money=c in MONEY), "numeric": h["numeric"],
              "code": h["code"]}
             for c, h in zip(columns, headers, strict=True)] for row in data]
    return {"kind": "table", "title": title, "headers": headers, "rows": rows, "covers": covers}


def costs_block(title: str, data: Mapping[str, Any], run: RunResult) -> Block:
    costs: dict[str, Any] = data["costs"] if isinstance(data.get("costs"), dict) else {}
    yld: dict[str, Any] = data["yield"] if isinstance(data.get("yield"), dict) else {}
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
    missing = [f"{names[str(i)]} ({i})" if str(i) in names else str(i)
               for i in costs.get("missing") or []]
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
