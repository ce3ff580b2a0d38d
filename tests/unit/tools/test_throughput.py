"""The throughput benchmark's pure parts: configurations, progress tallies, the report."""

from __future__ import annotations

import pytest

from tools.throughput import Config, Result, _Tally, markdown, parse_configs


def test_configurations_are_processes_or_instances_by_processes() -> None:
    """"1,2,4,2x2": one instance of 1, 2 and 4 processes, then two instances of 2."""
    assert parse_configs("1, 2,4,2x2") == [Config(1, 1), Config(1, 2), Config(1, 4),
                                           Config(2, 2)]
    assert [c.total for c in parse_configs("3x2,1")] == [6, 1]
    assert Config(2, 1).label == "2 instances x 1 process"
    assert Config(1, 4).label == "1 instance x 4 processes"


@pytest.mark.parametrize("text", ["", "two", "0", "2x0", "x", "1,,y"])
def test_a_bad_configuration_is_refused_by_name(text: str) -> None:
    with pytest.raises(ValueError, match="--configs"):
        parse_configs(text)


def test_the_tally_reports_runs_persisted_so_far() -> None:
    seen: list[tuple[str, int, int]] = []
    tally = _Tally("2 processes", 10, lambda *a: seen.append(a))
    tally(3)
    tally(0)
    tally(2)
    assert seen == [("2 processes", 3, 10), ("2 processes", 3, 10), ("2 processes", 5, 10)]


def test_the_report_prints_each_configuration_beside_its_floor() -> None:
    row = Result("1 instance x 2 processes", 2, 100, 10.0, 10.0, 120.0, 300.0, 1, 1, 0, 12, 90,
                 50.0, 40.0)
    text = markdown([row])
    assert "| 1 instance x 2 processes | 2 | 100 | 10.0 | 10.00 | 40.0 | 120 | 300 | 1 | 1 | 0 " \
           "| 12 (90) |" in text
    assert "ideal" in text
