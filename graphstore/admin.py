"""Read-only browsing of the Neo4j graph in the Django admin, through the neomodel classes.

Why not django-neomodel's admin
-------------------------------
django-neomodel 0.2.0 offers `DjangoNode` (a StructuredNode with a fake `_meta`) and
`django_neomodel.admin.register(model, model_admin)`. It does not work here, with neomodel 5.3.3
and Django 5.2. Tried on an admin-only subclass of graphstore.nodes.OrchestrationRun (the node
classes are plain StructuredNodes, and must stay so for the writer benchmark and the schema test):

1. `class X(DjangoNode, OrchestrationRun): __label__ = "OrchestrationRun"` raises
   `NodeClassAlreadyDefined` at class creation: neomodel 5 keeps one class per label set.
2. With its own label (`__label__` put back to "OrchestrationRun" after creation, so that MATCH
   finds the nodes), query results are inflated from that registry, i.e. as the plain
   OrchestrationRun, which has no `_meta` for the admin to read.
3. `ChangeList.__init__` reads `opts.pk.attname`: `AttributeError: 'NoneType' object has no
   attribute 'attname'`. DjangoNode only sets a pk for a `UniqueIdProperty`; our keys (runId,
   checksum, ...) are `StringProperty(unique_index=True)`. For the same reason `change_view`
   fails in `get_object` (`'NoneType' object has no attribute 'to_python'`).
4. The changelist orders by "-pk" to be deterministic: neomodel's `order_by` raises
   `ValueError: No such property pk on ...`.
5. Django >= 5.0 filters the changelist with `qs.filter(django.db.models.Q())`; neomodel's
   `NodeSet.filter` takes only its own Q: `TypeError: 'Q' object is not subscriptable`.

Patching each layer would mean a fork of both libraries, so the admin gets its own small views.

What this module does instead
-----------------------------
Three staff-only views, which the project's admin site (cap01/admin.py, `Cap01AdminSite`) adds
to its URLs and to its app list as a "Neo4j graph (read-only)" section, so they appear on the
admin index and in the sidebar. They show the nodes of every run, so the site may name a
permission they need beyond staff (`graph_urls(site, permission=...)`; the project's site asks
for the permission to see every user's runs); without it they answer 403:

    /admin/graph/                       labels with their node counts
    /admin/graph/<label>/               nodes of a label, paged, searchable by the merge key
    /admin/graph/<label>/<key>/         one node: all properties, and its relationships

A node page reads its node with the neomodel classes of graphstore/nodes.py (`inflate`); a
label's node list reads only the merge key and the list columns of a page (cypher/admin.py
LISTING: whole nodes cost 100 ms a page at 100,000 runs); relationships come from the schema
tables (graphstore/schema.py), both directions, by fixed queries whose text is built from those
tables, never from input (graphstore/cypher/admin.py). A node page shows each relationship
section's total (the node's degree) and a page of its neighbours, with a "next" link (keyset:
`?rel=TYPE.direction&after=`) when there are more: a shared Ingredient is used by tens of
thousands of RecipeVersions at 100,000 runs, and the page reads 50 of them, not all
(cypher/admin.py says how). The list columns are the codecs' (graphstore/codecs/). Nothing here
writes. (django_neomodel stays installed: its app config hands settings.NEOMODEL_NEO4J_BOLT_URL
to neomodel.)
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import urlencode

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.template.response import TemplateResponse
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils.text import Truncator
from neo4j.exceptions import ServiceUnavailable, SessionExpired
from neomodel import NodeSet, StructuredNode, db

from .codecs import NODE_CODECS
from .cypher.admin import (
    DEGREES,
    LABEL_COUNT,
    LISTING,
    LISTING_COUNT,
    LISTING_SEARCH,
    RELATED,
    order_properties,
    ordering,
    temporal_columns,
)
from .cypher.admin import sections as cypher_sections
from .nodes import NODE_CLASSES
from .schema import LABELS

PAGE_SIZE = 50
RELATED_LIMIT = 50  # neighbours per relationship section of a node page
APP_LABEL = "graph"  # the pseudo-app in the admin index (not a Django app)


@dataclass(frozen=True)
class Browse:
    """How one label is listed: its class, merge key, list columns and order."""

    label: str
    node_class: type[StructuredNode]
    key: str
    columns: tuple[str, ...]
    ordering: tuple[str, ...]  # neomodel order_by arguments ("-x" = descending)


_CLASS_BY_LABEL = {cls.__label__: cls for cls in NODE_CLASSES}
BROWSE: dict[str, Browse] = {
    label.name: Browse(label.name, _CLASS_BY_LABEL[label.name], label.key,
                       NODE_CODECS[label.name].columns(), ordering(label.name))
    for label in LABELS
}


def _browse(label: str) -> Browse:
    try:
        return BROWSE[label]
    except KeyError:
        raise Http404(f"No node label {label!r} in the graph schema.") from None


# --- values --------------------------------------------------------------------------------------


def _cell(value: Any, width: int = 80) -> str:
    """A short text for a list cell."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    return _short(str(value), width)


