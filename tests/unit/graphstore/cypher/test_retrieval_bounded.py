"""Retrieval's bounded statements (issue 13): they score a candidate with the exact statement's
own text, differ from it only in how candidates are found (the vector index's nearest runs;
a newest-first walk over the started-at index), and come in both scopes."""

from __future__ import annotations

import pytest
from django.conf import settings

from graphstore import retrieval as store
from graphstore.cypher import retrieval
from graphstore.schema import VECTOR_INDEX

OWNER_FILTERS = (
    "WHERE EXISTS { MATCH (rv)<-[:USED_RECIPE]-(x:OrchestrationRun) WHERE x.ownerId = $ownerId }\n",
    " AND r.ownerId = $ownerId", " AND n.ownerId = $ownerId", "r.ownerId DESC, ")
BOUNDED = {"COMPOSITION_NEIGHBOURS": (retrieval.COMPOSITION_NEIGHBOURS,
                                      retrieval.COMPOSITION_NEIGHBOURS_BOUNDED),
           "SIMILAR_RUNS": (retrieval.SIMILAR_RUNS, retrieval.SIMILAR_RUNS_BOUNDED)}


@pytest.mark.parametrize("scope", ["all", "owned"])
def test_bounded_composition_scores_with_the_exact_text(scope):
    """Everything after the candidate recipes is the same text in both statements, and the
    bounded one finds its candidates through the vector index, $neighbours of them."""
    exact = retrieval.COMPOSITION_NEIGHBOURS[scope]
    bounded = retrieval.COMPOSITION_NEIGHBOURS_BOUNDED[scope]
    split = "WITH r0, c0, mine, myFns, myCats, rv\n"
    assert exact.split(split)[1] == bounded.split(split)[1]
    assert (f"CALL db.index.vector.queryNodes('{VECTOR_INDEX.name}', $neighbours, "
            "r0.embedding)") in bounded
    assert "queryNodes" not in exact
    # the exact path scores every candidate recipe: no cut before runs are ranked
    assert exact.count("LIMIT") == 1 and exact.rstrip().endswith("LIMIT $limit")


@pytest.mark.parametrize("scope", ["all", "owned"])
def test_bounded_full_text_ranks_with_the_exact_text(scope):
    """Both full-text statements rank and return with the same text; the bounded one walks
    the scope's runs newest first, at most $scan, taking at most $fanout."""
    exact = retrieval.SIMILAR_RUNS[scope]
    bounded = retrieval.SIMILAR_RUNS_BOUNDED[scope]
    split = "ORDER BY total DESC, r.startedAt DESC, r.runId\n"
    assert exact.split(split)[1] == bounded.split(split)[1]
    assert "r.startedAt DESC LIMIT $scan" in bounded
    assert "RETURN r LIMIT $fanout" in bounded


@pytest.mark.parametrize("name", sorted(BOUNDED))
def test_bounded_statements_come_in_both_scopes(name):
    """The "all" text names no owner; the "owned" one differs from it only by its owner
    filters, each on $ownerId."""
    for variants in BOUNDED[name]:
        assert set(variants) == {"all", "owned"}
        assert "ownerId" not in variants["all"]
        owned = variants["owned"]
        for fragment in OWNER_FILTERS:
            owned = owned.replace(fragment, "")
        assert owned == variants["all"]


def test_the_settings_default_to_the_graph_stores_bounds():
    """CAP01_SIMILAR_CANDIDATES and CAP01_FULLTEXT_FANOUT default to the graph store's own
    defaults (the values its functions take when called directly)."""
    assert settings.CAP01_SIMILAR_CANDIDATES == store.SIMILAR_CANDIDATES > 0
    assert settings.CAP01_FULLTEXT_FANOUT == store.FULLTEXT_FANOUT > 0


@pytest.mark.parametrize("scope", ["all", "owned"])
def test_bounded_full_text_meets_the_heavy_hits_by_grouping_not_by_scanning(scope):
    """A candidate's own request, recipe and ingredients meet the heavy hits through one
    aggregation grouped by the node (a hash join), never through a list comprehension over the
    hits per row (quadratic: 2,000 hits x 2,400 rows at 100,000 runs)."""
    bounded = retrieval.SIMILAR_RUNS_BOUNDED[scope]
    assert "WHERE x.node = node" not in bounded
    assert "[x IN heavy WHERE" not in bounded
    assert "WITH node, collect(r) AS reached, collect(score) AS scores," in bounded


@pytest.mark.parametrize("name", ["SIMILAR_RUNS", "SIMILAR_RUNS_BOUNDED", "COMPOSITION_NEIGHBOURS",
                                  "COMPOSITION_NEIGHBOURS_BOUNDED", "VECTOR_NEIGHBOURS",
                                  "VECTOR_SEARCH", "TEXT_COMPOSITION"])
def test_the_validation_check_comes_after_the_property_filters(name):
    """Every kept-run filter wraps its validation EXISTS in coalesce(), which the planner
    evaluates after the property filters instead of a SemiApply before them."""
    for text in getattr(retrieval, name).values():
        assert "PRODUCED_VALIDATION" in text
        assert text.count("AND EXISTS { MATCH") == 0
        assert text.count("coalesce(EXISTS { MATCH") == text.count("PRODUCED_VALIDATION")
