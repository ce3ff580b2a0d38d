"""Daily analytics rollups against the real Neo4j and ledger: every analytics figure read through
rollups (whole closed days) plus raw ranges (partial edge days, today, days not rolled up) equals
the figure the raw statements give, for every endpoint, both scopes and every window shape; a
day changed after it was rolled up (a late write, a retention pass, a change while it is being
read) is never served from its stale rollup; the backfill command is idempotent."""

from __future__ import annotations

import dataclasses
import math
import random
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from contracts import RunResult
from graphstore import analytics, rollup
from graphstore.connection import database, get_blob_store, get_driver
from graphstore.scope import RunScope
from orchestration import selectors
from orchestration.models import EVERY_OWNER, AnalyticsDay, AnalyticsRollup
from orchestration.services import rollups, run_result_ingest, runs_condense
from tests.conftest import make_auditor
from tests.insight_seed import AGENTS, seeded_run
from tools.scale_fill import bulk_write

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

RECIPES = [
    ("recipe-lemon", "Lemon vinaigrette", [("ing-olive-oil", "Olive oil", 60.0),
                                           ("ing-lemon-juice", "Lemon juice", 30.0),
                                           ("ing-salt", "Salt", 10.0)]),
    ("recipe-pesto", "Basil pesto", [("ing-basil", "Basil", 50.0),
                                     ("ing-olive-oil", "Olive oil", 30.0),
                                     ("ing-pine-nuts", "Pine nuts", 20.0)]),
    ("recipe-brine", "Brine", [("ing-salt", "Sea salt", 8.0), ("ing-water", "Water", 92.0)]),
]
FIELDS = ["recipe.ingredients[{}].percentage", "calculation.scaledIngredients[{}].cost",
          "recipe.name"]
DAYS_BACK = 6
ENDPOINTS = ("agents", "breaches", "ingredients", "costs", "validation")


def _run(rng: random.Random, i: int, started: datetime) -> RunResult:
    recipe_id, name, ingredients = rng.choice(RECIPES)
    failed = rng.choice(AGENTS[1:]) if rng.random() < 0.15 else None
    ran = AGENTS.index(failed) + 1 if failed else len(AGENTS)

    def issues(k: int) -> list[tuple[str, ...]]:
        return [(rng.choice(AGENTS), rng.choice(FIELDS).format(rng.randrange(4)),
                 rng.choice(["error", "error", "critical"])) for _ in range(k)]

    run = seeded_run(
        f"roll-{i:04d}", started=started, request=f"{name} {i}",
        recipe=(recipe_id, name), ingredients=ingredients,
        durations=[round(rng.uniform(1, 50), 3) for _ in range(ran)], failed_agent=failed,
        total_cost=round(rng.uniform(5, 40), 2),
        breaches=rng.choice([[], [], [], ["run.duration"], [f"{AGENTS[0]}.duration"],
                             ["run.memory", f"{AGENTS[0]}.duration"]]),
        errors=issues(rng.choice([0, 0, 0, 1, 2])))
    if "validation" not in run.to_wire() or rng.random() < 0.6:
        return run
    wire = run.to_wire()  # warnings too: the validation figures have two kinds
    wire["validation"]["warnings"] = [
        {"agent": a, "field": f, "severity": "warning", "message": f"{f} looks odd"}
        for a, f, _ in issues(rng.choice([1, 2]))]
    return RunResult.model_validate(wire)


@pytest.fixture
def owners(db: Any) -> list[Any]:
    model = get_user_model()
    return [model.objects.create_user(f"roller{i}", password="x") for i in range(3)]


@pytest.fixture
def mixed(graph: Any, owners: list[Any]) -> datetime:
    """150 committed runs of three owners (and some of none) over the last DAYS_BACK days and
    today: failures, budget breaches, validation errors and warnings, three recipes sharing
    ingredients. Returns the moment the figures are read at."""
    now = timezone.now()
    rng = random.Random(13)
    runs = []
    for i in range(150):
        started = now - timedelta(minutes=rng.randrange(1, DAYS_BACK * 24 * 60))
        runs.append((_run(rng, i, started), ([*owners, None])[i % 4]))
    bulk_write(runs, driver=graph, database=database(), blobs=get_blob_store(), now=now)
    return now


