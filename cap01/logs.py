"""One JSON object per log line, for web and worker processes alike.

Fields given with `extra=` (agent, runId, duration, memoryUsage, status, attempts, latency, ...)
become top-level keys; the standard ones are ts, level, logger, message.

What writes the lines: Django's LOGGING (settings) through `configure`, which also turns Python
warnings into log records; gunicorn's own lines and its access log through
cap01.gunicorn_logs.JsonLogger (ops/app.sh); Celery's banner and shutdown notices through the
signal receivers in cap01/celery.py.
"""

from __future__ import annotations

import json
import logging
import logging.config
from datetime import UTC, datetime
from typing import Any

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        out.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


def configure(config: dict[str, Any]) -> None:
    """settings.LOGGING_CONFIG: the dictConfig, and warnings.warn() as log records (logger
    py.warnings), so that a library's warning is a JSON line too."""
    logging.config.dictConfig(config)
    logging.captureWarnings(True)


def json_line(message: str, *, level: str = "INFO", logger: str = "cap01") -> str:
    """A log line built without a handler (and so without its lock): for text a library writes
    straight to a file descriptor, such as from a signal handler."""
    record = logging.makeLogRecord({"name": logger, "levelname": level, "msg": message})
    return JsonFormatter().format(record)
