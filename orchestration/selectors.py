"""Reads of the orchestration app, all of them: the run ledger (lists, one run), runs replayed
from Neo4j (with the ledger's outbox copy as the fallback), the diff of two runs, and the
analytics and retrieval reads of graphstore. The DRF APIs, the web views and the admin call these
and never the ORM or graphstore directly.

Who sees what is decided here, once. Every read names its `viewer`:

- a user sees the runs they own (RunRecord.submitted_by: the user who submitted the request,
  posted the RunResult, or asked for the replay), and nothing else;
- a user with the permission VIEW_ALL_RUNS ("orchestration.view_all_runs": the "auditors"
  group, and every superuser) sees every run, runs without an owner included;
- SYSTEM (the project's own processes: services, commands, tasks) sees every run.

A run the viewer may not see is answered exactly as a run that does not exist (RunNotFound of the
ledger or of the graph store, the same message), so that its existence is not revealed. Ledger
reads filter the queryset (`runs_visible`); a single run read from Neo4j is checked against the
ledger first; reads over many runs in Neo4j (analytics, similar runs) run in a graphstore
RunScope, which filters on the owner id the writer stores on the run node.

Functions take keyword-only, typed arguments and return models, contract objects or graphstore's
report objects. Bad input raises; nothing is swallowed, except where a page must render anyway
(`result_copy`, `run_history_get` say why in a note).
"""

from __future__ import annotations

import logging
import string
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.models import F, Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.text import smart_split, unescape_string_literal
from neo4j.exceptions import DriverError, Neo4jError
from pydantic import ValidationError

from contracts import ALREADY_VALIDATED, RunResult
from graphstore import analytics, retrieval, rollup
from graphstore import errors as graph_errors
from graphstore.connection import database, get_blob_store, get_driver, get_embedder
from graphstore.replay import load_run, load_runs
from graphstore.scope import RunScope

from .diff import diff_rows, diff_runs
from .errors import DiffBaseMissing, RunNotFound
from .history import EXPORT_LIMIT, NULL_KEY, HistoryQuery, encode_cursor, ledger_timeline
from .models import EVERY_OWNER, VIEW_ALL_RUNS, AnalyticsRollup, RunRecord, owner_key

logger = logging.getLogger(__name__)

# The big JSON columns; lists of runs never read them.
BULKY_FIELDS = ("request", "result", "stages", "write_summary", "segments")


# --- who sees what -----------------------------------------------------------------------------


class SystemViewer:
    """The project's own processes (services, management commands, Celery tasks): every run."""

    def __repr__(self) -> str:
        return "SYSTEM"


SYSTEM = SystemViewer()
Viewer = AbstractBaseUser | AnonymousUser | SystemViewer


def sees_all_runs(*, viewer: Viewer) -> bool:
    """Whether `viewer` reads every run: SYSTEM, or an active user with VIEW_ALL_RUNS."""
    if isinstance(viewer, SystemViewer):
        return True
    if not (viewer.is_authenticated and viewer.is_active):
        return False
    has_perm = getattr(viewer, "has_perm", None)  # PermissionsMixin (the User model has it)
    return bool(has_perm is not None and has_perm(VIEW_ALL_RUNS))


def runs_visible(*, viewer: Viewer) -> QuerySet[RunRecord]:
    """The ledger rows `viewer` may see (no order): all of them, or their own."""
    if sees_all_runs(viewer=viewer):
        return RunRecord.objects.all()
    if isinstance(viewer, SystemViewer) or not viewer.is_authenticated:
        return RunRecord.objects.none()
    return RunRecord.objects.filter(submitted_by=viewer.pk)


def run_scope(*, viewer: Viewer) -> RunScope:
    """The graphstore scope of `viewer`'s reads over many runs in Neo4j. PermissionDenied for an
    anonymous viewer (every edge needs a login before it gets here)."""
    if sees_all_runs(viewer=viewer):
        return RunScope.every_run()
    owner = None if isinstance(viewer, SystemViewer) or not viewer.is_authenticated \
        else owner_key(viewer.pk)
    if owner is None:
        raise PermissionDenied("Log in to read runs.")
    return RunScope.owned_by(owner)


