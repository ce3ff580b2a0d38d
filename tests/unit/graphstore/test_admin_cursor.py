"""graphstore/admin.py: the graph browser's keyset cursor (a page's last row's ordering values)
round-trips strings, numbers and zoned datetimes, and anything else is refused naming `after`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from neo4j.time import DateTime

from graphstore.admin import BadPageParameter, _decode_cursor, _encode_cursor


def test_a_cursor_round_trips_the_ordering_values():
    """A run's (startedAt, runId) and an invocation's (runId, sequence) come back as they went."""
    started = datetime(2026, 11, 26, 12, 0, 1, 250_000, tzinfo=timezone(timedelta(hours=2)))
    assert _decode_cursor(_encode_cursor([started, "run-1"]), 2) == [started, "run-1"]
    assert _decode_cursor(_encode_cursor(["run-1", 3]), 2) == ["run-1", 3]
    neo = DateTime(2026, 11, 26, 12, 0, 1, tzinfo=UTC)
    assert _decode_cursor(_encode_cursor([neo]), 1) == [datetime(2026, 11, 26, 12, 0, 1,
                                                                 tzinfo=UTC)]


@pytest.mark.parametrize("token", [
    "not base64!", "", _encode_cursor(["a"]),  # garbage, empty, one value where two are due
    "eyJhIjogMX0",  # {"a": 1}
    _encode_cursor([{"datetime": "2026-11-26T12:00:00"}, "x"]),  # a datetime without its zone
    _encode_cursor([True, "x"]), _encode_cursor([["a"], "x"]),
])
def test_anything_else_is_refused_naming_after(token: str):
    """A token this page did not make is a BadPageParameter whose message starts "after: "."""
    with pytest.raises(BadPageParameter, match=r"^after: "):
        _decode_cursor(token, 2)
