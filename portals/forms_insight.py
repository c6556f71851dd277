"""Forms of the recommendations and backtests pages; the services check everything again."""

from __future__ import annotations

from django import forms

VARIANTS = [
    ("as_was", "Levels as they were"),
    ("recommended", "Recommended levels"),
]


class CustomerPolicyForm(forms.Form):
    target_fill = forms.DecimalField(
        label="Target fill (%)",
        min_value=50,
        max_value=99.9,
        decimal_places=1,
        required=False,
        help_text="Units served / units demanded. Empty: 98%.",
    )


class BinPolicyForm(forms.Form):
    label = forms.CharField(label="Bin label", max_length=32)
    floor_min = forms.IntegerField(
        label="Never below (min)", min_value=0, max_value=1_000_000, required=False
    )
    target_fill = forms.DecimalField(
        label="Target fill (%)", min_value=50, max_value=99.9, decimal_places=1, required=False
    )
    opt_out = forms.BooleanField(label="No recommendations for this bin", required=False)


class BacktestForm(forms.Form):
    days = forms.IntegerField(
        label="Days of history to replay", min_value=14, max_value=365, initial=90
    )
    variants = forms.MultipleChoiceField(
        choices=VARIANTS,
        initial=["as_was", "recommended"],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Compare",
    )
    min_pct = forms.IntegerField(
        label="What if: all mins +/- %", min_value=-90, max_value=500, required=False
    )
    target_fill = forms.DecimalField(
        label="What if: target fill (%)",
        min_value=50,
        max_value=99.9,
        decimal_places=1,
        required=False,
    )
    levels_csv = forms.FileField(
        label="What if: a CSV of levels (bin or sku, min, max)", required=False
    )

    def clean(self):
        data = super().clean()
        if not (
            data.get("variants")
            or data.get("min_pct") is not None
            or data.get("target_fill") is not None
            or data.get("levels_csv")
        ):
            raise forms.ValidationError("Choose at least one variant.")
        upload = data.get("levels_csv")
        if upload:
            if upload.size > 2_000_000:
                self.add_error("levels_csv", "The file is larger than 2 MB.")
            else:
                try:
                    data["levels_text"] = upload.read().decode("utf-8-sig")
                except UnicodeDecodeError:
                    self.add_error("levels_csv", "The file is not UTF-8 text.")
        return data

    def params(self) -> dict:
        d = self.cleaned_data
        variants = [{"kind": kind} for kind in d.get("variants") or []]
        if d.get("min_pct") is not None:
            variants.append({"kind": "min_pct", "percent": d["min_pct"]})
        if d.get("target_fill") is not None:
            variants.append({"kind": "target_fill", "target": float(d["target_fill"]) / 100})
        if d.get("levels_text"):
            variants.append({"kind": "levels", "csv": d["levels_text"]})
        return {"days": d["days"], "variants": variants}