def run_visible(*, viewer: Viewer, run_id: str) -> bool:
    """Whether `viewer` may read the run `run_id`, wherever it is stored. Users without
    VIEW_ALL_RUNS see a run when its ledger row is theirs; a run that is only in Neo4j (written
    without a ledger row) has no owner."""
    return sees_all_runs(viewer=viewer) or \
        runs_visible(viewer=viewer).filter(run_id=run_id).exists()


# --- the ledger --------------------------------------------------------------------------------


def run_list(*, viewer: Viewer, status: str | None = None, since: datetime | None = None,
             until: datetime | None = None, failed_agent: str | None = None,
             text: str | None = None, compact: bool = False) -> QuerySet[RunRecord]:
    """The ledger rows `viewer` may see, newest first. `since` is inclusive and `until`
    exclusive (both on createdAt); `text` matches the runId or the request text,
    case-insensitively. `compact` leaves out the bulky JSON columns (a summary needs none of
    them)."""
    runs = runs_visible(viewer=viewer)
    if status:
        runs = runs.filter(status=status)
    if since is not None:
        runs = runs.filter(created_at__gte=since)
    if until is not None:
        runs = runs.filter(created_at__lt=until)
    if failed_agent:
        runs = runs.filter(failed_agent=failed_agent)
    if text:
        runs = runs.filter(Q(run_id__icontains=text) | Q(request_text__icontains=text))
    if compact:
        runs = runs.defer(*BULKY_FIELDS)
    return runs.order_by("-created_at", "-id")


def runs_recent(*, viewer: Viewer, limit: int = 50) -> list[RunRecord]:
    """The most recent runs `viewer` may see, with their submitters (the web run list)."""
    return list(run_list(viewer=viewer, compact=True).select_related("submitted_by")[:limit])


def runs_of_user(*, user: AbstractBaseUser | AnonymousUser, limit: int = 5) -> list[RunRecord]:
    """The user's own most recent runs (auditors' included: only their own): runId, status,
    request text, creation time."""
    return list(run_list(viewer=user).filter(submitted_by=user.pk)
                .only("run_id", "status", "request_text", "created_at")[:limit])


def run_get(*, viewer: Viewer, run_id: str) -> RunRecord:
    """The ledger row of `run_id`; RunNotFound when there is none or `viewer` may not see it.
    Works before the run is in Neo4j (the web run page polls it while the stages run)."""
    try:
        return runs_visible(viewer=viewer).get(run_id=run_id)
    except RunRecord.DoesNotExist as exc:
        raise RunNotFound(run_id) from exc


def run_replays_list(*, viewer: Viewer, run_id: str, limit: int = 20) -> list[RunRecord]:
    """The replays of `run_id` that `viewer` may see, newest first: runId, status, creation
    time. The replays are found by the replay_of index first (a subquery of row ids): filtered
    on the column, SQLite walks the viewer's (submitted_by, created_at) index instead and reads
    every row of theirs (40-70 ms for a user of 10,000 runs; 2-6 ms so)."""
    replays = RunRecord.objects.filter(replay_of=run_id).values("pk")
    return list(runs_visible(viewer=viewer).filter(pk__in=replays)
                .only("run_id", "status", "created_at").order_by("-created_at")[:limit])


# --- the ledger's substring search (the admin changelist's ?q=) -------------------------------

# The searched columns, and the trigram index of them (migration 0012; SQLite).
LEDGER_SEARCH_FIELDS = ("run_id", "request_text", "product")
LEDGER_TRIGRAMS = "orchestration_runrecord_fts"
_TRIGRAM_OBJECTS = (LEDGER_TRIGRAMS, f"{LEDGER_TRIGRAMS}_insert", f"{LEDGER_TRIGRAMS}_delete",
                    f"{LEDGER_TRIGRAMS}_update")
