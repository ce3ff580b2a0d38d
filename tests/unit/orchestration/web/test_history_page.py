"""The run history page (/runs/) and its export on the ledger alone (no Neo4j): search, filters,
who sees whose runs, sorting, cursor paging stable under inserts, CSV and JSON export, bad
filters answered with a message naming the field; the request form's character limit."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from orchestration.models import RunRecord, RunStatus
from tests.conftest import make_auditor

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _row(run_id: str, owner, at: datetime, **fields) -> RunRecord:  # type: ignore[no-untyped-def]
    record = RunRecord.objects.create(
        run_id=run_id, submitted_by=owner, request_text=fields.pop("text", "a request"),
        request={}, **fields)
    RunRecord.objects.filter(pk=record.pk).update(created_at=at)
    return record


@pytest.fixture
def people(django_user_model):  # type: ignore[no-untyped-def]
    ada = django_user_model.objects.create_user("ada", password="a-long-test-password")
    bob = django_user_model.objects.create_user("bob", password="a-long-test-password")
    eve = make_auditor(django_user_model.objects.create_user("eve",
                                                             password="a-long-test-password"))
    return {"ada": ada, "bob": bob, "eve": eve}


@pytest.fixture
def ledger(people):  # type: ignore[no-untyped-def]
    ada, bob = people["ada"], people["bob"]
    _row("run-a1", ada, T0, text="lemon vinaigrette, 5 kg", status=RunStatus.SUCCEEDED,
         product="Lemon vinaigrette", batch_size=5, batch_unit="kg", batch_kg=5,
         cost_total=40.0, cost_currency="USD", cost_per_kg=8.0, qa_valid=True,
         total_duration_ms=1200)
    _row("run-a2", ada, T0 + timedelta(days=1), text="lemon vinaigrette, 50 kg",
         status=RunStatus.FAILED, failed_agent="QAValidator", product="Lemon vinaigrette",
         batch_size=50, batch_unit="kg", batch_kg=50, cost_total=300.0, cost_per_kg=6.0,
         qa_valid=False, budget_breached=True, total_duration_ms=9000)
    _row("run-a3", ada, T0 + timedelta(days=2), text="=cmd() hummus, 2 kg",
         status=RunStatus.QUEUED, batch_size=2, batch_unit="kg", batch_kg=2)
    _row("run-b1", bob, T0 + timedelta(days=3), text="bob's lemon vinaigrette",
         status=RunStatus.SUCCEEDED, product="Lemon vinaigrette", cost_total=10.0,
         total_duration_ms=500)


def _client(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def _ids(html: str) -> list[str]:
    return re.findall(r'<tr data-run-id="([^"]+)"', html)


def test_a_user_sees_only_their_runs_an_auditor_everyones(people, ledger) -> None:  # type: ignore[no-untyped-def]
    """The history keeps the ownership rule: ada sees her three runs, newest first; eve (an
    auditor) sees bob's too, with a User column and the user filter."""
    page = _client(people["ada"]).get("/runs/").content.decode()
    assert _ids(page) == ["run-a3", "run-a2", "run-a1"]
    assert 'data-scope="own"' in page and 'name="user"' not in page
    page = _client(people["eve"]).get("/runs/").content.decode()
    assert _ids(page) == ["run-b1", "run-a3", "run-a2", "run-a1"]
    assert ">User<" in page and 'name="user"' in page
    page = _client(people["eve"]).get("/runs/?user=bob").content.decode()
    assert _ids(page) == ["run-b1"]


def test_search_and_filters_narrow_the_history(people, ledger) -> None:  # type: ignore[no-untyped-def]
    """Search words must all match; status, product, dates, durations, budget breached and the
    failed agent each narrow the list."""
    get = _client(people["ada"]).get
    assert _ids(get("/runs/?q=LEMON+50").content.decode()) == ["run-a2"]
    assert _ids(get("/runs/?q=run-a1").content.decode()) == ["run-a1"]
    assert _ids(get("/runs/?status=failed").content.decode()) == ["run-a2"]
    assert _ids(get("/runs/?product=vinaigrette").content.decode()) == ["run-a2", "run-a1"]
    assert _ids(get("/runs/?since=2026-11-21&until=2026-11-21").content.decode()) == ["run-a2"]
    assert _ids(get("/runs/?duration_min=2").content.decode()) == ["run-a2"]
    assert _ids(get("/runs/?duration_max=2").content.decode()) == ["run-a1"]
    assert _ids(get("/runs/?breached=yes").content.decode()) == ["run-a2"]
    assert _ids(get("/runs/?breached=no").content.decode()) == ["run-a3", "run-a1"]
    assert _ids(get("/runs/?failed_agent=QAValidator").content.decode()) == ["run-a2"]
    empty = get("/runs/?q=nothing-like-this").content.decode()
    assert _ids(empty) == [] and 'data-testid="no-match"' in empty


