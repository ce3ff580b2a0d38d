"""Embedders (graphstore/embedding.py): the offline composition embedder, and the external-service
embedder tested through the same interface against a deterministic local HTTP service."""

from __future__ import annotations

import hashlib
import json
import math
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from graphstore.embedding import (
    CompositionEmbedder,
    Embedder,
    EmbedInput,
    HttpEmbedder,
    build_embedder,
    input_of_mentions,
)
from graphstore.errors import EmbedderError
from graphstore.schema import EMBEDDING_DIMENSIONS
from graphstore.similarity import Line, Mention

VINAIGRETTE = EmbedInput((Line("ing-olive-oil", "Olive oil", 60.0, "oil phase", "oil"),
                          Line("ing-lemon-juice", "Lemon juice", 30.0, "acidulant", "acid"),
                          Line("ing-dijon-mustard", "Dijon mustard", 10.0, "emulsifier", "c")),
                         "Lemon vinaigrette")
VARIANT = EmbedInput((Line("ing-sunflower-oil", "Sunflower oil", 58.0, "oil phase", "oil"),
                      Line("ing-lemon-juice", "Lemon juice", 32.0, "acidulant", "acid"),
                      Line("ing-dijon-mustard", "Dijon mustard", 10.0, "emulsifier", "c")),
                     "Lemon vinaigrette")
LOTION = EmbedInput((Line("ing-water", "Water", 80.0, "solvent", "water"),
                     Line("ing-glycerin", "Glycerin", 20.0, "humectant", "polyol")), "Lotion")


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def check_interface(embedder: Embedder) -> None:
    vectors = embedder.embed([VINAIGRETTE, VARIANT, LOTION])
    assert len(vectors) == 3
    assert all(len(v) == embedder.dimensions == EMBEDDING_DIMENSIONS for v in vectors)
    assert all(isinstance(x, float) for v in vectors for x in v)
    assert embedder.embed([VINAIGRETTE]) == vectors[:1]  # deterministic
    assert embedder.embed([]) == []


def test_composition_embedder_fulfils_the_interface():
    """One normalised vector of the index's dimension per input, the same every time."""
    embedder = CompositionEmbedder()
    check_interface(embedder)
    assert math.isclose(math.fsum(x * x for x in embedder.vector(VINAIGRETTE)), 1.0)


def test_composition_embedder_puts_variants_near_and_others_far():
    """A substituted, re-proportioned variant is much closer than an unrelated product."""
    e = CompositionEmbedder()
    a, b, c = e.embed([VINAIGRETTE, VARIANT, LOTION])
    assert cosine(a, b) > 0.3 > 0.1 > cosine(a, c)


def test_a_text_query_embeds_near_what_it_names():
    """The mentions of a text ("60 % oil, mustard") land nearer the vinaigrette than a lotion."""
    e = CompositionEmbedder()
    query = input_of_mentions([Mention("oil", 60.0, ("ing-olive-oil",), (), ("oil",)),
                               Mention("mustard", None, ("ing-dijon-mustard",))], ["oil"])
    q, a, c = e.embed([query, VINAIGRETTE, LOTION])
    assert cosine(q, a) > cosine(q, c)


# --- the external service, played by a deterministic local one ---------------------------------


def service_vector(text: str, dimensions: int) -> list[float]:
    """What the local service answers: word hashing of the text (a stand-in for a model)."""
    out = [0.0] * dimensions
    for word in text.lower().split():
        h = int.from_bytes(hashlib.sha256(word.encode()).digest()[:4], "big")
        out[h % dimensions] += 1.0
    norm = math.sqrt(sum(x * x for x in out)) or 1.0
    return [x / norm for x in out]


class Service(BaseHTTPRequestHandler):
    dimensions = EMBEDDING_DIMENSIONS
    calls: list[list[str]] = []

    def do_POST(self) -> None:  # noqa: N802 - the http.server name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Service.calls.append(body["inputs"])
        if self.path == "/broken":
            payload: object = {"embeddings": [[1.0, 2.0]]}
        else:
            payload = {"embeddings": [service_vector(t, self.dimensions) for t in body["inputs"]]}
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def service() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Service)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_http_embedder_fulfils_the_interface(service):
    """The service embedder, configured by URL, answers like the offline one; it sends the
    canonical text of each composition."""
    Service.calls.clear()
    embedder = build_embedder("http", url=f"{service}/embed")
    check_interface(embedder)
    assert Service.calls[0][0] == VINAIGRETTE.text
    assert "Olive oil 60% (oil phase)" in VINAIGRETTE.text
    assert embedder.embed([VARIANT]) == [service_vector(VARIANT.text, EMBEDDING_DIMENSIONS)]


def test_http_embedder_refuses_a_wrong_answer(service):
    """A vector of the wrong size (or count) is an EmbedderError naming the index dimension."""
    with pytest.raises(EmbedderError, match=f"expected {EMBEDDING_DIMENSIONS} numbers"):
        HttpEmbedder(f"{service}/broken").embed([VINAIGRETTE])
    with pytest.raises(EmbedderError, match="one vector per input"):
        HttpEmbedder(f"{service}/broken").embed([VINAIGRETTE, LOTION])


def test_http_embedder_service_down_is_an_embedder_error():
    """Nothing listening: EmbedderError (the writer then writes the run without embedding)."""
    with pytest.raises(EmbedderError, match="failed"):
        HttpEmbedder("http://127.0.0.1:9/embed", timeout_s=1.0).embed([VINAIGRETTE])


@pytest.mark.parametrize(("kind", "url", "message"), [
    ("http", None, "needs CAP01_EMBEDDER_URL"),
    ("http", "ftp://x", "must be an http"),
    ("openai", None, "must be composition or http"),
])
def test_build_embedder_refuses_bad_settings(kind, url, message):
    """A misconfigured embedder setting is an error naming the setting."""
    with pytest.raises(EmbedderError, match=message):
        build_embedder(kind, url=url)
