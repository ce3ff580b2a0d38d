"""Unit tests for the reference product catalogue and its default density and cost maps."""

from __future__ import annotations

import math
import re

import pytest

from contracts import MAX_INGREDIENTS
from orchestration.agents.catalogue import COST_PER_KG, DENSITY, INGREDIENTS, PRODUCTS, Product


def _slug(product: Product) -> str:
    return product.slug


@pytest.mark.parametrize("product", PRODUCTS, ids=_slug)
def test_product_percentages_total_100(product: Product) -> None:
    """Every product's percentages have at most 2 decimals and total exactly 100."""
    percentages = [line.percentage for line in product.formula]
    assert all(round(p, 2) == p and p > 0 for p in percentages)
    assert abs(math.fsum(percentages) - 100) < 1e-9


@pytest.mark.parametrize("product", PRODUCTS, ids=_slug)
def test_product_respects_ingredient_cap(product: Product) -> None:
    """Every product lists at most 20 distinct catalogue ingredients."""
    ids = [line.ingredient_id for line in product.formula]
    assert len(ids) <= MAX_INGREDIENTS
    assert len(set(ids)) == len(ids)
    assert set(ids) <= set(INGREDIENTS)


def test_catalogue_covers_food_and_personal_care() -> None:
    """At least 12 products with unique slugs, at least 6 in each domain."""
    assert len(PRODUCTS) >= 12
    assert len({p.slug for p in PRODUCTS}) == len(PRODUCTS)
    for domain in ("food", "personal_care"):
        assert sum(p.domain == domain for p in PRODUCTS) >= 6


def test_shared_ingredients_keep_one_id() -> None:
    """Water, salt and citric acid are one ingredient id each, used by both domains."""
    for iid in ("ing-water", "ing-salt", "ing-citric-acid"):
        domains = {p.domain for p in PRODUCTS for line in p.formula if line.ingredient_id == iid}
        assert domains == {"food", "personal_care"}


def test_ingredient_ids_are_stable_slugs() -> None:
    """Ingredient ids look like ing-olive-oil and every ingredient has a name and category."""
    for iid, ingredient in INGREDIENTS.items():
        assert re.fullmatch(r"ing-[a-z0-9]+(-[a-z0-9]+)*", iid)
        assert ingredient.id == iid and ingredient.name and ingredient.category


def test_default_maps_cover_every_ingredient_read_only() -> None:
    """The default density and cost maps give a positive value for every ingredient, read-only."""
    assert set(DENSITY) == set(COST_PER_KG) == set(INGREDIENTS)
    assert all(v > 0 for v in (*DENSITY.values(), *COST_PER_KG.values()))
    with pytest.raises(TypeError):
        DENSITY["ing-water"] = 2.0  # type: ignore[index]
