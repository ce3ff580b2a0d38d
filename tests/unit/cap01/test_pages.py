"""With DEBUG off (as pytest-django runs Django, and as `make run` serves): the site's own 404
and 500 pages, and the favicon served by the app itself."""

from __future__ import annotations

import types
from pathlib import Path

import pytest
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.test import Client, override_settings
from django.urls import path

import cap01.urls

ROOT = Path(__file__).resolve().parents[3]
SITE_HEADER = "CAP-01 · Formulation runs"


def _boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a secret detail of the failure")


# The project's URLs plus one view that fails; a module object serves as ROOT_URLCONF.
BOOM_URLS = types.ModuleType("boom_urls")
BOOM_URLS.urlpatterns = [path("boom/", _boom), *cap01.urls.urlpatterns]  # type: ignore[attr-defined]


def test_debug_is_off_here() -> None:
    """These tests see what DEBUG off serves (pytest-django turns it off)."""
    assert settings.DEBUG is False


def test_unknown_page_is_the_sites_404_page(client: Client) -> None:
    """An unknown URL answers 404 with the site's page (its header, the favicon link, links
    back), naming the path, not Django's bare "Not Found"."""
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    page = response.content.decode()
    assert 'data-error-page="404"' in page and SITE_HEADER in page
    assert "<code>/no-such-page/</code>" in page and 'href="/runs/"' in page
    assert '<link rel="icon" href="/favicon.ico"' in page


def test_a_failing_view_answers_the_sites_500_page() -> None:
    """An exception in a view answers 500 with the site's page, which shows nothing of the
    error itself."""
    client = Client(raise_request_exception=False)
    with override_settings(ROOT_URLCONF=BOOM_URLS):
        response = client.get("/boom/")

    assert response.status_code == 500
    page = response.content.decode()
    assert 'data-error-page="500"' in page and SITE_HEADER in page
    assert "Something went wrong on our side" in page
    assert "secret detail" not in page and "Traceback" not in page


def test_favicon_is_served_by_the_app(client: Client) -> None:
    """/favicon.ico is served by the app itself (whitenoise, from public/) as an icon."""
    response = client.get("/favicon.ico")

    assert response.status_code == 200
    assert response["Content-Type"] in {"image/x-icon", "image/vnd.microsoft.icon"}
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    assert body == (ROOT / "public" / "favicon.ico").read_bytes()
    assert body[:4] == b"\x00\x00\x01\x00"  # an ICO header


@pytest.mark.parametrize("name", ["404.html", "500.html"])
def test_error_pages_extend_the_site_layout(name: str) -> None:
    """Both error pages are the site's layout (base.html), not stand-alone markup."""
    assert (ROOT / "templates" / name).read_text().startswith('{% extends "base.html" %}')
