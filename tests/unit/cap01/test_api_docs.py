"""/api/docs/ is served whole by the app: Swagger UI's files come from drf-spectacular-sidecar
(a pinned release, as static files), never from a CDN, so the page works without internet."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

pytestmark = pytest.mark.django_db


def test_docs_page_references_no_external_host(django_user_model) -> None:  # type: ignore[no-untyped-def]
    """Every script, stylesheet and icon of the docs page is a path of this app (no host, no
    scheme, no protocol-relative URL), and each is a static file the app has."""
    client = Client()
    client.force_login(django_user_model.objects.create_user("ada", password="a-long-pw-123"))
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert not re.search(r"(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}", html), \
        "the docs page names an external host"
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    assert any(a.endswith("swagger-ui.css") for a in assets)
    for asset in assets:
        parts = urlsplit(asset)
        assert not parts.scheme and not parts.netloc, asset
        assert parts.path.startswith("/static/"), asset
        assert finders.find(parts.path.removeprefix("/static/")) is not None, asset
