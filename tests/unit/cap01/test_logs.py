"""Structured logs: one JSON object per line."""

from __future__ import annotations


def test_json_log_lines_carry_the_extra_fields():
    """The JSON formatter puts `extra` fields at the top level of one JSON object per line."""
    import json
    import logging

    from cap01.logs import JsonFormatter

    record = logging.makeLogRecord({"name": "x", "levelname": "INFO", "msg": "stage %s",
                                    "args": ("QAValidator",), "agent": "QAValidator",
                                    "runId": "run-1", "duration": 3.5, "memoryUsage": 0.2,
                                    "status": "succeeded"})
    line = JsonFormatter().format(record)
    data = json.loads(line)
    assert "\n" not in line
    assert data["message"] == "stage QAValidator"
    assert {k: data[k] for k in ("agent", "runId", "duration", "memoryUsage", "status")} == {
        "agent": "QAValidator", "runId": "run-1", "duration": 3.5, "memoryUsage": 0.2,
        "status": "succeeded"}
