"""Similarity of formulations by what they contain: the composition score (the same formula the
Cypher of graphstore/cypher/retrieval.py computes in the graph), the reasons of a hit (shared
ingredients with both percentages, substitutes, what differs), the parser that finds ingredient,
function and percentage mentions in free words, reciprocal rank fusion of several rankings, and
the collapsing of identical runs.

PURE: imports neither django, neo4j, celery nor the clock.

Composition score of a run B against a query run A (percentages w/w, 0..100):

    shared    = sum over ingredients in both of min(pct_A, pct_B)            (0..100)
    function  = sum over functions f of min(pct_A(f), pct_B(f))              (0..100)
    category  = sum over categories c of min(pct_A(c), pct_B(c))             (0..100)
    score     = (W_SHARED*shared + W_FUNCTION*function + W_CATEGORY*category) / 100
                + W_SCALE * scale_similarity + W_COST * cost_similarity

`function` and `category` include the shared mass again, so an ingredient used by both counts
1 + 0.5 + 0.25 and a substitute (another ingredient in the same role) 0.5 + 0.25 at most. Scale
and cost similarity are 1 / (1 + |ln(B/A)|) (same unit / currency only, else 0): they separate
otherwise equal compositions and never outweigh a percentage point of shared mass much.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

W_SHARED = 1.0
W_FUNCTION = 0.5
W_CATEGORY = 0.25
W_SCALE = 0.05
W_COST = 0.05
RRF_K = 60  # reciprocal rank fusion constant (Cormack et al.)


@dataclass(frozen=True)
class Line:
    """One ingredient of a recipe as the graph has it (HAS_INGREDIENT and its Ingredient)."""

    id: str
    name: str
    percentage: float
    function: str | None = None
    category: str | None = None


def _totals(lines: Iterable[Line], attr: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for line in lines:
        key = getattr(line, attr)
        if key:
            out[key] = out.get(key, 0.0) + line.percentage
    return out


def _overlap(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    return sum(min(v, b[k]) for k, v in a.items() if k in b)


def log_ratio_similarity(a: float | None, b: float | None) -> float:
    """1 / (1 + |ln(b/a)|): 1 for equal values, 0.5 for a factor e; 0 when either is missing or
    not positive."""
    if not a or not b or a <= 0 or b <= 0:
        return 0.0
    return 1.0 / (1.0 + abs(math.log(b / a)))


@dataclass(frozen=True)
class CompositionScore:
    shared: float
    function: float
    category: float
    scale: float = 0.0
    cost: float = 0.0

    @property
    def total(self) -> float:
        return ((W_SHARED * self.shared + W_FUNCTION * self.function
                 + W_CATEGORY * self.category) / 100.0
                + W_SCALE * self.scale + W_COST * self.cost)


def composition_score(a: Sequence[Line], b: Sequence[Line], *, scale: float = 0.0,
                      cost: float = 0.0) -> CompositionScore:
    """The score of B against A (the formula in the module docstring)."""
    return CompositionScore(
        shared=_overlap(_totals(a, "id"), _totals(b, "id")),
        function=_overlap(_totals(a, "function"), _totals(b, "function")),
        category=_overlap(_totals(a, "category"), _totals(b, "category")),
        scale=scale, cost=cost)


# --- reasons -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SharedIngredient:
    id: str
    name: str
    query_percentage: float
    hit_percentage: float


@dataclass(frozen=True)
class Substitute:
    """An ingredient only the query has and one only the hit has, in the same function (or,
    failing that, the same category)."""

    role: str  # "function: emulsifier" or "category: oil"
    query: Line
    hit: Line


@dataclass(frozen=True)
class Reasons:
    shared: tuple[SharedIngredient, ...]
    substitutes: tuple[Substitute, ...]
    only_in_query: tuple[Line, ...]
    only_in_hit: tuple[Line, ...]
    shared_percentage: float  # sum of min(pct) over shared ingredients

    def summary(self) -> str:
        """One line for a person: shared mass and the main differences."""
        parts = [f"{len(self.shared)} shared ingredients, {self.shared_percentage:.1f} % "
                 "of the mass in common"]
        if self.substitutes:
            parts.append("; ".join(f"{s.query.name} -> {s.hit.name} ({s.role})"
                                   for s in self.substitutes[:3]))
        if self.only_in_hit:
            parts.append("adds " + ", ".join(x.name for x in self.only_in_hit[:3]))
        if self.only_in_query:
            parts.append("lacks " + ", ".join(x.name for x in self.only_in_query[:3]))
        return "; ".join(parts)


def explain(query: Sequence[Line], hit: Sequence[Line]) -> Reasons:
    """Why `hit` resembles `query`: the shared ingredients (both percentages, largest common
    share first), substitutes (same function, else same category) and what only one has."""
    hit_by_id = {line.id: line for line in hit}
    query_ids = {line.id for line in query}
    shared = sorted(
        (SharedIngredient(q.id, q.name, q.percentage, hit_by_id[q.id].percentage)
         for q in query if q.id in hit_by_id),
        key=lambda s: (-min(s.query_percentage, s.hit_percentage), s.id))
    only_q = [q for q in query if q.id not in hit_by_id]
    only_h = [h for h in hit if h.id not in query_ids]
    subs: list[Substitute] = []
    for attr in ("function", "category"):
        for q in list(only_q):
            match = next((h for h in only_h if getattr(q, attr) and
                          getattr(h, attr) == getattr(q, attr)), None)
            if match is not None:
                subs.append(Substitute(f"{attr}: {getattr(q, attr)}", q, match))
                only_q.remove(q)
                only_h.remove(match)
    return Reasons(shared=tuple(shared), substitutes=tuple(subs), only_in_query=tuple(only_q),
                   only_in_hit=tuple(only_h),
                   shared_percentage=round(sum(min(s.query_percentage, s.hit_percentage)
                                               for s in shared), 6))


# --- mentions in free words --------------------------------------------------------------------

_TOKEN = re.compile(r"\d+(?:[.,]\d+)?|[%,;&+/]|[^\W\d_]+")
_WORD = re.compile(r"[^\W\d_]+")
_SEPARATORS = frozenset({"and", "with", "plus", "or", "but", "&", "+", ",", ";", "/"})
_STOP = frozenset({"a", "an", "the", "of", "about", "around", "approx", "approximately", "at",
                   "some", "in", "for", "to", "w", "wt", "by", "weight", "roughly", "circa",
                   "ca", "like", "one", "that", "has", "contains", "containing", "is", "are"})
_PERCENT_WORDS = frozenset({"%", "percent", "pct", "per", "cent"})
MAX_MENTIONS = 16


def stem(word: str) -> str:
    """A crude English stem, enough to meet "emulsified" and "emulsifier", "oils" and "oil"."""
    w = word.lower()
    for suffix in ("ing", "ers", "ied", "ier", "ies", "ed", "er", "es", "s"):
        if len(w) > len(suffix) + 2 and w.endswith(suffix):
            w = w[: -len(suffix)]
            if suffix in ("ied", "ier", "ies"):
                w += "i"
            break
    return w[:-1] if len(w) > 3 and w.endswith("i") else w


@dataclass(frozen=True)
class Vocabulary:
    """What a mention may name: ingredient ids with their names, functions, categories (as the
    graph has them)."""

    ingredients: Mapping[str, str]  # id -> name
    functions: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Mention:
    text: str  # the words that named it
    percentage: float | None
    ingredient_ids: tuple[str, ...] = ()
    functions: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()

    def as_param(self) -> dict[str, object]:
        return {"text": self.text, "percentage": self.percentage,
                "ingredients": list(self.ingredient_ids), "functions": list(self.functions),
                "categories": list(self.categories)}


def _segments(text: str) -> list[list[str]]:
    """The text's tokens, split at separators (commas, "and", "with", ...)."""
    out: list[list[str]] = [[]]
    for token in _TOKEN.findall(text.lower()):
        if token in _SEPARATORS:
            out.append([])
        else:
            out[-1].append(token)
    return [seg for seg in out if seg]