_TRIGRAM = 3  # a word shorter than this has no trigram: LIKE over migration 0011's index
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_trigrams_ready: dict[tuple[str, str], bool] = {}


def search_words(text: str) -> list[str]:
    """The words of a search, as Django's admin splits them: at spaces, a quoted phrase one
    word (without its quotes)."""
    words = []
    for bit in smart_split(text):
        if bit.startswith(('"', "'")) and bit[0] == bit[-1]:
            bit = unescape_string_literal(bit)
        words.append(bit)
    return words


def ledger_trigrams_ready(*, using: str = DEFAULT_DB_ALIAS) -> bool:
    """Whether the database `using` has the ledger's trigram index and the triggers that keep
    it in step (SQLite with FTS5's trigram tokenizer, migration 0012), and folds case as LIKE
    does (lower() of ASCII only: an SQLite built with ICU folds more, and gets the scan).
    Asked once per process and database."""
    conn = connections[using]
    if conn.vendor != "sqlite":
        return False
    key = (using, str(conn.settings_dict["NAME"]))
    if key not in _trigrams_ready:
        with conn.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM sqlite_master WHERE name IN (%s, %s, %s, %s)",
                           _TRIGRAM_OBJECTS)
            (found,) = cursor.fetchone()
            cursor.execute("SELECT lower(%s) = %s", ["\u00c4", "\u00c4"])
            (ascii_only,) = cursor.fetchone()
        _trigrams_ready[key] = found == len(_TRIGRAM_OBJECTS) and bool(ascii_only)
    return _trigrams_ready[key]


def _trigram_word(word: str) -> bool:
    return len(word) >= _TRIGRAM and "\x00" not in word


def _trigram_match(words: Sequence[str]) -> str:
    """The FTS5 query: each word a phrase (its trigrams one after another: the word as a
    substring of one column), folded as the index is (ASCII letters), all of them."""
    return " AND ".join('"' + word.translate(_ASCII_LOWER).replace('"', '""') + '"'
                        for word in words)


def ledger_search(*, rows: QuerySet[RunRecord], text: str) -> QuerySet[RunRecord]:
    """`rows` where every word of `text` occurs in the runId, the request text or the product,
    a case-insensitive substring: the rows Django's admin search (`icontains` on each field)
    finds, asked as `(id + 0) IN (the matching ids)`.

    The `+ 0` keeps SQLite walking `rows`' own order (the created_at index) and checking each
    id against the matched set, stopping at a page's end. On SQLite with migration 0012 the
    words of 3 characters or more are matched in the trigram index (a few ms at 100,000 rows);
    shorter words (and every word elsewhere) by LIKE over the three columns, which SQLite
    reads from migration 0011's covering index and PostgreSQL from its pg_trgm indexes."""
    return ledger_matching(rows=rows, words=search_words(text))


def ledger_matching(*, rows: QuerySet[RunRecord], words: Sequence[str]) -> QuerySet[RunRecord]:
    """`rows` where every one of `words` occurs in the runId, the request text or the product
    (case-insensitive substrings): `ledger_search` once the words are split."""
    if not words:
        return rows
    trigram = ([w for w in words if _trigram_word(w)]
               if ledger_trigrams_ready(using=rows.db) else [])
    rest = [w for w in words if w not in trigram]
    matched = rows.alias(search_pk=F("pk") + 0)
    if trigram:
        matched = matched.filter(search_pk__in=RawSQL(  # FROM fts(q): WHERE fts MATCH q
            f"SELECT rowid FROM {LEDGER_TRIGRAMS}(%s)", [_trigram_match(trigram)]))
    if rest:
        plain = RunRecord.objects.filter(*(
            Q.create([(f"{field}__icontains", word) for field in LEDGER_SEARCH_FIELDS],
                     connector=Q.OR) for word in rest))
        matched = matched.filter(search_pk__in=plain.order_by().values("pk"))
    return matched


