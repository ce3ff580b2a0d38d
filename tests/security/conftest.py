"""Fixtures of the security tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.test import override_settings

from orchestration import services

ISOLATED_REDIS_DB = 15


@pytest.fixture
def isolated_intake() -> Iterator[None]:
    """Requests accepted by POST /requests are queued on a Redis database of their own, with no run
    slot (so none is started and no task is sent), and dropped afterwards."""
    import redis

    base = str(settings.CELERY_BROKER_URL).rsplit("/", 1)[0]
    url = f"{base}/{ISOLATED_REDIS_DB}"
    services.admission.cache_clear()
    try:
        with override_settings(CELERY_BROKER_URL=url, CAP01_MAX_CONCURRENT_RUNS=0,
                               # password checks of /api/auth/token: fast hashing for the fuzzer
                               PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
            yield
    finally:
        services.admission.cache_clear()
        redis.Redis.from_url(url).flushdb()
