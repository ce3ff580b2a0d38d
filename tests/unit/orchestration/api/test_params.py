"""orchestration.api.params: the one strict query-parameter base."""

from __future__ import annotations

import pytest
from rest_framework.exceptions import ValidationError
from rest_framework.test import APIRequestFactory

from orchestration.api.params import (
    AnalyticsWindowParams,
    RunDiffParams,
    RunListParams,
    SimilarRunParams,
)

FACTORY = APIRequestFactory()


def _request(query: str):  # type: ignore[no-untyped-def]
    from rest_framework.request import Request

    return Request(FACTORY.get(f"/x?{query}"))


def _refusal(params: type, query: str) -> dict:  # type: ignore[type-arg]
    with pytest.raises(ValidationError) as caught:
        params.parse(_request(query))
    return caught.value.detail  # type: ignore[return-value]


def test_unknown_parameter_is_refused_by_name() -> None:
    """An unknown parameter is a ValidationError naming it and listing the allowed ones."""
    detail = _refusal(AnalyticsWindowParams, "sinse=2026-01-01")
    assert list(detail) == ["sinse"]
    assert str(detail["sinse"][0]) == ("is not a parameter of this endpoint; use one of since, "
                                       "until.")


def test_run_list_refusal_offers_the_pagination_parameters() -> None:
    """The run list's refusal lists its filters and the pagination's parameters."""
    detail = _refusal(RunListParams, "colour=red")
    assert str(detail["colour"][0]) == (
        "is not a parameter of this list; use one of status, since, until, failedAgent, text, "
        "cursor, format, page_size.")


def test_diff_refusal_names_against() -> None:
    """The diff's refusal points at its one parameter."""
    assert str(_refusal(RunDiffParams, "base=x")["base"][0]) == (
        "is not a parameter of the diff; use against.")


def test_blank_parameters_count_as_absent_and_pass_through_is_allowed() -> None:
    """Blank parameters filter nothing; `format` (and the list's cursor) are not refused."""
    assert RunListParams.selector_kwargs(_request("text=&status=&format=json&cursor=abc")) == {
        "status": None, "since": None, "until": None, "failed_agent": None, "text": None}


def test_analytics_window_defaults_to_thirty_days() -> None:
    """Without since, the window is the 30 days before until."""
    params = AnalyticsWindowParams.parse(_request("until=2026-02-01T00:00:00Z"))
    assert (params["until"] - params["since"]).days == 30


def test_analytics_window_must_be_ordered() -> None:
    """since at or after until is refused on until."""
    detail = _refusal(AnalyticsWindowParams, "since=2026-02-01&until=2026-01-01")
    assert list(detail) == ["until"]


def test_similar_runs_need_a_word() -> None:
    """A search text without letters or digits is refused on q."""
    assert list(_refusal(SimilarRunParams, "q=%2B%2B%2B")) == ["q"]
