"""URLs of the web pages (request form, run pages, analytics, login), mounted at /."""

from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

urlpatterns = [
    path("", views.run_request_form, name="run-request-form"),
    path("runs/", views.run_list, name="run-list"),
    path("runs/compare/", views.run_compare, name="run-compare"),
    # Without a trailing slash: never a run page (those end in /).
    path("runs/export.csv", views.run_history_export, {"fmt": "csv"}, name="run-export-csv"),
    path("runs/export.json", views.run_history_export, {"fmt": "json"},
         name="run-export-json"),
    path("runs/<str:run_id>/", views.run_detail, name="run-detail"),
    path("runs/<str:run_id>/stages/<str:agent>/<str:part>.json", views.run_stage_json,
         name="run-stage-json"),
    path("runs/<str:run_id>/status.json", views.run_status_json, name="run-status-json"),
    path("runs/<str:run_id>/similar/", views.run_similar_block, name="run-similar-block"),
    # A login page for every user (the admin's login only lets staff in).
    path("login/", auth_views.LoginView.as_view(template_name="registration/login.html",
                                                next_page="run-request-form"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="login"), name="logout"),
    path("analytics/", views.analytics_page, name="analytics"),
    path("analytics/ledger.json", views.analytics_ledger_json, name="analytics-ledger-json"),
    path("runs/<str:run_id>/replay/", views.run_replay_submit, name="run-replay"),
]