def ledger_search_count(*, text: str, using: str = DEFAULT_DB_ALIAS) -> int | None:
    """How many ledger rows `ledger_search` finds in the whole ledger, counted in the trigram
    index alone (no table row, no walk of the ledger); None when the index cannot answer it
    (no index, no word, or a word shorter than 3 characters)."""
    words = search_words(text)
    if not words or not ledger_trigrams_ready(using=using) \
            or not all(_trigram_word(w) for w in words):
        return None
    with connections[using].cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {LEDGER_TRIGRAMS}(%s)", [_trigram_match(words)])
        (count,) = cursor.fetchone()
    return int(count)


# --- the run history (the /runs/ page and its export; rules in orchestration/history.py) ---------


def _history_queryset(*, viewer: Viewer, query: HistoryQuery) -> QuerySet[RunRecord]:
    """The ledger rows of `query` that `viewer` may see, with the sort key annotated, in the
    query's order (the sort column, then the row id, both the same direction)."""
    runs = runs_visible(viewer=viewer).defer(*BULKY_FIELDS).select_related("submitted_by")
    runs = ledger_matching(rows=runs, words=query.terms)
    if query.status:
        runs = runs.filter(status=query.status)
    if query.product:
        runs = runs.filter(Q(product__icontains=query.product) | Q(recipe_id=query.product))
    if query.user:
        runs = runs.filter(submitted_by__username=query.user)
    if query.since is not None:
        runs = runs.filter(created_at__gte=query.since)
    if query.until is not None:
        runs = runs.filter(created_at__lt=query.until)
    if query.duration_min_ms is not None:
        runs = runs.filter(total_duration_ms__gte=query.duration_min_ms)
    if query.duration_max_ms is not None:
        runs = runs.filter(total_duration_ms__lte=query.duration_max_ms)
    if query.breached is not None:
        runs = runs.filter(budget_breached=query.breached)
    if query.qa is not None:
        runs = runs.filter(qa_valid=query.qa)
    if query.failed_agent:
        runs = runs.filter(failed_agent=query.failed_agent)
    column = query.sort_field
    if column == "owner_name":
        key: Any = Coalesce(F("submitted_by__username"), Value(""))
    elif column in NULL_KEY:
        key = Coalesce(F(column), Value(NULL_KEY[column]))
    else:
        key = F(column)
    runs = runs.annotate(sort_key=key)
    if query.descending:
        return runs.order_by("-sort_key", "-id")
    return runs.order_by("sort_key", "id")


@dataclass(frozen=True)
class HistoryPage:
    """One page of the run history: its rows, the cursor of the next page (None on the last),
    and whether `viewer` sees every user's runs."""

    runs: list[RunRecord]
    next_cursor: str | None
    all_runs: bool


def run_history_page(*, viewer: Viewer, query: HistoryQuery) -> HistoryPage:
    """A page of the run history: the runs `viewer` may see that match `query`'s filters, in its
    order, after its cursor (keyset paging: a run added meanwhile does not shift the pages)."""
    runs = _history_queryset(viewer=viewer, query=query)
    if query.cursor is not None:
        key, row_id = query.cursor
        if query.descending:
            runs = runs.filter(Q(sort_key__lt=key) | Q(sort_key=key, id__lt=row_id))
        else:
            runs = runs.filter(Q(sort_key__gt=key) | Q(sort_key=key, id__gt=row_id))
    rows = list(runs[:query.size + 1])
    next_cursor = None
    if len(rows) > query.size:
        rows = rows[:query.size]
        last = rows[-1]
        next_cursor = encode_cursor(sort=query.sort, key=last.sort_key,  # type: ignore[attr-defined]
                                    row_id=last.pk)
    return HistoryPage(rows, next_cursor, sees_all_runs(viewer=viewer))


