"""The pure parts of retrieval by composition (graphstore/similarity.py): the score, the reasons
of a hit, the parser of ingredient/function/percentage mentions, rank fusion, collapsing."""

from __future__ import annotations

import pytest

from graphstore.similarity import (
    W_CATEGORY,
    W_FUNCTION,
    W_SHARED,
    Line,
    Vocabulary,
    collapse,
    composition_score,
    explain,
    fuse,
    identity_key,
    log_ratio_similarity,
    parse_mentions,
    stem,
)

VINAIGRETTE = (Line("ing-olive-oil", "Olive oil", 60.0, "oil phase", "oil"),
               Line("ing-lemon-juice", "Lemon juice", 25.0, "acidulant", "acid"),
               Line("ing-dijon-mustard", "Dijon mustard", 10.0, "emulsifier", "condiment"),
               Line("ing-salt", "Salt", 5.0, "seasoning", "mineral"))
# Olive oil replaced by sunflower oil (same function and category), more lemon, less salt.
VARIANT = (Line("ing-sunflower-oil", "Sunflower oil", 55.0, "oil phase", "oil"),
           Line("ing-lemon-juice", "Lemon juice", 32.0, "acidulant", "acid"),
           Line("ing-dijon-mustard", "Dijon mustard", 10.0, "emulsifier", "condiment"),
           Line("ing-salt", "Salt", 3.0, "seasoning", "mineral"))
LOTION = (Line("ing-water", "Water", 75.0, "solvent", "water"),
          Line("ing-glycerin", "Glycerin", 20.0, "humectant", "polyol"),
          Line("ing-salt", "Salt", 5.0, "thickener", "mineral"))

VOCAB = Vocabulary(
    {"ing-olive-oil": "Olive oil", "ing-sunflower-oil": "Sunflower oil",
     "ing-dijon-mustard": "Dijon mustard", "ing-lemon-juice": "Lemon juice",
     "ing-egg-yolk": "Egg yolk"},
    frozenset({"emulsifier", "oil phase", "acidulant"}), frozenset({"oil", "acid"}))


def test_score_counts_shared_mass_then_roles():
    """Shared ingredients count min(pct) each; a substitute counts through function and
    category only; the total weighs them 1, 0.5, 0.25."""
    s = composition_score(VINAIGRETTE, VARIANT)
    assert s.shared == pytest.approx(25.0 + 10.0 + 3.0)
    assert s.function == pytest.approx(55.0 + 25.0 + 10.0 + 3.0)
    assert s.category == pytest.approx(55.0 + 25.0 + 10.0 + 3.0)
    assert s.total == pytest.approx((W_SHARED * 38 + W_FUNCTION * 93 + W_CATEGORY * 93) / 100)


def test_identical_compositions_score_highest_and_unrelated_lowest():
    """A recipe scores itself above a variant, the variant above an unrelated recipe."""
    same = composition_score(VINAIGRETTE, VINAIGRETTE).total
    variant = composition_score(VINAIGRETTE, VARIANT).total
    unrelated = composition_score(VINAIGRETTE, LOTION).total
    assert same == pytest.approx(1.75)
    assert same > variant > unrelated > 0


def test_scale_similarity_is_symmetric_in_ratio():
    """Equal batches give 1, a factor e gives 0.5 either way, a missing one 0."""
    assert log_ratio_similarity(5, 5) == 1.0
    assert log_ratio_similarity(1, 2.718281828) == pytest.approx(0.5)
    assert log_ratio_similarity(2.718281828, 1) == pytest.approx(0.5)
    assert log_ratio_similarity(None, 5) == 0.0


def test_reasons_put_both_percentages_side_by_side_and_find_the_substitute():
    """The shared ingredients carry both percentages (largest common share first); olive oil ->
    sunflower oil is a substitute by function; nothing is left unexplained."""
    reasons = explain(VINAIGRETTE, VARIANT)
    assert [(s.id, s.query_percentage, s.hit_percentage) for s in reasons.shared] == [
        ("ing-lemon-juice", 25.0, 32.0), ("ing-dijon-mustard", 10.0, 10.0),
        ("ing-salt", 5.0, 3.0)]
    assert reasons.shared_percentage == pytest.approx(38.0)
    assert [(s.role, s.query.id, s.hit.id) for s in reasons.substitutes] == [
        ("function: oil phase", "ing-olive-oil", "ing-sunflower-oil")]
    assert reasons.only_in_query == () and reasons.only_in_hit == ()
    assert "Olive oil -> Sunflower oil" in reasons.summary()


