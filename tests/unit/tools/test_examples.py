"""The bundled example runs are what the reference agents produce, and valid contract runs."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command

from contracts import parse_run_results_document
from graphstore.mapper import map_run_to_graph

ROOT = Path(__file__).resolve().parents[3]


def test_examples_match_the_generator(tmp_path: Path):
    """examples/runs.jsonl is exactly what `generate_examples` writes today (no drift)."""
    out = tmp_path / "runs.jsonl"
    call_command("generate_examples", "--out", str(out), stdout=io.StringIO())
    assert out.read_text("utf-8") == (ROOT / "examples" / "runs.jsonl").read_text("utf-8")


def test_examples_cover_success_failure_and_blob_offload():
    """One succeeded run, one failed at RecipeEngineer, one large enough for the blob store."""
    runs = {r.run_id: r for r in parse_run_results_document(
        (ROOT / "examples" / "runs.jsonl").read_text("utf-8"))}
    assert runs["run-example-lemon-vinaigrette"].metadata.status == "succeeded"
    failed = runs["run-example-not-understood"]
    assert failed.metadata.failed_agent == "RecipeEngineer" and failed.recipe is None
    assert map_run_to_graph(runs["run-example-shampoo-large-graph"]).blob is not None


@pytest.mark.django_db
def test_migrations_match_the_models():
    """Every model change has its migration (makemigrations --check finds nothing to do)."""
    call_command("makemigrations", "--check", "--dry-run", stdout=io.StringIO())