def history_row(run: RunRecord) -> dict[str, Any]:
    """A run as an export row (orchestration/history.py, EXPORT_COLUMNS)."""
    return {
        "runId": run.run_id, "status": run.status, "createdAt": run.created_at.isoformat(),
        "user": run.submitted_by.get_username() if run.submitted_by else None,
        "product": run.product or None, "recipeId": run.recipe_id or None,
        "batchSize": run.batch_size, "batchUnit": run.batch_unit or None,
        "costTotal": run.cost_total, "currency": run.cost_currency or None,
        "costPerKg": run.cost_per_kg, "qaValid": run.qa_valid,
        "budgetBreached": run.budget_breached, "durationMs": run.total_duration_ms,
        "failedAgent": run.failed_agent or None, "replayOf": run.replay_of or None,
        "requestText": run.request_text,
    }


def run_history_export(*, viewer: Viewer, query: HistoryQuery,
                       limit: int = EXPORT_LIMIT) -> Iterator[dict[str, Any]]:
    """Every run of `query` (its filters and order; not its cursor) that `viewer` may see, as
    export rows, at most `limit + 1` of them (one more than the limit tells the caller that the
    set was cut), read from the database in chunks."""
    runs = _history_queryset(viewer=viewer, query=query)[:limit + 1]
    for run in runs.iterator(chunk_size=500):
        yield history_row(run)


def analytics_ledger_timeline(*, viewer: Viewer, since: datetime, until: datetime,
                              limit: int = 8) -> dict[str, Any]:
    """The analytics page's ledger charts over the runs `viewer` may see created in
    [since, until): latency and error rate per day, cost per kg per product per day (the
    `limit` products with the most costed runs). From the ledger, as the history page that the
    charts link to, so that a click shows exactly the runs behind a point."""
    rows = (runs_visible(viewer=viewer).filter(created_at__gte=since, created_at__lt=until)
            .values_list("created_at", "status", "total_duration_ms", "product",
                         "cost_currency", "cost_per_kg"))
    report = ledger_timeline(rows.iterator(chunk_size=2000))
    report["costPerKg"] = report["costPerKg"][:limit]
    return report


# --- runs read back from Neo4j -----------------------------------------------------------------


def _load(run_id: str, write_summary: Mapping[str, Any] | None) -> RunResult:
    """The run read back from Neo4j in a read transaction that waits for the bookmarks of its
    write (`write_summary`: the ledger's, None for a run without a ledger row), so that a user
    who just submitted it reads it back even from a cluster member that is catching up."""
    bookmarks = (write_summary or {}).get("bookmarks") or ()
    return load_run(run_id, driver=get_driver(), database=database(),
                    blob_store=get_blob_store(), bookmarks=bookmarks)


# What the run page says when the stored copy's blob cannot be served (the log has the URI).
BLOB_NOTES = {
    "blob_missing": "This run is stored in Neo4j, but the file holding its Cypher commands "
                    "(kept in the blob store because they are large) is missing, so the stored "
                    "copy cannot be shown whole. An administrator can restore the file; the "
                    "server log names it.",
    "blob_corrupted": "This run is stored in Neo4j, but the file holding its Cypher commands "
                      "(kept in the blob store because they are large) is damaged: its content "
                      "no longer matches its fingerprint, so it is not shown. An administrator "
                      "can restore the file; the server log names it.",
}


def run_replay(*, viewer: Viewer, run_id: str) -> RunResult:
    """The committed run read back from Neo4j (and the blob store) into the v1 contract.
    graphstore.errors.RunNotFound when no run is committed under `run_id`, or `viewer` may not
    see it (the same answer)."""
    # One ledger query checks the viewer and reads the write's bookmarks: a user's own row, or
    # any row for those who see all runs (who may also read a run written without one).
    everyone = sees_all_runs(viewer=viewer)
    rows = (RunRecord.objects.all() if everyone else runs_visible(viewer=viewer))
    found = list(rows.filter(run_id=run_id).values_list("write_summary", flat=True)[:1])
    if not found and not everyone:
        raise graph_errors.RunNotFound(run_id)
    return _load(run_id, found[0] if found else None)


