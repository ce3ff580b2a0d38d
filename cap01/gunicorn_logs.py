"""gunicorn's logger class: its own lines (start, workers, signals, errors) and one access line
per request as JSON objects (cap01.logs.JsonFormatter), like the rest of the app's log.

    gunicorn --logger-class cap01.gunicorn_logs.JsonLogger --access-logfile - ...   (ops/app.sh)

An access line: {"event": "access", "method", "path", "query", "status", "durationMs", "bytes",
"remote", "userAgent", "referer"} beside ts, level, logger ("gunicorn.access") and message
("GET /runs/ 200").
"""

from __future__ import annotations

import traceback
from datetime import timedelta
from typing import Any

from gunicorn import glogging  # type: ignore[import-untyped]

from cap01.logs import JsonFormatter


class JsonLogger(glogging.Logger):
    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(JsonFormatter())

    def access(self, resp: Any, req: Any, environ: dict[str, Any],
               request_time: timedelta) -> None:
        if not self.cfg.accesslog:
            return
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        try:
            fields = {
                "event": "access",
                "method": environ.get("REQUEST_METHOD", ""),
                "path": environ.get("PATH_INFO", ""),
                "query": environ.get("QUERY_STRING", ""),
                "status": int(status),
                "durationMs": round(request_time.total_seconds() * 1000.0, 3),
                "bytes": getattr(resp, "sent", None),
                "remote": environ.get("REMOTE_ADDR", ""),
                "userAgent": environ.get("HTTP_USER_AGENT", ""),
                "referer": environ.get("HTTP_REFERER", ""),
            }
            self.access_log.info("%s %s %s", fields["method"], fields["path"], status,
                                 extra=fields)
        except Exception:
            self.error(traceback.format_exc())
