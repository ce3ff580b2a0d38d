"""The request form without a database: the batch size taken from the request text."""

from __future__ import annotations

import pytest

from orchestration.web.forms import RunRequestForm, size_of_text

EMPTY_SIZE = {"user_request": "hummus, 50 kg", "target_batch_size": "", "target_unit": "lb",
              "cost_map": "", "density_map": ""}


def test_an_empty_batch_size_is_taken_from_the_text_with_its_unit() -> None:
    """"hummus, 50 kg" with the batch size empty gives a 50 kg contract (the text's unit wins
    over the unit select), the size read is kept on the form, and the bound data shows it."""
    form = RunRequestForm(EMPTY_SIZE)

    assert form.is_valid(), form.errors
    assert form.contract is not None
    assert (form.contract.target_batch_size, form.contract.target_unit) == (50.0, "kg")
    assert form.size_from_text is not None and form.size_from_text.written == "50 kg"
    assert (form["target_batch_size"].value(), form["target_unit"].value()) == ("50", "kg")


def test_a_given_batch_size_is_kept_even_when_the_text_says_otherwise() -> None:
    """Filled batch fields are the person's answer: kept as typed (QA warns about the
    contradiction), and nothing is taken from the text."""
    form = RunRequestForm({**EMPTY_SIZE, "target_batch_size": "2"})

    assert form.is_valid(), form.errors
    assert form.contract is not None
    assert (form.contract.target_batch_size, form.contract.target_unit) == (2.0, "lb")
    assert form.size_from_text is None


@pytest.mark.parametrize(("text", "error"), [
    ("hummus", "Give the batch size, a number greater than 0, or write it in the request"),
    ("hummus, 50 kg in 2 lb tubs", "The request writes several sizes (50 kg, 2 lb): give the "
                                   "batch size."),
])
def test_no_size_or_several_sizes_in_the_text_ask_for_the_batch_size(text: str,
                                                                     error: str) -> None:
    """With the batch size empty, a text writing no size, or several different ones, leaves
    the form invalid with an error on the batch size saying what to give."""
    form = RunRequestForm({**EMPTY_SIZE, "user_request": text})

    assert not form.is_valid()
    assert [e for e in form.errors["target_batch_size"] if e.startswith(error)]
    assert form.contract is None


def test_a_size_in_the_text_beyond_the_contract_is_reported_on_the_batch_size() -> None:
    """A size read from the text goes through the contract like a typed one: 5e10 kg is over
    its largest batch and the error is shown on the batch size field."""
    form = RunRequestForm({**EMPTY_SIZE, "user_request": "hummus, 5e10 kg"})

    assert not form.is_valid()
    assert "less than or equal to 1000000000" in " ".join(form.errors["target_batch_size"])


def test_size_of_text_needs_one_size() -> None:
    """size_of_text: the one size written (repeats of the same size count once), else None."""
    one = size_of_text("hummus, 50 kg (50 kg)")
    assert one is not None and (one.quantity, one.unit) == (50.0, "kg")
    assert size_of_text("hummus") is None
    assert size_of_text("hummus, 50 kg or 20 kg") is None