def _short(text: str, width: int) -> str:
    """`text` cut to `width` characters with an ellipsis, as Truncator.chars; a text that
    already fits is returned as it is without building a Truncator (a translated ellipsis
    looked up per call: 45 ms of a 300-cell page)."""
    return text if len(text) <= width else Truncator(text).chars(width)


def _full(value: Any) -> tuple[str, bool]:
    """(text, is_block) for the detail page: JSON text pretty-printed, long text as a block."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.dumps(json.loads(value), indent=2, ensure_ascii=False), True
        except ValueError:
            pass
    if isinstance(value, str) and (len(value) > 120 or "\n" in value):
        return value, True
    return _cell(value, width=10_000), False


def _properties(node: StructuredNode) -> list[dict[str, Any]]:
    rows = []
    for name, prop in type(node).__all_properties__:
        text, block = _full(getattr(node, name, None))
        stored_as = prop.db_property or name
        rows.append({"name": stored_as, "value": text, "block": block})
    return rows


# --- reads (neomodel) ----------------------------------------------------------------------------


def node_set(node_class: type[StructuredNode]) -> NodeSet:
    """All nodes of a class. `cls.nodes` will not do: GraphSnapshot's property `nodes` (the
    graph artifact's node list) shadows neomodel's `nodes` manager on that class."""
    return NodeSet(node_class)


class _NodePages:
    """What django.core.paginator.Paginator needs (count, slicing) over a label's node list:
    one statement per page (cypher/admin.py LISTING: the key and the list columns only, in the
    label's index order), the count from the count store unsearched."""

    def __init__(self, browse: Browse, search: str) -> None:
        self._browse = browse
        self._search = search

    def count(self) -> int:
        if not self._search:
            return _label_count(self._browse.label)
        results, _ = db.cypher_query(LISTING_COUNT[self._browse.label], {"q": self._search})
        return int(results[0][0])

    def __getitem__(self, window: slice) -> list[dict[str, Any]]:
        label = self._browse.label
        start, stop = window.start or 0, window.stop
        statement = LISTING_SEARCH[label] if self._search else LISTING[label]
        results, _ = db.cypher_query(statement, {"q": self._search, "skip": start,
                                                 "limit": max(0, stop - start)})
        temporal = temporal_columns(label)
        return [{"key": key, "cells": [_millis(v) if i in temporal else v
                                       for i, v in enumerate(cells)]}
                for key, cells in results]


def _millis(value: Any) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value / 1000, tz=UTC)