def _same(a: Any, b: Any, path: str = "") -> None:
    """Equal, floats up to the order of their additions (1e-9 relative)."""
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        assert type(a) is type(b), path
        for f in dataclasses.fields(a):
            _same(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), f"{path}: {a!r} != {b!r}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert a is not None and b is not None, f"{path}: {a!r} != {b!r}"
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9), f"{path}: {a!r} != {b!r}"
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def _report(endpoint: str, window: analytics.Window, scope: RunScope,
            rolled: analytics.Rolled | None, **kw: Any) -> Any:
    common: dict[str, Any] = {"scope": scope, "driver": get_driver(), "database": database(),
                              "rolled": rolled}
    if endpoint == "agents":
        return analytics.agent_report(window, **common)
    if endpoint == "breaches":
        return analytics.breach_report(window, **common)
    if endpoint == "ingredients":
        return analytics.ingredient_report(window, limit=kw.get("limit", 25), **common)
    if endpoint == "costs":
        return analytics.cost_report(window, recipe=kw.get("recipe"), limit=kw.get("limit", 10),
                                     **common)
    return analytics.validation_report(window, kind=kw.get("kind", "errors"),
                                       limit=kw.get("limit", 25), **common)


def _agree(window: analytics.Window, scope: RunScope, *, now: datetime,
           expect_rolled: bool = True) -> int:
    """Every endpoint (and variant) read with the scope's rollups equals the raw read; the number
    of rolled days used."""
    used = 0
    variants: list[tuple[str, dict[str, Any]]] = [
        ("agents", {}), ("breaches", {}), ("ingredients", {}), ("ingredients", {"limit": 2}),
        ("costs", {}), ("costs", {"recipe": "recipe-pesto"}), ("costs", {"limit": 1}),
        ("validation", {"kind": "errors"}), ("validation", {"kind": "warnings"}),
        ("validation", {"kind": "errors", "limit": 2})]
    for endpoint, kw in variants:
        rolled = selectors.analytics_rolled(scope=scope, since=window.since, until=window.until,
                                            endpoint=endpoint, now=now)
        if expect_rolled:
            assert rolled is not None and rolled.days, f"{endpoint}: no rollup used"
            used = max(used, len(rolled.days))
        raw = _report(endpoint, window, scope, None, **kw)
        _same(_report(endpoint, window, scope, rolled, **kw), raw, f"{endpoint}{kw}")
    return used


def _windows(now: datetime) -> list[tuple[str, analytics.Window]]:
    today = rollup.day_start(rollup.day_of(now))
    return [
        ("30 days to now", analytics.Window(now - timedelta(days=30), now + timedelta(hours=1))),
        ("partial edge days", analytics.Window(today - timedelta(days=4, hours=7),
                                               today - timedelta(days=1, hours=-5))),
        ("whole days only", analytics.Window(today - timedelta(days=5),
                                             today - timedelta(days=2))),
        ("one whole day", analytics.Window(today - timedelta(days=3),
                                           today - timedelta(days=2))),
    ]


def _fresh(now: datetime) -> None:
    rollups.rollups_refresh(now=now)


def test_rollups_agree_with_raw_figures_for_every_endpoint_scope_and_window(
        mixed: datetime, owners: list[Any]) -> None:
    """Through rollups and raw ranges, every endpoint's figures in both scopes and every window
    shape (to now, partial edge days, whole days only, one day) equal the raw statements'."""
    now = mixed
    report = rollups.rollups_refresh(now=now)
    assert len(report.rolled) >= DAYS_BACK - 1 and report.runs > 100
    scopes = [RunScope.every_run(), *(RunScope.owned_by(str(u.pk)) for u in owners)]
    for label, window in _windows(now):
        for scope in scopes:
            used = _agree(window, scope, now=now)
            assert used >= 1, f"{label}: no rolled day used"
    # the owner rows add up to every run's row (runs without an owner are in it only)
    day = report.rolled[-1]
    every = AnalyticsRollup.objects.get(day=day, owner=EVERY_OWNER).totals["runs"]
    per_owner = sum(r.totals["runs"] for r in AnalyticsRollup.objects.filter(day=day)
                    .exclude(owner=EVERY_OWNER))
    assert 0 < per_owner < every


