"""RecipeVersion (shared by content), Ingredient (a shared catalogue node) and HAS_INGREDIENT,
which carries the recipe's use of the ingredient (position, name, percentage, function,
category)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .base import FLOAT, INT, KEY, STR, Codec, Prop, written


class RecipeVersionCodec(Codec):
    name = "RecipeVersion"
    props = (
        Prop("checksum", STR, KEY),  # of the recipe's canonical JSON
        Prop("recipeId", STR, wire="id", column=1),
        Prop("name", STR, wire="name", column=2),
        Prop("totalPercentage", FLOAT, wire="totalPercentage", column=4),
        Prop("ingredientCount", INT, column=3),
        Prop("metadata", STR, wire="metadata", json=True, empty={}),
        *written(created_column=5),
    )

    @classmethod
    def encode(cls, recipe: Mapping[str, Any]) -> dict[str, Any]:
        """The recipe node (its ingredients go to Ingredient nodes and HAS_INGREDIENT)."""
        return {**cls.encode_carried(recipe), "ingredientCount": len(recipe["ingredients"])}

    @classmethod
    def decode(cls, props: Mapping[str, Any],
               ingredients: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """The wire recipe; `ingredients` are HAS_INGREDIENT properties with `ingredientId`,
        in position order."""
        return {**cls.decode_carried(props),
                "ingredients": [HasIngredientCodec.decode(h) for h in ingredients]}


class IngredientCodec(Codec):
    name = "Ingredient"
    props = (
        Prop("ingredientId", STR, KEY, wire="id"),
        Prop("name", STR, wire="name", column=1),
        *written(count_column=2, created_column=3),
    )

    @classmethod
    def encode(cls, ingredient: Mapping[str, Any]) -> dict[str, Any]:
        return cls.encode_carried(ingredient)

    @classmethod
    def decode(cls, props: Mapping[str, Any]) -> dict[str, Any]:
        return cls.decode_carried(props)


class HasIngredientCodec(Codec):
    """(RecipeVersion)-[:HAS_INGREDIENT]->(Ingredient): one ingredient of the recipe."""

    name = "HAS_INGREDIENT"
    props = (
        Prop("position", INT),  # index in the recipe's ingredient list
        Prop("name", STR, wire="name"),
        Prop("percentage", FLOAT, wire="percentage"),
        Prop("function", STR, wire="function"),
        Prop("category", STR, wire="category"),
    )
    # The other end's key, added by the read statement (cypher.read.LOAD_RUN).
    INGREDIENT_ID = "ingredientId"

    @classmethod
    def encode(cls, ingredient: Mapping[str, Any], position: int) -> dict[str, Any]:
        return {"position": position, **cls.encode_carried(ingredient)}

    @classmethod
    def decode(cls, props: Mapping[str, Any]) -> dict[str, Any]:
        return {"id": props[cls.INGREDIENT_ID], **cls.decode_carried(props)}