def runs_replay_condensed(*, viewer: Viewer, run_ids: Sequence[str]
                          ) -> dict[str, RunResult | graph_errors.ReplayError]:
    """The runs among `run_ids` that Neo4j holds condensed and `viewer` may see, read back in
    one round trip (graphstore.replay.load_runs): runId -> RunResult, or the ReplayError that
    reading it back met. Runs not committed, not condensed or not visible are absent."""
    if not sees_all_runs(viewer=viewer):
        visible = set(runs_visible(viewer=viewer).filter(run_id__in=run_ids)
                      .values_list("run_id", flat=True))
        run_ids = [run_id for run_id in run_ids if run_id in visible]
    if not run_ids:
        return {}
    return load_runs(run_ids, driver=get_driver(), database=database(),
                     blob_store=get_blob_store(), condensed_only=True)


@dataclass(frozen=True)
class ResultCopy:
    """The RunResult a page shows and where it came from ("neo4j" or "ledger")."""

    run: RunResult | None
    source: str
    note: str


def result_copy(record: RunRecord) -> ResultCopy | None:
    """The run's result: replayed from Neo4j when it was persisted and Neo4j answers, else the
    ledger's copy (the outbox); None while no stage has finished the run. `record` comes from a
    selector that checked the viewer (run_get)."""
    if record.result is None and record.persisted_at is None:
        return None
    if record.persisted_at is not None:
        try:
            return ResultCopy(_load(record.run_id, record.write_summary), "neo4j", "")
        except graph_errors.RunNotFound:
            note = ("The ledger marks this run as persisted, but Neo4j holds no committed copy "
                    "of it (it may have been condensed or removed).")
        except graph_errors.RunBlobUnreadable as exc:
            logger.error("run page of %s: %s", record.run_id, exc)
            note = BLOB_NOTES[exc.code]
        except graph_errors.ReplayError as exc:
            note = f"The copy in Neo4j cannot be read back: {exc}"
        except graph_errors.BlobStoreError as exc:
            logger.warning("run page of %s: the blob store failed: %s", record.run_id, exc)
            note = ("The blob store, which keeps this run's large graph part, is not answering "
                    "right now, so Neo4j's copy cannot be shown whole.")
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
        stored = RunResult.model_validate(record.result, context=ALREADY_VALIDATED)
        return ResultCopy(stored, "ledger", note)
    except ValidationError as exc:
        return ResultCopy(None, "", f"{note} The ledger's copy does not read as a v1 RunResult "
                                    f"({exc.error_count()} errors).")


# --- history: the diff of two runs -------------------------------------------------------------


def run_diff_get(*, viewer: Viewer, run_id: str, against: str | None = None) -> dict[str, Any]:
    """The diff (orchestration/diff.py) from `against` (default: the run `run_id` replays) to
    `run_id`, both read back from Neo4j. graphstore RunNotFound when either is not persisted or
    `viewer` may not see it; DiffBaseMissing when there is no default to compare with."""
    head = run_replay(viewer=viewer, run_id=run_id)
    base_id = against or head.metadata.replay_of
    if not base_id:
        raise DiffBaseMissing(run_id)
    return diff_runs(run_replay(viewer=viewer, run_id=base_id), head)


@dataclass(frozen=True)
class RunHistory:
    """What the run page shows about replays: the diff against the original (for a replay),
    why there is none, and the replays of this run."""

    replay_of: str
    diff: dict[str, Any] | None
    note: str
    replays: list[RunRecord] = field(default_factory=list)

    @property
    def rows(self) -> list[dict[str, str]]:
        return diff_rows(self.diff) if self.diff is not None else []


