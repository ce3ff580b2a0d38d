"""Every URL the project serves, found by walking Django's URL resolver, with its parameters
filled in: tests built on it cover new endpoints without being edited."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

PLACEHOLDER = "x"  # what a path parameter is filled with
_SAMPLE = {"int": "1", "uuid": "00000000-0000-0000-0000-000000000000"}


def _example(pattern: Any, value: str) -> str:
    """A concrete URL piece for a route or regex pattern: int and uuid parameters filled with
    samples, any other parameter with `value` (already URL-encoded)."""
    text = str(pattern)
    if type(pattern).__name__ == "RegexPattern":
        text = text.removeprefix("^").removesuffix("$")
        text = re.sub(r"\(\?P<\w+>([\w|]+)\)", lambda m: m.group(1).split("|")[0], text)
        text = re.sub(r"\(\?P<\w+>[^)]*\)", value, text)
        return text.replace("\\", "")
    return re.sub(r"<(?:(\w+):)?\w+>", lambda m: _SAMPLE.get(m.group(1) or "str", value), text)


def urls(patterns: list[Any] | None = None, prefix: str = "/",
         value: str = PLACEHOLDER) -> Iterator[tuple[str, Any]]:
    """(concrete URL, view callback) of every URL the project serves; path parameters are
    filled with `value` (already URL-encoded)."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            yield from urls(pattern.url_patterns, prefix + _example(pattern.pattern, value), value)
        elif isinstance(pattern, URLPattern):
            yield prefix + _example(pattern.pattern, value), pattern.callback


def view_methods(callback: Any) -> list[str]:
    """The HTTP methods a view class implements (all five for a function view)."""
    view = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    return [m for m in ("get", "post", "put", "patch", "delete")
            if view is None or hasattr(view, m)]
