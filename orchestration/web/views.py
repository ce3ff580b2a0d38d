"""Web pages: the request form, the run page (live while the run is in progress, then the result
rendered from its uiConfig), the run's status as JSON for the page to poll, recent runs, and the
analytics page.

Thin: a view parses, calls one service or selector, and renders; web/presenters.py shapes what
the templates show. Reading a finished run prefers the copy replayed from Neo4j and falls back to
the ledger's outbox copy (selectors.result_copy).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from kombu.exceptions import OperationalError as BrokerUnavailable
from redis.exceptions import RedisError

from contracts import STAGE_NAMES
from graphstore import errors as graph_errors
from orchestration import history, selectors, services
from orchestration.api.serializers import RunLedgerStatusSerializer
from orchestration.errors import QueueFull, RunNotFound

from . import explorer, history_page, presenters
from .forms import (
    EXAMPLES,
    PRODUCT_INGREDIENTS,
    PRODUCT_KEYWORDS,
    PRODUCT_NAMES,
    REQUEST_MAX_CHARS,
    UNITS,
    RunRequestForm,
    size_of_text,
)

logger = logging.getLogger(__name__)

OVERLOADED = ("The system cannot accept new requests right now: its task queue is not "
              "reachable or is overloaded. Nothing was started. Please try again in a minute.")

# The JSON API the analytics page draws its charts from (with the user's session).
ANALYTICS_ENDPOINTS = {
    "agents": "orchestration-api:analytics-agents",
    "breaches": "orchestration-api:analytics-budget-breaches",
    "ingredients": "orchestration-api:analytics-ingredients",
    "costs": "orchestration-api:analytics-costs",
    "validation": "orchestration-api:analytics-validation-errors",
    "similar": "orchestration-api:run-similar",
}


def _see_other(run_id: str) -> HttpResponseRedirect:
    """303 See Other to a run page: the browser GETs it."""
    response = HttpResponseRedirect(reverse("run-detail", args=[run_id]))
    response.status_code = 303
    return response


# --- the request form ----------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def run_request_form(request: HttpRequest) -> HttpResponse:
    """GET: the form (prefilled from ?request=&size=&unit=); POST: start the run, 303 to it."""
    if request.method == "POST":
        form = RunRequestForm(request.POST)
        if form.is_valid() and form.contract is not None:
            try:
                record = services.run_request_create(user=request.user, request=form.contract)
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
            if (size := form.size_from_text) is not None:
                messages.info(request, f"The batch size, {size.written}, was taken from the "
                              "request text.")
            return _see_other(record.run_id)
        return _render_form(request, form, status=400)
    text = request.GET.get("request", "")
    initial = {"user_request": text,
               "target_batch_size": request.GET.get("size") or None,
               "target_unit": request.GET.get("unit") if request.GET.get("unit") in UNITS
               else "kg",
               # "Edit and resubmit" on a run page fills in the maps too.
               "cost_map": request.GET.get("cost_map", ""),
               "density_map": request.GET.get("density_map", "")}
    if initial["target_batch_size"] is None and (size := size_of_text(text)) is not None:
        initial.update(target_batch_size=f"{size.quantity:.15g}", target_unit=size.unit)
    return _render_form(request, RunRequestForm(initial=initial))


def _render_form(request: HttpRequest, form: RunRequestForm, *, status: int = 200) -> HttpResponse:
    return render(request, "orchestration/request_form.html",
                  {"form": form, "examples": EXAMPLES, "products": PRODUCT_NAMES,
                   "product_ingredients": PRODUCT_INGREDIENTS, "request_max": REQUEST_MAX_CHARS,
                   "recent": selectors.runs_of_user(user=request.user, limit=5)},
                  status=status)


# --- the run page ------------------------------------------------------------------------------


@login_required
@require_GET
@never_cache
def run_detail(request: HttpRequest, run_id: str) -> HttpResponse:
    """The run: header, live stage timeline, then (once finished) the rendered result."""
    try:
        record = selectors.run_get(viewer=request.user, run_id=run_id)
    except RunNotFound as exc:
        raise Http404(str(exc)) from exc
    copy = selectors.result_copy(record)
    history = selectors.run_history_get(viewer=request.user, record=record,
                                        run=copy.run if copy else None)
    context = presenters.run_page(record, copy, history)
    context["status_url"] = reverse("run-status-json", args=[record.run_id])
    context.update(presenters.run_explorer(
        record, copy.run if copy else None, budgets=settings.CAP01_BUDGETS,
        selected=request.GET.get("stage", ""), products=PRODUCT_KEYWORDS))
    context["admin_graph"] = _admin_graph_links(request, record.run_id)
    # "Similar runs" is loaded by the page once shown (run_similar_block): the page does not wait
    # for the ranking, which reads much more of the graph than the page itself.
    context["similar"] = ({"url": reverse("run-similar-block", args=[record.run_id])}
                          if copy is not None else
                          {"hits": [], "note": "Similar runs appear once the run is stored."})
    return render(request, "orchestration/run_detail.html", context)


@login_required
@require_GET
@never_cache
def run_similar_block(request: HttpRequest, run_id: str) -> HttpResponse:
    """The run page's "Similar runs" section alone (templates/orchestration/_similar_runs.html),
    which the page fetches after it is shown and puts in place of its placeholder (without
    JavaScript, a link on the page opens it). A run the user may not see is a 404, as its
    page."""
    try:
        selectors.run_get(viewer=request.user, run_id=run_id)
    except RunNotFound as exc:
        raise Http404(str(exc)) from exc
    return render(request, "orchestration/_similar_runs.html",
                  {"similar": _similar_runs(request, run_id, committed=True)})


def _admin_graph_links(request: HttpRequest, run_id: str) -> dict[str, str] | None:
    """Links into the admin's graph browser, for the users it lets in (staff who see every
    run): the run's node, and a pattern for an ingredient's ("INGREDIENT_ID" replaced)."""
    if not (request.user.is_staff and selectors.sees_all_runs(viewer=request.user)):
        return None
    return {"run": reverse("admin:graphstore_graph_node", args=["OrchestrationRun", run_id]),
            "ingredient": reverse("admin:graphstore_graph_node",
                                  args=["Ingredient", "INGREDIENT_ID"])}


STAGE_PARTS = ("envelope", "output")


@login_required
@require_GET
def run_stage_json(request: HttpRequest, run_id: str, agent: str, part: str) -> HttpResponse:
    """One stage's hand-off envelope or output as a JSON file to download (the run page's JSON
    viewer), rebuilt from the stored run. 404 for a run the user may not see or a stage that
    did not run; 400 naming the field for an unknown stage or part."""
    try:
        record = selectors.run_get(viewer=request.user, run_id=run_id)
    except RunNotFound as exc:
        raise Http404(str(exc)) from exc
    for field, value, allowed in (("agent", agent, STAGE_NAMES), ("part", part, STAGE_PARTS)):
        if value not in allowed:
            message = f"{field}: must be one of {', '.join(allowed)}, got {value!r}"
            return JsonResponse({"detail": message, "code": "invalid",
                                 "errors": [{"field": field, "message": message}]},
                                status=400)
    copy = selectors.result_copy(record)
    parts = explorer.stage_parts(copy.run, agent) if copy and copy.run else None
    if parts is None:
        raise Http404(f"Stage {agent} did not run in run {run_id}, or the run's result is "
                      "not readable: there is no envelope or output to download.")
    response = JsonResponse(parts[part], json_dumps_params={"indent": 2,
                                                           "ensure_ascii": False})
    response["Content-Disposition"] = f'attachment; filename="{run_id}-{agent}-{part}.json"'
    return response


@login_required
@require_GET
@never_cache
def run_compare(request: HttpRequest) -> HttpResponse:
    """Two runs side by side: the artifact diff (orchestration/diff.py, from `a` to `b`) and
    their per-segment timings. A picker (the viewer's recent runs) when either is missing; a
    run the user may not see is a 404, as on its page."""
    a_id, b_id = request.GET.get("a", "").strip(), request.GET.get("b", "").strip()
    context: dict[str, object] = {
        "a_id": a_id, "b_id": b_id,
        "choices": selectors.runs_recent(viewer=request.user, limit=50)}
    if not (a_id and b_id):
        return render(request, "orchestration/run_compare.html", context)
    sides = []
    for run_id in (a_id, b_id):
        try:
            record = selectors.run_get(viewer=request.user, run_id=run_id)
        except RunNotFound as exc:
            raise Http404(str(exc)) from exc
        copy = selectors.result_copy(record)
        sides.append(presenters.compare_side(record, copy.run if copy else None))
    context.update(a=sides[0], b=sides[1],
                   timings=explorer.timing_rows(sides[0]["segments"], sides[1]["segments"]))
    try:
        diff = selectors.run_diff_get(viewer=request.user, run_id=b_id, against=a_id)
    except graph_errors.RunNotFound as exc:
        context["diff_note"] = f"No artifact diff: {exc} (both runs must be persisted)."
    except graph_errors.GraphStoreError as exc:
        context["diff_note"] = f"No artifact diff: a run cannot be read back ({exc})."
    else:
        context.update(diff=diff, diff_rows=presenters.diff_table(diff))
    return render(request, "orchestration/run_compare.html", context)


SIMILAR_ON_PAGE = 5


def _similar_runs(request: HttpRequest, run_id: str, *, committed: bool) -> dict[str, object]:
    """The run page's "similar runs" (templates/orchestration/_similar_runs.html): runs like this
    one with their reasons. The page renders without them when the graph cannot answer."""
    if not committed:
        return {"hits": [], "note": "Similar runs appear once the run is stored."}
    try:
        hits = selectors.runs_like(viewer=request.user, run_id=run_id, limit=SIMILAR_ON_PAGE)
    except graph_errors.RunNotFound:
        return {"hits": [], "note": "Similar runs appear once the run is stored."}
    except Exception as exc:  # the page must render anyway (noted in selectors' docstring)
        logger.warning("similar runs of %s not shown: %s", run_id, exc)
        return {"hits": [], "note": "Similar runs cannot be read right now."}
    return {"hits": hits, "note": "" if hits else "No similar past runs yet."}


@login_required
@require_POST
def run_replay_submit(request: HttpRequest, run_id: str) -> HttpResponse:
    """POST from the run page: replay the run with the current agents, 303 to the new run. A run
    the user may not see is a 404, as on its page."""
    try:
        selectors.run_get(viewer=request.user, run_id=run_id)
    except RunNotFound as exc:
        raise Http404(str(exc)) from exc
    try:
        record = services.run_replay_create(user=request.user, run_id=run_id)
    except graph_errors.RunNotFound:
        messages.error(request, "This run is not persisted in Neo4j (yet), so it cannot be "
                       "replayed.")
    except graph_errors.GraphStoreError as exc:  # a damaged stored run, the blob store failing
        logger.error("replay of %s refused: %s", run_id, exc)
        messages.error(request, "This run cannot be read back from Neo4j whole, so it cannot "
                       "be replayed; the server log says why.")
    except QueueFull as exc:
        messages.error(request, f"{exc} The replay was not submitted.")
    except (BrokerUnavailable, RedisError):
        logger.exception("the replay could not be enqueued")
        messages.error(request, OVERLOADED)
    else:
        return _see_other(record.run_id)
    return _see_other(run_id)


@require_GET
@never_cache
def run_status_json(request: HttpRequest, run_id: str) -> JsonResponse:
    """What the run page polls: the ledger's view of the run, in the shape of the JSON API's
    GET /api/orchestration/runs/{runId}/status. 401 (not a login redirect) without a session."""
    if not request.user.is_authenticated:
        return JsonResponse({"detail": "Log in to see this run.", "code": "not_authenticated",
                             "errors": []}, status=401)
    try:
        record = selectors.run_get(viewer=request.user, run_id=run_id)
    except RunNotFound as exc:
        return JsonResponse({"detail": str(exc), "code": "not_found", "errors": []}, status=404)
    return JsonResponse(RunLedgerStatusSerializer(record).data)


@login_required
@require_GET
def run_list(request: HttpRequest) -> HttpResponse:
    """The run history: the runs the user may see (their own; every run for an auditor),
    searched, filtered, sorted and paged by cursor (orchestration/history.py). Bad filters
    answer 400 with the form and a message naming each bad field."""
    all_runs = selectors.sees_all_runs(viewer=request.user)
    try:
        query = history.parse_history_query(request.GET, may_filter_user=all_runs)
    except history.HistoryQueryError as exc:
        return render(request, "orchestration/run_list.html",
                      history_page.history_context(request.GET, page=None, all_runs=all_runs,
                                                 errors=exc.errors,
                                                   products=PRODUCT_NAMES), status=400)
    page = selectors.run_history_page(viewer=request.user, query=query)
    return render(request, "orchestration/run_list.html",
                  history_page.history_context(request.GET, page=page, all_runs=all_runs,
                                               errors={}, products=PRODUCT_NAMES,
                                               sort=query.sort))


@login_required
@require_GET
def run_history_export(request: HttpRequest, fmt: str) -> HttpResponseBase:
    """The filtered run history as CSV or JSON: every matching run the user may see, in the
    page's order, streamed, at most history.EXPORT_LIMIT rows (the JSON says `truncated`; the CSV
    ends with a comment line). Bad filters: 400 as JSON naming each field."""
    all_runs = selectors.sees_all_runs(viewer=request.user)
    params = {k: str(v) for k, v in request.GET.items() if k != "cursor"}
    try:
        query = history.parse_history_query(params, may_filter_user=all_runs)
    except history.HistoryQueryError as exc:
        return JsonResponse({"detail": "Invalid filters: " + str(exc), "code": "invalid",
                             "errors": [{"field": k, "message": v}
                                        for k, v in exc.errors.items()]}, status=400)
    rows = selectors.run_history_export(viewer=request.user, query=query)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    if fmt == "csv":
        response = StreamingHttpResponse(history_page.history_csv(rows),
                                         content_type="text/csv; charset=utf-8")
    else:
        response = StreamingHttpResponse(history_page.history_json(rows),
                                         content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="runs-{stamp}.{fmt}"'
    response["Cache-Control"] = "no-store"
    return response


# --- analytics ---------------------------------------------------------------------------------


@require_GET
@never_cache
def analytics_ledger_json(request: HttpRequest) -> JsonResponse:
    """What the analytics page draws from the ledger: latency and error rate per day, cost per
    kg per product per day, over ?since=&until= (UTC days, until included; default the last 30
    days). 400 naming the field for a bad day; 401 without a session."""
    if not request.user.is_authenticated:
        return JsonResponse({"detail": "Log in to see analytics.", "code": "not_authenticated",
                             "errors": []}, status=401)
    params = {k: str(request.GET.get(k, "")) for k in ("since", "until")}
    unknown = sorted(set(request.GET) - set(params))
    try:
        if unknown:
            raise history.HistoryQueryError({name: "is not a parameter here; use since and "
                                             "until." for name in unknown})
        query = history.parse_history_query(params, may_filter_user=False)
    except history.HistoryQueryError as exc:
        return JsonResponse({"detail": str(exc), "code": "invalid",
                             "errors": [{"field": k, "message": v}
                                        for k, v in exc.errors.items()]}, status=400)
    until = query.until or timezone.now()
    since = query.since or until - timedelta(days=30)
    if since >= until:
        return JsonResponse({"detail": "until: must be on or after since.", "code": "invalid",
                             "errors": [{"field": "until",
                                         "message": "must be on or after since."}]}, status=400)
    report = selectors.analytics_ledger_timeline(viewer=request.user, since=since, until=until)
    return JsonResponse({"since": since.isoformat(), "until": until.isoformat(), **report})



@login_required
@require_GET
def analytics_page(request: HttpRequest) -> HttpResponse:
    """Charts of the run analytics over a window of days, and a search for similar runs: the
    template draws them in the browser (inline SVG, no external script) from the JSON API, with
    the user's session; the figures are computed in Neo4j."""
    endpoints = {key: reverse(name) for key, name in ANALYTICS_ENDPOINTS.items()}
    # Links the page builds per run; "RUN_ID" is replaced in the browser.
    endpoints["runPage"] = reverse("run-detail", args=["RUN_ID"])
    endpoints["ledger"] = reverse("analytics-ledger-json")
    endpoints["history"] = reverse("run-list")
    endpoints["runContext"] = reverse("orchestration-api:run-context", args=["RUN_ID"])
    return render(request, "orchestration/analytics.html", {"endpoints": endpoints})
