"""The difference between two runs' artifacts: what a replay changed (or any two runs).

PURE: imports neither django, neo4j, celery nor the clock.

`diff_runs(base, head)` compares what a run decided, not how or when: the ingredients (added,
removed, percentage and naming changes), the scaled quantities (batch, yield, each ingredient's
quantity and unit), the costs (currency, total, per unit, by ingredient, ingredients without a
cost) and the validation outcome (valid, canProceed, error, warning and critical counts; a
condensed run still has those). Timestamps, durations, runIds, the graph and the UI layout are
not compared. Its compact JSON form:

    {"base": {runId, status, condensed}, "head": {...},
     "identical": bool, "changeCount": int,
     "outcome":     {"status": {base, head}, "failedAgent": {...}}          changed fields only
     "ingredients": {"added": [...], "removed": [...], "changed": [...]}    or null
                    (a changed ingredient: id, name, and percentage / renamed / function /
                    category when they differ)
     "quantities":  {"targetBatchSize": {...}, "yield": {...}, "changed": [...]}   or null
     "costs":       {"total": {base, head, delta}, "perUnit": ..., "byIngredient": [...],
                     "missing": {"added": [...], "removed": [...]}}        or null
     "validation":  {"valid": {...}, "errorCount": {base, head, delta}, ...} or null
     "unavailable": [{"section", "reason"}]      sections one run cannot be compared on
     "context":     {"request": {...}, "agents": {stage: {base, head}}}    not counted}

Inside a section only what differs is listed; a section is null, and named in `unavailable`,
when either run lacks the artifact (a failed run, or one condensed by retention). `identical`
means every section could be compared and nothing differs. `context` explains a difference (the
request, or the agents configured for a stage, differ) and is not counted as one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from contracts import RunResult, ValidationSummary

TOLERANCE = 1e-9  # numbers closer than this (relative or absolute) are equal


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=TOLERANCE, abs_tol=TOLERANCE)
    return bool(a == b)


def _change(base: Any, head: Any) -> dict[str, Any]:
    out = {"base": base, "head": head}
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (base, head))
    if numeric:
        out["delta"] = round(head - base, 9)
    return out


def _fields(base: Mapping[str, Any], head: Mapping[str, Any],
            names: tuple[str, ...]) -> dict[str, Any]:
    """{name: {base, head[, delta]}} for the names whose values differ."""
    return {n: _change(base.get(n), head.get(n)) for n in names
            if not _same(base.get(n), head.get(n))}


def _side(run: RunResult) -> dict[str, Any]:
    return {"runId": run.run_id, "status": run.metadata.status,
            "condensed": run.metadata.condensed is not None}


def _why_absent(run: RunResult, artifact: str, who: str) -> str:
    meta = run.metadata
    if meta.condensed is not None and artifact in meta.condensed.removed:
        return f"the {who} run ({run.run_id}) was condensed by retention: its {artifact} is gone"
    if meta.failed_agent is not None:
        return (f"the {who} run ({run.run_id}) failed at {meta.failed_agent} and has no "
                f"{artifact}")
    return f"the {who} run ({run.run_id}) has no {artifact}"


def _unavailable(base: RunResult, head: RunResult, section: str, artifact: str,
                 base_has: bool, head_has: bool) -> dict[str, str] | None:
    if base_has and head_has:
        return None
    reasons = [_why_absent(run, artifact, who) for run, who, has in
               ((base, "base", base_has), (head, "head", head_has)) if not has]
    return {"section": section, "reason": "; ".join(reasons)}


# --- sections ----------------------------------------------------------------------------------


def _ingredients(base: RunResult, head: RunResult) -> dict[str, Any]:
    assert base.recipe is not None and head.recipe is not None
    old = {i.id: i.to_wire() for i in base.recipe.ingredients}
    new = {i.id: i.to_wire() for i in head.recipe.ingredients}
    changed = []
    for ident in (i for i in new if i in old):
        fields = _fields(old[ident], new[ident], ("percentage", "name", "function", "category"))
        if "name" in fields:  # `name` stays the (head's) name: its change is `renamed`
            fields["renamed"] = fields.pop("name")
        if fields:
            changed.append({"id": ident, "name": new[ident]["name"], **fields})
    return {
        "added": [{"id": i, "name": new[i]["name"], "percentage": new[i]["percentage"]}
                  for i in new if i not in old],
        "removed": [{"id": i, "name": old[i]["name"], "percentage": old[i]["percentage"]}
                    for i in old if i not in new],
        "changed": changed,
    }


def _quantities(base: RunResult, head: RunResult) -> dict[str, Any]:
    assert base.calculation is not None and head.calculation is not None
    b, h = base.calculation.to_wire(), head.calculation.to_wire()
    out: dict[str, Any] = _fields(b, h, ("targetBatchSize", "targetUnit"))
    yield_change = _fields(b["yield"], h["yield"], ("quantity", "unit", "lossPercentage"))
    if yield_change:
        out["yield"] = yield_change
    old = {s["ingredientId"]: s for s in b["scaledIngredients"]}
    changed = []
    for s in h["scaledIngredients"]:
        if s["ingredientId"] in old:
            fields = _fields(old[s["ingredientId"]], s, ("scaledQuantity", "scaledUnit"))
            if fields:
                changed.append({"id": s["ingredientId"], "name": s["name"], **fields})
    out["changed"] = changed
    return out


def _costs(base: RunResult, head: RunResult) -> dict[str, Any]:
    assert base.calculation is not None and head.calculation is not None
    b, h = base.calculation.costs.to_wire(), head.calculation.costs.to_wire()
    out: dict[str, Any] = _fields(b, h, ("currency", "total", "perUnit"))
    old, new = b.get("byIngredient", {}), h.get("byIngredient", {})
    out["byIngredient"] = [{"id": i, **_change(old.get(i), new.get(i))}
                           for i in sorted(set(old) | set(new))
                           if not _same(old.get(i), new.get(i))]
    missing_old, missing_new = set(b.get("missing", [])), set(h.get("missing", []))
    out["missing"] = {"added": sorted(missing_new - missing_old),
                      "removed": sorted(missing_old - missing_new)}
    return out


def _validation_outcome(run: RunResult) -> dict[str, Any] | None:
    if run.validation is not None:
        v = run.validation
        return {"valid": v.valid, "canProceed": v.can_proceed, "errorCount": len(v.errors),
                "warningCount": len(v.warnings), "criticalCount": len(v.critical_errors)}
    summary: ValidationSummary | None = (run.metadata.condensed.validation
                                         if run.metadata.condensed else None)
    if summary is not None:
        return {"valid": summary.valid, "canProceed": summary.can_proceed,
                "errorCount": summary.error_count, "warningCount": summary.warning_count,
                "criticalCount": summary.critical_count}
    return None


def _context(base: RunResult, head: RunResult) -> dict[str, Any]:
    b, h = base.request.to_wire(), head.request.to_wire()
    request = _fields(b, h, ("userRequest", "targetBatchSize", "targetUnit"))
    for part in ("costMap", "densityMap"):
        old, new = b.get("context", {}).get(part, {}), h.get("context", {}).get(part, {})
        keys = sorted(k for k in set(old) | set(new) if not _same(old.get(k), new.get(k)))
        if keys:
            request[part] = {k: _change(old.get(k), new.get(k)) for k in keys}
    out: dict[str, Any] = {"request": request, "agents": {}}
    old_agents = base.metadata.config_snapshot.get("agents")
    new_agents = head.metadata.config_snapshot.get("agents")
    if isinstance(old_agents, dict) and isinstance(new_agents, dict):
        out["agents"] = {stage: _change(old_agents.get(stage), new_agents.get(stage))
                         for stage in sorted(set(old_agents) | set(new_agents))
                         if old_agents.get(stage) != new_agents.get(stage)}
    return out


# --- the diff ----------------------------------------------------------------------------------


def diff_runs(base: RunResult, head: RunResult) -> dict[str, Any]:
    """What changed from `base` (the original) to `head` (its replay, say): see the module
    docstring for the shape. `changeCount` counts the differing fields (the rows of
    `diff_rows`)."""
    unavailable: list[dict[str, str]] = []
    sections: dict[str, Any] = {"outcome": _fields(
        {"status": base.metadata.status, "failedAgent": base.metadata.failed_agent},
        {"status": head.metadata.status, "failedAgent": head.metadata.failed_agent},
        ("status", "failedAgent"))}
    for section, artifact, build in (("ingredients", "recipe", _ingredients),
                                     ("quantities", "calculation", _quantities),
                                     ("costs", "calculation", _costs)):
        gap = _unavailable(base, head, section, artifact, getattr(base, artifact) is not None,
                           getattr(head, artifact) is not None)
        sections[section] = None if gap else build(base, head)
        if gap:
            unavailable.append(gap)
    old_v, new_v = _validation_outcome(base), _validation_outcome(head)
    gap = _unavailable(base, head, "validation", "validation", old_v is not None,
                       new_v is not None)
    if gap or old_v is None or new_v is None:
        sections["validation"] = None
        unavailable.append(gap or {"section": "validation", "reason": "no validation"})
    else:
        sections["validation"] = _fields(old_v, new_v, tuple(old_v))
    count = len(diff_rows(sections))
    return {"base": _side(base), "head": _side(head),
            "identical": count == 0 and not unavailable, "changeCount": count, **sections,
            "unavailable": unavailable, "context": _context(base, head)}


# --- a flat form, for a table on the run page ----------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{round(value, 6):,.6f}".rstrip("0").rstrip(".")
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _row(section: str, item: str, field: str, change: Mapping[str, Any]) -> dict[str, str]:
    delta = change.get("delta")
    return {"section": section, "item": item, "field": field, "base": _text(change["base"]),
            "head": _text(change["head"]),
            "delta": "" if delta is None else ("+" if delta > 0 else "") + _text(delta)}


def diff_rows(diff: Mapping[str, Any]) -> list[dict[str, str]]:
    """Every difference of a `diff_runs` result as a row {section, item, field, base, head,
    delta} (values as text), in section order."""
    rows: list[dict[str, str]] = []
    for name, change in diff["outcome"].items():
        rows.append(_row("outcome", "run", name, change))
    if (ing := diff["ingredients"]) is not None:
        for i in ing["added"]:
            rows.append(_row("ingredients", f"{i['name']} ({i['id']})", "added",
                             {"base": None, "head": i["percentage"]}))
        for i in ing["removed"]:
            rows.append(_row("ingredients", f"{i['name']} ({i['id']})", "removed",
                             {"base": i["percentage"], "head": None}))
        for i in ing["changed"]:
            for name, change in i.items():
                if name not in ("id", "name"):
                    rows.append(_row("ingredients", f"{i['name']} ({i['id']})", name, change))
    if (qty := diff["quantities"]) is not None:
        for name in ("targetBatchSize", "targetUnit"):
            if name in qty:
                rows.append(_row("quantities", "batch", name, qty[name]))
        for name, change in qty.get("yield", {}).items():
            rows.append(_row("quantities", "yield", name, change))
        for i in qty["changed"]:
            for name, change in i.items():
                if name not in ("id", "name"):
                    rows.append(_row("quantities", f"{i['name']} ({i['id']})", name, change))
    if (costs := diff["costs"]) is not None:
        for name in ("currency", "total", "perUnit"):
            if name in costs:
                rows.append(_row("costs", "run", name, costs[name]))
        for i in costs["byIngredient"]:
            rows.append(_row("costs", i["id"], "cost", i))
        for ident in costs["missing"]["added"]:
            rows.append(_row("costs", ident, "cost missing", {"base": False, "head": True}))
        for ident in costs["missing"]["removed"]:
            rows.append(_row("costs", ident, "cost missing", {"base": True, "head": False}))
    for name, change in (diff["validation"] or {}).items():
        rows.append(_row("validation", "run", name, change))
    return rows
