"""The analytics page's ledger charts (/analytics/ledger.json, on the ledger alone): latency and
error rate per day, cost per kg per product per day, over the runs the viewer may see; a bad
window is one 400 naming the field."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import Client

from orchestration.history import ledger_timeline, nearest_rank
from orchestration.models import RunRecord

pytestmark = pytest.mark.django_db


def _row(run_id: str, owner, at: datetime, **fields) -> None:  # type: ignore[no-untyped-def]
    record = RunRecord.objects.create(run_id=run_id, submitted_by=owner, request_text="r",
                                      request={}, **fields)
    RunRecord.objects.filter(pk=record.pk).update(created_at=at)


def test_nearest_rank_is_an_observed_value() -> None:
    """p50 and p95 by nearest rank, as Neo4j's percentileDisc."""
    assert nearest_rank([5.0, 1.0, 3.0, 2.0], 0.5) == 2.0
    assert nearest_rank([float(v) for v in range(1, 21)], 0.95) == 19.0
    assert nearest_rank([], 0.5) is None


def test_ledger_timeline_groups_by_utc_day() -> None:
    """Finished runs count for latency and error rate; cost per kg is averaged per product,
    currency and day; runs still queued and volume batches (no cost per kg) are left out."""
    d = lambda day, hour: datetime(2026, 11, day, hour, tzinfo=UTC)  # noqa: E731
    report = ledger_timeline([
        (d(24, 9), "succeeded", 100.0, "Hummus", "USD", 4.0),
        (d(24, 10), "failed", 300.0, "Hummus", "USD", None),
        (d(24, 11), "queued", None, "", "", None),
        (d(25, 9), "succeeded", 200.0, "Hummus", "USD", 6.0),
        (d(25, 10), "succeeded", 220.0, "Hummus", "USD", 8.0),
    ])
    assert report["latency"] == [
        {"day": "2026-11-24", "runs": 2, "failed": 1, "errorRate": 0.5, "p50Ms": 100.0,
         "p95Ms": 300.0},
        {"day": "2026-11-25", "runs": 2, "failed": 0, "errorRate": 0.0, "p50Ms": 200.0,
         "p95Ms": 220.0}]
    assert report["costPerKg"] == [{"product": "Hummus", "currency": "USD", "points": [
        {"day": "2026-11-24", "runs": 1, "avg": 4.0, "min": 4.0, "max": 4.0},
        {"day": "2026-11-25", "runs": 2, "avg": 7.0, "min": 6.0, "max": 8.0}]}]


def test_ledger_json_covers_the_viewers_runs_and_refuses_a_bad_window(django_user_model) -> None:  # type: ignore[no-untyped-def]
    """A user's figures are over their own runs; a malformed day or a window the wrong way
    round is one 400 naming the field; without a session a 401."""
    ada = django_user_model.objects.create_user("ada", password="a-long-pw-123")
    bob = django_user_model.objects.create_user("bob", password="a-long-pw-123")
    _row("run-a", ada, datetime(2026, 11, 24, 9, tzinfo=UTC), status="succeeded",
         total_duration_ms=100.0, product="Hummus", cost_currency="USD", cost_per_kg=4.0)
    _row("run-b", bob, datetime(2026, 11, 24, 9, tzinfo=UTC), status="failed",
         total_duration_ms=900.0, product="Hummus", cost_currency="USD", cost_per_kg=40.0)
    assert Client().get("/analytics/ledger.json").status_code == 401
    client = Client()
    client.force_login(ada)
    body = client.get("/analytics/ledger.json?since=2026-11-24&until=2026-11-24").json()
    assert body["latency"] == [{"day": "2026-11-24", "runs": 1, "failed": 0, "errorRate": 0.0,
                                "p50Ms": 100.0, "p95Ms": 100.0}]
    assert body["costPerKg"][0]["points"][0]["avg"] == 4.0
    for query, field in (("since=2026-13-45", "since"),
                         ("since=2026-11-25&until=2026-11-24", "until"),
                         ("window=7", "window")):
        response = client.get(f"/analytics/ledger.json?{query}")
        assert response.status_code == 400
        assert [e["field"] for e in response.json()["errors"]] == [field]
