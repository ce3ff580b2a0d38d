"""orchestration/history.py (PURE): the run history's query (every bad value refused naming its
field), the keyset cursor, what the ledger keeps of a finished run, and the CSV cells."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from orchestration.history import (
    HistoryQueryError,
    csv_cell,
    decode_cursor,
    encode_cursor,
    ledger_columns,
    parse_history_query,
)


def _errors(params: dict[str, str], *, may_filter_user: bool = True) -> dict[str, str]:
    with pytest.raises(HistoryQueryError) as info:
        parse_history_query(params, may_filter_user=may_filter_user)
    return info.value.errors


def test_a_full_query_is_parsed() -> None:
    """Every filter parses: a date window (until included), durations in seconds, yes/no."""
    query = parse_history_query({
        "q": "lemon vinaigrette", "status": "failed", "product": "Hummus", "user": "ada",
        "since": "2026-11-01", "until": "2026-11-02", "duration_min": "1.5",
        "duration_max": "10", "breached": "yes", "failed_agent": "QAValidator",
        "sort": "-cost", "size": "20"}, may_filter_user=True)
    assert query.terms == ["lemon", "vinaigrette"]
    assert query.since == datetime(2026, 11, 1, tzinfo=UTC)
    assert query.until == datetime(2026, 11, 3, tzinfo=UTC)  # the whole of Nov 2
    assert (query.duration_min_ms, query.duration_max_ms) == (1500.0, 10000.0)
    assert query.breached is True and query.sort_field == "cost_total" and query.descending
    assert query.size == 20


@pytest.mark.parametrize(("params", "field"), [
    ({"status": "done"}, "status"),
    ({"since": "yesterday"}, "since"),
    ({"since": "2026-11-05", "until": "2026-11-01"}, "until"),
    ({"duration_min": "fast"}, "duration_min"),
    ({"duration_min": "-1"}, "duration_min"),
    ({"duration_max": "nan"}, "duration_max"),
    ({"duration_min": "10", "duration_max": "1"}, "duration_max"),
    ({"breached": "maybe"}, "breached"),
    ({"failed_agent": "Nobody"}, "failed_agent"),
    ({"sort": "colour"}, "sort"),
    ({"sort": "--cost"}, "sort"),
    ({"size": "0"}, "size"),
    ({"size": "500"}, "size"),
    ({"cursor": "not-a-cursor"}, "cursor"),
    ({"q": "x" * 201}, "q"),
    ({"colour": "red"}, "colour"),
    ({"q": "lemon\x00"}, "q"),
])
def test_a_bad_value_is_refused_naming_its_field(params: dict[str, str], field: str) -> None:
    """Each bad parameter is one error, under its own name, and nothing else is blamed."""
    errors = _errors(params)
    assert list(errors) == [field]
    assert errors[field].endswith(".")


def test_several_bad_values_are_all_named() -> None:
    """Two bad filters: both are named, once each."""
    assert set(_errors({"status": "x", "since": "y"})) == {"status", "since"}


def test_only_a_viewer_of_every_run_may_filter_by_user() -> None:
    """A user who sees only their own runs is told that the user filter is not theirs."""
    assert "only your own runs" in _errors({"user": "bob"}, may_filter_user=False)["user"]
    assert parse_history_query({"user": "bob"}, may_filter_user=True).user == "bob"


def test_blank_parameters_count_as_absent() -> None:
    """The form submits empty fields; they filter nothing."""
    query = parse_history_query({"q": "", "status": "", "since": " "}, may_filter_user=False)
    assert (query.text, query.status, query.since) == ("", "", None)


def test_cursor_round_trips_and_belongs_to_its_sort() -> None:
    """A cursor gives back its key and row id, for its own sort order only; a key of the
    wrong type for the sort is refused."""
    at = datetime(2026, 11, 29, 12, 0, 0, 123456, tzinfo=UTC)
    cursor = encode_cursor(sort="-created", key=at, row_id=41)
    assert decode_cursor(cursor, sort="-created") == (at, 41)
    with pytest.raises(ValueError, match="another sort order"):
        decode_cursor(cursor, sort="created")
    assert decode_cursor(encode_cursor(sort="cost", key=12.5, row_id=3), sort="cost") == (12.5, 3)
    with pytest.raises(ValueError, match="not a cursor"):
        decode_cursor(encode_cursor(sort="cost", key="text", row_id=3), sort="cost")
    with pytest.raises(ValueError, match="not a cursor"):
        decode_cursor(encode_cursor(sort="-created", key=5, row_id=3), sort="-created")


def test_ledger_columns_of_a_finished_run() -> None:
    """Product, cost, cost per kg (mass batches), QA and a breached budget from the wire."""
    wire = {
        "metadata": {"budgetBreaches": ["GraphBuilder.duration"]},
        "request": {"targetBatchSize": 500, "targetUnit": "g"},
        "recipe": {"id": "rec-1", "name": "Lemon vinaigrette"},
        "calculation": {"costs": {"total": 3.0, "currency": "EUR"}},
        "validation": {"valid": False},
        "agentHistory": [],
    }
    columns = ledger_columns(wire)
    assert columns == {"product": "Lemon vinaigrette", "recipe_id": "rec-1", "cost_total": 3.0,
                       "cost_currency": "EUR", "cost_per_kg": 6.0, "qa_valid": False,
                       "budget_breached": True}
    volume = ledger_columns({**wire, "request": {"targetBatchSize": 2, "targetUnit": "l"},
                             "metadata": {}})
    assert volume["cost_per_kg"] is None and volume["budget_breached"] is False
    assert ledger_columns({"metadata": {}})["qa_valid"] is None


def test_csv_cells_never_start_a_formula() -> None:
    """A request text that a spreadsheet would run as a formula is written as text."""
    assert csv_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert csv_cell("@SUM") == "'@SUM" and csv_cell("lemon") == "lemon" and csv_cell(3.5) == 3.5