def test_search_reads_the_trigram_index(people, ledger) -> None:  # type: ignore[no-untyped-def]
    """On SQLite the history's words of 3 characters or more are matched in the ledger's
    trigram index (migration 0012, selectors.ledger_matching), never by LIKE over the table's
    rows; a shorter word by LIKE (over migration 0011's covering index)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if connection.vendor != "sqlite":
        pytest.skip("the trigram table is SQLite's (PostgreSQL: pg_trgm indexes)")
    get = _client(people["ada"]).get
    with CaptureQueriesContext(connection) as captured:
        assert _ids(get("/runs/?q=LEMON").content.decode()) == ["run-a2", "run-a1"]
    sql = " ".join(q["sql"] for q in captured.captured_queries)
    assert "orchestration_runrecord_fts('\"lemon\"')" in sql and " LIKE " not in sql, sql
    with CaptureQueriesContext(connection) as captured:
        assert _ids(get("/runs/?q=LEMON+50").content.decode()) == ["run-a2"]
    sql = " ".join(q["sql"] for q in captured.captured_queries)
    assert "orchestration_runrecord_fts('\"lemon\"')" in sql and "LIKE '%50%'" in sql, sql


def test_columns_sort_both_ways(people, ledger) -> None:  # type: ignore[no-untyped-def]
    """Sorting by cost puts the costliest first (runs without a cost last), then reversed;
    the header says which way (aria-sort)."""
    get = _client(people["ada"]).get
    page = get("/runs/?sort=-cost").content.decode()
    assert _ids(page) == ["run-a2", "run-a1", "run-a3"]
    assert 'aria-sort="descending"' in page
    assert _ids(get("/runs/?sort=cost").content.decode()) == ["run-a3", "run-a1", "run-a2"]
    assert _ids(get("/runs/?sort=-duration").content.decode()) == ["run-a2", "run-a1", "run-a3"]
    assert _ids(get("/runs/?sort=-batch").content.decode()) == ["run-a2", "run-a1", "run-a3"]


def test_the_request_text_is_the_link_and_columns_are_shown(people, ledger) -> None:  # type: ignore[no-untyped-def]
    """Each row links its run page from the request text and shows product, batch, cost,
    cost per kg, QA and the budget flag."""
    page = _client(people["ada"]).get("/runs/").content.decode()
    assert '<a href="/runs/run-a2/">lemon vinaigrette, 50 kg</a>' in page
    row = page[page.index('data-run-id="run-a2"'):page.index('data-run-id="run-a1"')]
    for text in ("Lemon vinaigrette", "50 kg", "300.00", "6.00", "invalid", "budget",
                 "9000 ms"):
        assert text in row


def test_cursor_paging_is_stable_under_inserts(people, ledger) -> None:  # type: ignore[no-untyped-def]
    """Page 2 (size 1) is the row after page 1's, even when a newer run was added between the
    two requests (an offset would have shown page 1's row again)."""
    client = _client(people["ada"])
    first = client.get("/runs/?size=1").content.decode()
    assert _ids(first) == ["run-a3"]
    next_href = re.search(r'href="(\?[^"]*cursor=[^"]+)" rel="next"', first)
    assert next_href is not None
    _row("run-a4", people["ada"], T0 + timedelta(days=9), text="newer")
    second = client.get("/runs/" + next_href.group(1).replace("&amp;", "&")).content.decode()
    assert _ids(second) == ["run-a2"]
    # Sorted by cost: the cursor carries the sort key, ties broken by the row id.
    seen: list[str] = []
    url = "/runs/?sort=-cost&size=2"
    while url:
        page = client.get(url).content.decode()
        seen += _ids(page)
        match = re.search(r'href="(\?[^"]*cursor=[^"]+)" rel="next"', page)
        url = "/runs/" + match.group(1).replace("&amp;", "&") if match else ""
    assert seen == ["run-a2", "run-a1", "run-a4", "run-a3"] or \
        seen == ["run-a2", "run-a1", "run-a3", "run-a4"]
    assert len(set(seen)) == 4


def test_bad_filters_answer_400_naming_each_field(people, ledger) -> None:  # type: ignore[no-untyped-def]
    """A malformed date and an unknown status: a 400 page with the form and one message per
    field, not a crash; a user filter from a non-auditor is refused the same way."""
    response = _client(people["ada"]).get("/runs/?since=last+week&status=done&user=bob")
    assert response.status_code == 400
    page = response.content.decode()
    assert 'data-testid="filter-errors"' in page
    for field in ("since", "status", "user"):
        assert f'data-field-error="{field}"' in page
    assert page.count("data-field-error=") == 3
    assert 'id="f-since" name="since" type="date" value="last week" aria-invalid="true"' in page


def test_csv_export_is_the_filtered_set(people, ledger) -> None:  # type: ignore[no-untyped-def]
    """CSV of the filtered runs the user may see (not another user's), streamed, with a
    header row; a formula-like request text is written as text."""
    response = _client(people["ada"]).get("/runs/export.csv?q=vinaigrette&sort=cost")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["runId"] for r in rows] == ["run-a1", "run-a2"]
    assert rows[1]["costPerKg"] == "6.0" and rows[1]["budgetBreached"] == "True"
    everything = _client(people["ada"]).get("/runs/export.csv")
    text = b"".join(everything.streaming_content).decode()
    assert "'=cmd() hummus" in text and "run-b1" not in text