def run_history_get(*, viewer: Viewer, record: RunRecord, run: RunResult | None) -> RunHistory:
    """The replay side of a run's page, as `viewer` may see it (an original of someone else's
    reads as a run that is not there). Never raises for a missing or unreadable original: the
    page says why there is no diff."""
    replay_of = record.replay_of or (run.metadata.replay_of if run is not None else None) or ""
    replays = run_replays_list(viewer=viewer, run_id=record.run_id)
    if not replay_of:
        return RunHistory("", None, "", replays)
    if record.persisted_at is None:
        return RunHistory(replay_of, None, "The diff with the original appears once this run "
                          "is persisted.", replays)
    try:
        diff = run_diff_get(viewer=viewer, run_id=record.run_id, against=replay_of)
    except graph_errors.RunNotFound as exc:
        return RunHistory(replay_of, None, f"No diff: {exc}", replays)
    except graph_errors.ReplayError as exc:
        return RunHistory(replay_of, None, f"No diff: a run cannot be read back ({exc}).",
                          replays)
    except graph_errors.BlobStoreError as exc:
        logger.warning("run page of %s: no diff, the blob store failed: %s", record.run_id, exc)
        return RunHistory(replay_of, None, "No diff: the blob store is not answering right now.",
                          replays)
    except (Neo4jError, DriverError, OSError) as exc:
        logger.warning("run page of %s: no diff, Neo4j is not reachable: %s", record.run_id, exc)
        return RunHistory(replay_of, None, f"No diff: Neo4j is not reachable right now "
                          f"({type(exc).__name__}).", replays)
    return RunHistory(replay_of, diff, "", replays)


# --- analytics (computed in Neo4j by graphstore/analytics.py) ----------------------------------
# Over the runs `viewer` may see (run_scope): their own, or every run. The whole closed UTC days
# of a window come from the daily rollups that are current (orchestration/services/rollups.py),
# the rest from the raw runs; a day whose rollup is missing or stale is read raw.


def _window(since: datetime, until: datetime) -> analytics.Window:
    return analytics.Window(since=since, until=until)


def analytics_rolled(*, scope: RunScope, since: datetime, until: datetime, endpoint: str,
                     now: datetime | None = None) -> analytics.Rolled | None:
    """The current rollups of the whole closed days of [since, until) in `scope`, for
    `endpoint` (its sections only); None when there are none, rollups are off, or the ledger
    cannot read them (the window is then read raw)."""
    if not settings.CAP01_ANALYTICS_ROLLUPS:
        return None
    bounds = rollup.whole_day_range(since, until)
    if bounds is None:
        return None
    first, last = bounds
    last = min(last, rollup.day_of((now or timezone.now()) - rollup.GRACE) - rollup.DAY)
    if first > last:  # today (and a day closed less than GRACE ago) is always raw
        return None
    sections = rollup.SECTIONS_OF[endpoint]
    owner = EVERY_OWNER if scope.everything else scope.owner_id
    try:
        rows = list(AnalyticsRollup.objects
                    .filter(owner=owner, day__gte=first, day__lte=last,
                            generation=F("day__generation"))
                    .values_list("day", *sections))
    except DatabaseError as exc:
        logger.warning("analytics rollups not read (%s): the window is read raw", exc)
        return None
    if not rows:
        return None
    return analytics.Rolled(days=frozenset(r[0] for r in rows),
                            parts=[(r[0], dict(zip(sections, r[1:], strict=True)))
                                   for r in rows])


def analytics_agents(*, viewer: Viewer, since: datetime, until: datetime) -> Any:
    """Per agent: invocations, failures, failure rate, duration percentiles; run totals."""
    scope = run_scope(viewer=viewer)
    return analytics.agent_report(
        _window(since, until), scope=scope, driver=get_driver(), database=database(),
        rolled=analytics_rolled(scope=scope, since=since, until=until, endpoint="agents"))


def analytics_breaches(*, viewer: Viewer, since: datetime, until: datetime) -> Any:
    """Budget breaches by stage and kind, and per UTC day."""
    scope = run_scope(viewer=viewer)
    return analytics.breach_report(
        _window(since, until), scope=scope, driver=get_driver(), database=database(),
        rolled=analytics_rolled(scope=scope, since=since, until=until, endpoint="breaches"))


def analytics_ingredients(*, viewer: Viewer, since: datetime, until: datetime,
                          limit: int) -> Any:
    """The most used ingredients."""
    scope = run_scope(viewer=viewer)
    return analytics.ingredient_report(
        _window(since, until), scope=scope, limit=limit, driver=get_driver(),
        database=database(),
        rolled=analytics_rolled(scope=scope, since=since, until=until, endpoint="ingredients"))


