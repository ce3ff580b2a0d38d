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
from typing import Any
from urllib.parse import quote

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import Truncator

from contracts.stages import STAGE_NAMES, STAGE_ORDER

from . import selectors
from .models import RetentionSettings, RunRecord

# Fixed colours per status (never taken from data); white text reads on all of them.
_STATUS_COLOURS = {
    "queued": "#6c757d", "pending": "#6c757d", "running": "#0d6efd", "persisting": "#b8860b",
    "succeeded": "#198754", "failed": "#dc3545", "skipped": "#6c757d",
}
_BADGE = ('<span style="background:{};color:#fff;padding:1px 8px;border-radius:8px;'
          'white-space:nowrap">{}</span>')
_PRE = '<pre style="white-space:pre-wrap;max-height:40em;overflow:auto;margin:0">{}</pre>'
_EMPTY = "—"
# The big JSON columns; the changelist never reads them.
_BULKY_FIELDS = ("request", "result", "stages", "write_summary", "segments")


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


class _LedgerChangeList(ChangeList):
    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> QuerySet:
        return super().get_queryset(request, exclude_parameters).defer(*_BULKY_FIELDS)


@admin.register(RunRecord)
class RunRecordAdmin(admin.ModelAdmin):
    list_display = ("run_id", "status_display", "queue_position", "source",
                    "failed_agent_display", "request_excerpt", "created_at", "duration",
                    "persisted_at")
    list_filter = ("status", "created_at", FailedAgentFilter, "source")
    date_hierarchy = "created_at"
    search_fields = ("run_id", "request_text")
    search_help_text = "Search by runId or request text (substring, case-insensitive)."
    list_per_page = 50
    actions = None
    readonly_fields = (
        "run_id", "status_display", "queue_position", "source", "submitted_by", "request_text",
        "replay_of", "condensed_at",
        "failed_agent", "error", "links", "created_at", "started_at", "finished_at", "duration",
        "stage_timeline", "agent_history", "persisted_at", "persist_attempts", "persist_next_at",
        "persist_error", "checksum", "write_summary_json", "request_json", "result_json",
    )
    fieldsets = (
        (None, {"fields": ("run_id", "status_display", "queue_position", "source",
                           "submitted_by", "request_text", "failed_agent", "error", "links",
                           "replay_of", "condensed_at")}),
        ("Timing", {"fields": ("created_at", "started_at", "finished_at", "duration")}),
        ("Agent timeline", {"fields": ("stage_timeline", "agent_history")}),
        ("Neo4j write", {"fields": ("persisted_at", "persist_attempts", "persist_next_at",
                                    "persist_error",
                                    "checksum", "write_summary_json")}),
        ("Request", {"fields": ("request_json",)}),
        ("Result (RunResult)", {"fields": ("result_json",), "classes": ("collapse",)}),
    )

    # --- read-only ------------------------------------------------------------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # see the module docstring

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[_LedgerChangeList]:
        return _LedgerChangeList

    # --- who sees what: the rows the selectors let this user see ---------------------------------

    def get_queryset(self, request: HttpRequest) -> QuerySet[RunRecord]:
        return selectors.runs_visible(viewer=request.user)

    # --- columns and fields ---------------------------------------------------------------------

    @admin.display(description="status", ordering="status")
    def status_display(self, obj: RunRecord) -> SafeString:
        return status_badge(obj.status)

    @admin.display(description="failed agent", ordering="failed_agent")
    def failed_agent_display(self, obj: RunRecord) -> str:
        return obj.failed_agent or _EMPTY

    @admin.display(description="request")
    def request_excerpt(self, obj: RunRecord) -> str:
        return Truncator(obj.request_text).chars(60)

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

    @admin.display(description="stage timeline (ledger)")
    def stage_timeline(self, obj: RunRecord) -> SafeString | str:
        stages = obj.stages or {}
        if not stages:
            return _EMPTY
        order = STAGE_ORDER

        def key(item: tuple[str, dict[str, Any]]) -> tuple[int, int]:
            seq = item[1].get("sequence")
            return (seq if isinstance(seq, int) else 10_000, order.get(item[0], len(order)))

        rows = [(info.get("sequence") or _EMPTY, agent, status_badge(str(info.get("status", ""))),
                 _number(info.get("durationMs")), _number(info.get("memoryMb")),
                 info.get("startedAt") or _EMPTY, info.get("error") or "")
                for agent, info in sorted(stages.items(), key=key)]
        return _table(("#", "agent", "status", "duration ms", "memory MB", "started", "error"),
                      rows)

    @admin.display(description="agent history (RunResult)")
    def agent_history(self, obj: RunRecord) -> SafeString | str:
        history = (obj.result or {}).get("agentHistory") or []
        if not history:
            return _EMPTY
        rows = [(e.get("sequence", _EMPTY), e.get("agent", ""),
                 status_badge(str(e.get("status", ""))), e.get("timestamp") or _EMPTY,
                 _number(e.get("duration")), _number(e.get("memoryMb")),
                 e.get("outputRef") or "", e.get("error") or "")
                for e in sorted(history, key=lambda e: e.get("sequence") or 0)]
        return _table(("#", "agent", "status", "timestamp", "duration ms", "memory MB",
                       "outputRef", "error"), rows)

    @admin.display(description="write summary")
    def write_summary_json(self, obj: RunRecord) -> SafeString | str:
        return _pretty_json(obj.write_summary)

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
