"""Forms of the catalog pages and the bin label sheet: they parse, the services decide."""

from __future__ import annotations

import re

from django import forms

from catalog.models import CrossReferenceKind
from cmi.errors import ApiError
from portals.barcodes import CODE128, FORMATS

MAX_BARCODES = 20
CODE_LENGTH = 48  # ItemBarcode.code and CrossReference.code


class ServiceErrorsMixin:
    """A service's ApiError lands on the field it names, or on the form."""

    service_fields: dict[str, str] = {}

    def add_service_error(self, err: ApiError) -> None:
        name = self.service_fields.get(err.field or "", err.field)
        self.add_error(name if name in self.fields else None, str(err.detail))  # type: ignore[attr-defined]


class CatalogSearchForm(forms.Form):
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=64,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": "SKU, description or barcode",
                "autocomplete": "off",
            }
        ),
    )

    def text(self) -> str:
        """A bad query string searches for nothing rather than failing."""
        return self.cleaned_data["q"].strip() if self.is_valid() else ""


class ItemEditForm(ServiceErrorsMixin, forms.Form):
    description = forms.CharField(label="Description", max_length=200)
    barcodes = forms.CharField(
        label="Barcodes",
        required=False,
        help_text="GTIN, UPC or EAN codes, one per line. Remove a line to delete a barcode.",
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "off", "spellcheck": "false"}),
    )

    def clean_description(self) -> str:
        return self.cleaned_data["description"].strip()

    def clean_barcodes(self) -> list[str]:
        codes = [c for c in re.split(r"[\s,;]+", self.cleaned_data["barcodes"]) if c]
        codes = list(dict.fromkeys(codes))
        if len(codes) > MAX_BARCODES:
            raise forms.ValidationError(f"At most {MAX_BARCODES} barcodes per item.")
        for code in codes:
            if len(code) > CODE_LENGTH:
                raise forms.ValidationError(f"{code[:20]}… is longer than {CODE_LENGTH}.")
        return codes


class ReferenceForm(ServiceErrorsMixin, forms.Form):
    """A customer's own part number or barcode for the item."""

    customer = forms.TypedChoiceField(label="Customer", coerce=int)
    kind = forms.ChoiceField(label="Kind", choices=CrossReferenceKind.choices)
    code = forms.CharField(label="Their code", max_length=CODE_LENGTH)

    service_fields = {"customer": "customer", "code": "code", "item": "code"}

    def __init__(self, *args, customers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].choices = [
            ("", "Choose a customer"),
            *((c.pk, c.name) for c in customers),
        ]

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip()
        if not code:
            raise forms.ValidationError("Enter the customer's code.")
        return code


class LabelSheetForm(forms.Form):
    """Which bins get labels: a site, optionally one location and everything under it."""

    site = forms.TypedChoiceField(label="Site", coerce=int)
    location = forms.TypedChoiceField(
        label="Location", coerce=int, required=False, empty_value=None
    )
    format = forms.ChoiceField(label="Barcode", choices=FORMATS, initial=CODE128)

    def __init__(self, *args, sites=(), locations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.sites = {s.pk: s for s in sites}
        self.locations = {loc.pk: loc for loc in locations}
        self.fields["site"].choices = [(s.pk, s.name) for s in sites]
        groups = []
        for site in sites:
            options = [
                (loc.pk, f"{'— ' * loc.depth}{loc.code}{f' ({loc.name})' if loc.name else ''}")
                for loc in locations
                if loc.site_id == site.pk
            ]
            if options:
                groups.append((site.name, options))
        self.fields["location"].choices = [("", "The whole site"), *groups]

    def clean(self):
        data = super().clean()
        location = self.locations.get(data.get("location") or 0)
        if location is not None and data.get("site") and location.site_id != data["site"]:
            self.add_error("location", "That location is at another site.")
        return data
