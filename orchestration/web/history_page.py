"""Presentation of the run history page (/runs/) and its export: the form's values and choices,
the sortable columns' links, the next page's link, and the CSV and JSON streams.

PURE: imports neither django, neo4j, celery nor the clock.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import urlencode

from contracts import STAGE_NAMES
from orchestration.history import (
    DEFAULT_SORT,
    EXPORT_LIMIT,
    PARAMS,
    STATUSES,
    csv_rows,
)

# The columns of the history table: (label, sort name or "", CSS class, hidden on a phone).
COLUMNS = (
    ("Request", "", "", False), ("Status", "status", "", False),
    ("Product", "product", "", True), ("Batch", "batch", "num", True),
    ("Cost", "cost", "num", True), ("Cost/kg", "costPerKg", "num", True),
    ("QA", "", "", True), ("Duration", "duration", "num", True),
    ("Created", "created", "", False),
)


def _query(params: Mapping[str, str], **changes: str | None) -> str:
    """`?a=b&...` of the page's known, non-blank parameters with `changes` applied (None
    removes one)."""
    kept = {name: str(params[name]) for name in PARAMS
            if name in params and str(params[name]).strip()}
    for name, value in changes.items():
        if value is None:
            kept.pop(name, None)
        else:
            kept[name] = value
    return "?" + urlencode(kept) if kept else "?"


def columns(params: Mapping[str, str], sort: str, *, all_runs: bool) -> list[dict[str, Any]]:
    """The table's header cells: a sortable column links to its sort (descending first for
    numbers and dates; the other way round when it is the current one) and says aria-sort.
    The User column only for a viewer who sees every user's runs."""
    cells = []
    current, descending = sort.lstrip("-"), sort.startswith("-")
    shown = [*COLUMNS[:-1], *([("User", "user", "", True)] if all_runs else []), COLUMNS[-1]]
    for label, name, css, narrow in shown:
        cell: dict[str, Any] = {"label": label, "css": css, "narrow": narrow, "href": "",
                                "aria_sort": "", "arrow": ""}
        if name:
            if name == current:
                cell["aria_sort"] = "descending" if descending else "ascending"
                cell["arrow"] = "▼" if descending else "▲"
                target = name if descending else f"-{name}"
            else:
                target = name if name in ("status", "product", "user") else f"-{name}"
            cell["href"] = _query(params, sort=None if target == DEFAULT_SORT else target,
                                  cursor=None)
        cells.append(cell)
    return cells


def history_context(params: Mapping[str, str], *, page: Any, all_runs: bool,
                    errors: Mapping[str, str], products: Iterable[str],
                    sort: str = DEFAULT_SORT) -> dict[str, Any]:
    """The template context of the history page. `page` is a selectors.HistoryPage, or None
    when the filters were refused (`errors` names each bad one); `products` are the catalogue's
    product names (the product filter's suggestions)."""
    values = {name: str(params.get(name, "")).strip() for name in PARAMS}
    active = [name for name in PARAMS
              if values[name] and name not in ("sort", "size", "cursor")]
    return {
        "runs": page.runs if page is not None else [],
        "all_runs": all_runs,
        "errors": dict(errors),
        "values": values,
        "active_filters": len(active),
        "statuses": STATUSES,
        "agents": STAGE_NAMES,
        "products": list(products),
        "columns": columns(params, sort if not errors else DEFAULT_SORT, all_runs=all_runs),
        "next_href": _query(params, cursor=page.next_cursor)
        if page is not None and page.next_cursor else "",
        "first_href": _query(params, cursor=None) if values["cursor"] else "",
        "export_query": _query(params, cursor=None),
        "export_limit": EXPORT_LIMIT,
    }


# --- export streams ----------------------------------------------------------------------------


class _Line:
    """A file-like object whose write returns what was written (csv.writer into a stream)."""

    def write(self, value: str) -> str:
        return value


def history_csv(rows: Iterable[Mapping[str, Any]], *, limit: int = EXPORT_LIMIT
                ) -> Iterator[str]:
    """CSV lines: a header, at most `limit` runs; when there were more, a last line that says
    the export was cut."""
    writer = csv.writer(_Line())
    count = 0

    def bounded() -> Iterator[Mapping[str, Any]]:
        nonlocal count
        for row in rows:
            count += 1
            if count > limit:
                return
            yield row

    for line in csv_rows(bounded()):
        yield writer.writerow(line)
    if count > limit:
        yield writer.writerow([f"# truncated: only the first {limit} runs are exported; "
                               "narrow the filters to export the rest."])


def history_json(rows: Iterable[Mapping[str, Any]], *, limit: int = EXPORT_LIMIT
                 ) -> Iterator[str]:
    """A JSON object streamed: {"runs": [...], "count": n, "truncated": bool, "limit": n}."""
    yield '{"runs": ['
    count = 0
    truncated = False
    for row in rows:
        if count >= limit:
            truncated = True
            break
        yield ("," if count else "") + "\n" + json.dumps(row, ensure_ascii=False)
        count += 1
    yield f'\n], "count": {count}, "truncated": {json.dumps(truncated)}, "limit": {limit}}}\n'
