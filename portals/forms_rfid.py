"""Forms of the RFID page: they parse what people type; stocking.rfid decides and writes."""

from __future__ import annotations

from django import forms

from portals.forms_people import ServiceErrors
from stocking.models import RfidMode


class ReaderForm(ServiceErrors, forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=100,
        help_text="E.g. “Crib cabinet 1” or “Kanban drop box, line 2”.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    site = forms.TypedChoiceField(label="Site", coerce=int)
    mode = forms.ChoiceField(label="Mode", choices=RfidMode.choices)
    antenna_count = forms.IntegerField(
        label="Antennas",
        min_value=1,
        max_value=64,
        initial=1,
        help_text="How many antennas it has: a cycle with fewer reporting applies nothing.",
    )
    location = forms.TypedChoiceField(
        label="Location (cabinets)",
        coerce=int,
        required=False,
        empty_value=None,
        help_text="Tags count for the item's bin here (else anywhere at the site).",
    )

    def __init__(self, *args, sites=(), locations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = [(s.pk, s.name) for s in sites]
        self.fields["location"].choices = [("", "Any at the site")] + [
            (loc.pk, loc.code) for loc in locations
        ]


class CardForm(ServiceErrors, forms.Form):
    bin = forms.CharField(
        label="Bin label",
        max_length=32,
        help_text="A kanban bin (one with a card quantity).",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    epc = forms.CharField(
        label="EPC (hex)",
        max_length=124,
        required=False,
        help_text="The card's EPC; leave empty to get a new one to encode.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


class AssignForm(ServiceErrors, forms.Form):
    tags = forms.TypedMultipleChoiceField(label="Tags", coerce=int)
    item = forms.CharField(
        label="Item SKU",
        max_length=48,
        help_text="The tags count for this item's bin at the reader's site from now on.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args, tag_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tags"].choices = [(pk, pk) for pk in tag_ids]
