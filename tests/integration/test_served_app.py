"""The app as `make run` serves it: ops/app.sh starts a Celery worker and the web app (gunicorn)
on a free port, against the test database, Redis and Neo4j, with nothing but the environment
`make run` gives it. Then: DEBUG is off (the site's 404 page, the favicon and the static files
served by the app itself, a login that works over plain HTTP), the secret key is generated once
(mode 600) and kept across a restart (a session outlives it), a request runs through the
worker, and every line both processes wrote to their logs is a JSON object."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import stat
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from rest_framework.authtoken.models import Token

from tests.conftest import _database_url_for_worker, flush_broker, free_port, wait_for

pytestmark = [pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a-long-test-password"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx is returned as it is, not followed


class Browser:
    """A cookie-keeping HTTP client on the served app (no redirects followed)."""

    def __init__(self, base: str, jar: http.cookiejar.CookieJar | None = None) -> None:
        self.base, self.jar = base, jar if jar is not None else http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar),
                                                  NoRedirect)

    def request(self, method: str, path: str, *, data: dict[str, str] | None = None,
                body: Any = None, headers: dict[str, str] | None = None
                ) -> tuple[int, dict[str, str], bytes]:
        payload = None
        headers = dict(headers or {})
        if data is not None:
            payload = urllib.parse.urlencode(data).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.base + path, data=payload, method=method,
                                     headers=headers)
        try:
            with self.opener.open(req, timeout=30) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.jar if c.name == name), None)


def _app_sh(command: str, env: dict[str, str]) -> None:
    result = subprocess.run(["ops/app.sh", command], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=240)
    assert result.returncode == 0, f"ops/app.sh {command}: {result.stderr[-3000:]}"


def _log_lines(path: Path) -> list[dict[str, Any]]:
    """Every line of a log file parsed as JSON; the test fails on the first that is not."""
    lines = path.read_text("utf-8").splitlines()
    parsed = []
    for number, line in enumerate(lines, start=1):
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            pytest.fail(f"{path.name} line {number} is not JSON: {line[:300]!r}")
        assert isinstance(value, dict), f"{path.name} line {number} is not an object: {line!r}"
        parsed.append(value)
    return parsed


def _login(browser: Browser) -> None:
    status, _, body = browser.request("GET", "/login/")
    assert status == 200
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    assert token is not None
    status, headers, _ = browser.request(
        "POST", "/login/", data={"username": "carol", "password": PASSWORD,
                                 "csrfmiddlewaretoken": token.group(1).decode()},
        headers={"Referer": browser.base + "/login/"})
    assert status == 302 and headers["Location"] == "/", "the login did not succeed"
    assert browser.cookie("sessionid")


@pytest.mark.django_db(transaction=True)
def test_the_served_app_is_safe_by_default_and_logs_json(tmp_path: Path, neo4j_driver,  # type: ignore[no-untyped-def]
                                                         django_user_model) -> None:
    """ops/app.sh with no DJANGO_DEBUG nor DJANGO_SECRET_KEY: DEBUG off, the key generated
    once (mode 600) and kept across a restart, the site's 404 page, the favicon and static
    files served, a run through the worker; every web and worker log line is JSON."""
    user = django_user_model.objects.create_user("carol", password=PASSWORD)
    token = Token.objects.create(user=user).key
    flush_broker()
    services = tmp_path / "services"
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in {"DJANGO_DEBUG", "DJANGO_SECRET_KEY", "CAP01_SECURE_COOKIES"}}
    # A broker (and admission state) of its own, a database of the test Redis: the session's
    # worker, consuming the default one, must not take this app's run.
    broker = settings.CELERY_BROKER_URL.rsplit("/", 1)[0] + "/3"
    redis.Redis.from_url(broker).flushdb()
    env.update(CAP01_SERVICES_DIR=str(services), CAP01_WEB_PORT=str(port),
               DATABASE_URL=_database_url_for_worker(), NEO4J_PASSWORD=settings.NEO4J_PASSWORD,
               CAP01_WORKER_METRICS_PORT="0", CAP01_WORKER_CONCURRENCY="1",
               CELERY_BROKER_URL=broker)
    browser = Browser(f"http://127.0.0.1:{port}")
    key_file = services / "secret_key"
    try:
        _app_sh("up", env)
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        key = key_file.read_text()
        assert len(key.strip()) >= 32

        # DEBUG off: the site's 404 page, not Django's technical one.
        status, _, body = browser.request("GET", "/no-such-page/")
        page = body.decode()
        assert status == 404 and 'data-error-page="404"' in page
        assert "URLconf" not in page and "DEBUG = True" not in page
        # Served by the app itself: the favicon and the admin's static files.
        status, headers, body = browser.request("GET", "/favicon.ico")
        assert status == 200 and body == (ROOT / "public" / "favicon.ico").read_bytes()
        status, _, _ = browser.request("GET", "/static/admin/css/base.css")
        assert status == 200
        # A login works over plain HTTP (the session cookie is not Secure-only).
        _login(browser)
        status, _, body = browser.request("GET", "/")
        assert status == 200 and b"New formulation request" in body

        # A request through the worker.
        api = {"Authorization": f"Token {token}"}
        status, _, body = browser.request(
            "POST", "/api/orchestration/requests", headers=api,
            body={"userRequest": "lemon vinaigrette, 5 kg", "targetBatchSize": 5,
                  "targetUnit": "kg"})
        assert status == 202, body
        run_id = json.loads(body)["runId"]

        def finished() -> bool:
            _, _, answer = browser.request("GET", f"/api/orchestration/runs/{run_id}/status",
                                           headers=api)
            return json.loads(answer)["status"] in {"succeeded", "failed"}

        wait_for(finished, timeout=90)

        # Restart: the same key, and the session signed with it still logs the user in.
        _app_sh("down", env)
        _app_sh("up", env)
        assert key_file.read_text() == key
        status, headers, _ = browser.request("GET", "/")
        assert status == 200, f"the session did not survive the restart ({status})"
    finally:
        _app_sh("down", env)

    logs = services / "app"
    web, worker = _log_lines(logs / "web.log"), _log_lines(logs / "worker.log")
    access = [line for line in web if line.get("event") == "access"]
    assert {("GET", "/no-such-page/", 404), ("GET", "/favicon.ico", 200),
            ("POST", "/login/", 302)} <= {(a["method"], a["path"], a["status"]) for a in access}
    assert all(isinstance(a["durationMs"], float) for a in access)
    assert any(line["logger"] == "gunicorn.error" and "Booting worker" in line["message"]
               for line in web)
    assert any(line["logger"] == "django.request" and line["message"] == "Not Found: "
               "/no-such-page/" for line in web)
    assert any(line.get("event") == "worker-start" for line in worker)
    assert sum(line["message"].endswith(" ready.") for line in worker) == 2  # two starts
    assert any(line.get("event") == "run" and line.get("runId") == run_id for line in worker)
    assert any("Warm shutdown" in line["message"] for line in worker)
