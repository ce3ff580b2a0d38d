"""The project's admin site: Django's, plus the read-only Neo4j graph browser (graphstore/admin.py)
as three staff-only views and one more section of the index and sidebar. The graph browser shows
every user's runs, so it also needs the permission to see all runs (the auditors group;
superusers have every permission); staff without it do not see the section.

Installed the Django way: cap01.apps.Cap01AdminConfig (in INSTALLED_APPS in place of
django.contrib.admin) names this class as its `default_site`, so `django.contrib.admin.site` is a
Cap01AdminSite and every `@admin.register` lands here.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import URLPattern, URLResolver

from orchestration.models import VIEW_ALL_RUNS


class Cap01AdminSite(admin.AdminSite):
    def get_urls(self) -> list[URLPattern | URLResolver]:
        from graphstore.admin import graph_urls  # imported late: it uses the admin's models

        # First: the admin's own list ends with a catch-all.
        return [*graph_urls(self, permission=VIEW_ALL_RUNS), *super().get_urls()]

    def get_app_list(self, request: HttpRequest,
                     app_label: str | None = None) -> list[dict[str, Any]]:
        from graphstore.admin import graph_app, may_browse

        apps = super().get_app_list(request, app_label)
        if app_label is None and self.has_permission(request) and may_browse(request,
                                                                             VIEW_ALL_RUNS):
            apps = sorted([*apps, graph_app(self)], key=lambda app: app["name"].lower())
        return apps
