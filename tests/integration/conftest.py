"""Fixtures shared by the integration tests of the web pages (test_web.py, test_run_explorer.py):
a user and Django's test client logged in as that user (a session, as a browser holds one)."""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.fixture
def user(django_user_model):  # type: ignore[no-untyped-def]
    """A plain user (not staff, not an auditor): sees its own runs only."""
    return django_user_model.objects.create_user("alice", password="a-long-test-password")


@pytest.fixture
def client_in(client: Client, user) -> Client:  # type: ignore[no-untyped-def]
    """Django's test client with `user` logged in."""
    client.force_login(user)
    return client
