"""CalculationResult: the scaled recipe and its costs, one per run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from contracts import checksum

from .base import FLOAT, KEY, STR, Codec, Prop, written


class CalculationResultCodec(Codec):
    name = "CalculationResult"
    props = (
        Prop("runId", STR, KEY),
        Prop("checksum", STR),
        Prop("recipeId", STR, wire="recipeId", column=1),
        Prop("targetBatchSize", FLOAT, wire="targetBatchSize", column=2),
        Prop("targetUnit", STR, wire="targetUnit", column=3),
        Prop("totalCost", FLOAT, column=4),  # costs.total
        Prop("currency", STR, column=5),  # costs.currency
        Prop("timestamp", STR, wire="timestamp"),
        Prop("scaledIngredients", STR, wire="scaledIngredients", json=True),
        Prop("costs", STR, wire="costs", json=True),
        Prop("yield", STR, wire="yield", json=True),
        Prop("warnings", STR, wire="warnings", json=True, empty=[]),
        *written(),
    )

    @classmethod
    def encode(cls, calculation: Mapping[str, Any]) -> dict[str, Any]:
        return {**cls.encode_carried(calculation), "checksum": checksum(calculation),
                "totalCost": calculation["costs"]["total"],
                "currency": calculation["costs"]["currency"]}

    @classmethod
    def decode(cls, props: Mapping[str, Any]) -> dict[str, Any]:
        return cls.decode_carried(props)
