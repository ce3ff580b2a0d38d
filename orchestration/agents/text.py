"""Text folding shared by the agents: accents and case do not matter, any script is safe.

PURE: imports neither django, neo4j, celery nor the clock.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

_WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> tuple[str, ...]:
    """ASCII words of `text`: "Crème brûlée, 5 kg!" -> ("creme", "brulee", "5", "kg").

    Accents are dropped; letters with no ASCII form (CJK, emoji) are skipped, never an error.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return tuple(_WORD.findall(folded))


def slug(text: str) -> str:
    """The words of `text` joined by "-" ("pH adjuster" -> "ph-adjuster"); may be empty."""
    return "-".join(words(text))


# --- sizes written in a request ("hummus, 50 kg") -------------------------------------------------

# What people write for each unit of the contract. "ton" is left out: a US ton is 907 kg, a
# metric one 1,000 kg, and guessing wrong would be worse than not reading it.
UNIT_WORDS: dict[str, tuple[str, ...]] = {
    "mg": ("mg", "milligram", "milligrams", "milligramme", "milligrammes"),
    "g": ("g", "gram", "grams", "gramme", "grammes"),
    "kg": ("kg", "kgs", "kilo", "kilos", "kilogram", "kilograms", "kilogramme", "kilogrammes"),
    "t": ("t", "tonne", "tonnes", "metric ton", "metric tons"),
    "oz": ("oz", "ounce", "ounces"),
    "lb": ("lb", "lbs", "pound", "pounds"),
    "ml": ("ml", "millilitre", "millilitres", "milliliter", "milliliters"),
    "l": ("l", "litre", "litres", "liter", "liters", "ltr"),
    "tsp": ("tsp", "teaspoon", "teaspoons"),
    "tbsp": ("tbsp", "tbs", "tablespoon", "tablespoons"),
    "fl_oz": ("fl_oz", "fl oz", "fl. oz", "fl.oz", "floz", "fluid ounce", "fluid ounces"),
    "cup": ("cup", "cups"),
    "pt": ("pt", "pint", "pints"),
    "qt": ("qt", "quart", "quarts"),
    "gal": ("gal", "gallon", "gallons"),
}
_UNIT_OF_WORD = {word: unit for unit, spellings in UNIT_WORDS.items() for word in spellings}
_SIZE = re.compile(
    r"(?<![\w.,])"
    r"(?P<number>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:[.,]\d+)?(?:e[+-]?\d+)?|\.\d+)"
    r"[ \t\u00a0-]*"
    r"(?P<unit>" + "|".join(re.escape(w).replace(r"\ ", r"\s*")
                            for w in sorted(_UNIT_OF_WORD, key=len, reverse=True)) + r")"
    r"(?![\w])")


@dataclass(frozen=True)
class Size:
    """A quantity and a unit of the contract, as written in a text (`written`)."""

    quantity: float
    unit: str
    written: str


def sizes_in_text(text: str) -> list[Size]:
    """Every "<number> <unit>" in `text`, in order: "hummus, 50 kg" -> [50 kg];
    "1,500 lb", "2.5kg", "2,5 l" (a decimal comma), "12 fl oz", "3 gallons" are read too.
    Zero, and numbers too large to be finite, are skipped."""
    out: list[Size] = []
    normal = unicodedata.normalize("NFKC", text)
    folded = normal.casefold()
    same_positions = len(folded) == len(normal)
    for match in _SIZE.finditer(folded):
        number = match["number"]
        if re.fullmatch(r"\d+,\d+", number) and not re.fullmatch(r"\d{1,3},\d{3}", number):
            number = number.replace(",", ".")  # 2,5 kg: a decimal comma
        quantity = float(number.replace(",", ""))
        if not math.isfinite(quantity) or quantity <= 0:
            continue
        unit = _UNIT_OF_WORD[re.sub(r"\s+", " ", match["unit"])]
        written = normal[match.start():match.end()] if same_positions else match.group(0)
        out.append(Size(quantity, unit, written.strip()))
    return out
