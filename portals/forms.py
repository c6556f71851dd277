"""Forms parse and check what people type; the services decide and write."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from cmi.errors import ApiError
from stocking.levels import Levels, LevelsCode, levels_problems, whole_packs_problem

STATUS_CHOICES = [
    ("", "All bins"),
    ("below_min", "Below min"),
    ("at_zero", "At zero"),
    ("over_max", "Over max"),
    ("kanban", "Kanban, stocked"),
]
SORT_CHOICES = [
    ("location", "Location"),
    ("-location", "Location, Z to A"),
    ("sku", "SKU"),
    ("-sku", "SKU, Z to A"),
    ("on_hand", "On hand, lowest first"),
    ("-on_hand", "On hand, highest first"),
]
INDENT = "\u2003"  # an em space per level of a location's nesting
MAX_QUANTITY = 10_000_000  # the API's bound too


class QueryStringForm(forms.Form):
    """A form over a list page's query string: a bad value falls back to its default,
    never to an error page. Subclasses list their fields' defaults in DEFAULTS."""

    DEFAULTS: dict = {}

    def cleaned_or_defaults(self) -> dict:
        if self.is_valid():
            return self.cleaned_data
        data = dict(self.DEFAULTS)
        for name in data:
            if name not in self.errors and name in getattr(self, "cleaned_data", {}):
                data[name] = self.cleaned_data[name]
        return data


class StockFilterForm(QueryStringForm):
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=64,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": "SKU, description, part no. or barcode",
                "autocomplete": "off",
            }
        ),
    )
    status = forms.ChoiceField(label="Show", choices=STATUS_CHOICES, required=False)
    site = forms.TypedChoiceField(label="Site", coerce=int, required=False, empty_value=None)
    location = forms.TypedChoiceField(
        label="Location", coerce=int, required=False, empty_value=None
    )
    sort = forms.ChoiceField(label="Sort by", choices=SORT_CHOICES, required=False)

    DEFAULTS = {"q": "", "status": "", "site": None, "location": None, "sort": ""}

    def __init__(self, *args, sites=(), locations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = [("", "All sites"), *((s.pk, s.name) for s in sites)]
        # Locations in tree order (they come ordered by path), each with what is inside it.
        self.fields["location"].choices = [
            ("", "All locations"),
            *((loc.pk, INDENT * loc.depth + loc.code) for loc in locations),
        ]


class LevelsForm(forms.Form):
    min_qty = forms.IntegerField(label="Min", min_value=0, max_value=MAX_QUANTITY)
    max_qty = forms.IntegerField(label="Max", min_value=0, max_value=MAX_QUANTITY)

    def __init__(self, *args, pack_multiple: int = 1, **kwargs):
        super().__init__(*args, **kwargs)
        self.pack_multiple = pack_multiple
        if pack_multiple > 1:
            self.fields["max_qty"].widget.attrs["step"] = pack_multiple

    def clean(self):
        data = super().clean()
        low, high = data.get("min_qty"), data.get("max_qty")
        if low is not None and high is not None:
            for problem in levels_problems(Levels(low, high, self.pack_multiple)):
                self._problem_add(problem.code, problem.field, problem.message)
        return data

    def _problem_add(self, code: str, field: str | None, message: str) -> None:
        words = {
            LevelsCode.MIN_ABOVE_MAX: "Min must not be above max.",
            LevelsCode.NOT_WHOLE_PACKS: (
                f"Max must be a whole number of packs of {self.pack_multiple}."
            ),
        }
        self.add_error(
            {"min": "min_qty", "max": "max_qty"}.get(field or ""), words.get(code, message)
        )

    def add_service_error(self, err: ApiError) -> None:
        self._problem_add(err.error_code, err.field, str(err.detail))


class ApproveForm(forms.Form):
    """One quantity per line, prefilled with what was proposed; the service checks packs."""

    def __init__(self, *args, lines=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = list(lines)
        for line in self.lines:
            self.fields[f"qty_{line.pk}"] = forms.IntegerField(
                label=f"Quantity for line {line.line_number} ({line.item.sku})",
                min_value=0,
                max_value=MAX_QUANTITY,
                initial=line.quantity_ordered,
                widget=forms.NumberInput(attrs={"step": line.bin.pack_multiple, "min": 0}),
            )

    def clean(self):
        # The service's own pack rule, so its message stands next to the field it is about.
        data = super().clean()
        for line in self.lines:
            name = f"qty_{line.pk}"
            if data.get(name) is not None:
                problem = whole_packs_problem(
                    data[name], line.bin.pack_multiple, line_number=line.line_number
                )
                if problem:
                    self.add_error(name, problem)
        return data

    def quantities(self) -> dict[int, int]:
        return {line.pk: self.cleaned_data[f"qty_{line.pk}"] for line in self.lines}

    def amounts(self) -> tuple[list, Decimal]:
        """(line, field, amount) rows and the total, at the quantities on the form (what
        was typed, when it is a number; else what the line holds)."""
        rows, total = [], Decimal(0)
        for line, field in self.rows():
            try:
                quantity = int(field.value())
            except (TypeError, ValueError):
                quantity = line.quantity_ordered
            amount = line.unit_price * max(quantity, 0)
            total += amount
            rows.append((line, field, amount))
        return rows, total

    def rows(self):
        """(line, bound field) pairs for the template's table."""
        return [(line, self[f"qty_{line.pk}"]) for line in self.lines]


class RejectForm(forms.Form):
    reason = forms.CharField(
        label="Reason (the vendor sees it)",
        required=False,
        max_length=200,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
