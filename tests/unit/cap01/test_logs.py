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


def test_gunicorn_lines_and_access_lines_are_json(capsys):
    """gunicorn's logger class writes its own lines and one access line per request as JSON
    objects, the access line with the request's method, path, query, status and duration."""
    import json
    import logging
    from datetime import timedelta
    from types import SimpleNamespace

    from gunicorn.config import Config

    from cap01.gunicorn_logs import JsonLogger

    cfg = Config()
    cfg.set("accesslog", "-")
    log = JsonLogger(cfg)
    try:
        log.info("Booting worker with pid: %s", 42)
        log.access(SimpleNamespace(status="404 Not Found", sent=321, headers=[]), None,
                   {"REQUEST_METHOD": "GET", "PATH_INFO": "/nope", "QUERY_STRING": "a=1",
                    "REMOTE_ADDR": "127.0.0.1", "HTTP_USER_AGENT": "curl"},
                   timedelta(milliseconds=12.5))
        captured = capsys.readouterr()
    finally:
        for name in ("gunicorn.error", "gunicorn.access"):
            logging.getLogger(name).handlers.clear()
    error = json.loads(captured.err)
    assert (error["logger"], error["message"]) == ("gunicorn.error", "Booting worker with pid: 42")
    access = json.loads(captured.out)
    assert access["message"] == "GET /nope 404"
    assert {k: access[k] for k in ("event", "method", "path", "query", "status", "durationMs",
                                   "bytes", "remote", "userAgent", "referer")} == {
        "event": "access", "method": "GET", "path": "/nope", "query": "a=1", "status": 404,
        "durationMs": 12.5, "bytes": 321, "remote": "127.0.0.1", "userAgent": "curl",
        "referer": ""}


def test_warnings_become_json_log_records():
    """With Django set up (settings.LOGGING_CONFIG = cap01.logs.configure), warnings.warn() is
    a JSON line from the logger py.warnings, not Python's plain two-line warning."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = ("import django, warnings; django.setup(); "
            "warnings.warn('running as root', UserWarning, stacklevel=1)")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "cap01.settings", "CAP01_LOG_FORMAT": "json"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, timeout=60, cwd=Path(__file__).resolve().parents[3])
    assert result.returncode == 0, result.stderr[-800:]
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    line = json.loads(lines[0])
    assert line["logger"] == "py.warnings" and line["level"] == "WARNING"
    assert "UserWarning: running as root" in line["message"]


def test_celery_shutdown_notices_are_json_lines(tmp_path):
    """The worker's notices written straight to the terminal (celery.apps.worker.safe_say, as
    "worker: Warm shutdown (MainProcess)") are written as one JSON line each, no blank lines."""
    import json

    import celery.apps.worker

    from cap01.celery import _json_logging_from_the_start

    original = celery.apps.worker.safe_say  # type: ignore[attr-defined]
    out = tmp_path / "out.log"
    try:
        _json_logging_from_the_start()
        with out.open("w") as f:
            celery.apps.worker.safe_say("worker: Warm shutdown (MainProcess)", f)  # type: ignore[attr-defined]
    finally:
        celery.apps.worker.safe_say = original  # type: ignore[attr-defined]
    lines = out.read_text().splitlines()
    assert len(lines) == 1
    line = json.loads(lines[0])
    assert (line["level"], line["logger"], line["message"]) == (
        "WARNING", "celery.apps.worker", "worker: Warm shutdown (MainProcess)")
