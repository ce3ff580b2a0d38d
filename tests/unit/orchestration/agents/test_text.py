"""Reading a request's text: the sizes written in it ("hummus, 50 kg")."""

from __future__ import annotations

import pytest

from orchestration.agents.text import sizes_in_text


@pytest.mark.parametrize(("text", "sizes"), [
    ("hummus, 50 kg", [(50.0, "kg", "50 kg")]),
    ("1,500 lb of mayonnaise", [(1500.0, "lb", "1,500 lb")]),
    ("basil pesto 800g", [(800.0, "g", "800g")]),
    ("pesto, 1,25 kg", [(1.25, "kg", "1,25 kg")]),  # a decimal comma
    ("2.5 Kilograms of hummus", [(2.5, "kg", "2.5 Kilograms")]),
    ("lotion 20 L", [(20.0, "l", "20 L")]),
    ("shampoo, 12 fl oz", [(12.0, "fl_oz", "12 fl oz")]),
    ("shampoo 3 gallons", [(3.0, "gal", "3 gallons")]),
    ("a 50-kg batch", [(50.0, "kg", "50-kg")]),
    ("1e9 kg", [(1e9, "kg", "1e9 kg")]),
    ("0.0000001 mg", [(1e-7, "mg", "0.0000001 mg")]),
    ("x 10 metric tons", [(10.0, "t", "10 metric tons")]),
    ("hummus 50 kg in 2 lb tubs", [(50.0, "kg", "50 kg"), (2.0, "lb", "2 lb")]),
])
def test_sizes_written_in_a_request_are_read(text: str, sizes: list[tuple[float, str, str]]
                                             ) -> None:
    """Each "<number> <unit>" is read with the contract's unit and the text as written:
    thousands separators, decimal commas, unit names and plurals, spaces or a hyphen."""
    assert [(s.quantity, s.unit, s.written) for s in sizes_in_text(text)] == sizes


@pytest.mark.parametrize("text", [
    "hummus with extra garlic", "shampoo with 2% aloe", "v2 kg", "0 kg", "50 tons",
    "kg 50", "5 kgx", "vitamin b12", "",
])
def test_no_size_is_read_where_none_is_written(text: str) -> None:
    """Words, percentages, a number glued to letters, zero, a unit before its number and the
    ambiguous "ton" are not sizes."""
    assert sizes_in_text(text) == []
