"""orchestration.web.presenters: ledger rows and runs -> template context, without Django."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from contracts import STAGE_NAMES
from orchestration.web import presenters
from tools.synthetic import make_run

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _record(**fields: Any) -> SimpleNamespace:
    base = {"run_id": "run-1", "status": "running", "failed_agent": "", "error": "",
            "persist_error": "", "request": {"userRequest": "lemonade", "targetBatchSize": 5,
                                             "targetUnit": "kg"}, "stages": {}}
    return SimpleNamespace(**{**base, **fields})


def test_presenters_import_no_framework() -> None:
    """Importing the presenters loads neither django, neo4j, celery nor redis."""
    code = ("import sys, orchestration.web.presenters; "
            "bad = {'django', 'neo4j', 'celery', 'redis'} & {m.split('.')[0] for m in sys.modules};"
            " sys.exit(sorted(bad) or 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr


def test_fmt_rounds_numbers_for_reading() -> None:
    """fmt writes whole numbers with separators, money with 2 decimals, booleans and None as
    words."""
    assert presenters.fmt(1234.0) == "1,234"
    assert presenters.fmt(1234.5) == "1,234.5"
    assert presenters.fmt(0.123456) == "0.1235"
    assert presenters.fmt(3, money=True) == "3.00"
    assert (presenters.fmt(True), presenters.fmt(None)) == ("yes", "—")
    assert presenters.fmt({"b": 1, "a": 2}) == '{"a": 2, "b": 1}'


def test_humanize_uses_labels_then_splits_camel_case() -> None:
    """humanize prefers the fixed labels and otherwise splits camelCase into a sentence."""
    assert presenters.humanize("scaledQuantity") == "Quantity"
    assert presenters.humanize("lossPercentage") == "Loss percentage"
    assert presenters.humanize("target_unit") == "Target unit"


def test_theme_accent_accepts_only_hex_colours() -> None:
    """The accent is the uiConfig's hex colour, or the default for anything else."""
    run = make_run(1, now=NOW)
    run.ui_config.theme["accent"] = "#abc"
    assert presenters.theme_accent(run) == "#abc"
    run.ui_config.theme["accent"] = "red;background:url(x)"
    assert presenters.theme_accent(run) == "#344054"
    assert presenters.theme_accent(None) == "#344054"


def test_stage_rows_list_every_stage_in_pipeline_order() -> None:
    """stage_rows gives one numbered row per stage, pending when the ledger has nothing yet."""
    rows = presenters.stage_rows({"ScalingCalculator": {"status": "succeeded",
                                                        "durationMs": 12.0, "memoryMb": 1.5}})
    assert [r["agent"] for r in rows] == list(STAGE_NAMES)
    assert [r["number"] for r in rows] == list(range(1, len(STAGE_NAMES) + 1))
    second = rows[STAGE_NAMES.index("ScalingCalculator")]
    assert (second["status"], second["duration"], second["memory"]) == (
        "succeeded", "12 ms", "1.5 MB")
    assert rows[0]["status"] == "pending" and rows[0]["duration"] == ""


def test_request_view_sorts_the_maps() -> None:
    """request_view shows the request's text, size and unit, and its maps sorted by key."""
    view = presenters.request_view({"userRequest": "x", "targetBatchSize": 2.5,
                                    "targetUnit": "l", "context": {"costMap": {"b": 2, "a": 1}}})
    assert (view["text"], view["size"], view["unit"]) == ("x", "2.5", "l")
    assert view["cost_map"] == [("a", "1"), ("b", "2")] and view["density_map"] == []


def test_failure_names_the_failed_stage_and_its_error() -> None:
    """failure_of names the failed agent and its error, from the ledger or else the run."""
    run = make_run(2, now=NOW, status="failed", failed_agent="QAValidator")
    failure = presenters.failure_of(_record(status="failed"), run)
    assert failure == {"agent": "QAValidator", "error": "QAValidator failed: synthetic failure",
                       "plain": "Synthetic failure"}
    assert presenters.failure_of(_record(status="succeeded"), make_run(3, now=NOW)) is None


