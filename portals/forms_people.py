"""Forms of the scanners and users pages: they parse what people type; the services
decide and write."""

from __future__ import annotations

from django import forms

from cmi.errors import ApiError
from cmi.models import Role


class ServiceErrors:
    """A service's ApiError shown on the field it names (or on the form)."""

    def add_service_error(self, err: ApiError) -> None:
        field = err.field if err.field in self.fields else None
        self.add_error(field, str(err.detail))


class ScannerForm(ServiceErrors, forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=100,
        help_text="How people will recognise it, e.g. “Dock handheld 2”.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    site = forms.TypedChoiceField(
        label="Site", coerce=int, required=False, empty_value=None, help_text="Optional."
    )

    def __init__(self, *args, sites=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = [("", "Any site"), *((s.pk, s.name) for s in sites)]


class InviteForm(ServiceErrors, forms.Form):
    email = forms.EmailField(
        label="Email", max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "off"})
    )
    name = forms.CharField(
        label="Name", max_length=150, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    role = forms.ChoiceField(
        label="Role",
        choices=[(Role.CUSTOMER_STAFF.value, "Staff"), (Role.CUSTOMER_MANAGER.value, "Manager")],
        initial=Role.CUSTOMER_STAFF.value,
        help_text="Staff scan and look up stock; managers also approve orders and manage "
        "scanners and users.",
    )
