"""RecipeEngineer: userRequest -> a Recipe from the catalogue, adapted by simple modifiers.

Picking: each product keyword (or synonym) written in userRequest as whole words counts; the
product with the longest matched keyword wins, then the one with most matches, then catalogue
order. Accents and case do not matter; extra words ("5 kg", "for dry hair") are ignored.

Modifiers, each followed by an ingredient's name or alias ("extra lemon", "no garlic"):

    extra, more            the ingredient x1.5 (added if absent)
    less, reduced, low     the ingredient x0.5
    no, without            removed; so is "<ingredient>-free" ("fragrance-free")
    with, add, plus        added at 2 % if absent; only ingredients of the product's domain

The percentages are then renormalised to 2 decimals totalling exactly 100; the rounding residue
goes to the largest ingredient.

PURE: imports neither django, neo4j, celery nor the clock.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import JsonValue

from contracts import MAX_INGREDIENTS, Ingredient, Recipe, canonical_json, sha256_hex

from .base import AgentContext, RequestNotUnderstood, TooManyIngredients
from .catalogue import FUNCTION_IN_DOMAIN, INGREDIENTS, PRODUCTS, Product
from .text import words

ADDED_PERCENTAGE = 2.0  # the weight of an added ingredient, before renormalisation
_PREFIX = {"extra": ("increase", 1.5), "more": ("increase", 1.5),
           "less": ("decrease", 0.5), "reduced": ("decrease", 0.5), "low": ("decrease", 0.5),
           "no": ("remove", 0.0), "without": ("remove", 0.0),
           "with": ("add", 1.0), "add": ("add", 1.0), "plus": ("add", 1.0)}
_SUFFIX = {"free": ("remove", 0.0)}


class RecipeEngineer:
    name = "RecipeEngineer"

    def run(self, ctx: AgentContext) -> Recipe:
        text = words(ctx.request.user_request)
        product, matched = pick_product(text, ctx.request.user_request)
        weights, functions, adaptations = adapt(product, text)
        if len(weights) > MAX_INGREDIENTS:
            raise TooManyIngredients(
                "recipe.ingredients",
                f"{len(weights)} ingredients, the limit is {MAX_INGREDIENTS} (design section 7); "
                f"{product.name} already has {len(product.formula)}, so ask for fewer additions.")
        ingredients = [
            Ingredient(id=iid, name=INGREDIENTS[iid].name, percentage=percentage,
                       function=functions[iid], category=INGREDIENTS[iid].category)
            for iid, percentage in renormalise(weights).items()
        ]
        digest = sha256_hex(canonical_json([[i.id, i.percentage] for i in ingredients]))[:8]
        return Recipe(
            id=f"recipe-{product.slug}-{digest}",
            name=f"{product.name} (adapted)" if adaptations else product.name,
            ingredients=ingredients,
            total_percentage=round(sum(i.percentage for i in ingredients), 2),
            metadata={
                "product": product.slug,
                "domain": product.domain,
                "matchedKeywords": [" ".join(k) for k in matched],
                "adaptations": adaptations,
                "processLossPercentage": product.process_loss,
            },
        )


def _occurs(phrase: tuple[str, ...], text: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(text[i:i + n] == phrase for i in range(len(text) - n + 1))


def pick_product(text: tuple[str, ...], request: str) -> tuple[Product, list[tuple[str, ...]]]:
    """The best product for the words `text` of `request`, and the keywords it matched."""
    best: tuple[Product, list[tuple[str, ...]]] | None = None
    best_score = (0, 0)
    for product in PRODUCTS:
        matched = [k for k in product.keywords if _occurs(k, text)]
        score = (max(map(len, matched), default=0), len(matched))
        if score > best_score:
            best, best_score = (product, matched), score
    if best is None:
        shown = request if len(request) <= 60 else request[:57] + "..."
        known = ", ".join(p.name.lower() for p in PRODUCTS[:6])
        raise RequestNotUnderstood(
            "userRequest",
            f"{shown!r} names no product in the catalogue; ask for one of {known} "
            f"({len(PRODUCTS)} products in all).")
    return best


def _mentioned(text: tuple[str, ...], k: int, candidates: Iterable[str], following: bool
               ) -> str | None:
    """The candidate whose name or alias directly follows word k (precedes it when not
    `following`); the longest name wins."""
    found, length = None, 0
    for iid in candidates:
        for phrase in INGREDIENTS[iid].phrases:
            n = len(phrase)
            span = text[k + 1:k + 1 + n] if following else text[max(k - n, 0):k]
            if n > length and span == phrase:
                found, length = iid, n
    return found


def adapt(product: Product, text: tuple[str, ...]
          ) -> tuple[dict[str, float], dict[str, str], list[JsonValue]]:
    """Weights and functions by ingredient id after the modifiers in `text`, and what changed."""
    weights = {line.ingredient_id: line.percentage for line in product.formula}
    functions = {line.ingredient_id: line.function for line in product.formula}
    addable = FUNCTION_IN_DOMAIN[product.domain]
    adaptations: list[JsonValue] = []
    for k, word in enumerate(text):
        prefix = word in _PREFIX
        if not prefix and word not in _SUFFIX:
            continue
        action, factor = _PREFIX[word] if prefix else _SUFFIX[word]
        iid = _mentioned(text, k, weights, prefix)
        if iid is not None and action != "add":
            weights[iid] *= factor
            if not weights[iid]:
                del weights[iid]
        elif iid is None and action in ("add", "increase"):
            iid = _mentioned(text, k, addable, prefix)
            if iid is None:
                continue
            action, weights[iid], functions[iid] = "add", ADDED_PERCENTAGE, addable[iid]
        else:
            continue
        adaptations.append({"action": action, "ingredientId": iid, "modifier": word})
    if not weights:
        raise RequestNotUnderstood(
            "userRequest", f"removes every ingredient of {product.name}; nothing is left to make.")
    return weights, functions, adaptations


def renormalise(weights: dict[str, float]) -> dict[str, float]:
    """Percentages with 2 decimals totalling exactly 100; the residue goes to the largest."""
    total = sum(weights.values())
    hundredths = {iid: max(1, round(w / total * 10_000)) for iid, w in weights.items()}
    largest = max(hundredths, key=hundredths.__getitem__)
    hundredths[largest] += 10_000 - sum(hundredths.values())
    return {iid: h / 100 for iid, h in hundredths.items()}
