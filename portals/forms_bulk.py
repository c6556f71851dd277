"""Forms of the bulk pages: a CSV uploaded or pasted, the confirm step, the adjustment.

The CSV forms read the text into a `CsvTable` (cmi.csvin); what a row means is the
services' business (stocking.bulk, catalog.bulk).
"""

from __future__ import annotations

from collections.abc import Sequence

from django import forms

from cmi.csvin import MAX_BYTES, CsvProblem, csv_decode, csv_read
from stocking.bulk import ADJUST_LEVELS


class _CsvForm(forms.Form):
    def __init__(self, *args, required: Sequence[str], optional: Sequence[str] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.required, self.optional = tuple(required), tuple(optional)

    def _table(self, text: str):
        try:
            return csv_read(text, required=self.required, optional=self.optional)
        except CsvProblem as problem:
            raise forms.ValidationError(problem.message, code="bad_csv") from None


class CsvUploadForm(_CsvForm):
    """A file or pasted text; a file wins when a person gives both."""

    file = forms.FileField(
        label="CSV file",
        required=False,
        widget=forms.FileInput(attrs={"accept": ".csv,text/csv"}),
    )
    text = forms.CharField(
        label="Or paste the CSV here",
        required=False,
        strip=False,
        widget=forms.Textarea(
            attrs={"rows": 8, "spellcheck": "false", "autocomplete": "off", "class": "mono"}
        ),
    )

    def clean(self):
        data = super().clean()
        upload = data.get("file")
        if upload:
            try:
                # At most one byte over the limit is read: enough to know it is too big.
                text = csv_decode(upload.read(MAX_BYTES + 1))
            except CsvProblem as problem:
                raise forms.ValidationError(problem.message, code="bad_csv") from None
        elif data.get("text", "").strip():
            text = data["text"]
        else:
            raise forms.ValidationError("Choose a CSV file or paste the CSV.", code="empty")
        data["table"] = self._table(text)
        return data


class CsvConfirmForm(_CsvForm):
    """The confirm step posts back the text that was previewed; it is read again."""

    csv_text = forms.CharField(widget=forms.HiddenInput, strip=False)

    def clean(self):
        data = super().clean()
        if "csv_text" in data:
            data["table"] = self._table(data["csv_text"])
        return data


LEVEL_LABELS = {"min": "Min only", "max": "Max only", "both": "Min and max"}
LEVEL_CHOICES = [(name, LEVEL_LABELS[name]) for name in ADJUST_LEVELS]


class AdjustForm(forms.Form):
    levels = forms.ChoiceField(label="Change", choices=LEVEL_CHOICES, initial="min")
    percent = forms.IntegerField(
        label="By percent",
        min_value=-90,
        max_value=500,
        help_text="10 raises by 10%, -10 lowers by 10%.",
    )
    site = forms.TypedChoiceField(
        label="Site", coerce=int, required=False, empty_value=None, choices=()
    )
    location = forms.CharField(
        label="Location code",
        required=False,
        max_length=32,
        help_text="Its bins and the bins of the locations inside it.",
    )
    sku = forms.CharField(label="SKU starts with", required=False, max_length=48)

    def __init__(self, *args, sites=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = [("", "All sites"), *((s.pk, s.name) for s in sites)]

    def clean_percent(self):
        percent = self.cleaned_data["percent"]
        if percent == 0:
            raise forms.ValidationError("0% changes nothing.", code="zero")
        return percent
