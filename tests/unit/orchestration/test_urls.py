"""Every runId the contract accepts can be read back: the fixed words of the routes of the API
and of the web pages (orchestration/api/urls.py, orchestration/web/urls.py) are exactly the
contract's reserved runIds, and every other runId reaches its own run at every URL that takes
one."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, resolve, reverse
from hypothesis import given
from hypothesis import strategies as st

from contracts import RESERVED_RUN_IDS, ContractError, parse_run_result
from orchestration.api import urls as api_urls
from orchestration.web import urls as web_urls
from tools.synthetic import make_run

# (namespace prefix for reverse, the module's patterns)
ROUTE_MODULES = ((f"{api_urls.app_name}:", api_urls.urlpatterns), ("", web_urls.urlpatterns))


def _routes() -> list[tuple[str, URLPattern]]:
    return [(prefix, p) for prefix, patterns in ROUTE_MODULES for p in patterns]


def _literal_segments(pattern: URLPattern) -> set[str]:
    return {segment for segment in str(pattern.pattern).split("/")
            if segment and "<" not in segment}


RUN_ROUTES = [(prefix + str(p.name), p) for prefix, p in _routes()
              if "run_id" in p.pattern.converters]


def test_the_reserved_run_ids_are_the_literal_segments_of_the_routes():
    """RESERVED_RUN_IDS is exactly the set of fixed path segments of every route of both URL
    modules: a route added with a new word fails here until the word is reserved."""
    derived = set().union(*(_literal_segments(p) for _, p in _routes()))
    assert "similar" in derived and "status.json" in derived
    assert derived == RESERVED_RUN_IDS


@pytest.mark.parametrize("word", sorted(RESERVED_RUN_IDS))
def test_every_reserved_word_is_refused_as_a_run_id(now, word):
    """A run whose runId is a reserved word is refused at metadata.id."""
    wire = make_run(1, now=now).to_wire()
    wire["metadata"]["id"] = word
    with pytest.raises(ContractError) as info:
        parse_run_result(wire)
    assert [e["field"] for e in info.value.errors] == ["metadata.id"]
    assert "reserved" in info.value.errors[0]["message"]


def test_a_reserved_word_would_not_reach_its_run():
    """Why the words are reserved: /api/orchestration/runs/similar is not run "similar"."""
    path = reverse("orchestration-api:run-detail", kwargs={"run_id": "similar"})
    assert resolve(path).url_name == "run-similar"


run_ids = st.one_of(
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,40}", fullmatch=True),
    st.sampled_from(sorted(RESERVED_RUN_IDS)).map(lambda w: w.upper()),  # URLs are case-sensitive
    st.sampled_from(sorted(RESERVED_RUN_IDS)).map(lambda w: f"{w}-1"),
).filter(lambda run_id: run_id not in RESERVED_RUN_IDS)


@given(run_id=run_ids)
def test_every_accepted_run_id_reaches_its_run_at_every_url(run_id):
    """For any runId outside the reserved words, every route that takes a runId resolves its
    URL back to itself with that runId."""
    assert RUN_ROUTES
    for name, pattern in RUN_ROUTES:
        # the other parts of the route (a stage's JSON names the agent and the part)
        kwargs = {key: f"{key}-1" for key in pattern.pattern.converters} | {"run_id": run_id}
        match = resolve(reverse(name, kwargs=kwargs))
        assert (match.url_name, match.kwargs) == (pattern.name, kwargs), name
