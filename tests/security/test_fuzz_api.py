"""Property-based fuzzing of the served OpenAPI schema: schemathesis generates
requests from /api/schema/ - valid ones (positive) and ones that break the schema (negative) - for
every operation, sends them through the WSGI app with an API token, and checks that none is a
server error; every 4xx from the orchestration API is in the JSON error shape.

Bounded and deterministic: a fixed number of examples per operation and mode, derandomized, no
example database. The test runs in a transaction that is rolled back (the default `django_db`):
nothing it records is visible to a Celery worker the session may run. Accepted requests are queued
on a Redis database of their own with no run slot, so none starts; it is emptied afterwards.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from cap01.wsgi import application

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

EXAMPLES_PER_OPERATION = 40  # per generation mode
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
MUST_FUZZ = {"POST /api/orchestration/requests", "POST /api/orchestration/runs"}


@pytest.fixture
def wsgi_in_test_transaction() -> Iterator[None]:
    """Calling the WSGI app directly fires request_started and request_finished, whose
    close_old_connections would close the test's database connection mid-transaction; Django's
    test client unhooks it the same way."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    try:
        yield
    finally:
        for signal in (request_started, request_finished):
            signal.connect(close_old_connections)


@pytest.fixture
def auth_header(django_user_model: Any) -> dict[str, str]:
    user = django_user_model.objects.create_user("fuzzer", password="a-long-fuzzer-password-1")
    return {"Authorization": f"Token {Token.objects.create(user=user).key}"}


def _json_error_shape(response: Any) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    return (isinstance(body, dict) and {"detail", "code", "errors"} <= set(body)
            and isinstance(body["errors"], list))


def test_fuzzing_the_served_schema_finds_no_server_error(
        graph, wsgi_in_test_transaction, isolated_intake, auth_header, capsys):
    """Every operation of the served schema, with valid and schema-breaking requests: no 5xx,
    and every 4xx of the orchestration API in the JSON error shape."""
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application,
                                            headers=auth_header)
    calls: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    per_operation: dict[str, Counter[str]] = {}
    failures: list[str] = []
    skipped: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]

    def check(case: schemathesis.Case, label: str) -> None:
        response = case.call(headers=auth_header)
        family = f"{response.status_code // 100}xx"
        calls[case.operation.label] += 1
        statuses[family] += 1
        per_operation.setdefault(case.operation.label, Counter())[family] += 1
        try:
            case.validate_response(response, checks=[not_a_server_error])
        except Exception as exc:  # collected: one report for every operation
            failures.append(f"{label}: {exc}\n{case.as_curl_command()}")
            return
        if (400 <= response.status_code < 500
                and case.formatted_path.startswith("/api/orchestration/")
                and not _json_error_shape(response)):
            failures.append(f"{label}: {response.status_code} not in the JSON error shape: "
                            f"{response.content[:200]!r}")

    def checker(label: str) -> Any:
        def run(case: schemathesis.Case) -> None:
            check(case, label)
        return run

    for operation in operations:
        for mode in MODES:
            label = f"{operation.label} [{mode.value}]"
            fuzz = hypothesis_settings(
                max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True,
                database=None, suppress_health_check=list(HealthCheck),
            )(given(case=operation.as_strategy(generation_mode=mode))(checker(label)))
            try:
                fuzz()
            except Unsatisfiable:  # no schema-breaking input exists for this operation
                skipped.append(label)
    line = (f"schemathesis: {len(operations)} operations, {sum(calls.values())} requests "
            f"({', '.join(f'{k} {v}' for k, v in sorted(statuses.items()))}), "
            f"{len(failures)} failures; POST /requests {calls[sorted(MUST_FUZZ)[0]]}, "
            f"POST /runs {calls[sorted(MUST_FUZZ)[1]]} requests")
    with capsys.disabled():
        print(f"\n{line}")
        for label in sorted(calls):
            detail = ", ".join(f"{k} {v}" for k, v in sorted(per_operation[label].items()))
            print(f"  {label}: {calls[label]} ({detail})")
        if skipped:
            print(f"  no negative data for: {', '.join(skipped)}")
    assert failures == [], "\n\n".join(failures[:20])
    assert MUST_FUZZ <= {label for label, n in calls.items() if n >= EXAMPLES_PER_OPERATION}