def test_failure_of_a_refused_write_blames_persistence() -> None:
    """A failed run without a failed agent is the persistence step's, with the write's error."""
    failure = presenters.failure_of(_record(status="failed", persist_error="taken"), None)
    assert failure == {"agent": "the persistence step", "error": "taken", "plain": "Taken"}


def test_result_blocks_show_what_the_ui_config_leaves_out() -> None:
    """A run without a uiConfig still shows its artifacts, as blocks marked `added`."""
    run = make_run(4, now=NOW, status="failed", failed_agent="QAValidator")
    blocks = [b for row in presenters.result_blocks(run) for b in row]
    # the agent timeline is the page's waterfall, not a block
    assert {b["covers"] for b in blocks} == {"ingredients", "scaled", "costs"}
    assert all(b["added"] for b in blocks)


def test_result_blocks_follow_the_ui_config_first() -> None:
    """The uiConfig's components come first, in its rows; only the uncovered parts are added."""
    run = make_run(5, now=NOW)
    rows = presenters.result_blocks(run)
    first = rows[0][0]
    assert "added" not in first and first["width"] == run.ui_config.components[0].position.width
    covered = [b["covers"] for row in rows for b in row]
    assert len(covered) == len(set(covered))


def test_run_page_context_of_a_finished_run() -> None:
    """run_page puts the record, its result, the blocks and the failure into one context."""
    run = make_run(6, now=NOW)
    record = _record(status="succeeded", stages={"RecipeEngineer": {"status": "succeeded"}})
    copy = SimpleNamespace(run=run, source="neo4j", note="")
    history = SimpleNamespace(replay_of="", diff=None, note="", replays=[])
    context = presenters.run_page(record, copy, history)
    assert context["finished"] and context["run"] is run and context["failure"] is None
    assert context["blocks"] and context["history"] is history
    assert context["stages"][0]["status"] == "succeeded" and context["condensed"] is None


def test_run_page_context_while_the_run_is_going() -> None:
    """Before a result exists the context has no run, no blocks and is not finished."""
    context = presenters.run_page(_record(), None, SimpleNamespace())
    assert not context["finished"] and context["run"] is None and context["blocks"] == []


def test_ingredient_tables_show_the_ids_even_when_the_ui_config_leaves_them_out() -> None:
    """The recipe and the scaled-quantities tables have an "Ingredient id" column after the name
    (rendered as code) with each ingredient's id, whether the run's uiConfig lists that column
    or not (runs written before it did); a table of something else gets none."""
    run = make_run(7, now=NOW)
    assert run.ui_config is not None and run.recipe is not None
    old_style = run.ui_config.model_copy(update={"components": [
        c.model_copy(update={"config": {**c.config, "columns": [
            col for col in c.config.get("columns", []) if col not in ("id", "ingredientId")]}})
        for c in run.ui_config.components]})
    ids = [i.id for i in run.recipe.ingredients]
    for shown in (run, run.model_copy(update={"ui_config": old_style}),
                  run.model_copy(update={"ui_config": None})):
        tables = {b["covers"]: b for row in presenters.result_blocks(shown) for b in row
                  if b["kind"] == "table"}
        for covers in ("ingredients", "scaled"):
            labels = [h["label"] for h in tables[covers]["headers"]]
            at = labels.index("Ingredient id")
            assert labels[at - 1] == "Name"
            assert [r[at]["text"] for r in tables[covers]["rows"]] == ids
            assert all(r[at]["code"] for r in tables[covers]["rows"])
    other = presenters.table_block("Other", [{"id": "x", "name": "y"}], None, None, "")
    assert [h["label"] for h in other["headers"]] == ["Id", "Name"]


def test_ingredients_without_a_cost_are_named_with_their_ids() -> None:
    """The costs block lists each ingredient without a cost as "Name (id)"."""
    run = make_run(8, now=NOW)
    assert run.calculation is not None and run.recipe is not None
    first = run.recipe.ingredients[0]
    costs = run.calculation.costs.to_wire()
    block = presenters.costs_block("Costs", {"costs": {**costs, "missing": [first.id, "ing-gone"]}},
                                   run)
    assert block["missing"] == [f"{first.name} ({first.id})", "ing-gone"]
