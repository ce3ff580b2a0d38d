"""Query plans of the hot statements (issue 13) on a seeded graph: every statement that starts
from a run, an owner, a window or a key reaches it through an index (no label or all-nodes
scan), a point read's database hits do not grow with the graph, a window's grow with the
runs in it only (bounded hits per run), and retrieval's bounded statements (the vector index's
nearest runs, the newest-first walk) stay within their bounds when the graph triples."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model

from graphstore.connection import database, get_blob_store, get_driver
from graphstore.cypher import admin, analytics, blob_gc, read, retention, retrieval
from graphstore.scope import ALL, OWNED
from tools.scale_fill import bulk_write
from tools.scale_mix import build, plan

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
DB = settings.NEO4J_DATABASE
ANCHOR = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
SCANS = {"AllNodesScan", "NodeByLabelScan", "DirectedRelationshipTypeScan",
         "UndirectedRelationshipTypeScan", "DirectedAllRelationshipsScan",
         "UndirectedAllRelationshipsScan"}
PROBE = "scale-0000010"  # a succeeded run of the mix, in the first batch
WINDOW = {"since": ANCHOR - timedelta(days=30), "until": ANCHOR + timedelta(hours=1),
          "limit": 10, "recipe": None, "kind": "errors"}


def point_reads(owner: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """Statements that read one run or one key: their cost must not depend on the graph."""
    return {
        "LOAD_RUN": (read.LOAD_RUN, {"runId": PROBE}),
        "VERIFY_RUN": (read.VERIFY_RUN_WITH_CONDENSATION, {"runId": PROBE, **read.VERIFY_PARAMS}),
        "RUN_CONTEXT": (retrieval.RUN_CONTEXT, {"runId": PROBE}),
        "RUN_IDENTITIES": (retrieval.RUN_IDENTITIES, {"runIds": [PROBE]}),
        "IS_REFERENCED": (blob_gc.IS_REFERENCED, {"sha": "0" * 64}),
        "admin run -> invocations": (
            admin.RELATED[("OrchestrationRun", "HAS_AGENT_INVOCATION", "out")].expand,
            {"key": PROBE, "limit": 50}),
        "admin run <- request": (admin.RELATED[("OrchestrationRun", "TRIGGERED", "in")].expand,
                                 {"key": PROBE, "limit": 50}),
        "admin run degrees": (admin.DEGREES["OrchestrationRun"], {"key": PROBE}),
    }


def window_reads(owner: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """Statements over the runs of a window (every analytics figure, both scopes)."""
    out = {}
    for name in ("RUN_TOTALS", "AGENT_STATS", "BUDGET_BREACHES", "BUDGET_BREACHES_BY_DAY",
                 "TOP_INGREDIENTS", "COST_PER_RECIPE_DAY", "VALIDATION_TOTALS",
                 "VALIDATION_ISSUES"):
        for scope in (ALL, OWNED):
            out[f"{name}.{scope}"] = (getattr(analytics, name)[scope],
                                      {**WINDOW, "ownerId": owner})
    # the daily rollups' parts, over a list of ranges (graphstore/rollup.py)
    ranges = {"ranges": [{"since": WINDOW["since"], "until": WINDOW["until"] - timedelta(days=2)},
                         {"since": WINDOW["until"] - timedelta(days=1), "until": WINDOW["until"]}],
              "ownerId": owner, "kind": "errors"}
    parts = {**{f"PARTS[{section}]": variants for section, variants in analytics.PARTS.items()},
             "VALIDATION_TOTAL_PARTS": analytics.VALIDATION_TOTAL_PARTS,
             "VALIDATION_ISSUE_PARTS": analytics.VALIDATION_ISSUE_PARTS,
             # pooled over owners: a window read of every run (graphstore/analytics.py)
             **{f"POOLED_PARTS[{section}]": variants
                for section, variants in analytics.POOLED_PARTS.items()},
             "POOLED_VALIDATION_TOTAL_PARTS": analytics.POOLED_VALIDATION_TOTAL_PARTS,
             "POOLED_VALIDATION_ISSUE_PARTS": analytics.POOLED_VALIDATION_ISSUE_PARTS}
    for name, variants in parts.items():
        for scope in (ALL, OWNED):
            out[f"{name}.{scope}"] = (variants[scope], ranges)
    return out


def other_reads(owner: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """Index-driven statements whose cost grows with what they find (retention's candidates,
    full-text retrieval, the blob references)."""
    return {
        "CANDIDATES": (retention.CANDIDATES, {
            "cutoff": ANCHOR - timedelta(days=40), "afterStartedAt": retention.FLOOR,
            "afterRunId": "",
            "limit": 100, "active": retention.ACTIVE}),
        **{f"SIMILAR_RUNS.{scope}": (retrieval.SIMILAR_RUNS[scope], {
            "query": "lemon vinaigrette", "candidates": 50, "limit": 10, "wRequest": 1.0,
            "wRecipe": 1.0, "wIngredient": 0.5, "ownerId": owner}) for scope in (ALL, OWNED)},
        "REFERENCED": (blob_gc.REFERENCED, {}),
        "FIRST_RUN_STARTED": (analytics.FIRST_RUN_STARTED, {}),
    }


def admin_pages() -> dict[str, tuple[str, dict[str, Any]]]:
    """The graph browser's neighbour pages read in the other label's index order (a shared
    node's long lists: an Ingredient's recipes, a recipe's runs), first and later pages."""
    recipes = admin.RELATED[("Ingredient", "HAS_INGREDIENT", "in")]
    runs = admin.RELATED[("RecipeVersion", "USED_RECIPE", "in")]
    recipe = get_driver().execute_query(
        "MATCH (:OrchestrationRun {runId: $runId})-[:USED_RECIPE]->(rv) RETURN rv.checksum AS k",
        {"runId": PROBE}, database_=DB).records[0]["k"]
    return {
        "admin ingredient <- recipes (scan)": (recipes.scan, {"key": "ing-salt", "limit": 51}),
        "admin ingredient <- recipes (scan, after)": (
            recipes.scan_after, {"key": "ing-salt", "limit": 51, "after": ["0"]}),
        "admin recipe <- runs (scan)": (runs.scan, {"key": recipe, "limit": 51}),
        "admin recipe <- runs (scan, after)": (
            runs.scan_after, {"key": recipe, "limit": 51, "after": [ANCHOR, "scale-0000000"]}),
        # a label's node list, first and a later page (read in its index's order)
        "admin run list": (admin.LISTING["OrchestrationRun"], {"skip": 0, "limit": 50}),
        "admin run list, page 2": (admin.LISTING["OrchestrationRun"], {"skip": 50, "limit": 50}),
        "admin invocation list": (admin.LISTING["AgentInvocation"], {"skip": 0, "limit": 50}),
    }


WEIGHTS = {"wShared": 1.0, "wFunction": 0.5, "wCategory": 0.25, "wScale": 0.05, "wCost": 0.05}


def bounded_reads(owner: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """Retrieval's bounded statements (graphstore/retrieval.py): the vector index bounds the
    recipes composition scores; the started-at index walks the runs a shared full-text hit
    reaches. Their cost must not grow with the graph beyond their bounds."""
    return {
        **{f"COMPOSITION_NEIGHBOURS_BOUNDED.{scope}": (
            retrieval.COMPOSITION_NEIGHBOURS_BOUNDED[scope], {
                "runId": PROBE, "neighbours": 3, "limit": 10, **WEIGHTS, "ownerId": owner})
           for scope in (ALL, OWNED)},
        **{f"SIMILAR_RUNS_BOUNDED.{scope}": (retrieval.SIMILAR_RUNS_BOUNDED[scope], {
            "query": "lemon vinaigrette", "candidates": 50, "limit": 10, "wRequest": 1.0,
            "wRecipe": 1.0, "wIngredient": 0.5, "fanout": 1, "scan": 2, "ownerId": owner})
           for scope in (ALL, OWNED)},
    }


def _walk(plan_: Any) -> list[Any]:
    return [plan_, *(p for child in plan_.get("children", []) for p in _walk(child))]


def profile(text: str, params: dict[str, Any]) -> tuple[set[str], int, int]:
    """(operators, db hits, rows) of one PROFILE run."""
    with get_driver().session(database=database()) as session:
        result = session.run("PROFILE " + text, params)
        # every record fetched first: a PROFILE whose records are discarded past the first
        # batch (more than the fetch size: the parts statements) has no profile to give
        for _ in result:
            pass
        summary = result.consume()
    ops = _walk(summary.profile)
    return ({op["operatorType"].split("@")[0] for op in ops},
            sum(op.get("dbHits", 0) for op in ops), summary.profile.get("rows", 0))


def fill(start: int, stop: int, users: list[Any]) -> None:
    for lo in range(start, stop, 40):
        bulk_write([(build(plan(i, ANCHOR), ANCHOR), users[i % len(users)])
                    for i in range(lo, min(stop, lo + 40))],
                   driver=get_driver(), database=database(), blobs=get_blob_store(), now=ANCHOR)


def runs_in_window() -> int:
    return get_driver().execute_query(
        "MATCH (r:OrchestrationRun) WHERE r.startedAt >= $since AND r.startedAt < $until "
        "RETURN count(r) AS n", WINDOW, database_=DB).records[0]["n"]


def test_hot_statements_seek_and_their_cost_follows_what_they_read(graph, app_blob_dir):
    """No label or all-nodes scan in any hot read; point reads cost the same on a graph three
    times larger; window reads cost a bounded number of db hits per run in the window."""
    users = [get_user_model().objects.create(username=f"plan-{i}") for i in range(2)]
    owner = str(users[0].pk)
    fill(0, 80, users)
    statements = {**point_reads(owner), **window_reads(owner), **other_reads(owner),
                  **bounded_reads(owner)}
    small: dict[str, int] = {}
    for name, (text, params) in statements.items():
        ops, hits, _ = profile(text, params)
        assert not ops & SCANS, f"{name} scans: {sorted(ops & SCANS)}"
        assert ops & {"NodeUniqueIndexSeek", "NodeIndexSeek", "NodeIndexSeekByRange",
                      "NodeIndexScan", "ProcedureCall"}, f"{name}: no index in {sorted(ops)}"
        small[name] = hits
    for name, (text, params) in admin_pages().items():
        ops, _, rows = profile(text, params)
        assert not ops & SCANS, f"{name} scans: {sorted(ops & SCANS)}"
        assert any("Index" in op for op in ops), f"{name}: {sorted(ops)}"
        # the page comes in the index's order: nothing sorts all the neighbours
        assert not ops & {"Sort", "Top"}, f"{name} sorts: {sorted(ops)}"
        assert rows > 0, name
    fill(80, 240, users)
    in_window = runs_in_window()
    assert in_window > 60
    for name, (text, params) in point_reads(owner).items():
        _, hits, _ = profile(text, params)
        assert hits <= small[name] * 1.1 + 5, f"{name}: {small[name]} -> {hits} db hits"
    for name, (text, params) in window_reads(owner).items():
        _, hits, _ = profile(text, params)
        assert hits <= 150 * in_window, f"{name}: {hits} db hits for {in_window} runs"
    for name, (text, params) in bounded_reads(owner).items():
        _, hits, _ = profile(text, params)
        assert hits <= small[name] * 1.5 + 100, f"{name}: {small[name]} -> {hits} db hits"