class BadPageParameter(ValueError):
    """A node page's `rel` or `after` that this page cannot have made (a 400 naming it)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")


def _section_id(rel_type: str, direction: str) -> str:
    return f"{rel_type}.{direction}"


def _encode_cursor(values: Sequence[Any]) -> str:
    """The ordering values of a page's last row, as a URL-safe token."""
    plain = [{"datetime": v.to_native().isoformat()} if hasattr(v, "to_native")
             else {"datetime": v.isoformat()} if isinstance(v, datetime) else v
             for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def _decode_cursor(token: str, size: int) -> list[Any]:
    try:
        plain = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(plain, list) or len(plain) != size:
            raise ValueError(f"expected {size} values")
        values: list[Any] = []
        for v in plain:
            if isinstance(v, dict) and set(v) == {"datetime"}:
                value = datetime.fromisoformat(v["datetime"])
                if value.tzinfo is None:
                    raise ValueError("a datetime without its time zone")
                values.append(value)
            elif isinstance(v, str | int | float) and not isinstance(v, bool):
                values.append(v)
            else:
                raise ValueError(f"unexpected value {v!r}")
        return values
    except (ValueError, TypeError) as exc:  # binascii.Error and JSONDecodeError are ValueErrors
        raise BadPageParameter("after", "not a page cursor of this page (follow the page's own "
                               f"\"next\" link): {exc}") from exc


def _label_count(label: str) -> int:
    results, _ = db.cypher_query(LABEL_COUNT[label])
    return int(results[0][0])


def _relationships(browse: Browse, key_value: str, *, paged: str | None = None,
                   after: str | None = None) -> list[dict[str, Any]]:
    """Every relationship type the schema gives this label, in both directions: its total
    (the node's degree) and a page of RELATED_LIMIT neighbours (inflated with their neomodel
    class) with the relationship properties, in the order their label is listed. The section
    `paged` ("TYPE.direction") shows the page after the cursor `after` (its first page without
    one), the others their first page. A page is read by the cheaper of cypher.admin's two
    statements (see there)."""
    sections = cypher_sections(browse.label)
    ids = [_section_id(rel, direction) for rel, direction, _ in sections]
    if paged is not None and paged not in ids:
        raise BadPageParameter("rel", f"{browse.label} has no relationship section {paged!r} "
                                      f"(it has {', '.join(ids)})")
    results, _ = db.cypher_query(DEGREES[browse.label], {"key": key_value})
    totals = results[0][0] if results else [0] * len(sections)
    out = []
    for (rel, direction, other_label), section, total in zip(sections, ids, totals, strict=True):
        other = BROWSE[other_label]
        cursor = (_decode_cursor(after, len(order_properties(other_label)))
                  if section == paged and after else None)
        rows: list[Any] = []
        if total:
            statements = RELATED[(browse.label, rel, direction)]
            scan = (total > RELATED_LIMIT
                    and total * total > RELATED_LIMIT * _label_count(other_label))
            query = ((statements.scan_after if scan else statements.expand_after) if cursor
                     else statements.scan if scan else statements.expand)
            rows, _ = db.cypher_query(query, {"key": key_value, "limit": RELATED_LIMIT + 1,
                                              "after": cursor})
        more = len(rows) > RELATED_LIMIT
        rows = rows[:RELATED_LIMIT]
        neighbours = [other.node_class.inflate(m) for _, m in rows]
        next_cursor = (_encode_cursor([rows[-1][1].get(p) for p in order_properties(other_label)])
                       if more else None)
        out.append({
            "type": rel, "direction": direction, "label": other.label, "section": section,
            "total": total, "columns": other.columns[:3], "order": order_text(other_label),
            "paged": cursor is not None,
            "next": f"?{urlencode({'rel': section, 'after': next_cursor})}#rel-{section}"
                    if next_cursor else None,
            "rows": [{"key": getattr(node, other.key),
                      "cells": [_cell(getattr(node, c), 40) for c in other.columns[:3]],
                      "rel": ", ".join(f"{k}={_cell(v, 40)}" for k, v in sorted(props.items()))}
                     for node, (props, _) in zip(neighbours, rows, strict=True)],
        })
    return out


def order_text(label: str) -> str:
    """How a list of `label`'s nodes is ordered, as the page says it: "newest" or "by key"."""
    first = ordering(label)[0]
    return "newest" if first == "-startedAt" else f"by {', '.join(order_properties(label))}"


# --- views ---------------------------------------------------------------------------------------


def _render(site: admin.AdminSite, request: HttpRequest, template: str, context: dict[str, Any],
            status: int = 200) -> HttpResponse:
    request.current_app = site.name
    return TemplateResponse(request, f"admin/graphstore/{template}",
                            {**site.each_context(request), "graph_app_label": APP_LABEL,
                             **context}, status=status)


# How many times a graph page tries its (read-only) queries when Neo4j does not answer.
UNAVAILABLE_ATTEMPTS = 3


def may_browse(request: HttpRequest, permission: str | None) -> bool:
    """Whether the (staff) user holds `permission` (None: staff is enough)."""
    has_perm = getattr(request.user, "has_perm", None)
    return permission is None or bool(has_perm is not None and has_perm(permission))


def _graph_view(site: admin.AdminSite, view: Callable[..., HttpResponse],
                permission: str | None) -> Callable[..., Any]:
    """Staff only (admin_view) holding `permission`, and a readable 503 page when Neo4j does
    not answer. The pages only read, so a failure is tried again: after Neo4j restarted, the
    first query meets a pooled connection the restart killed (the driver then drops it), and
    the page answers from a fresh one rather than a 503."""

    def wrapped(request: HttpRequest, **kwargs: Any) -> HttpResponse:
        if not may_browse(request, permission):
            raise PermissionDenied
        for attempt in range(1, UNAVAILABLE_ATTEMPTS + 1):
            try:
                return view(site, request, **kwargs)
            except (ServiceUnavailable, SessionExpired) as exc:
                if attempt == UNAVAILABLE_ATTEMPTS:
                    return _render(site, request, "graph_unavailable.html",
                                   {"title": "Neo4j is not answering", "error": str(exc)},
                                   status=503)
        raise AssertionError("unreachable")

    return site.admin_view(wrapped)


def graph_index(site: admin.AdminSite, request: HttpRequest) -> HttpResponse:
    labels = [{"label": b.label, "key": b.key, "count": len(node_set(b.node_class)),
               "url": reverse("admin:graphstore_graph_nodes", args=[b.label],
                              current_app=site.name)}
              for b in BROWSE.values()]
    return _render(site, request, "graph_index.html",
                   {"title": "Neo4j graph (read-only)", "labels": labels})


def graph_nodes(site: admin.AdminSite, request: HttpRequest, label: str) -> HttpResponse:
    browse = _browse(label)
    search = request.GET.get("q", "").strip()
    # _NodePages has what the Paginator uses (count, slicing), not the full sequence protocol.
    pages = cast("Sequence[dict[str, Any]]", _NodePages(browse, search))
    paginator: Paginator[dict[str, Any]] = Paginator(pages, PAGE_SIZE)
    page = paginator.get_page(request.GET.get("p"))
    rows = [{"key": row["key"], "short": _short(str(row["key"]), 48),
             "cells": [_cell(v) for v in row["cells"]]} for row in page]
    return _render(site, request, "graph_nodes.html", {
        "title": f"{label} nodes", "browse": browse, "search": search, "page": page,
        "paginator": paginator, "rows": rows,
    })


def graph_node(site: admin.AdminSite, request: HttpRequest, label: str, key: str) -> HttpResponse:
    browse = _browse(label)
    node = node_set(browse.node_class).get_or_none(**{browse.key: key})
    if node is None:
        raise Http404(f"No {label} node with {browse.key} {key!r}.")
    paged = request.GET.get("rel") or None
    try:
        relationships = _relationships(browse, key, paged=paged,
                                       after=request.GET.get("after") or None)
    except BadPageParameter as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    return _render(site, request, "graph_node.html", {
        "title": f"{label} {key}", "browse": browse, "key": key,
        "properties": _properties(node), "relationships": relationships,
        "related_limit": RELATED_LIMIT,
    })


# --- wiring into the admin site ------------------------------------------------------------------


def graph_urls(site: admin.AdminSite, *, permission: str | None = None
               ) -> list[URLPattern | URLResolver]:
    return [
        path("graph/", _graph_view(site, graph_index, permission), name="graphstore_graph"),
        path("graph/<str:label>/", _graph_view(site, graph_nodes, permission),
             name="graphstore_graph_nodes"),
        path("graph/<str:label>/<path:key>/", _graph_view(site, graph_node, permission),
             name="graphstore_graph_node"),
    ]


def graph_app(site: admin.AdminSite) -> dict[str, Any]:
    """The graph as one more section of the admin index and sidebar."""
    return {
        "name": "Neo4j graph (read-only)", "app_label": APP_LABEL, "has_module_perms": True,
        "app_url": reverse("admin:graphstore_graph", current_app=site.name),
        "models": [{
            "model": None, "name": b.label, "object_name": b.label,
            "perms": {"add": False, "change": False, "delete": False, "view": True},
            "admin_url": reverse("admin:graphstore_graph_nodes", args=[b.label],
                                 current_app=site.name),
            "add_url": None, "view_only": True,
        } for b in BROWSE.values()],
    }
