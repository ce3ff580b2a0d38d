"""Per-run embeddings for the vector index (graphstore/schema.py, VECTOR_INDEX): a pluggable
`Embedder` chosen by the setting CAP01_EMBEDDER (graphstore/connection.py builds it).

- `CompositionEmbedder` ("composition", the default): offline, nothing downloaded. A feature-
  hashing vector of the recipe: each ingredient's id, the words of its name, its function and its
  category, weighted by its percentage (ids count most, as in the composition score of
  graphstore/similarity.py), hashed with BLAKE2b into EMBEDDING_DIMENSIONS signed buckets and
  L2-normalised, so cosine similarity is a smoothed composition overlap.
- `HttpEmbedder` ("http"): an external model service at CAP01_EMBEDDER_URL. It is sent
  `{"inputs": [text, ...]}` (each text a canonical rendering of the composition, `EmbedInput.
  text`) and answers `{"embeddings": [[float, ...], ...]}`, one vector of EMBEDDING_DIMENSIONS per
  input; anything else is an EmbedderError.

The index has one dimension (EMBEDDING_DIMENSIONS): a service whose model gives another must be
configured to project to it, or the index recreated. Imports neither django, neo4j nor celery;
HttpEmbedder does network I/O (urllib), the rest is pure.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from .errors import EmbedderError
from .schema import EMBEDDING_DIMENSIONS
from .similarity import Line, Mention

_WORD = re.compile(r"[^\W\d_]+")
# Feature weights per unit of mass fraction (pct / 100).
F_ID, F_WORD, F_FUNCTION, F_CATEGORY = 1.0, 0.35, 0.5, 0.25
MENTION_DEFAULT_PERCENTAGE = 10.0  # a mention without a percentage weighs as 10 %


@dataclass(frozen=True)
class EmbedInput:
    """What an embedder sees of a run (or of a query): its composition and a text rendering."""

    lines: tuple[Line, ...]
    title: str = ""  # recipe name or query words
    extra_words: tuple[str, ...] = field(default=())

    @property
    def text(self) -> str:
        parts = [self.title] if self.title else []
        parts += [f"{ln.name} {ln.percentage:g}%" + (f" ({ln.function})" if ln.function else "")
                  for ln in self.lines]
        parts += list(self.extra_words)
        return "; ".join(parts)


class Embedder(Protocol):
    name: str
    dimensions: int

    def embed(self, inputs: Sequence[EmbedInput]) -> list[list[float]]:
        """One vector of `dimensions` floats per input, in order."""
        ...


def _bucket(feature: str, dimensions: int) -> tuple[int, float]:
    digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
    value = int.from_bytes(digest, "big")
    return value % dimensions, (1.0 if (value >> 63) & 1 else -1.0)


def _normalise(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vector))
    return vector if norm == 0 else [x / norm for x in vector]


class CompositionEmbedder:
    """The offline default (see the module docstring)."""

    name = "composition"

    def __init__(self, dimensions: int = EMBEDDING_DIMENSIONS) -> None:
        self.dimensions = dimensions

    def vector(self, item: EmbedInput) -> list[float]:
        out = [0.0] * self.dimensions
        features: list[tuple[str, float]] = []
        for line in item.lines:
            mass = max(line.percentage, 0.0) / 100.0
            if line.id:
                features.append((f"id:{line.id}", F_ID * mass))
            words = _WORD.findall(line.name.lower())
            features += [(f"w:{w}", F_WORD * mass / max(1, len(words))) for w in words]
            if line.function:
                features.append((f"fn:{line.function.lower()}", F_FUNCTION * mass))
            if line.category:
                features.append((f"cat:{line.category.lower()}", F_CATEGORY * mass))
        for feature, weight in features:
            index, sign = _bucket(feature, self.dimensions)
            out[index] += sign * weight
        return _normalise(out)

    def embed(self, inputs: Sequence[EmbedInput]) -> list[list[float]]:
        return [self.vector(item) for item in inputs]


class HttpEmbedder:
    """An external embedding service (see the module docstring). Construction does no I/O."""

    name = "http"

    def __init__(self, url: str, *, dimensions: int = EMBEDDING_DIMENSIONS,
                 timeout_s: float = 10.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise EmbedderError(f"CAP01_EMBEDDER_URL must be an http(s) URL, got {url!r}.")
        self.url, self.dimensions, self.timeout_s = url, dimensions, timeout_s

    def embed(self, inputs: Sequence[EmbedInput]) -> list[list[float]]:
        if not inputs:
            return []
        body = json.dumps({"inputs": [item.text for item in inputs]}).encode("utf-8")
        request = urllib.request.Request(self.url, data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as answer:  # noqa: S310
                payload = json.loads(answer.read())
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise EmbedderError(f"The embedding service at {self.url} failed: {exc}") from exc
        vectors = payload.get("embeddings") if isinstance(payload, dict) else None
        if not isinstance(vectors, list) or len(vectors) != len(inputs):
            raise EmbedderError(f"The embedding service at {self.url} answered without one "
                                f"vector per input (asked {len(inputs)}).")
        out: list[list[float]] = []
        for i, vector in enumerate(vectors):
            if (not isinstance(vector, list) or len(vector) != self.dimensions
                    or not all(isinstance(x, int | float) for x in vector)):
                raise EmbedderError(f"embeddings[{i}]: expected {self.dimensions} numbers from "
                                    f"{self.url}.")
            out.append([float(x) for x in vector])
        return out


def build_embedder(kind: str, *, url: str | None = None, timeout_s: float = 10.0) -> Embedder:
    """The embedder a setting names: "composition" (default) or "http" (needs `url`)."""
    if kind == "composition":
        return CompositionEmbedder()
    if kind == "http":
        if not url:
            raise EmbedderError("CAP01_EMBEDDER=http needs CAP01_EMBEDDER_URL.")
        return HttpEmbedder(url, timeout_s=timeout_s)
    raise EmbedderError(f"CAP01_EMBEDDER must be composition or http, got {kind!r}.")


def input_of_wire(wire: dict[str, object] | object) -> EmbedInput | None:
    """The embed input of a run's wire dict (the normalized run); None without a recipe."""
    recipe = wire.get("recipe") if isinstance(wire, dict) else None
    if not isinstance(recipe, dict):
        return None
    lines = tuple(Line(str(i["id"]), str(i.get("name") or ""), float(i["percentage"]),
                       i.get("function"), i.get("category"))
                  for i in recipe.get("ingredients") or [])
    return EmbedInput(lines, str(recipe.get("name") or ""))


def input_of_mentions(mentions: Sequence[Mention], words: Sequence[str]) -> EmbedInput:
    """The embed input of a free-text query: each mention as pseudo-lines (its ingredients
    sharing its percentage, its functions and categories as role-only lines)."""
    lines: list[Line] = []
    for m in mentions:
        pct = m.percentage if m.percentage is not None else MENTION_DEFAULT_PERCENTAGE
        for iid in m.ingredient_ids:
            lines.append(Line(iid, m.text, pct / max(1, len(m.ingredient_ids))))
        for fn in m.functions:
            lines.append(Line("", "", pct, function=fn))
        for cat in m.categories:
            lines.append(Line("", "", pct, category=cat))
    return EmbedInput(tuple(lines), " ".join(words))
