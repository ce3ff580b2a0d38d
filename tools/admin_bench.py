"""Timing the admin pages without writing anything (issue 13): `manage.py admin_bench`.

scale_bench (tools/scale_bench.py) times the admin pages too, but it also writes runs and runs a
retention pass; this times the admin pages alone and changes nothing, so it may run against a
graph and ledger that must stay as they are (a production copy, another person's scale graph).
Django's test client as an existing superuser, the session in a signed cookie and the login
without its last_login stamp (so no row is written), through the whole stack as scale_bench
measures: the run changelist (plain, a search, a month of the date hierarchy, a status filter),
the graph browser's index, the run node list (first page and 20 pages deep), a run's node page,
the shared Ingredient `ing-salt` and the RecipeVersion most runs use (first page of their
neighbours and the next). Beside them the floor, GET /healthz in the same run. p50/p95 per page.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import update_last_login
from django.contrib.auth.signals import user_logged_in
from django.test import Client, override_settings

from graphstore.connection import database, get_driver
from graphstore.cypher.admin import BUSIEST_RECIPE
from orchestration.models import RunRecord

from .scale_bench import _get, _row, timed

LEDGER = "/admin/orchestration/runrecord/"


def _next_link(client: Client, url: str, section: str) -> str | None:
    """The "next" link of a node page's section (read from the HTML: outside the test runner
    the client has no template context), or None."""
    html = client.get(url).content.decode()
    start = html.find(f'id="rel-{section}"')
    end = html.find('class="module graph-relationship"', start + 1)
    found = re.search(r'href="([^"]+)" data-testid="rel-next"',
                      html[start:end if end > 0 else None]) if start >= 0 else None
    return url + unescape(found.group(1)).split("#")[0] if found else None


def pages(client: Client) -> list[tuple[str, str]]:
    """(name, URL) of every page timed, chosen from what the ledger and the graph hold."""
    newest = RunRecord.objects.order_by("-created_at").values_list(
        "created_at", "run_id").first()
    if newest is None:
        raise RuntimeError("the ledger is empty: fill it first (manage.py scale_fill)")
    created, run_id = newest
    busiest = get_driver().execute_query(BUSIEST_RECIPE, database_=database(),
                                         routing_="r").records
    out = [
        ("admin run changelist", LEDGER),
        ("admin run changelist ?q=", f"{LEDGER}?q=vinaigrette"),
        ("admin run changelist, a month", f"{LEDGER}?created_at__year={created.year}"
                                          f"&created_at__month={created.month}"),
        ("admin run changelist, failed", f"{LEDGER}?status__exact=failed"),
        ("admin graph browser: index", "/admin/graph/"),
        ("admin graph browser: OrchestrationRun list", "/admin/graph/OrchestrationRun/"),
        ("admin graph browser: OrchestrationRun list, page 20",
         "/admin/graph/OrchestrationRun/?p=20"),
        ("admin graph browser: a run node", f"/admin/graph/OrchestrationRun/{run_id}/"),
    ]
    salt = "/admin/graph/Ingredient/ing-salt/"
    out.append(("admin graph browser: Ingredient ing-salt", salt))
    if (link := _next_link(client, salt, "HAS_INGREDIENT.in")) is not None:
        out.append(("admin graph browser: Ingredient ing-salt, next page", link))
    if busiest:
        recipe = f"/admin/graph/RecipeVersion/{busiest[0]['key']}/"
        out.append(("admin graph browser: the busiest RecipeVersion", recipe))
        if (link := _next_link(client, recipe, "USED_RECIPE.in")) is not None:
            out.append(("admin graph browser: the busiest RecipeVersion, next page", link))
    return out


def measure(*, samples: int, username: str,
            log: Callable[[str], None]) -> list[dict[str, Any]]:
    """p50/p95 of every admin page (and the floor), as `admin_bench` prints them."""
    user = get_user_model().objects.filter(username=username, is_superuser=True).first()
    if user is None:
        raise RuntimeError(f"no superuser {username!r}: name an existing one with --user")
    user_logged_in.disconnect(update_last_login, dispatch_uid="update_last_login")
    rows = []
    with override_settings(SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies"):
        client = Client()
        client.force_login(user)
        for name, url in [("floor: GET /healthz", "/healthz"), *pages(client)]:
            values, _ = timed(_get(client, url), samples)
            rows.append({**_row(name, "page", values), "url": url})
            log(f"{name}: p50 {rows[-1]['p50']} ms, p95 {rows[-1]['p95']} ms  ({url[:90]})")
    return rows
