"""Unit tests for the RecipeEngineer: product picking, modifiers, renormalisation, errors."""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import Recipe
from orchestration.agents import (
    AgentContext,
    RecipeEngineer,
    RequestNotUnderstood,
    TooManyIngredients,
)

MakeContext = Callable[..., AgentContext]


def _percentages(recipe: Recipe) -> dict[str, float]:
    return {i.id: i.percentage for i in recipe.ingredients}


@pytest.mark.parametrize(("text", "slug"), [
    ("lemon vinaigrette, 5 kg", "lemon-vinaigrette"),
    ("shampoo for dry hair", "shampoo"),
    ("MAYO", "mayonnaise"),
    ("Houmous, 2 kg please", "hummus"),
    ("crème de BBQ sauce 🍖 5kg", "bbq-sauce"),
    ("a hand lotion", "hand-cream"),
    ("body lotion", "moisturizing-lotion"),
    ("sunscreen-free face serum", "face-serum"),
    ("Toothpaste (mint) 10 lb", "toothpaste"),
])
def test_picks_product_by_keywords(make_context: MakeContext, text: str, slug: str) -> None:
    """The product whose keyword matches best is picked, whatever the case, accents or extras."""
    recipe = RecipeEngineer().run(make_context(text))

    assert recipe.metadata["product"] == slug
    assert recipe.metadata["matchedKeywords"]


def test_unknown_request_names_user_request(make_context: MakeContext) -> None:
    """A request naming no product raises RequestNotUnderstood naming userRequest and products."""
    with pytest.raises(RequestNotUnderstood) as caught:
        RecipeEngineer().run(make_context("chocolate cake for twelve"))

    assert str(caught.value).startswith("userRequest: 'chocolate cake for twelve' names no product")
    assert "lemon vinaigrette" in str(caught.value)
    assert caught.value.field == "userRequest"


@settings(max_examples=150, deadline=None)
@given(st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=60)
       .filter(lambda s: s.strip()))
def test_any_text_gives_recipe_or_not_understood(make_context: MakeContext, text: str) -> None:
    """Any text, in any script, gives a recipe totalling 100 or RequestNotUnderstood."""
    try:
        recipe = RecipeEngineer().run(make_context(text))
    except RequestNotUnderstood:
        return
    assert recipe.total_percentage == 100.0


def test_extra_scales_up_and_renormalises(make_context: MakeContext) -> None:
    """'extra lemon' takes lemon juice x1.5; every share is renormalised to 2 decimals."""
    recipe = RecipeEngineer().run(make_context("lemon vinaigrette with extra lemon"))

    # weights 60, 30, 8, 5, 4, 1.5, 1, 0.5 over 110
    assert _percentages(recipe) == {
        "ing-olive-oil": 54.55, "ing-lemon-juice": 27.27, "ing-white-wine-vinegar": 7.27,
        "ing-dijon-mustard": 4.55, "ing-honey": 3.64, "ing-salt": 1.36, "ing-garlic": 0.91,
        "ing-black-pepper": 0.45,
    }
    assert recipe.name == "Lemon vinaigrette (adapted)"
    assert recipe.metadata["adaptations"] == [
        {"action": "increase", "ingredientId": "ing-lemon-juice", "modifier": "extra"}]


def test_no_removes_and_residue_goes_to_largest(make_context: MakeContext) -> None:
    """'no garlic' removes garlic; the 0.01 rounding residue is taken from the largest share."""
    recipe = RecipeEngineer().run(make_context("pesto, no garlic"))

    # 38, 30, 15, 12, 1.5, 0.5 over 97 round to 39.18 + 30.93 + 15.46 + 12.37 + 1.55 + 0.52 = 100.01
    assert _percentages(recipe) == {
        "ing-olive-oil": 39.17, "ing-basil": 30.93, "ing-parmesan": 15.46, "ing-pine-nuts": 12.37,
        "ing-salt": 1.55, "ing-lemon-juice": 0.52,
    }
    assert math.fsum(_percentages(recipe).values()) == pytest.approx(100, abs=1e-9)


def test_less_and_free_modifiers(make_context: MakeContext) -> None:
    """'less salt' halves salt and 'fragrance-free' removes the fragrance."""
    base = _percentages(RecipeEngineer().run(make_context("body wash")))
    recipe = RecipeEngineer().run(make_context("fragrance-free body wash with less salt"))
    adapted = _percentages(recipe)

    assert "ing-fragrance" not in adapted
    assert adapted["ing-salt"] == pytest.approx(base["ing-salt"] / 2 / 0.984, abs=0.01)
    assert all(round(p, 2) == p for p in adapted.values())
    assert math.fsum(adapted.values()) == pytest.approx(100, abs=1e-9)
    assert [a["action"] for a in recipe.metadata["adaptations"]] == ["remove", "decrease"]


def test_with_adds_only_same_domain_ingredients(make_context: MakeContext) -> None:
    """'with paprika' adds paprika to hummus; a food ingredient is not added to a shampoo."""
    hummus = RecipeEngineer().run(make_context("hummus with paprika"))
    shampoo = RecipeEngineer().run(make_context("shampoo with garlic"))

    added = next(i for i in hummus.ingredients if i.id == "ing-smoked-paprika")
    assert (added.percentage, added.function, added.category) == (1.96, "spice", "spice")
    assert hummus.total_percentage == 100.0
    assert "ing-garlic" not in _percentages(shampoo)
    assert shampoo.metadata["adaptations"] == []


def test_too_many_ingredients(make_context: MakeContext) -> None:
    """Adding a 21st ingredient raises TooManyIngredients naming recipe.ingredients."""
    with pytest.raises(TooManyIngredients) as caught:
        RecipeEngineer().run(make_context("bbq sauce with lemon"))

    assert str(caught.value).startswith(
        "recipe.ingredients: 21 ingredients, the limit is 20 (design section 7)")


def test_removing_every_ingredient_is_not_understood(make_context: MakeContext) -> None:
    """A request that removes every ingredient raises RequestNotUnderstood, not a crash."""
    text = "lip balm no beeswax no shea no coconut no almond no castor no vitamin e no mint"
    with pytest.raises(RequestNotUnderstood, match="removes every ingredient of Lip balm"):
        RecipeEngineer().run(make_context(text))


def test_recipe_id_is_deterministic(make_context: MakeContext) -> None:
    """The recipe id is recipe-<slug>-<8 hex>, the same for the same recipe, new when adapted."""
    first = RecipeEngineer().run(make_context("lemon vinaigrette"))
    again = RecipeEngineer().run(make_context("Lemon Vinaigrette, 20 kg"))
    adapted = RecipeEngineer().run(make_context("lemon vinaigrette, extra lemon"))

    assert re.fullmatch(r"recipe-lemon-vinaigrette-[0-9a-f]{8}", first.id)
    assert first.id == again.id
    assert adapted.id != first.id
    assert first.metadata["domain"] == "food"
