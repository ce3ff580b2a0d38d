"""graphstore.scope.RunScope: every run, or one owner's runs; never an owner by accident."""

from __future__ import annotations

import pytest

from graphstore.scope import RunScope

VARIANTS = {"all": "every run", "owned": "one owner's runs"}


def test_every_run_picks_the_unfiltered_text_and_adds_no_parameter():
    """every_run() reads the "all" variant with no $ownerId."""
    scope = RunScope.every_run()
    assert scope.everything
    assert scope.statement(VARIANTS) == "every run" and scope.params() == {}


def test_owned_by_picks_the_owned_text_with_the_owner_as_parameter():
    """owned_by(id) reads the "owned" variant with $ownerId = id."""
    scope = RunScope.owned_by("42")
    assert not scope.everything
    assert scope.statement(VARIANTS) == "one owner's runs" and scope.params() == {"ownerId": "42"}


@pytest.mark.parametrize("owner", [None, ""])
def test_a_missing_owner_never_widens_the_scope(owner):
    """owned_by(None) or owned_by("") is refused rather than read as every run."""
    with pytest.raises(ValueError, match="owner id"):
        RunScope.owned_by(owner)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        RunScope("")
