"""Forms of the webhooks pages; the webhooks services check everything again."""

from __future__ import annotations

from django import forms

from cmi.events import KINDS


def _kind_choices() -> list[tuple[str, str]]:
    return [(k.name, f"{k.title} ({k.name})") for k in KINDS.values()]


class EndpointForm(forms.Form):
    url = forms.URLField(
        label="URL",
        max_length=500,
        assume_scheme="https",
        # A text box styled like the others; the phone still offers its URL keyboard.
        widget=forms.TextInput(attrs={"inputmode": "url", "autocomplete": "url"}),
        help_text="Where we POST each event (https://...). Public addresses only.",
    )
    description = forms.CharField(label="Description", max_length=200, required=False)
    kinds = forms.MultipleChoiceField(
        label="Events",
        choices=_kind_choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every event.",
    )

    def __init__(self, *args, customers=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if customers is not None:
            self.fields["customer"] = forms.TypedChoiceField(
                label="Customer",
                choices=[("", "All customers")] + [(c.pk, c.name) for c in customers],
                coerce=int,
                empty_value=None,
                required=False,
                help_text="Only this customer's events, or every customer's.",
            )


class EndpointEditForm(EndpointForm):
    enabled = forms.BooleanField(label="Enabled", required=False)
