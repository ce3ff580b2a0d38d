"""The request form of the web page: text, batch size, unit and optional cost and density maps.

Thin: it parses what a person types (maps as `ingredient-id = number` lines, or a JSON object)
and hands the result to the v1 contract (contracts.parse_input), whose errors are
mapped back to the form field they concern. A valid form carries the InputContract in
`form.contract`. With the batch size left empty, the batch size and unit are taken from the
size written in the request ("hummus, 12 kg"), when it writes exactly one (`form.size_from_text`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, cast, get_args

from django import forms

from contracts import ContractError, InputContract, parse_input
from contracts.units import MASS_UNITS, Unit
from orchestration.agents.catalogue import INGREDIENTS, PRODUCTS
from orchestration.agents.text import Size, sizes_in_text

UNIT_NAMES = {
    "mg": "milligram", "g": "gram", "kg": "kilogram", "t": "tonne", "oz": "ounce",
    "lb": "pound", "ml": "millilitre", "l": "litre", "tsp": "teaspoon (US)",
    "tbsp": "tablespoon (US)", "fl_oz": "fluid ounce (US)", "cup": "cup (US)", "pt": "pint (US)",
    "qt": "quart (US)", "gal": "gallon (US)",
}
UNITS: tuple[str, ...] = get_args(Unit)
UNIT_CHOICES = [
    ("Mass", [(u, f"{u} ({UNIT_NAMES.get(u, u)})") for u in UNITS if u in MASS_UNITS]),
    ("Volume", [(u, f"{u} ({UNIT_NAMES.get(u, u)})") for u in UNITS if u not in MASS_UNITS]),
]

# Where an error of the contract (a field path) is shown on the form.
FIELD_OF_PATH = {
    "userRequest": "user_request",
    "targetBatchSize": "target_batch_size",
    "targetUnit": "target_unit",
    "context.costMap": "cost_map",
    "context.densityMap": "density_map",
}
MAP_LINE_HELP = "one “ingredient-id = number” per line (or a JSON object)"


@dataclass(frozen=True)
class Example:
    text: str
    size: float
    unit: str

    @property
    def query(self) -> str:
        from urllib.parse import urlencode

        return urlencode({"request": self.text, "size": f"{self.size:g}", "unit": self.unit})


def _example_batches() -> list[Example]:
    """A few requests the reference RecipeEngineer understands, built from its catalogue."""
    by_slug = {p.slug: p for p in PRODUCTS}
    wanted = [
        ("lemon-vinaigrette", "lemon vinaigrette, 5 kg", 5, "kg"),
        ("hummus", "hummus with smoked paprika", 12, "kg"),
        ("mayonnaise", "mayonnaise, less sugar", 2.5, "kg"),
        ("basil-pesto", "basil pesto without garlic", 800, "g"),
        ("moisturizing-lotion", "moisturizing lotion, fragrance-free", 20, "l"),
        ("shampoo", "shampoo with extra aloe", 5, "gal"),
    ]
    return [Example(text, size, unit) for slug, text, size, unit in wanted if slug in by_slug]


EXAMPLES = _example_batches()
PRODUCT_NAMES = [p.name for p in PRODUCTS]
# Each product with its keywords, for the closest matches shown after a failed request.
PRODUCT_KEYWORDS = [(p.name, [" ".join(k) for k in p.keywords]) for p in PRODUCTS]
# What the cost and density maps are keyed by: each product's ingredient ids and names.
PRODUCT_INGREDIENTS = [(p.name, [(line.ingredient_id, INGREDIENTS[line.ingredient_id].name)
                                 for line in p.formula]) for p in PRODUCTS]


def size_of_text(text: str) -> Size | None:
    """The one batch size written in `text` ("hummus, 12 kg"); None when it writes none, or
    several different ones (which is the batch is then the person's call)."""
    sizes = {(s.quantity, s.unit): s for s in sizes_in_text(text)}
    return next(iter(sizes.values())) if len(sizes) == 1 else None


def parse_number_map(text: str) -> dict[str, float]:
    """`ing-x = 12.5` lines (also `ing-x: 12.5`; blank lines and `# comments` are skipped), or a
    JSON object. Raises forms.ValidationError listing every bad line."""
    stripped = text.strip()
    if not stripped:
        return {}
    if stripped.startswith("{"):
        return _parse_json_map(stripped)
    out: dict[str, float] = {}
    errors: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        sep = "=" if "=" in line else ":" if ":" in line else None
        if sep is None:
            errors.append(f"Line {number}: expected “ingredient-id = number”, got {line!r}.")
            continue
        key, _, value = (part.strip() for part in line.rpartition(sep))
        if not key:
            errors.append(f"Line {number}: the ingredient id before {sep!r} is missing.")
            continue
        parsed = _number(value)
        if parsed is None:
            errors.append(f"Line {number}: {value!r} is not a number (for {key}); write it "
                          "like 12 or 0.75.")
            continue
        if key in out:
            errors.append(f"Line {number}: {key} appears twice; give each ingredient once.")
            continue
        out[key] = parsed
    if errors:
        raise forms.ValidationError(errors)
    return out


def _number(value: str) -> float | None:
    try:
        number = float(value.replace(",", "").replace("_", ""))
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _parse_json_map(text: str) -> dict[str, float]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise forms.ValidationError(
            f"This looks like JSON but does not parse: {exc.msg} (line {exc.lineno}, column "
            f"{exc.colno}). Use a JSON object or {MAP_LINE_HELP}.") from exc
    except (RecursionError, ValueError) as exc:  # nested too deep; an integer over 4,300 digits
        raise forms.ValidationError(
            f"This JSON is nested too deeply or holds a number too long to read. Use a flat JSON "
            f"object or {MAP_LINE_HELP}.") from exc
    if not isinstance(data, dict):
        raise forms.ValidationError(f"Expected a JSON object or {MAP_LINE_HELP}.")
    errors = [f"{key}: {value!r} is not a number." for key, value in data.items()
              if isinstance(value, bool) or not isinstance(value, int | float)
              or not math.isfinite(value)]
    if errors:
        raise forms.ValidationError(errors)
    return {str(k): float(v) for k, v in data.items()}


def field_for_path(path: str) -> tuple[str | None, str]:
    """The form field of a contract error's field path and what remains of the path
    ("context.costMap.ing-x" -> ("cost_map", "ing-x")); (None, path) when no field matches."""
    for prefix, field in FIELD_OF_PATH.items():
        if path == prefix:
            return field, ""
        if path.startswith(prefix + "."):
            rest = path[len(prefix) + 1:].removesuffix(".[key]")
            return field, rest
    return None, path


# The longest request text (the input contract's userRequest: contracts/run.py). The form states
# it, counts as you type, and refuses a longer text naming its length; the textarea has no
# maxlength attribute, which would cut a pasted text silently.
REQUEST_MAX_CHARS = 2000


class RunRequestForm(forms.Form):
    user_request = forms.CharField(
        label="What should be made?", max_length=REQUEST_MAX_CHARS, strip=True,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "lemon vinaigrette, 5 kg"}),
        help_text="A product of the catalogue, optionally adapted: “hummus with smoked "
                  "paprika”, “mayonnaise, less sugar”, “lotion, fragrance-free”. At most "
                  f"{REQUEST_MAX_CHARS:,} characters.",
        error_messages={"required": "Describe what should be made, e.g. “lemon vinaigrette”.",
                        "max_length": "The request is %(show_value)d characters long; it may "
                        "be at most %(limit_value)d. Shorten it (the form keeps what you "
                        "typed)."})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        attrs = self.fields["user_request"].widget.attrs
        attrs.pop("maxlength", None)  # never cut silently: counted, then refused with a reason
        attrs["data-max-chars"] = str(REQUEST_MAX_CHARS)
    target_batch_size = forms.FloatField(
        label="Batch size", required=False,
        widget=forms.NumberInput(attrs={"step": "any", "min": "0", "inputmode": "decimal"}),
        help_text="Left empty: the size written in the request (“hummus, 12 kg”), with its "
                  "unit.",
        error_messages={"invalid": "Enter the batch size as a number, e.g. 5 or 2.5."})
    target_unit = forms.ChoiceField(
        label="Unit", choices=UNIT_CHOICES, initial="kg",
        error_messages={"required": "Choose the unit of the batch size.",
                        "invalid_choice": "Unknown unit %(value)s; choose one of "
                                          + ", ".join(UNITS) + "."})
    cost_map = forms.CharField(
        label="Cost map (optional)", required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "ing-olive-oil = 9.5\n"
                                                              "ing-honey = 7.25",
                                     "spellcheck": "false"}),
        help_text=f"Cost per kg, {MAP_LINE_HELP}. Overrides the catalogue's cost for that "
                  "ingredient.")
    density_map = forms.CharField(
        label="Density map (optional)", required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "ing-olive-oil = 0.91",
                                     "spellcheck": "false"}),
        help_text=f"Density in g/ml, {MAP_LINE_HELP}. Used to convert between mass and volume.")

    contract: InputContract | None = None
    size_from_text: Size | None = None  # the batch size and unit were taken from the text

    def clean_cost_map(self) -> dict[str, float]:
        return parse_number_map(self.cleaned_data.get("cost_map") or "")

    def clean_density_map(self) -> dict[str, float]:
        return parse_number_map(self.cleaned_data.get("density_map") or "")

    def clean(self) -> dict[str, Any]:
        """Check what parsed against the contract, so that every field's error shows at once;
        a field that did not parse keeps its own error (and is left out of the check)."""
        data = super().clean() or {}
        self._size_from_text(data)
        parsed = {name: data[name] for name in self.fields
                  if name in data and name not in self.errors}
        wire: dict[str, Any] = {
            "userRequest": parsed.get("user_request"),
            "targetBatchSize": parsed.get("target_batch_size"),
            "targetUnit": parsed.get("target_unit"),
            "context": {"costMap": parsed.get("cost_map") or {},
                        "densityMap": parsed.get("density_map") or {}},
        }
        try:
            contract = parse_input({k: v for k, v in wire.items() if v is not None})
        except ContractError as exc:
            self._add_contract_errors(exc)
        else:
            self.contract = None if self.errors else contract
        return data

    def _size_from_text(self, data: dict[str, Any]) -> None:
        """An empty batch size: the size written in the request, with its unit (shown in the
        fields when the form comes back); else an error saying what to give."""
        if "target_batch_size" in self.errors or data.get("target_batch_size") is not None:
            return
        text = data.get("user_request") or ""
        size = size_of_text(text)
        if size is None:
            written = sizes_in_text(text)
            self.add_error("target_batch_size", (
                "The request writes several sizes (" + ", ".join(s.written for s in written[:5])
                + "): give the batch size." if written else
                "Give the batch size, a number greater than 0, or write it in the request "
                "(“hummus, 12 kg”)."))
            return
        data["target_batch_size"], data["target_unit"] = size.quantity, size.unit
        self.errors.pop("target_unit", None)
        self.size_from_text = size
        # The bound data (an immutable QueryDict; its copy is mutable) shows what was taken.
        shown = cast(Any, self.data).copy()
        shown["target_batch_size"], shown["target_unit"] = f"{size.quantity:.15g}", size.unit
        self.data = shown

    def _add_contract_errors(self, exc: ContractError) -> None:
        for error in exc.errors:
            field, rest = field_for_path(error["field"])
            if field is not None and (field in self.errors or field not in self.cleaned_data):
                continue  # its own error is shown already
            message = _sentence(error["message"])
            if field in {"cost_map", "density_map"} and rest:
                message = (f"{rest!r} is not a valid ingredient id: use letters, digits, "
                           "'.', '_', ':' or '-', starting with a letter or digit."
                           if error["field"].endswith("[key]") else f"{rest}: {message}")
            elif field is None:
                message = f"{error['field']}: {message}"
            self.add_error(field, message)


def _sentence(message: str) -> str:
    message = message.strip()
    if not message:
        return message
    message = message[0].upper() + message[1:]
    return message if message.endswith((".", "!", "?")) else message + "."
