"""Text folding shared by the agents: accents and case do not matter, any script is safe.

PURE: imports neither django, neo4j, celery nor the clock.
"""

from __future__ import annotations

import re
import unicodedata

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