def test_api_serves_the_rolled_figures_equal_to_raw(mixed: datetime, owners: list[Any]) -> None:
    """GET /analytics/agents and /costs answer the same with rollups as without, for an owner
    and for an auditor."""
    now = mixed
    user = owners[0]
    auditor = make_auditor(get_user_model().objects.create_user("roll-auditor", password="x"))
    since = (now - timedelta(days=30)).isoformat().replace("+00:00", "Z")
    until = (now + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    urls = [f"/api/orchestration/analytics/{name}?since={since}&until={until}"
            for name in ("agents", "budget-breaches", "ingredients", "costs",
                         "validation-errors")]
    answers: dict[tuple[str, str], Any] = {}
    for stage in ("raw", "rolled"):
        if stage == "rolled":
            _fresh(now)
            assert AnalyticsRollup.objects.exists()
        for who in (user, auditor):
            client = APIClient()
            client.force_authenticate(who)
            for url in urls:
                response = client.get(url)
                assert response.status_code == 200, response.content
                answers[(stage, f"{who.username} {url}")] = response.json()
    for key, raw in answers.items():
        if key[0] == "raw":
            rolled = answers[("rolled", key[1])]
            _same_json(rolled, raw, key[1])


def _same_json(a: Any, b: Any, path: str) -> None:
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), path
        for k in a:
            _same_json(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same_json(x, y, f"{path}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9), f"{path}: {a} != {b}"
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def test_a_late_write_into_a_rolled_day_is_never_served_stale(
        mixed: datetime, owners: list[Any]) -> None:
    """A run written (through the services) into a day already rolled up moves the day's
    generation: its rollup is no longer used, the figures include the run, and the next pass
    rolls the day up again with it."""
    now = mixed
    _fresh(now)
    day = rollup.day_of(now) - timedelta(days=2)
    window = analytics.Window(rollup.day_start(day), rollup.day_start(day) + rollup.DAY)
    scope = RunScope.owned_by(str(owners[1].pk))
    before = _report("agents", window, scope, None)
    late = _run(random.Random(99), 9999, rollup.day_start(day) + timedelta(hours=12))
    assert run_result_ingest(user=owners[1], run=late).persisted
    assert selectors.analytics_rolled(scope=scope, since=window.since, until=window.until,
                                      endpoint="agents", now=now) is None
    served = selectors.analytics_agents(viewer=owners[1], since=window.since,
                                        until=window.until)
    assert served.totals.runs == before.totals.runs + 1
    _same(served, _report("agents", window, scope, None))
    report = rollups.rollups_refresh(now=now)
    assert report.rolled == [day]
    assert _agree(window, scope, now=now) == 1
    assert _agree(window, RunScope.every_run(), now=now) == 1


def test_retention_marks_the_days_it_condenses_and_figures_stay_raw_equal(
        mixed: datetime, owners: list[Any]) -> None:
    """Condensing runs of rolled days (their recipes, calculations and issue texts go) makes
    those days' rollups stale; the figures equal the raw ones before and after they are rolled
    up again."""
    now = mixed
    _fresh(now)
    before = {d.day: d.generation for d in AnalyticsDay.objects.all()}
    outcome = runs_condense(now=now, days=3)
    assert outcome.graph.runs, "nothing was condensed"
    condensed_days = {rollup.day_of(datetime.fromisoformat(p.started_at))
                      for p in outcome.graph.runs}
    after = {d.day: d.generation for d in AnalyticsDay.objects.all()}
    assert all(after[d] > before[d] for d in condensed_days if d in before)
    window = analytics.Window(now - timedelta(days=30), now)
    for scope in (RunScope.every_run(), RunScope.owned_by(str(owners[2].pk))):
        _agree(window, scope, now=now)  # the days not condensed still come from rollups
    report = rollups.rollups_refresh(now=now)
    assert set(report.rolled) == {d for d in condensed_days if d in before}
    for scope in (RunScope.every_run(), RunScope.owned_by(str(owners[2].pk))):
        assert _agree(window, scope, now=now) >= DAYS_BACK - 1


def test_a_missing_or_stale_rollup_day_is_read_raw(mixed: datetime) -> None:
    """A day whose rollup rows are gone, or carry an old generation, is read from the raw runs:
    the rollups of the other days are still used and the answer equals the raw one."""
    now = mixed
    report = rollups.rollups_refresh(now=now)
    gone, stale = report.rolled[1], report.rolled[2]
    AnalyticsRollup.objects.filter(day=gone).delete()
    rollups.days_changed(days=[stale], now=now)
    window = analytics.Window(now - timedelta(days=30), now)
    for endpoint in ENDPOINTS:
        rolled = selectors.analytics_rolled(scope=RunScope.every_run(), since=window.since,
                                            until=window.until, endpoint=endpoint, now=now)
        assert rolled is not None
        assert gone not in rolled.days and stale not in rolled.days
        assert len(rolled.days) == len(report.rolled) - 2
    _agree(window, RunScope.every_run(), now=now)
    # the periodic pass rolls up the stale day (and leaves the others: they are current); the
    # day without rows but a current generation is the backfill's: --rebuild
    assert rollups.rollups_refresh(now=now).rolled == [stale]


def test_a_day_changed_while_it_is_rolled_up_is_left_stale(
        mixed: datetime, monkeypatch: pytest.MonkeyPatch) -> None:
    """A change that commits while the job reads a day (its generation moves between the
    job's read of the generation and its save) leaves the day not rolled up."""
    now = mixed
    day = rollup.day_of(now) - timedelta(days=3)
    real = analytics.read_parts

    def changed_meanwhile(**kw: Any) -> Any:
        parts = real(**kw)
        rollups.days_changed(days=[day], now=now)  # a late write commits and marks the day
        return parts

    monkeypatch.setattr(rollups.analytics, "read_parts", changed_meanwhile)
    assert rollups.day_rollup(day=day, now=now) is None
    assert not AnalyticsRollup.objects.filter(day=day).exists()
    monkeypatch.setattr(rollups.analytics, "read_parts", real)
    assert rollups.day_rollup(day=day, now=now) is not None
    assert AnalyticsRollup.objects.filter(day=day, owner=EVERY_OWNER).exists()


def test_today_is_never_rolled_up(mixed: datetime) -> None:
    """The job refuses a day that has not closed, and a window over today reads it raw."""
    now = mixed
    with pytest.raises(ValueError, match="not closed"):
        rollups.day_rollup(day=rollup.day_of(now), now=now)
    _fresh(now)
    assert not AnalyticsRollup.objects.filter(day__gte=rollup.day_of(now)).exists()
    today = rollup.day_start(rollup.day_of(now))
    assert selectors.analytics_rolled(scope=RunScope.every_run(), since=today, until=now,
                                      endpoint="agents", now=now) is None


def test_backfill_command_prints_progress_and_is_idempotent(mixed: datetime) -> None:
    """`analytics_rollups` rolls up every closed day with a progress line each; a second run
    rolls up nothing; --rebuild rolls up every day again into the same rows."""
    import io

    out = io.StringIO()
    call_command("analytics_rollups", stdout=out)
    text = out.getvalue()
    lines = [line for line in text.splitlines() if line.startswith("[")]
    assert len(lines) >= DAYS_BACK - 1 and "runs" in lines[0]
    rows = _rows()
    again = io.StringIO()
    call_command("analytics_rollups", stdout=again)
    assert again.getvalue().startswith("0 day(s) rolled up")
    call_command("analytics_rollups", "--rebuild", stdout=io.StringIO())
    assert _rows() == rows


def _rows() -> dict[tuple[Any, str], Any]:
    """Every rollup row's content, in an order of its own (Neo4j returns groups and collected
    durations in no promised order)."""
    def norm(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: sorted(rollup.durations(v)) if k == "durations" else norm(v)
                    for k, v in value.items()}
        if isinstance(value, list):
            return sorted((norm(v) for v in value), key=repr)
        return value

    return {(r.day_id, r.owner): norm([r.totals, r.agents, r.breaches, r.ingredients, r.costs,
                                       r.validation])
            for r in AnalyticsRollup.objects.all()}


def test_backfill_command_refuses_a_bad_day(db: Any) -> None:
    """--since must be a day."""
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--since must be a day"):
        call_command("analytics_rollups", "--since", "yesterday")


def test_first_run_started_is_the_earliest_committed_run(mixed: datetime) -> None:
    """The backfill starts at the first committed run's day."""
    first = analytics.first_run_started(driver=get_driver(), database=database())
    assert first is not None and first.tzinfo is not None
    assert mixed - timedelta(days=DAYS_BACK) <= first <= mixed
    assert rollups.rollups_refresh(now=mixed).first == rollup.day_of(first)


def test_owner_sync_makes_the_rollups_stale(mixed: datetime, owners: list[Any]) -> None:
    """`sync_run_owners` moving runs to another owner makes every rollup stale: the owner's
    figures are read raw (and equal the raw ones) until the days are rolled up again."""
    import io

    from django.db.models import F

    from orchestration.models import RunRecord

    now = mixed
    _fresh(now)
    ownerless = list(RunRecord.objects.filter(submitted_by__isnull=True)
                     .values_list("pk", flat=True)[:5])
    assert ownerless
    RunRecord.objects.filter(pk__in=ownerless).update(submitted_by=owners[0])
    call_command("sync_run_owners", stdout=io.StringIO())
    assert not AnalyticsDay.objects.filter(rolled_generation=F("generation")).exists()
    window = analytics.Window(now - timedelta(days=30), now)
    scope = RunScope.owned_by(str(owners[0].pk))
    assert selectors.analytics_rolled(scope=scope, since=window.since, until=window.until,
                                      endpoint="agents", now=now) is None
    rollups.rollups_refresh(now=now)
    assert _agree(window, scope, now=now) >= DAYS_BACK - 1


def _merged(section: str, parts: list[Any]) -> Any:
    """The merge of `parts`, in an order of its own: durations sorted, rows sorted by their
    non-float values (a float sum differs by the order of its additions only)."""
    def norm(value: Any, key: str = "") -> Any:
        if key == "durations":
            return sorted(v for run in rollup.sorted_runs(value) for v in run)
        if isinstance(value, dict):
            return {k: norm(v, k) for k, v in value.items()}
        if isinstance(value, list):
            rows = [norm(v) for v in value]
            return sorted(rows, key=lambda r: repr([x for x in r if not isinstance(x, float)])
                          if isinstance(r, list) else repr(r))
        return value

    return norm(rollup.merge(section, parts))


def test_pooled_parts_are_the_owner_parts_merged(mixed: datetime, owners: list[Any]) -> None:
    """A window read of every run reads the ranges its rollups do not cover pooled over the
    owners (POOLED_PARTS: one part per day, owner None); each day's pooled part is the day's
    per-owner parts (what the rollup job reads) merged, in every section."""
    now = mixed
    common: dict[str, Any] = {
        "driver": get_driver(), "database": database(), "scope": RunScope.every_run(),
        "ranges": [(now - timedelta(days=DAYS_BACK + 1), now + timedelta(hours=1))],
        "sections": rollup.SECTIONS}
    per_owner = analytics.read_parts(**common)
    pooled = analytics.read_parts(**common, pooled=True)
    assert {owner for _, owner in pooled} == {None}
    assert len({owner for _, owner in per_owner}) == len(owners) + 1  # and runs of no owner
    days = {day for day, _ in per_owner}
    assert {day for day, _ in pooled} == days and len(days) >= DAYS_BACK
    for day in days:
        for section in rollup.SECTIONS:
            owned = [p[section] for (d, _), p in per_owner.items() if d == day and section in p]
            one = [pooled[(day, None)][section]] if section in pooled[(day, None)] else []
            _same(_merged(section, one), _merged(section, owned), f"{day} {section}")
