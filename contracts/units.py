"""Units accepted by the contract and their factors to grams or millilitres (US customary).

PURE: imports neither django, neo4j, celery nor the clock.
"""

from __future__ import annotations

from typing import Literal, get_args

MassUnit = Literal["mg", "g", "kg", "t", "oz", "lb"]
VolumeUnit = Literal["ml", "l", "tsp", "tbsp", "fl_oz", "cup", "pt", "qt", "gal"]
Unit = Literal["mg", "g", "kg", "t", "oz", "lb", "ml", "l", "tsp", "tbsp", "fl_oz", "cup", "pt",
               "qt", "gal"]

GRAMS_PER: dict[str, float] = {
    "mg": 0.001, "g": 1.0, "kg": 1000.0, "t": 1_000_000.0,
    "oz": 28.349523125, "lb": 453.59237,  # avoirdupois, exact by definition
}
MILLILITRES_PER: dict[str, float] = {
    "ml": 1.0, "l": 1000.0,
    # US customary, exact by definition from the US gallon of 231 cubic inches.
    "tsp": 4.92892159375, "tbsp": 14.78676478125, "fl_oz": 29.5735295625, "cup": 236.5882365,
    "pt": 473.176473, "qt": 946.352946, "gal": 3785.411784,
}
MASS_UNITS = frozenset(get_args(MassUnit))
VOLUME_UNITS = frozenset(get_args(VolumeUnit))
assert MASS_UNITS | VOLUME_UNITS == frozenset(get_args(Unit))


def is_mass(unit: str) -> bool:
    return unit in MASS_UNITS


def is_volume(unit: str) -> bool:
    return unit in VOLUME_UNITS