def analytics_costs(*, viewer: Viewer, since: datetime, until: datetime, recipe: str | None,
                    limit: int) -> Any:
    """Cost per recipe per UTC day."""
    scope = run_scope(viewer=viewer)
    return analytics.cost_report(
        _window(since, until), scope=scope, recipe=recipe, limit=limit, driver=get_driver(),
        database=database(),
        rolled=analytics_rolled(scope=scope, since=since, until=until, endpoint="costs"))


def analytics_validation(*, viewer: Viewer, since: datetime, until: datetime, kind: str,
                         limit: int) -> Any:
    """How often each kind of validation issue (errors or warnings) occurs."""
    scope = run_scope(viewer=viewer)
    return analytics.validation_report(
        _window(since, until), scope=scope, kind=kind, limit=limit, driver=get_driver(),
        database=database(),
        rolled=analytics_rolled(scope=scope, since=since, until=until, endpoint="validation"))


# --- retrieval (full-text search and run context, graphstore/retrieval.py) --------------------


def search_terms(text: str) -> list[str]:
    """The words of `text` a similarity search looks for (none: nothing to search)."""
    return retrieval.query_terms(text)


def runs_similar(*, viewer: Viewer, text: str, limit: int) -> list[Any]:
    """Committed, validated runs `viewer` may see, ranked by full-text score; graphstore's
    RetrievalIndexMissing when the indexes are not installed."""
    return retrieval.similar_runs(text, scope=run_scope(viewer=viewer), limit=limit,
                                  fanout=settings.CAP01_FULLTEXT_FANOUT,
                                  driver=get_driver(), database=database())


def run_context(*, viewer: Viewer, run_id: str) -> dict[str, Any]:
    """The run's subgraph as JSON for a prompt; graphstore RunNotFound when it is not
    committed or `viewer` may not see it."""
    if not run_visible(viewer=viewer, run_id=run_id):
        raise graph_errors.RunNotFound(run_id)
    return retrieval.run_context(run_id, driver=get_driver(), database=database())


# --- retrieval by composition, vectors and their fusion (graphstore/retrieval.py, issue 14) ----


def runs_like(*, viewer: Viewer, run_id: str, limit: int) -> list[retrieval.RunHit]:
    """Past runs like `run_id` that `viewer` may see (composition, vectors and words fused,
    identical runs collapsed, each with its reasons); graphstore RunNotFound when the run is not
    committed or `viewer` may not see it."""
    if not run_visible(viewer=viewer, run_id=run_id):
        raise graph_errors.RunNotFound(run_id)
    return retrieval.runs_like(run_id, scope=run_scope(viewer=viewer), limit=limit,
                               candidates=settings.CAP01_SIMILAR_CANDIDATES,
                               fanout=settings.CAP01_FULLTEXT_FANOUT,
                               driver=get_driver(), database=database())


def runs_search(*, viewer: Viewer, text: str, limit: int) -> retrieval.SearchResult:
    """Runs `viewer` may see matching free words: full-text, the ingredients, functions and
    percentages the words name, and their vector, fused."""
    return retrieval.search_runs(text, scope=run_scope(viewer=viewer), limit=limit,
                                 fanout=settings.CAP01_FULLTEXT_FANOUT,
                                 embedder=get_embedder(), driver=get_driver(),
                                 database=database())


def run_context_cited(*, viewer: Viewer, run_id: str, neighbours: int,
                      max_chars: int) -> dict[str, Any]:
    """run_context plus the cited prompt text of the run and its nearest neighbours within
    `max_chars`."""
    if not run_visible(viewer=viewer, run_id=run_id):
        raise graph_errors.RunNotFound(run_id)
    return retrieval.cited_context(run_id, scope=run_scope(viewer=viewer), driver=get_driver(),
                                   database=database(), neighbours=neighbours,
                                   max_chars=max_chars,
                                   candidates=settings.CAP01_SIMILAR_CANDIDATES,
                                   fanout=settings.CAP01_FULLTEXT_FANOUT)