def _number(token: str) -> float | None:
    try:
        return float(token.replace(",", "."))
    except ValueError:
        return None


def parse_mentions(text: str, vocabulary: Vocabulary) -> list[Mention]:
    """The ingredients, functions and categories `text` names, each with the percentage given
    next to it in the same segment ("60 % oil", "oil at 60%", "mustard 5 percent"); segments are
    split at commas, "and", "with". A word meets an ingredient when it is one of the words of its
    name ("mustard" -> Dijon mustard, "oil" -> every oil), a function or category when it is
    that word; longest phrases first (a full name wins over its words). At most MAX_MENTIONS."""
    names = {iid: [stem(w) for w in _WORD.findall(name.lower())]
             for iid, name in vocabulary.ingredients.items()}
    functions = {stem(f): f for f in vocabulary.functions}
    categories = {stem(c): c for c in vocabulary.categories}
    multi_fn = {tuple(stem(w) for w in f.lower().split()): f for f in vocabulary.functions}
    multi_cat = {tuple(stem(w) for w in c.lower().split()): c for c in vocabulary.categories}
    mentions: list[Mention] = []
    for segment in _segments(text):
        pct: float | None = None
        words: list[str] = []
        for i, token in enumerate(segment):
            value = _number(token)
            if value is not None:
                if pct is None and 0 < value <= 100 and i + 1 < len(segment) and \
                        segment[i + 1] in _PERCENT_WORDS:
                    pct = value
                continue
            if token in _PERCENT_WORDS or token in _STOP:
                continue
            words.append(token)
        stems = [stem(w) for w in words]
        used = [False] * len(stems)
        for size in range(min(4, len(stems)), 0, -1):
            for start in range(len(stems) - size + 1):
                if any(used[start:start + size]):
                    continue
                phrase = tuple(stems[start:start + size])
                ids = tuple(sorted(iid for iid, ws in names.items()
                                   if (size > 1 and tuple(ws) == phrase)
                                   or (size == 1 and phrase[0] in ws)))
                fns = tuple(sorted({f for key, f in multi_fn.items() if key == phrase}
                                   | ({functions[phrase[0]]} if size == 1 and
                                      phrase[0] in functions else set())))
                cats = tuple(sorted({c for key, c in multi_cat.items() if key == phrase}
                                    | ({categories[phrase[0]]} if size == 1 and
                                       phrase[0] in categories else set())))
                if ids or fns or cats:
                    used[start:start + size] = [True] * size
                    mentions.append(Mention(" ".join(words[start:start + size]), pct,
                                            ids, fns, cats))
    return mentions[:MAX_MENTIONS]


