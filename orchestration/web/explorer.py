"""The run explorer's presentation: the waterfall of where a run's time went, a stage's hand-off
envelope and output, the graph GraphBuilder made (as elements for the picture), the timing
comparison of two runs, and the catalogue products closest to a request that failed.

PURE: imports neither django, neo4j, celery nor the clock. The views pass in the ledger row's
fields, the stored RunResult and the budgets in force.

The waterfall lays the additive segments of orchestration/segments.py end to end (queue, then
per stage its hand-off and its own time, the outbox, the wait for the write, the write and the
ledger update), so that each bar has a start offset and a duration; the write's parts (mapping,
blob uploads, database, other) are drawn inside the write's span. Stages that never ran are
rows without a bar, "skipped" after a failure.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from contracts import STAGE_BY_AGENT, STAGE_NAMES, RunResult
from orchestration import segments as seg

SKIPPED, PENDING = "skipped", "pending"
WRITE_BUDGET = "Persistence"

WRITE_PART_LABELS = {"write:mapping": "mapping the run to its write set",
                     "write:blob": "blob uploads", "write:database": "Neo4j transaction",
                     "write:other": "the rest (driver session, retries)"}


def stage_statuses(stages: Mapping[str, Any], *, failed: bool) -> dict[str, str]:
    """Each stage's status, in pipeline order; after a failure, a stage that never started is
    "skipped" rather than "pending" (it will never run)."""
    out: dict[str, str] = {}
    for name in STAGE_NAMES:
        info = stages.get(name) or {}
        status = info.get("status") or PENDING
        out[name] = SKIPPED if failed and status == PENDING else status
    return out


def _fmt_ms(value: float) -> str:
    if value >= 1000:
        return f"{value / 1000:,.2f} s"
    if value >= 10:
        return f"{value:,.0f} ms"
    return f"{value:.2f} ms".replace(".00 ms", " ms")


def _pct(value: float, scale: float) -> float:
    return round(min(max(value / scale * 100.0, 0.0), 100.0), 3) if scale > 0 else 0.0


def run_segments_of(*, ledger_segments: Mapping[str, float] | None,
                    run: RunResult | None, created_at: datetime | None) -> dict[str, float]:
    """The fullest breakdown known: the ledger's (set when the write commits), else the one the
    run carries (queue, stages, hand-offs), else one computed from its agentHistory."""
    if ledger_segments:
        return dict(ledger_segments)
    if run is not None and run.metadata.segments:
        return dict(run.metadata.segments)
    if run is not None and run.agent_history:
        history = [e.to_wire() for e in run.agent_history]
        return seg.pipeline_segments(created_at=created_at, history=history)
    return {}


def waterfall(*, segments: Mapping[str, float], run: RunResult | None,
              stages: Mapping[str, Any], failed: bool,
              budgets: Mapping[str, Sequence[float]],
              write_summary: Mapping[str, Any] | None = None,
              selected: str = "") -> dict[str, Any]:
    """Rows of the waterfall, each {key, label, kind, start, duration, left, width, status,
    agent, budget, breach, ...}; `left`/`width` are percentages of the scale (the segments laid
    end to end, or endToEnd when larger). `selected`: the stage being inspected."""
    entries: dict[str, Any] = {e.agent: e for e in run.agent_history} if run is not None \
        else {}
    statuses = stage_statuses(stages, failed=failed)
    order: list[tuple[str, str]] = [(seg.QUEUE, "")]
    for name in STAGE_NAMES:
        order += [(seg.handoff_key(name), name), (seg.stage_key(name), name)]
    order += [(seg.OUTBOX, ""), (seg.WRITE_QUEUE, ""), (seg.WRITE, ""), (seg.LEDGER, "")]
    laid = sum(float(segments.get(key, 0.0)) for key, _ in order)  # end to end, write included
    scale = max(laid, float(segments.get(seg.END_TO_END, 0.0)))
    rows: list[dict[str, Any]] = []
    at = 0.0
    for key, agent in order:
        if key.startswith("stage:"):
            rows.append(_stage_row(key, agent, segments, at, scale, entries.get(agent),
                                   statuses[agent], stages.get(agent) or {}, budgets,
                                   selected))
            at += float(segments.get(key, 0.0))
            continue
        if key not in segments:
            continue
        duration = float(segments[key])
        row = _row(key, _label(key, agent), _kind(key), at, duration, scale)
        if key == seg.WRITE:
            _write_budget(row, duration, at, scale, budgets, write_summary)
            rows.append(row)
            rows.extend(_write_parts(segments, at, scale))
        else:
            rows.append(row)
        at += duration
    end = "the ledger marking the run persisted" if seg.LEDGER in segments else \
        "the Neo4j write" if seg.WRITE in segments else "the last stage that ran"
    return {"rows": rows, "scale_ms": scale, "scale": _fmt_ms(scale), "span_end": end,
            "ticks": _ticks(scale), "has_bars": scale > 0,
            "breaches": [r for r in rows if r.get("breach")]}


def _label(key: str, agent: str) -> str:
    return {seg.QUEUE: "Queue wait (request recorded until the first stage started)",
            seg.OUTBOX: "Result assembled and recorded (outbox)",
            seg.WRITE_QUEUE: "Waiting for the write",
            seg.WRITE: "Neo4j write",
            seg.LEDGER: "Ledger marked persisted"}.get(key, f"Hand-off to {agent}")


def _kind(key: str) -> str:
    return key.split(":")[0] if ":" in key else {seg.WRITE_QUEUE: "wait"}.get(key, key)


def _row(key: str, label: str, kind: str, start: float, duration: float,
         scale: float) -> dict[str, Any]:
    return {"key": key, "label": label, "kind": kind, "agent": "", "start_ms": start,
            "duration_ms": duration, "start": _fmt_ms(start), "duration": _fmt_ms(duration),
            "left": _pct(start, scale), "width": max(_pct(duration, scale), 0.3),
            "has_bar": True, "status": "", "budget": None, "breach": None, "part": False}


def _stage_row(key: str, agent: str, segments: Mapping[str, float], start: float,
               scale: float, entry: Any, status: str, ledger: Mapping[str, Any],
               budgets: Mapping[str, Sequence[float]], selected: str) -> dict[str, Any]:
    duration = segments.get(key)
    if duration is None and entry is not None:
        duration = entry.duration
    has_bar = duration is not None
    row = _row(key, agent, "stage", start, float(duration or 0.0), scale)
    row.update(agent=agent, status=status, has_bar=has_bar, selected=agent == selected,
               number=STAGE_NAMES.index(agent) + 1,
               memory=_mem(entry.memory_mb if entry is not None else ledger.get("memoryMb")),
               error=(entry.error if entry is not None else None) or ledger.get("error") or "")
    if not has_bar:
        row.update(start="", duration="", width=0.0)
        return row
    budget_ms = entry.budget_duration_ms if entry is not None and \
        entry.budget_duration_ms is not None else float(
            (budgets.get(agent) or (STAGE_BY_AGENT[agent].budget_ms,))[0])
    kinds = list(entry.budget_breaches) if entry is not None else []
    row["budget"] = {"ms": budget_ms, "text": _fmt_ms(budget_ms),
                     "left": _pct(start + budget_ms, scale),
                     "visible": start + budget_ms <= scale}
    if kinds:
        row["breach"] = _breach(kinds, start, budget_ms, scale, entry)
    return row


def _mem(value: Any) -> str:
    return f"{value:,.1f} MB" if isinstance(value, int | float) else ""


def _breach(kinds: list[str], start: float, budget_ms: float, scale: float,
            entry: Any) -> dict[str, Any]:
    """Where the breach happened: a duration breach at the moment the budget ran out; a memory
    breach over the whole stage (its peak is not placed in time)."""
    words = []
    if "duration" in kinds:
        words.append(f"over its time budget of {_fmt_ms(budget_ms)} "
                     f"after {_fmt_ms(start + budget_ms)}")
    if "memory" in kinds and entry is not None:
        words.append(f"over its memory budget ({_mem(entry.memory_mb)} > "
                     f"{_mem(entry.budget_memory_mb)})")
    return {"kinds": kinds, "text": "; ".join(words),
            "left": _pct(start + budget_ms if "duration" in kinds else start, scale)}


def _write_budget(row: dict[str, Any], duration: float, start: float, scale: float,
                  budgets: Mapping[str, Sequence[float]],
                  write_summary: Mapping[str, Any] | None) -> None:
    budget_ms = float((budgets.get(WRITE_BUDGET) or (0.0,))[0])
    if budget_ms <= 0:
        return
    row["budget"] = {"ms": budget_ms, "text": _fmt_ms(budget_ms),
                     "left": _pct(start + budget_ms, scale),
                     "visible": start + budget_ms <= scale}
    kinds = list((write_summary or {}).get("budgetBreaches") or [])
    if kinds:
        text = f"over the write budget of {_fmt_ms(budget_ms)}" if "duration" in kinds else \
            "over the write's memory budget"
        row["breach"] = {"kinds": kinds, "text": text,
                         "left": _pct(start + budget_ms if "duration" in kinds else start,
                                      scale)}


def _write_parts(segments: Mapping[str, float], start: float,
                 scale: float) -> list[dict[str, Any]]:
    rows = []
    at = start
    for key in (*(k for k, _ in seg.WRITE_PARTS), seg.WRITE_OTHER):
        if key not in segments:
            continue
        duration = float(segments[key])
        row = _row(key, WRITE_PART_LABELS[key], "write-part", at, duration, scale)
        row["part"] = True
        rows.append(row)
        at += duration
    return rows


def _ticks(scale: float) -> list[dict[str, Any]]:
    if scale <= 0:
        return []
    step = 10 ** len(str(int(scale / 4))) / 10 if scale >= 4 else 1.0
    for factor in (1, 2, 5, 10):
        if scale / (step * factor) <= 6:
            step *= factor
            break
    ticks, value = [], 0.0
    while value <= scale:
        ticks.append({"left": _pct(value, scale), "text": _fmt_ms(value)})
        value += step
    return ticks


# --- a stage's envelope and output -------------------------------------------------------------


def stage_parts(run: RunResult, agent: str) -> dict[str, Any] | None:
    """What `agent`'s stage received and produced, rebuilt from the stored run: the hand-off
    envelope it opened (the RunState payload: request, configSnapshot, the artifacts and history
    of the stages before it; the signature and deadline are not stored) and its output (its
    artifact and its agentHistory entry). None for a stage that did not run."""
    if agent not in STAGE_BY_AGENT:
        return None
    entries = sorted(run.agent_history, key=lambda e: e.sequence)
    entry = next((e for e in entries if e.agent == agent), None)
    if entry is None:
        return None
    wire = run.to_wire()
    before = [e for e in entries if e.sequence < entry.sequence]
    earlier = {STAGE_BY_AGENT[e.agent].wire for e in before if e.agent in STAGE_BY_AGENT}
    payload: dict[str, Any] = {
        "runId": run.run_id, "request": wire["request"],
        "startedAt": wire["metadata"]["timestamp"],
        "configSnapshot": wire["metadata"].get("configSnapshot", {}),
        "artifacts": {k: wire[k] for k in (s.wire for s in STAGE_BY_AGENT.values())
                      if k in earlier and wire.get(k) is not None},
        "agentHistory": [e.to_wire() for e in before]}
    if run.metadata.replay_of:
        payload["replayOf"] = run.metadata.replay_of
    envelope = {"payload": payload,
                "metadata": {"agent": agent, "runId": run.run_id, "sequence": entry.sequence},
                "note": "Rebuilt from the stored run: the envelope's signature (keyId, "
                        "signature), resources and expiresAt are not stored."}
    artifact = STAGE_BY_AGENT[agent].wire
    output = {artifact: wire.get(artifact), "agentHistoryEntry": entry.to_wire()}
    return {"agent": agent, "envelope": envelope, "output": output}


def json_tree(value: Any, *, name: str = "", depth: int = 0, open_depth: int = 1) -> str:
    """`value` as nested HTML <details> (collapsible without JS), keys and values escaped."""
    from html import escape

    label = f'<span class="jk">{escape(name)}</span>: ' if name else ""
    if isinstance(value, dict | list):
        items: Iterable[tuple[str, Any]] = value.items() if isinstance(value, dict) else \
            ((str(i), v) for i, v in enumerate(value))
        items = list(items)
        brackets = "{}" if isinstance(value, dict) else "[]"
        count = f"{len(items)} {'key' if isinstance(value, dict) else 'item'}" \
                f"{'' if len(items) == 1 else 's'}"
        if not items:
            return f'<div class="jl">{label}<span class="jp">{brackets}</span></div>'
        opened = " open" if depth < open_depth else ""
        inner = "".join(json_tree(v, name=k, depth=depth + 1, open_depth=open_depth)
                        for k, v in items)
        return (f'<details class="jn"{opened}><summary>{label}<span class="jp">'
                f'{brackets[0]}</span> <span class="jc">{count}</span></summary>'
                f'<div class="jb">{inner}</div><span class="jp">{brackets[1]}</span></details>')
    kind = "s" if isinstance(value, str) else "b" if isinstance(value, bool) or value is None \
        else "n"
    return (f'<div class="jl">{label}<span class="j{kind}">'
            f'{escape(json.dumps(value, ensure_ascii=False))}</span></div>')


# --- the graph -------------------------------------------------------------------------------

# Colours by ingredient function (and node type); the legend names each.
PALETTE = ("#1d5fa8", "#067647", "#b54708", "#7a2e9e", "#b42318", "#0e7c86", "#875b00",
           "#c11574", "#3f621a", "#52606d")


def graph_picture(run: RunResult) -> dict[str, Any] | None:
    """GraphBuilder's output as the picture's elements (cytoscape's {data: ...} form), its
    legend, counts and Cypher commands. Ingredient nodes are coloured by their function in the
    recipe (the node's `function` property, else the recipe's)."""
    graph = run.graph
    if graph is None:
        return None
    functions = {i.id: i.function for i in run.recipe.ingredients} if run.recipe else {}
    colours: dict[str, str] = {}

    def colour(group: str) -> str:
        if group not in colours:
            colours[group] = PALETTE[len(colours) % len(PALETTE)]
        return colours[group]

    elements: list[dict[str, Any]] = []
    types: dict[str, int] = {}
    for node in graph.nodes:
        types[node.label] = types.get(node.label, 0) + 1
        props = node.properties
        is_ingredient = node.type.lower() == "ingredient" or node.label == "Ingredient"
        function = props.get("function") or functions.get(node.id)
        group = str(function) if is_ingredient and function else node.label
        name = props.get("name")
        elements.append({"data": {"id": node.id,
                                  "label": str(name) if isinstance(name, str) and name
                                  else node.id,
                                  "type": node.label, "group": group, "colour": colour(group),
                                  "ingredientId": node.id if is_ingredient else ""}})
    relationship_types: dict[str, int] = {}
    for edge in graph.edges:
        relationship_types[edge.type] = relationship_types.get(edge.type, 0) + 1
        elements.append({"data": {"id": f"e:{edge.id}", "source": edge.source,
                                  "target": edge.target, "label": edge.type}})
    return {
        "elements": elements,
        "legend": [{"group": g, "colour": c} for g, c in colours.items()],
        "node_count": len(graph.nodes), "edge_count": len(graph.edges),
        "command_count": len(graph.cypher_commands),
        "node_types": sorted(types.items()), "edge_types": sorted(relationship_types.items()),
        "nodes": [e["data"] for e in elements if "source" not in e["data"]],
        "edges": [{"source": e.source, "target": e.target, "type": e.type}
                  for e in graph.edges],
        "commands": [{"statement": c.statement,
                      "parameters": json.dumps(c.parameters, ensure_ascii=False, indent=2,
                                               sort_keys=True) if c.parameters else ""}
                     for c in graph.cypher_commands],
    }


# --- comparing two runs ------------------------------------------------------------------------


def timing_rows(a: Mapping[str, float], b: Mapping[str, float]) -> list[dict[str, Any]]:
    """Per-segment timings of two runs side by side, in waterfall order, with the change."""
    keys = [seg.QUEUE]
    for name in STAGE_NAMES:
        keys += [seg.handoff_key(name), seg.stage_key(name)]
    keys += [seg.OUTBOX, seg.WRITE_QUEUE, seg.WRITE, *(k for k, _ in seg.WRITE_PARTS),
             seg.WRITE_OTHER, seg.LEDGER, seg.END_TO_END]
    rows = []
    for key in keys:
        if key not in a and key not in b:
            continue
        va, vb = a.get(key), b.get(key)
        delta = vb - va if va is not None and vb is not None else None
        rows.append({"key": key, "label": _compare_label(key),
                     "a": _fmt_ms(va) if va is not None else "—",
                     "b": _fmt_ms(vb) if vb is not None else "—",
                     "delta": (("+" if delta >= 0 else "−") + _fmt_ms(abs(delta)))
                     if delta is not None else "",
                     "slower": delta is not None and delta > 0,
                     "faster": delta is not None and delta < 0,
                     "ratio": f"{vb / va:.2f}×" if va and vb is not None else ""})
    return rows


def _compare_label(key: str) -> str:
    if key.startswith("stage:"):
        return key.removeprefix("stage:")
    if key in WRITE_PART_LABELS:
        return f"Write: {WRITE_PART_LABELS[key]}"
    if key == seg.END_TO_END:
        return "End to end"
    return _label(key, key.removeprefix("handoff:")).split(" (")[0]


# --- a failed run ------------------------------------------------------------------------------


def plain_error(error: str, agent: str) -> str:
    """The error once, in plain words: the agent's own message without a repeated
    "<Agent> failed:" prefix or a field path in front."""
    text = error.strip()
    for prefix in (f"{agent} failed:", f"{agent}:"):
        if text.startswith(prefix):
            text = text[len(prefix):].strip()
    # an exception's class name ("RequestNotUnderstood: ") and a field path ("userRequest: ")
    text = re.sub(r"^[A-Z][A-Za-z0-9]+: ", "", text)
    text = re.sub(r"^[a-z][A-Za-z0-9_.\[\]]*: ", "", text)
    return text[:1].upper() + text[1:] if text else "No error was recorded."


def closest_products(text: str, products: Sequence[tuple[str, Sequence[str]]],
                     *, limit: int = 5) -> list[dict[str, Any]]:
    """The catalogue's products closest to the request `text`, best first: each product scored
    by its best keyword (or name) against the request and each of its word runs (difflib's
    ratio); `products` is (name, keywords)."""
    words = [w for w in "".join(c.lower() if c.isalnum() else " " for c in text).split() if w]
    phrases = {" ".join(words[i:i + n]) for n in (1, 2, 3) for i in range(len(words))}
    phrases.add(" ".join(words))
    scored = []
    for name, keywords in products:
        candidates = {name.lower(), *(k.lower() for k in keywords)}
        score = max((difflib.SequenceMatcher(None, p, c).ratio()
                     for p in phrases for c in candidates), default=0.0)
        scored.append((score, name))
    scored.sort(key=lambda s: (-s[0], s[1]))
    return [{"name": name, "score": round(score, 2)} for score, name in scored[:limit]]
