"""orchestration.selectors on the ledger alone (no Neo4j): run_list filters and bounds, run_get,
and who sees what (a user their own runs, the auditors group and superusers every run)."""

from __future__ import annotations

import importlib
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.contrib.auth.models import AnonymousUser, Group
from django.core.exceptions import PermissionDenied
from django.db import connection

from graphstore.scope import RunScope
from orchestration.errors import RunNotFound
from orchestration.models import AUDITORS_GROUP, RunRecord, RunStatus
from orchestration.selectors import (
    SYSTEM,
    run_get,
    run_list,
    run_replays_list,
    run_scope,
    run_visible,
    runs_of_user,
    runs_recent,
    sees_all_runs,
)
from tests.conftest import make_auditor

pytestmark = pytest.mark.django_db


def _row(run_id: str, at, **fields) -> RunRecord:  # type: ignore[no-untyped-def]
    record = RunRecord.objects.create(run_id=run_id, request_text=fields.pop("text", "a request"),
                                      request={}, **fields)
    RunRecord.objects.filter(pk=record.pk).update(created_at=at)
    return record


def test_run_list_since_is_inclusive_and_until_exclusive(now):
    """since includes a run created at that instant; until excludes it."""
    _row("run-1", now - timedelta(hours=1))
    _row("run-2", now)
    _row("run-3", now + timedelta(hours=1))
    assert [r.run_id for r in run_list(viewer=SYSTEM, since=now)] == ["run-3", "run-2"]
    assert [r.run_id for r in run_list(viewer=SYSTEM, until=now)] == ["run-1"]
    window = run_list(viewer=SYSTEM, since=now, until=now + timedelta(hours=1))
    assert [r.run_id for r in window] == ["run-2"]


def test_run_list_text_matches_run_id_or_request_text_in_any_case(now):
    """text is a case-insensitive substring of the runId or of the request text."""
    _row("run-Pesto-1", now, text="basil")
    _row("run-2", now - timedelta(minutes=1), text="Green PESTO, 2 kg")
    _row("run-3", now - timedelta(minutes=2), text="vinaigrette")
    assert [r.run_id for r in run_list(viewer=SYSTEM, text="pesto")] == ["run-Pesto-1", "run-2"]


def test_run_list_combines_status_and_failed_agent(now):
    """status and failed_agent narrow the list together."""
    _row("run-1", now, status=RunStatus.FAILED, failed_agent="QAValidator")
    _row("run-2", now, status=RunStatus.FAILED, failed_agent="RecipeEngineer")
    _row("run-3", now, status=RunStatus.SUCCEEDED)
    failed = run_list(viewer=SYSTEM, status="failed", failed_agent="QAValidator")
    assert [r.run_id for r in failed] == ["run-1"]
    assert run_list(viewer=SYSTEM, status="succeeded").count() == 1


def test_run_get_raises_run_not_known(now):
    """run_get returns the row, and raises RunNotFound (naming the runId) for an unknown one."""
    _row("run-1", now)
    assert run_get(viewer=SYSTEM, run_id="run-1").run_id == "run-1"
    with pytest.raises(RunNotFound, match="run-nobody"):
        run_get(viewer=SYSTEM, run_id="run-nobody")


# --- who sees what ------------------------------------------------------------------------------


@pytest.fixture
def people(django_user_model):  # type: ignore[no-untyped-def]
    """Two users, an auditor (in the group the migration created) and a superuser."""
    ada = django_user_model.objects.create_user("ada", password="pw-ada-123456")
    bob = django_user_model.objects.create_user("bob", password="pw-bob-123456")
    audrey = make_auditor(django_user_model.objects.create_user("audrey",
                                                               password="pw-audrey-123456"))
    root = django_user_model.objects.create_superuser("root", password="pw-root-123456")
    return {"ada": ada, "bob": bob, "audrey": audrey, "root": root}


@pytest.fixture
def owned_rows(people, now):  # type: ignore[no-untyped-def]
    _row("run-ada", now, submitted_by=people["ada"])
    _row("run-bob", now - timedelta(minutes=1), submitted_by=people["bob"])
    _row("run-nobody", now - timedelta(minutes=2))
    _row("run-ada-replay", now - timedelta(minutes=3), submitted_by=people["ada"],
         replay_of="run-ada")
    _row("run-bob-replay-of-ada", now - timedelta(minutes=4), submitted_by=people["bob"],
         replay_of="run-ada")


def _ids(runs) -> list[str]:  # type: ignore[no-untyped-def]
    return [r.run_id for r in runs]