# --- fusion and collapsing ---------------------------------------------------------------------


@dataclass
class Fused:
    key: str
    score: float
    ranks: dict[str, int] = field(default_factory=dict)  # signal -> 1-based rank


def fuse(rankings: Mapping[str, Sequence[str]], *, weights: Mapping[str, float] | None = None,
         k: int = RRF_K) -> list[Fused]:
    """Reciprocal rank fusion: score(d) = sum over signals of weight / (k + rank). Best first,
    ties by the key. A signal without results adds nothing."""
    out: dict[str, Fused] = {}
    for signal, ranking in rankings.items():
        weight = 1.0 if weights is None else weights.get(signal, 1.0)
        for rank, key in enumerate(ranking, start=1):
            hit = out.setdefault(key, Fused(key, 0.0))
            if signal not in hit.ranks:
                hit.ranks[signal] = rank
                hit.score += weight / (k + rank)
    return sorted(out.values(), key=lambda f: (-f.score, f.key))


def identity_key(recipe_checksum: str | None, batch: float | None, unit: str | None,
                 run_id: str) -> tuple[str, ...]:
    """Runs with the same recipe content (RecipeVersion checksum), batch and unit are identical
    for retrieval; a run without a recipe is only itself."""
    if recipe_checksum is None:
        return ("run", run_id)
    return ("recipe", recipe_checksum, repr(batch), unit or "")


def collapse(keys: Sequence[tuple[str, tuple[str, ...]]]) -> list[tuple[str, list[str]]]:
    """(runId, identity) in rank order -> (kept runId, the identical runIds folded into it),
    the first of each identity kept, in rank order."""
    kept: dict[tuple[str, ...], tuple[str, list[str]]] = {}
    order: list[tuple[str, ...]] = []
    for run_id, ident in keys:
        if ident in kept:
            kept[ident][1].append(run_id)
        else:
            kept[ident] = (run_id, [])
            order.append(ident)
    return [kept[ident] for ident in order]
