"""Admin of the orchestration app: the run ledger (read-only) and the retention settings.

RunRecordAdmin is a window on the ledger, never an editor: rows are written by services/ as a
run progresses, and the ledger doubles as the outbox of the Neo4j write. So there is no add, no
change and no delete, for superusers too. Deleting a row here would leave its run in Neo4j (the
ledger and the graph would disagree), would lose a finished run whose write is still pending
(the row IS the outbox), and would pull the row from under a stage task that is still running.
Removing or condensing runs belongs to the retention job, which handles both stores.

Staff keep the admin, and see in it what they see everywhere else (orchestration/selectors.py):
the ledger lists their own runs, every run with the permission to see all runs (superusers have
it); a run they may not see is not found here either.

Everything shown is escaped: request texts are user input. HTML is built with format_html /
format_html_join only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta, tzinfo
from typing import Any, Literal, overload
from urllib.parse import quote

from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.core.paginator import InvalidPage, Paginator
from django.db.models import Exists, F, Lookup, Max, Min, QuerySet
from django.db.models.expressions import Col
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import Truncator
from django.utils.translation import gettext

from contracts.stages import STAGE_NAMES, STAGE_ORDER

from . import selectors
from .history import EXPORT_LIMIT
from .models import RetentionSettings, RunRecord
from .web.history_page import history_csv

# Fixed colours per status (never taken from data); white text reads on all of them.
_STATUS_COLOURS = {
    "queued": "#6c757d", "pending": "#6c757d", "running": "#0d6efd", "persisting": "#b8860b",
    "succeeded": "#198754", "failed": "#dc3545", "skipped": "#6c757d",
}
_BADGE = ('<span style="background:{};color:#fff;padding:1px 8px;border-radius:8px;'
          'white-space:nowrap">{}</span>')
_PRE = '<pre style="white-space:pre-wrap;max-height:40em;overflow:auto;margin:0">{}</pre>'
_EMPTY = "—"
_CHECKBOX = '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">'
# The big JSON columns; the changelist never reads them.
_BULKY_FIELDS = ("request", "result", "stages", "write_summary", "segments")


def _short(text: str, width: int) -> str:
    """`text` cut to `width` characters with an ellipsis, as Truncator.chars, which looks its
    ellipsis up in the translations on every call: a text that fits is returned as it is."""
    return text if len(text) <= width else Truncator(text).chars(width)


def status_badge(status: str) -> SafeString:
    return format_html(_BADGE, _STATUS_COLOURS.get(status, "#6c757d"), status or _EMPTY)


def _number(value: Any, digits: int = 1) -> str:
    if value is None or value == "":
        return _EMPTY
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:,.{digits}f}"


def _pretty_json(value: Any) -> SafeString | str:
    if value is None:
        return _EMPTY
    return format_html(_PRE, json.dumps(value, indent=2, ensure_ascii=False))


def _table(headers: tuple[str, ...], rows: list[tuple[Any, ...]]) -> SafeString:
    """An HTML table; every cell is escaped unless it is already safe (a badge)."""
    cells = "".join(["<td>{}</td>"] * len(headers))
    return format_html(
        "<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>",
        format_html_join("", "<th>{}</th>", ((h,) for h in headers)),
        format_html_join("", "<tr>" + cells + "</tr>", rows),
    )


def run_page_url(run_id: str) -> str:
    """The web page of a run (orchestration/web/urls.py)."""
    try:
        return reverse("run-detail", args=[run_id])
    except NoReverseMatch:  # a runId the URL pattern does not take (a "/", say)
        return f"/runs/{quote(run_id, safe='')}/"


def run_api_url(run_id: str) -> str:
    """The run in the JSON API (orchestration/api/urls.py, mounted at /api/orchestration/)."""
    try:
        return reverse("orchestration-api:run-detail", args=[run_id])
    except NoReverseMatch:
        return f"/api/orchestration/runs/{quote(run_id, safe='')}"


class FailedAgentFilter(admin.SimpleListFilter):
    """The five stages in pipeline order, plus runs without a failed agent."""

    title = "failed agent"
    parameter_name = "failed_agent"
    NONE = "-"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(name, name) for name in STAGE_NAMES] + [(self.NONE, "No failed agent")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[RunRecord]) -> QuerySet[RunRecord]:
        value = self.value()
        if value is None:
            return queryset
        return queryset.filter(failed_agent="" if value == self.NONE else value)


# The date hierarchy asks for the distinct years, months or days of the rows it drills into:
# Django's `QuerySet.datetimes` truncates the column of every row (SELECT DISTINCT
# django_datetime_trunc(...) over the whole ledger: 1.1 s at 35,000 rows on SQLite, growing with
# the ledger). The ledger's changelist answers it from the created_at index instead: the first
# and last row (MIN/MAX), then one EXISTS per period between them (at most 12 months or 31
# days; a year per year of ledger), each a bounded range seek, all in one statement. Same
# periods, same links.
_SEEK_PERIODS_MAX = 400  # more periods than this (never from the date hierarchy): Django's way


def _periods(first: datetime, last: datetime, kind: str, tz: tzinfo
             ) -> list[tuple[datetime, datetime]]:
    """[start, end) of every `kind` (year, month or day) from `first`'s to `last`'s, local to
    `tz`, as aware datetimes."""
    def aware(year: int, month: int = 1, day: int = 1) -> datetime:
        return timezone.make_aware(datetime(year, month, day), tz)

    if kind == "year":
        keys = [(y, 1, 1) for y in range(first.year, last.year + 2)]
    elif kind == "month":  # months counted from year 0, up to the one after `last`'s
        keys = [(i // 12, i % 12 + 1, 1)
                for i in range(first.year * 12 + first.month - 1, last.year * 12 + last.month + 1)]
    else:
        days = [first.date() + timedelta(days=i)
                for i in range((last.date() - first.date()).days + 2)]
        keys = [(d.year, d.month, d.day) for d in days]
    starts = [aware(*key) for key in keys]
    return list(zip(starts, starts[1:], strict=False))


class _LedgerQuerySet(QuerySet[RunRecord]):
    """The changelist's rows; `datetimes` (the date hierarchy's query) by index seeks.

    The date hierarchy first asks `aggregate(first=Min(f), last=Max(f))`, and `datetimes` asks
    again. SQLite answers a lone MIN or MAX by one index seek, but MIN and MAX together by
    reading the whole index (40-75 ms at 100,000 rows, twice a page): here they are two seeks
    (`_bounds`), read once per queryset. `hierarchy` is the queryset the periods are read from:
    the changelist's own rows, or, while a search narrows them, the rows without the search
    (so the date hierarchy never re-runs the substring scan: see RunRecordAdmin)."""

    hierarchy: QuerySet[RunRecord] | None = None
    _bounds_cache: dict[str, tuple[Any, Any]] | None = None

    def _periods_source(self) -> QuerySet[RunRecord]:
        return self.hierarchy if self.hierarchy is not None else self

    def _bounds(self, field_name: str) -> tuple[Any, Any]:
        """(first, last) value of `field_name`: one seek of its index each."""
        if self._bounds_cache is None:
            self._bounds_cache = {}
        if field_name not in self._bounds_cache:
            rows = self._periods_source().order_by()
            self._bounds_cache[field_name] = (
                rows.order_by(field_name).values_list(field_name, flat=True).first(),
                rows.order_by(f"-{field_name}").values_list(field_name, flat=True).first())
        return self._bounds_cache[field_name]

    def aggregate(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        first, last = kwargs.get("first"), kwargs.get("last")
        if (not args and len(kwargs) == 2 and type(first) is Min and type(last) is Max
                and first.get_source_expressions() == last.get_source_expressions()
                and isinstance(field := first.get_source_expressions()[0], F)):
            low, high = self._bounds(field.name)  # the date hierarchy's opening question
            return {"first": low, "last": high}
        return super().aggregate(*args, **kwargs)

    def _clone(self) -> Any:
        clone = super()._clone()  # type: ignore[misc]
        clone.hierarchy = self.hierarchy
        return clone

    def datetimes(self, field_name: str,
                  kind: Literal["year", "month", "week", "day", "hour", "minute", "second"],
                  order: Literal["ASC", "DESC"] = "ASC", tzinfo: tzinfo | None = None) -> Any:
        if kind not in ("year", "month", "day"):
            return super().datetimes(field_name, kind, order, tzinfo)
        first, last = self._bounds(field_name)
        if first is None:
            return []
        tz = tzinfo or timezone.get_current_timezone()
        periods = _periods(timezone.localtime(first, tz), timezone.localtime(last, tz), kind, tz)
        if len(periods) > _SEEK_PERIODS_MAX:
            return super().datetimes(field_name, kind, order, tzinfo)
        rows = _without_ranges_on(self._periods_source(), field_name)
        held = {f"p{i}": Exists(rows.filter(**{f"{field_name}__gte": start,
                                                f"{field_name}__lt": end}))
                for i, (start, end) in enumerate(periods)}
        # every period's EXISTS in one statement (its FROM: any one row of the ledger)
        answers = (RunRecord._default_manager.using(rows.db).order_by()
                   .annotate(**held).values_list(*held)[:1])
        found = [start for (start, _), hit in zip(periods, next(iter(answers), ()),
                                                  strict=True) if hit]
        return found if order == "ASC" else found[::-1]


_RANGES = ("gt", "gte", "lt", "lte", "range")


def _without_ranges_on(rows: QuerySet[RunRecord], field_name: str) -> QuerySet[RunRecord]:
    """`rows` without their ranges on `field_name` (the drilled year or month, a "past 7
    days" filter), for the periods' EXISTS: SQLite seeks the index by one lower bound, the
    first written, so a day's EXISTS inside a drilled month walked the month from its first
    day (the 30 days of a month at 100,000 runs: 140 ms). The answers are the same: every
    period lies between the first and the last row of `rows`, which satisfy each range, and a
    range is an interval, so it holds the whole period (an edge period holds that row)."""
    rows = rows.all()
    where = rows.query.where
    if where.connector == "AND" and not where.negated:
        where.children = [
            child for child in where.children
            if not (isinstance(child, Lookup) and child.lookup_name in _RANGES
                    and isinstance(child.lhs, Col) and child.lhs.target.name == field_name)]
    return rows


class _LedgerChangeList(ChangeList):
    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> QuerySet:
        rows = _ledger_rows(super().get_queryset(request, exclude_parameters))
        if self.query:  # the date hierarchy's periods: the same rows without the search
            term, self.query = self.query, ""
            try:
                rows.hierarchy = _ledger_rows(super().get_queryset(request, exclude_parameters))
            finally:
                self.query = term
        return rows


    def get_results(self, request: HttpRequest) -> None:
        """Django's, but a search is read once: the ids that match, in the page's order (the
        created_at index walked, each id checked against the matched set: no row read), give
        the page's ids; the page's rows are then read by id. The count comes from the trigram
        index when it can answer alone (every word 3 characters or more, no filter, a viewer
        who sees every run: selectors.ledger_search_count) and the walk stops at the page's
        end; otherwise the walk reads every matching id, which gives the count too. Django
        counts, then reads the page, each a scan of the matches."""
        rows = self.queryset
        if not isinstance(rows, _LedgerQuerySet) or rows.hierarchy is None:
            super().get_results(request)
            return
        ordered = rows.values_list("pk", flat=True)
        counted = (None if rows.hierarchy.query.where
                   else selectors.ledger_search_count(text=self.query, using=rows.db))
        ids: Sequence[int] = list(ordered) if counted is None else _CountedIds(ordered, counted)
        paginator = Paginator(ids, self.list_per_page)
        result_count = paginator.count
        can_show_all = result_count <= self.list_max_show_all
        multi_page = result_count > self.list_per_page
        if (self.show_all and can_show_all) or not multi_page:
            page_ids = list(ordered) if counted is not None else list(ids)
        else:
            try:
                page_ids = list(paginator.page(self.page_num).object_list)
            except InvalidPage:
                raise IncorrectLookupParameters from None
        place = {pk: i for i, pk in enumerate(page_ids)}
        self.result_count = result_count
        self.show_full_result_count = self.model_admin.show_full_result_count
        self.full_result_count = (self.root_queryset.count()
                                  if self.show_full_result_count else None)
        self.show_admin_actions = (not self.show_full_result_count
                                   or bool(self.full_result_count))
        self.result_list = sorted(rows.hierarchy.filter(pk__in=page_ids),
                                  key=lambda row: place[row.pk]) if page_ids else []
        self.can_show_all = can_show_all
        self.multi_page = multi_page
        self.paginator = paginator


class _CountedIds(Sequence[int]):
    """The matching ids in the page's order, their number known beforehand: the paginator
    reads only the page's slice (LIMIT/OFFSET on the walk, which stops there)."""

    def __init__(self, ordered: QuerySet[RunRecord, int], count: int) -> None:
        self._ordered, self._count = ordered, count

    def count(self, value: Any = None) -> int:  # the Paginator's count() (no argument)
        return self._count if value is None else super().count(value)

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> int: ...
    @overload
    def __getitem__(self, index: slice) -> list[int]: ...
    def __getitem__(self, index: int | slice) -> int | list[int]:
        return list(self._ordered[index]) if isinstance(index, slice) else self._ordered[index]


def _ledger_rows(rows: QuerySet[RunRecord]) -> _LedgerQuerySet:
    rows = rows.defer(*_BULKY_FIELDS)
    return _LedgerQuerySet(model=rows.model, query=rows.query.chain(), using=rows.db)


@admin.register(RunRecord)
class RunRecordAdmin(admin.ModelAdmin):
    # The request first (the link to the row), then what fits beside it at 1280 px with the
    # filter sidebar open: the runId is last and shortened.
    list_display = ("request_excerpt", "status_display", "created_at", "duration", "user",
                    "product", "failed_agent_display", "persisted", "run_id_short")
    list_display_links = ("request_excerpt",)
    list_select_related = ("submitted_by",)
    list_filter = ("status", "created_at", FailedAgentFilter, "budget_breached", "source")
    date_hierarchy = "created_at"  # by index seeks: _LedgerQuerySet.datetimes
    # The filtered count only: the "N total" beside it would count the whole ledger again.
    show_full_result_count = False
    search_fields = selectors.LEDGER_SEARCH_FIELDS  # read by selectors.ledger_search
    search_help_text = "Search by runId, request text or product (substring, case-insensitive)."
    list_per_page = 50
    actions = ["export_csv"]
    readonly_fields = (
        "run_id", "status_display", "queue_position", "source", "submitted_by", "request_text",
        "replay_of", "condensed_at",
        "failed_agent", "error", "links", "created_at", "started_at", "finished_at", "duration",
        "agent_timeline", "persisted_at", "persist_attempts", "persist_next_at",
        "persist_error", "checksum", "write_summary_view", "request_json", "result_json",
    )
    fieldsets = (
        (None, {"fields": ("run_id", "status_display", "queue_position", "source",
                           "submitted_by", "request_text", "failed_agent", "error", "links",
                           "replay_of", "condensed_at")}),
        ("Timing", {"fields": ("created_at", "started_at", "finished_at", "duration")}),
        ("Agent timeline", {"fields": ("agent_timeline",)}),
        ("Neo4j write", {"fields": ("persisted_at", "persist_attempts", "persist_next_at",
                                    "persist_error",
                                    "checksum", "write_summary_view")}),
        ("Request", {"fields": ("request_json",)}),
        ("Result (RunResult)", {"fields": ("result_json",), "classes": ("collapse",)}),
    )

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        """A persisted run has no next write: its "persist next at" (and the help text about
        the reconciler) is left out."""
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or obj.persisted_at is None:
            return fieldsets
        return [(name, {**options, "fields": tuple(f for f in options["fields"]
                                                   if f != "persist_next_at")})
                for name, options in fieldsets]

    # --- export ---------------------------------------------------------------------------------

    @admin.action(description="Export the selected runs as CSV", permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet[RunRecord]
                   ) -> StreamingHttpResponse:
        """The selected runs (those this user may see: the changelist's queryset), the columns
        of the run history's export, streamed."""
        rows = (selectors.history_row(run) for run in
                queryset.defer(*_BULKY_FIELDS).select_related("submitted_by")
                .order_by("-created_at", "-id").iterator(chunk_size=500))
        response = StreamingHttpResponse(history_csv(rows, limit=EXPORT_LIMIT),
                                         content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="runs.csv"'
        return response

    # --- read-only ------------------------------------------------------------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # see the module docstring

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[_LedgerChangeList]:
        return _LedgerChangeList

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[RunRecord],
                           search_term: str) -> tuple[QuerySet[RunRecord], bool]:
        """Django's search (every word, in any of search_fields, case-insensitive substring),
        read from the indexes of migrations 0011 and 0012: selectors.ledger_search."""
        return selectors.ledger_search(rows=queryset, text=search_term), False

    # --- who sees what: the rows the selectors let this user see ---------------------------------

    def get_queryset(self, request: HttpRequest) -> QuerySet[RunRecord]:
        return selectors.runs_visible(viewer=request.user)

    # --- columns and fields ---------------------------------------------------------------------

    def action_checkbox(self, obj: RunRecord) -> SafeString:
        """Django's checkbox, the same HTML, written directly instead of rendering a form
        widget's template for every row (a tenth of a changelist page of 50 rows)."""
        return format_html(_CHECKBOX, helpers.ACTION_CHECKBOX_NAME, obj.pk,
                           format_html(gettext("Select this object for an action - {}"),
                                       str(obj)))

    @admin.display(description="status", ordering="status")
    def status_display(self, obj: RunRecord) -> SafeString:
        return status_badge(obj.status)

    @admin.display(description="failed agent", ordering="failed_agent")
    def failed_agent_display(self, obj: RunRecord) -> str:
        return obj.failed_agent or _EMPTY

    @admin.display(description="request")
    def request_excerpt(self, obj: RunRecord) -> str:
        return _short(obj.request_text, 60)

    @admin.display(description="user", ordering="submitted_by__username")
    def user(self, obj: RunRecord) -> str:
        return obj.submitted_by.get_username() if obj.submitted_by else _EMPTY

    @admin.display(description="persisted", boolean=True, ordering="persisted_at")
    def persisted(self, obj: RunRecord) -> bool:
        return obj.persisted_at is not None

    @admin.display(description="run id", ordering="run_id")
    def run_id_short(self, obj: RunRecord) -> SafeString:
        return format_html('<code title="{}">{}</code>', obj.run_id, _short(obj.run_id, 16))

    @admin.display(description="duration", ordering="total_duration_ms")
    def duration(self, obj: RunRecord) -> str:
        if obj.total_duration_ms is None:
            return _EMPTY
        return f"{obj.total_duration_ms:,.0f} ms"

    @admin.display(description="links")
    def links(self, obj: RunRecord) -> SafeString:
        items = [("Run page", run_page_url(obj.run_id)), ("API", run_api_url(obj.run_id))]
        if obj.persisted_at is not None:
            try:
                items.append(("Neo4j node", reverse("admin:graphstore_graph_node",
                                                    args=["OrchestrationRun", obj.run_id])))
            except NoReverseMatch:  # the graph browser is not mounted
                pass
        return format_html_join(" · ", '<a href="{1}">{0}</a>', items)

    @admin.display(description="agent timeline")
    def agent_timeline(self, obj: RunRecord) -> SafeString | str:
        """One timeline: every invocation of the finished run (its agentHistory: retries, output
        refs), then the stages it never reached as the ledger has them (pending, skipped); a run
        in progress shows the ledger's live stages."""
        history = sorted((obj.result or {}).get("agentHistory") or [],
                         key=lambda e: e.get("sequence") or 0)
        stages = obj.stages or {}
        order = STAGE_ORDER
        rows = [(e.get("sequence", _EMPTY), e.get("agent", ""),
                 status_badge(str(e.get("status", ""))), e.get("timestamp") or _EMPTY,
                 _number(e.get("duration")), _number(e.get("memoryMb")),
                 e.get("outputRef") or "", e.get("error") or "") for e in history]
        seen = {e.get("agent") for e in history}

        def key(item: tuple[str, dict[str, Any]]) -> tuple[int, int]:
            seq = item[1].get("sequence")
            return (seq if isinstance(seq, int) else 10_000, order.get(item[0], len(order)))

        rows += [(info.get("sequence") or _EMPTY, agent,
                  status_badge(str(info.get("status", ""))), info.get("startedAt") or _EMPTY,
                  _number(info.get("durationMs")), _number(info.get("memoryMb")), "",
                  info.get("error") or "")
                 for agent, info in sorted(stages.items(), key=key) if agent not in seen]
        if not rows:
            return _EMPTY
        return _table(("#", "agent", "status", "started", "duration ms", "memory MB",
                       "outputRef", "error"), rows)

    @admin.display(description="write summary")
    def write_summary_view(self, obj: RunRecord) -> SafeString | str:
        """The write as a person reads it: a breached budget first and in red, then the
        figures (counts, times, attempts); lists and the raw JSON below, folded."""
        summary = obj.write_summary
        if not summary:
            return _EMPTY
        if not isinstance(summary, dict):
            return _pretty_json(summary)
        breaches = summary.get("budgetBreaches") or []
        banner = format_html(
            '<p data-budget-breached style="background:#fdecea;color:#b42318;border-left:4px '
            'solid #b42318;padding:.4em .8em;margin:0 0 .5em;font-weight:600">Budget breached '
            "by the write: {}</p>", ", ".join(map(str, breaches))) if breaches else ""
        labels = {"created": "new run", "nodesCreated": "nodes created",
                  "relationshipsCreated": "relationships created", "nodeCount": "nodes",
                  "relationshipCount": "relationships", "attempts": "attempts",
                  "latencyMs": "latency ms", "mappingMs": "mapping ms", "blobMs": "blob ms",
                  "databaseMs": "database ms", "memoryMb": "memory MB", "blobUri": "blob",
                  "checksum": "checksum"}
        rows = [(labels.get(name, name),
                 _number(value, 3 if name.endswith(("Ms", "Mb")) else 0)
                 if isinstance(value, int | float) and not isinstance(value, bool)
                 else ("yes" if value is True else "no" if value is False else value or _EMPTY))
                for name, value in summary.items()
                if name not in ("budgetBreaches", "runId") and not isinstance(value, list | dict)]
        rest = {k: v for k, v in summary.items() if isinstance(v, list | dict) and v
                and k != "budgetBreaches"}
        extra = format_html("<details><summary>{}</summary>{}</details>",
                            ", ".join(rest), _pretty_json(rest)) if rest else ""
        return format_html("{}{}{}<details><summary>raw JSON</summary>{}</details>", banner,
                           _table(("", "value"), rows), extra, _pretty_json(summary))

    @admin.display(description="request (input contract)")
    def request_json(self, obj: RunRecord) -> SafeString | str:
        return _pretty_json(obj.request)

    @admin.display(description="result")
    def result_json(self, obj: RunRecord) -> SafeString | str:
        return _pretty_json(obj.result)


@admin.register(RetentionSettings)
class RetentionSettingsAdmin(admin.ModelAdmin):
    """The singleton: the changelist opens the one row (created with its defaults if missing,
    as RetentionSettings.load() does everywhere else); no add, no delete. The retention job that
    reads it is a separate piece of work."""

    fields = ("full_retention_days", "condense_enabled", "updated_at")
    readonly_fields = ("updated_at",)
    actions = None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest,
                        extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        obj = RetentionSettings.load()
        return HttpResponseRedirect(reverse("admin:orchestration_retentionsettings_change",
                                            args=[obj.pk], current_app=self.admin_site.name))