def test_the_auditors_group_holds_the_permission_to_see_every_run(people):
    """The data migration 0007 makes the auditors group with orchestration.view_all_runs (run
    again here: it is idempotent); its members and superusers see every run, plain users do
    not."""
    migration = importlib.import_module("orchestration.migrations.0007_run_owner_access")
    assert any(getattr(op, "code", None) is migration.create_auditors
               for op in migration.Migration.operations)
    migration.create_auditors(apps, SimpleNamespace(connection=connection))
    group = Group.objects.get(name=AUDITORS_GROUP)
    assert [p.codename for p in group.permissions.all()] == ["view_all_runs"]
    assert sees_all_runs(viewer=people["audrey"]) and sees_all_runs(viewer=people["root"])
    assert not sees_all_runs(viewer=people["ada"])
    assert not sees_all_runs(viewer=AnonymousUser())
    assert sees_all_runs(viewer=SYSTEM)


def test_a_user_lists_only_their_own_runs(people, owned_rows):
    """run_list and runs_recent give a user their own rows only (whatever the filters); an
    auditor, a superuser and the system get every row, those without an owner included."""
    assert _ids(run_list(viewer=people["ada"])) == ["run-ada", "run-ada-replay"]
    assert _ids(run_list(viewer=people["bob"], text="run")) == ["run-bob",
                                                                "run-bob-replay-of-ada"]
    assert _ids(runs_recent(viewer=people["bob"])) == ["run-bob", "run-bob-replay-of-ada"]
    every = ["run-ada", "run-bob", "run-nobody", "run-ada-replay", "run-bob-replay-of-ada"]
    for viewer in (people["audrey"], people["root"], SYSTEM):
        assert _ids(run_list(viewer=viewer)) == every
    assert _ids(run_list(viewer=AnonymousUser())) == []


def test_the_form_lists_only_the_users_own_runs_even_for_an_auditor(people, owned_rows):
    """runs_of_user (the request form's recent runs) is the user's own, auditors included."""
    assert _ids(runs_of_user(user=people["ada"])) == ["run-ada", "run-ada-replay"]
    assert _ids(runs_of_user(user=people["audrey"])) == []


def test_another_users_run_is_not_found_exactly_like_an_unknown_one(people, owned_rows):
    """run_get of bob's run as ada raises RunNotFound with the message an unknown runId gets;
    ada gets her own, the auditor gets both and the run without an owner."""
    with pytest.raises(RunNotFound) as hidden:
        run_get(viewer=people["ada"], run_id="run-bob")
    with pytest.raises(RunNotFound) as unknown:
        run_get(viewer=people["ada"], run_id="run-nope")
    assert str(hidden.value) == str(unknown.value).replace("run-nope", "run-bob")
    with pytest.raises(RunNotFound):
        run_get(viewer=people["ada"], run_id="run-nobody")
    assert run_get(viewer=people["ada"], run_id="run-ada").run_id == "run-ada"
    for run_id in ("run-ada", "run-bob", "run-nobody"):
        assert run_get(viewer=people["audrey"], run_id=run_id).run_id == run_id


def test_replays_of_a_run_are_listed_as_the_viewer_may_see_them(people, owned_rows):
    """Bob's replay of ada's run is not in ada's list of its replays; the auditor sees both."""
    assert _ids(run_replays_list(viewer=people["ada"], run_id="run-ada")) == ["run-ada-replay"]
    assert _ids(run_replays_list(viewer=people["audrey"], run_id="run-ada")) == [
        "run-ada-replay", "run-bob-replay-of-ada"]


def test_run_visible_for_runs_with_and_without_a_ledger_row(people, owned_rows):
    """A run only in Neo4j (no ledger row) is visible to auditors only; a ledger row to its
    owner and auditors."""
    assert run_visible(viewer=people["ada"], run_id="run-ada")
    assert not run_visible(viewer=people["ada"], run_id="run-bob")
    assert not run_visible(viewer=people["ada"], run_id="run-only-in-neo4j")
    assert run_visible(viewer=people["audrey"], run_id="run-only-in-neo4j")


def test_the_neo4j_scope_of_each_kind_of_viewer(people):
    """A user's reads over many runs are scoped to their id, an auditor's to every run; an
    anonymous viewer gets no scope at all."""
    assert run_scope(viewer=people["ada"]) == RunScope.owned_by(str(people["ada"].pk))
    assert run_scope(viewer=people["audrey"]) == RunScope.every_run()
    assert run_scope(viewer=SYSTEM) == RunScope.every_run()
    with pytest.raises(PermissionDenied):
        run_scope(viewer=AnonymousUser())


def test_an_inactive_auditor_loses_the_permission(people, owned_rows):
    """The permission counts for active users only."""
    people["audrey"].is_active = False
    people["audrey"].save()
    assert not sees_all_runs(viewer=people["audrey"])
    assert _ids(run_list(viewer=people["audrey"])) == []
