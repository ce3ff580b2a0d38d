"""The Celery application; tasks in orchestration/tasks.py, configuration in settings (CELERY_*)."""

import logging
import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cap01.settings")

app = Celery("cap01")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


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


@signals.worker_process_shutdown.connect
def _mark_child_dead(pid: int | None = None, **_: object) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())