def test_reasons_name_what_only_one_side_has():
    """Ingredients without a counterpart are listed on their side."""
    reasons = explain(VINAIGRETTE, LOTION)
    assert [s.id for s in reasons.shared] == ["ing-salt"]
    assert {x.id for x in reasons.only_in_hit} == {"ing-water", "ing-glycerin"}
    assert "ing-olive-oil" in {x.id for x in reasons.only_in_query}


@pytest.mark.parametrize(("text", "expected"), [
    ("an emulsified dressing with 60 % oil and mustard", [
        ("emulsified", None, (), ("emulsifier",), ()),
        ("oil", 60.0, ("ing-olive-oil", "ing-sunflower-oil"), (), ("oil",)),
        ("mustard", None, ("ing-dijon-mustard",), (), ())]),
    ("olive oil 55%, lemon juice 20 %", [
        ("olive oil", 55.0, ("ing-olive-oil",), (), ()),
        ("lemon juice", 20.0, ("ing-lemon-juice",), (), ())]),
    ("Emulsifiers", [("emulsifiers", None, (), ("emulsifier",), ())]),
    ("60,5% sunflower oil; egg yolk 8 percent", [
        ("sunflower oil", 60.5, ("ing-sunflower-oil",), (), ()),
        ("egg yolk", 8.0, ("ing-egg-yolk",), (), ())]),
    ("an oil phase of 70%", [("oil phase", 70.0, (), ("oil phase",), ())]),
    ("lemon vinaigrette", [("lemon", None, ("ing-lemon-juice",), (), ())]),
    ("shampoo for dry hair", []),
    ("150 % oil", [("oil", None, ("ing-olive-oil", "ing-sunflower-oil"), (), ("oil",))]),
    ("", []),
])
def test_parse_mentions(text, expected):
    """Ingredients by a word of their name or the whole name, functions and categories by their
    word (stemmed), each with the percentage of its segment; a percentage over 100 is none."""
    got = [(m.text, m.percentage, m.ingredient_ids, m.functions, m.categories)
           for m in parse_mentions(text, VOCAB)]
    assert got == expected


def test_parse_mentions_never_needs_syntax():
    """Lucene or Cypher syntax in the words is only text: no mention, no error."""
    assert parse_mentions("') MATCH (n) DETACH DELETE n //", VOCAB) == []
    assert len(parse_mentions(" oil," * 100, VOCAB)) <= 16


def test_stem_meets_word_forms():
    """The crude stemmer joins the forms a chemist writes."""
    assert stem("emulsified") == stem("emulsifier") == stem("emulsifiers")
    assert stem("oils") == "oil"


def test_fuse_is_reciprocal_rank():
    """A run ranked well by two signals beats one ranked first by one; weights scale a
    signal; each hit says its rank per signal."""
    fused = fuse({"a": ["x", "y", "z"], "b": ["y", "x"]}, k=60)
    assert [f.key for f in fused] == ["x", "y", "z"]  # x and y tie; the key breaks the tie
    assert fused[0].score == pytest.approx(1 / 61 + 1 / 62)
    weighted = fuse({"a": ["x"], "b": ["y"]}, weights={"a": 1.0, "b": 0.5})
    assert [f.key for f in weighted] == ["x", "y"]
    assert weighted[1].ranks == {"b": 1}


def test_collapse_keeps_the_best_of_identical_runs():
    """Runs with the same recipe content, batch and unit fold into the best-ranked one; a
    different batch is another hit; a run without a recipe is only itself."""
    rows = [("r1", "c1", 5.0, "kg"), ("r2", "c2", 5.0, "kg"), ("r3", "c1", 5.0, "kg"),
            ("r4", "c1", 20.0, "kg"), ("r5", None, None, None), ("r6", None, None, None)]
    keys = [(run, identity_key(rv, batch, unit, run)) for run, rv, batch, unit in rows]
    assert collapse(keys) == [("r1", ["r3"]), ("r2", []), ("r4", []), ("r5", []), ("r6", [])]
