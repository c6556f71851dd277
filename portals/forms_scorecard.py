"""The scorecard's forms: the month shown, and one target of a customer."""

from __future__ import annotations

from django import forms

from insight.scorecard.metrics import METRICS


class TargetForm(forms.Form):
    metric = forms.ChoiceField(label="Metric", choices=[(m.key, m.label) for m in METRICS])
    target = forms.DecimalField(
        label="Target",
        required=False,
        min_value=0,
        max_digits=12,
        decimal_places=2,
        help_text="Empty removes the target. Percentages 0 to 100; hours, days, counts as is.",
    )
