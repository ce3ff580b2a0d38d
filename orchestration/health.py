"""GET /healthz: is this process able to reach its database, Neo4j and the broker?

Unauthenticated on purpose (load balancers and the main-job script call it); it reveals only
up/down per dependency, never configuration.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse


def _check(fn: Callable[[], object]) -> str:
    try:
        fn()
    except Exception:
        return "down"
    return "up"


def healthz(request: HttpRequest) -> JsonResponse:
    import redis

    from graphstore.connection import get_driver

    checks = {
        "database": _check(lambda: connection.ensure_connection()),
        "neo4j": _check(lambda: get_driver().verify_connectivity()),
        "broker": _check(lambda: redis.Redis.from_url(settings.CELERY_BROKER_URL,
                                                      socket_timeout=2).ping()),
    }
    ok = all(v == "up" for v in checks.values())
    return JsonResponse({"status": "ok" if ok else "degraded", **checks}, status=200 if ok else 503)
