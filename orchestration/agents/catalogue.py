"""The reference product catalogue (catalogue.json): products, their formulas, ingredients.

Loaded once at import time into frozen dataclasses and read-only mappings, among them the
cached default density and cost maps of design section 7 (`DENSITY`, `COST_PER_KG`), which a
request's context.densityMap / context.costMap override.

PURE: reads its own package data; imports neither django, neo4j, celery nor the clock.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from types import MappingProxyType
from typing import Any, Literal

from .text import words

Domain = Literal["food", "personal_care"]


@dataclass(frozen=True)
class CatalogueIngredient:
    id: str
    name: str
    category: str
    density: float  # g/ml, as the ingredient occupies volume in the finished product
    cost: float  # USD per kg
    phrases: tuple[tuple[str, ...], ...]  # words of the name and of each alias


@dataclass(frozen=True)
class FormulaLine:
    ingredient_id: str
    percentage: float  # w/w
    function: str


@dataclass(frozen=True)
class Product:
    slug: str
    name: str
    domain: Domain
    keywords: tuple[tuple[str, ...], ...]  # the words of each keyword or synonym
    process_loss: float  # percentage of the batch lost in processing
    formula: tuple[FormulaLine, ...]


def _load() -> tuple[dict[str, CatalogueIngredient], tuple[Product, ...]]:
    data = files("orchestration.agents").joinpath("catalogue.json").read_text("utf-8")
    raw: dict[str, Any] = json.loads(data)
    ingredients = {
        iid: CatalogueIngredient(
            id=iid, name=i["name"], category=i["category"], density=i["density"], cost=i["cost"],
            phrases=tuple(words(text) for text in (i["name"], *i["aliases"])),
        )
        for iid, i in raw["ingredients"].items()
    }
    products = tuple(
        Product(
            slug=p["slug"], name=p["name"], domain=p["domain"],
            keywords=tuple(words(k) for k in p["keywords"]), process_loss=p["processLoss"],
            formula=tuple(FormulaLine(*line) for line in p["formula"]),
        )
        for p in raw["products"]
    )
    return ingredients, products


_ingredients, PRODUCTS = _load()
INGREDIENTS: Mapping[str, CatalogueIngredient] = MappingProxyType(_ingredients)
DENSITY: Mapping[str, float] = MappingProxyType({i.id: i.density for i in _ingredients.values()})
COST_PER_KG: Mapping[str, float] = MappingProxyType({i.id: i.cost for i in _ingredients.values()})


def _functions_by_domain() -> dict[str, Mapping[str, str]]:
    """domain -> ingredient id -> its function in the first product of that domain using it."""
    out: dict[str, dict[str, str]] = {}
    for product in PRODUCTS:
        for line in product.formula:
            out.setdefault(product.domain, {}).setdefault(line.ingredient_id, line.function)
    return {domain: MappingProxyType(functions) for domain, functions in out.items()}


# What a request may add to a product ("hummus with paprika"): ingredients of the same domain.
FUNCTION_IN_DOMAIN: Mapping[str, Mapping[str, str]] = MappingProxyType(_functions_by_domain())
