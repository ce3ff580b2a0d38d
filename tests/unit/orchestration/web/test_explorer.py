"""The run explorer's presentation (orchestration/web/explorer.py): pure, no services."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

from contracts import STAGE_NAMES
from orchestration.web import explorer
from tools.synthetic import make_run

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
BUDGETS = {name: (100.0, 50.0) for name in STAGE_NAMES} | {"Persistence": (450.0, 70.0)}


def test_the_module_is_pure() -> None:
    """Importing it loads neither django, neo4j nor celery."""
    code = ("import sys, orchestration.web.explorer; "
            "print(sorted(m for m in ('django', 'neo4j', 'celery') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_stages_after_a_failure_are_skipped_not_pending() -> None:
    """Pending stages of a failed run read "skipped"; of a live run, "pending"."""
    stages = {"RecipeEngineer": {"status": "succeeded"}, "ScalingCalculator": {"status": "failed"}}
    assert list(explorer.stage_statuses(stages, failed=True).values()) == [
        "succeeded", "failed", "skipped", "skipped", "skipped"]
    assert explorer.stage_statuses(stages, failed=False)["GraphBuilder"] == "pending"


def test_waterfall_offsets_add_up_and_the_write_parts_sit_inside_the_write() -> None:
    """Each additive segment starts where the previous ended; the write's parts start at the
    write's start and sum to it; bars are percentages of the whole."""
    spans = {"queue": 10.0, "stage:RecipeEngineer": 20.0, "handoff:ScalingCalculator": 5.0,
             "stage:ScalingCalculator": 15.0, "outbox": 0.0, "writeQueue": 30.0, "write": 20.0,
             "write:mapping": 5.0, "write:blob": 0.0, "write:database": 15.0, "ledger": 0.0}
    stages = {"RecipeEngineer": {"status": "succeeded"},
              "ScalingCalculator": {"status": "succeeded"}}
    wf = explorer.waterfall(segments=spans, run=None, stages=stages, failed=False,
                            budgets=BUDGETS)
    rows = {r["key"]: r for r in wf["rows"]}
    assert wf["scale_ms"] == 100.0
    assert rows["stage:RecipeEngineer"]["start_ms"] == 10.0
    assert rows["stage:ScalingCalculator"]["start_ms"] == 35.0
    assert rows["write"]["start_ms"] == 80.0 and rows["write"]["left"] == 80.0
    assert rows["write:mapping"]["start_ms"] == 80.0
    assert rows["write:database"]["start_ms"] == 85.0
    assert rows["stage:GraphBuilder"]["has_bar"] is False
    assert rows["stage:RecipeEngineer"]["budget"]["left"] == 100.0  # 10 + 100 clamped


def test_a_duration_breach_is_placed_where_the_budget_ran_out() -> None:
    """The marker of a stage over its time budget sits at the stage's start plus its budget."""
    run = make_run(1, now=NOW, ingredients=4)
    wire = run.to_wire()
    for entry in wire["agentHistory"]:
        entry["duration"] = 10.0
        if entry["agent"] == "GraphBuilder":
            entry.update(duration=40.0, budgetDurationMs=25.0, budgetBreaches=["duration"])
    run = type(run).model_validate(wire)
    spans = {"queue": 0.0, **{f"stage:{e.agent}": e.duration for e in run.agent_history}}
    wf = explorer.waterfall(segments=spans, run=run, stages={}, failed=False, budgets=BUDGETS)
    (row,) = wf["breaches"]
    assert row["agent"] == "GraphBuilder" and row["start_ms"] == 20.0
    assert row["breach"]["left"] == round((20.0 + 25.0) / wf["scale_ms"] * 100, 3)


def test_a_stage_envelope_holds_what_came_before_it() -> None:
    """The envelope QAValidator opened carries the recipe, calculation and graph and the three
    earlier history entries; its output is the validation and its own entry."""
    run = make_run(2, now=NOW, ingredients=4)
    parts = explorer.stage_parts(run, "QAValidator")
    assert parts is not None
    payload = parts["envelope"]["payload"]
    assert set(payload["artifacts"]) == {"recipe", "calculation", "graph"}
    assert len(payload["agentHistory"]) == 3
    assert set(parts["output"]) == {"validation", "agentHistoryEntry"}
    assert explorer.stage_parts(run, "Nobody") is None


def test_the_json_tree_escapes_and_collapses() -> None:
    """Keys and strings are escaped; containers are <details>, open to the given depth."""
    out = explorer.json_tree({"a": {"b": ["<script>"]}}, open_depth=1)
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert out.count("<details") == 3 and out.count("<details class=\"jn\" open>") == 1


def test_the_graph_picture_colours_ingredients_by_function() -> None:
    """Every node and edge is an element; ingredient nodes are grouped by their function."""
    run = make_run(3, now=NOW, ingredients=5)
    picture = explorer.graph_picture(run)
    assert picture is not None and run.graph is not None
    assert len(picture["elements"]) == len(run.graph.nodes) + len(run.graph.edges)
    functions = {i.function for i in run.recipe.ingredients}  # type: ignore[union-attr]
    groups = {e["data"]["group"] for e in picture["elements"] if e["data"].get("ingredientId")}
    assert groups <= functions | {"Ingredient"}


def test_closest_products_find_a_misspelt_product() -> None:
    """difflib over the catalogue's names and keywords puts the intended product first."""
    products = [("Mayonnaise", ["mayonnaise", "mayo"]), ("Hummus", ["hummus"]),
                ("Shampoo", ["shampoo"])]
    assert explorer.closest_products("mayonaise, less sugar", products)[0]["name"] == \
        "Mayonnaise"
    assert explorer.closest_products("shampo", products, limit=1) == [
        {"name": "Shampoo", "score": 0.92}]


def test_timing_rows_show_the_change() -> None:
    """Side-by-side timings carry B minus A with its sign, and B/A."""
    rows = explorer.timing_rows({"write": 40.0}, {"write": 60.0})
    assert rows == [{"key": "write", "label": "Neo4j write", "a": "40 ms", "b": "60 ms",
                     "delta": "+20 ms", "slower": True, "faster": False,
                     "ratio": "1.50×"}]


def test_plain_error_drops_the_agent_prefix_class_name_and_field_path() -> None:
    """The error in plain words: no "<Agent> failed:", exception class or field path first."""
    assert explorer.plain_error("GraphBuilder failed: boom", "GraphBuilder") == "Boom"
    assert explorer.plain_error("RequestNotUnderstood: userRequest: 'x' names no product",
                                "RecipeEngineer") == "'x' names no product"
