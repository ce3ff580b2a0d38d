"""The Celery application; tasks in orchestration/tasks.py, configuration in settings (CELERY_*).

Every line a worker writes is a JSON object (README "Logs"): its log records go through Django's
LOGGING (configured before the worker's own start-up checks, so their warnings are JSON too);
the banner it prints on start is logged as one record instead; the notices it writes straight
to the terminal on shutdown ("worker: Warm shutdown") are written as JSON lines.
"""

import logging
import os
import sys
from typing import Any

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cap01.settings")

app = Celery("cap01")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.celeryd_init.connect
def _json_logging_from_the_start(**_: object) -> None:
    """Before the worker checks its privileges (a warning) or prints anything: JSON logging,
    and the shutdown notices Celery writes to the terminal as JSON lines."""
    import celery.apps.worker
    from django.conf import settings

    from cap01.logs import configure, json_line

    configure(settings.LOGGING)
    write = getattr(celery.apps.worker, "_original_os_write", os.write)

    def say_json(msg: str, f: Any = sys.__stderr__) -> None:
        """celery.apps.worker.safe_say (one os.write, no lock: it runs in signal handlers),
        writing a JSON line instead of the text between blank lines."""
        line = json_line(msg.strip(), level="WARNING", logger="celery.apps.worker")
        try:
            write(f.fileno(), (line + "\n").encode())
        except (OSError, AttributeError, ValueError):
            pass  # best effort, as Celery's own

    setattr(celery.apps.worker, "safe_say", say_json)  # noqa: B010 (no stub declares it)


@signals.celeryd_after_setup.connect
def _banner_as_a_log_record(sender: str, instance: Any, **_: object) -> None:
    """The start-up banner (configuration, queues, tasks) as one log record, not printed."""
    if not getattr(instance, "quiet", True):
        tasks = instance.extra_info() or ""
        logging.getLogger("celery.apps.worker").info(
            "%s starting\n%s%s", sender, instance.startup_info(artlines=False), tasks,
            extra={"event": "worker-start"})
        instance.quiet = True


@signals.after_setup_logger.connect
def _json_multiprocessing_log(**_: object) -> None:
    """Celery gives the multiprocessing logger a plain handler of its own: JSON there too."""
    from celery.utils.log import get_multiprocessing_logger

    from cap01.logs import JsonFormatter

    mp_logger = get_multiprocessing_logger()
    for handler in mp_logger.handlers if mp_logger is not None else []:
        handler.setFormatter(JsonFormatter())


@signals.worker_init.connect
def _serve_worker_metrics(**_: object) -> None:
    """Expose the worker's metrics (all prefork children) on CAP01_WORKER_METRICS_PORT."""
    from django.conf import settings
    from prometheus_client import CollectorRegistry, multiprocess, start_http_server

    port = settings.CAP01_WORKER_METRICS_PORT
    if not port:
        return
    registry = None
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    try:
        if registry is None:
            start_http_server(port, addr="127.0.0.1")
        else:
            start_http_server(port, addr="127.0.0.1", registry=registry)
    except OSError as exc:  # another worker on this host serves the port already
        logging.getLogger(__name__).warning("worker metrics not served on port %s: %s", port,
                                            exc)


@signals.task_prerun.connect
@signals.task_postrun.connect
def _database_connections_as_between_requests(**_: object) -> None:
    """Around every task, what Django does around every request: a connection that broke (the
    database restarted) or outlived CONN_MAX_AGE is closed, and the next query opens a new one;
    a healthy one is kept (settings.CELERY_DB_REUSE_MAX keeps Celery from closing them all)."""
    from django.db import close_old_connections

    close_old_connections()


@signals.worker_process_shutdown.connect
def _mark_child_dead(pid: int | None = None, **_: object) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())