def test_json_export_is_bounded_and_says_so(people, ledger, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """JSON export: every matching run; over the limit, the first `limit` and truncated."""
    response = _client(people["eve"]).get("/runs/export.json?product=vinaigrette")
    body = json.loads(b"".join(response.streaming_content))
    assert [r["runId"] for r in body["runs"]] == ["run-b1", "run-a2", "run-a1"]
    assert body["truncated"] is False and body["count"] == 3
    assert body["runs"][0]["user"] == "bob"
    from orchestration import history, selectors
    from orchestration.web import history_page

    monkeypatch.setattr(history_page, "EXPORT_LIMIT", 2)
    monkeypatch.setattr(history, "EXPORT_LIMIT", 2)
    rows = selectors.run_history_export(
        viewer=people["eve"], query=history.parse_history_query({}, may_filter_user=True),
        limit=2)
    capped = json.loads("".join(history_page.history_json(rows, limit=2)))
    assert capped["count"] == 2 and capped["truncated"] is True
    rows = selectors.run_history_export(
        viewer=people["eve"], query=history.parse_history_query({}, may_filter_user=True),
        limit=2)
    lines = list(history_page.history_csv(rows, limit=2))
    assert len(lines) == 4 and lines[-1].startswith("# truncated")


def test_export_with_bad_filters_is_a_400_naming_the_field(people, ledger) -> None:  # type: ignore[no-untyped-def]
    """The export refuses bad filters as the page does, as JSON naming the field."""
    response = _client(people["ada"]).get("/runs/export.csv?duration_min=soon")
    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": "duration_min", "message": response.json()[
        "errors"][0]["message"]}]
    assert "duration_min" in response.json()["detail"]


def test_the_history_needs_a_login(client: Client) -> None:
    """Anonymous: the page and its export redirect to the login."""
    for path in ("/runs/", "/runs/export.csv", "/runs/export.json"):
        assert client.get(path).status_code == 302


def test_request_form_states_and_enforces_its_limit(people) -> None:  # type: ignore[no-untyped-def]
    """The form says its limit, counts characters, does not cut silently (no maxlength) and
    refuses a longer text naming its length."""
    client = _client(people["ada"])
    page = client.get("/").content.decode()
    assert 'data-testid="request-counter"' in page and "At most 2,000 characters" in page
    assert 'maxlength="2000"' not in page and 'data-max-chars="2000"' in page
    response = client.post("/", {"user_request": "lemon vinaigrette " + "x" * 2000,
                                 "target_batch_size": "5", "target_unit": "kg"})
    assert response.status_code == 400
    assert "The request is 2018 characters long; it may be at most 2000" in \
        response.content.decode()
