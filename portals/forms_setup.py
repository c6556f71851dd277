"""Forms of the vendor's settings pages: the trading partner profile, a customer's
release policy and its reps; the alert thresholds of the vendor and of a customer.

Each form checks its input with the API's own input serializer, so a value the API
refuses is refused here with the same message, and the services decide the rest.
"""

from __future__ import annotations

from django import forms

from cmi.api.serializers import CustomerIn
from cmi.errors import ApiError
from cmi.models import ReleasePolicy
from cmi.timezones import time_zone_choices
from edi.api.outbox_serializers import PartnerIn
from edi.models import TradingPartner
from notify.models import THRESHOLD_MAX_HOURS, ThresholdKind
from notify.thresholds import Effective
from portals.forms import QueryStringForm


class ApiCheckedForm(forms.Form):
    """A form whose cleaned values are checked again by an API input serializer."""

    serializer_class: type = PartnerIn
    # How an error in one item of a list field is said, by field.
    item_messages: dict[str, str] = {}

    def api_data(self) -> dict:
        return dict(self.cleaned_data)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        body = self.serializer_class(data=self.api_data())
        if body.is_valid():
            self.validated = dict(body.validated_data)
        else:
            for name, problems in body.errors.items():
                message = problems[0] if isinstance(problems, list) else problems
                if isinstance(message, dict):  # a list field: {index: [error]}
                    index, found = next(iter(message.items()))
                    value = body.initial_data[name][index]
                    template = self.item_messages.get(name, "{value!r}: {error}")
                    message = template.format(value=value, error=found[0])
                self.add_error(name if name in self.fields else None, str(message))
        return data

    def add_service_error(self, err: ApiError) -> None:
        name = err.field if err.field in self.fields else None
        self.add_error(name, str(err.detail))


def _text(label: str, help_text: str = "", *, required: bool = True, **attrs) -> forms.CharField:
    return forms.CharField(
        label=label,
        help_text=help_text,
        required=required,
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", **attrs}),
    )


def _separator(label: str, help_text: str) -> forms.CharField:
    # Not stripped: a blank separator must reach the model's check and be named.
    field = _text(label, help_text, required=False)
    field.strip = False
    return field


class PartnerForm(ApiCheckedForm):
    """The whole profile, as PUT /api/v1/edi/partner takes it."""

    serializer_class = PartnerIn

    isa_sender_qualifier = _text("Our ISA qualifier (ISA05)", "2 characters, e.g. ZZ or 01.")
    isa_sender_id = _text("Our ISA id (ISA06)", "1 to 15 characters.")
    isa_receiver_qualifier = _text("ERP's ISA qualifier (ISA07)", "2 characters.")
    isa_receiver_id = _text("ERP's ISA id (ISA08)", "1 to 15 characters.")
    gs_sender = _text("Our application code (GS02)", "2 to 15 characters.")
    gs_receiver = _text("ERP's application code (GS03)", "2 to 15 characters.")
    version = forms.ChoiceField(label="X12 version", choices=TradingPartner.Version.choices)
    gs08_suffix = _text(
        "GS08 suffix", "Appended to the version, e.g. VICS gives 004010VICS.", required=False
    )
    usage = forms.ChoiceField(label="Usage (ISA15)", choices=[("T", "Test"), ("P", "Production")])
    element_separator = _separator("Element separator", "Default *.")
    component_separator = _separator("Component separator (ISA16)", "Default >.")
    segment_terminator = _separator("Segment terminator", "Default ~.")
    repetition_separator = _separator("Repetition separator (ISA11)", "005010 only. Default ^.")
    newline = forms.BooleanField(label="A line break after each segment", required=False)
    expect_997 = forms.BooleanField(label="The ERP answers each 850 with a 997", required=False)
    hours_997 = forms.IntegerField(
        label="997 due within (hours)", min_value=1, max_value=720, help_text="1 to 720."
    )
    hours_855 = forms.IntegerField(
        label="855 due within (hours)", min_value=1, max_value=720, help_text="1 to 720."
    )
    days_receipt = forms.IntegerField(
        label="Receipt due within (days) of shipping",
        min_value=1,
        max_value=365,
        help_text="1 to 365.",
    )

    @classmethod
    def initial_for(cls, partner: TradingPartner | None) -> dict:
        """The saved profile, or the model's defaults for a first one."""
        source = partner or TradingPartner()
        return {name: getattr(source, name) for name in cls.base_fields}


def _cutoffs_parse(value: str) -> list[str]:
    return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]


# The time zone select gets a search box from portals/static/portals/tzpick.js.
TIME_ZONE_WIDGET = forms.Select(attrs={"data-tz-search": ""})


class VendorSettingsForm(forms.Form):
    """The vendor's own settings: the zone its pages show times in."""

    timezone = forms.ChoiceField(
        label="Your time zone",
        help_text="The orders list, order pages and EDI documents show times in it. "
        "Each customer's pages use the customer's zone.",
        widget=TIME_ZONE_WIDGET,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["timezone"].choices = time_zone_choices(self.initial.get("timezone"))

    def add_service_error(self, err: ApiError) -> None:
        self.add_error("timezone" if err.field == "timezone" else None, str(err.detail))


class CustomerSettingsForm(ApiCheckedForm):
    """Release policy, cutoff times and time zone, as PATCH /api/v1/customers/<id> takes them."""

    serializer_class = CustomerIn
    item_messages = {"cutoff_times": "{value!r} is not a time of day as HH:MM (00:00 to 23:59)."}

    release_policy = forms.ChoiceField(
        label="Release policy", choices=ReleasePolicy.choices, widget=forms.RadioSelect
    )
    cutoff_times = forms.CharField(
        label="Cutoff times",
        required=False,
        max_length=500,
        help_text="For the scheduled policy: times of day as HH:MM, separated by commas, "
        "e.g. 09:00, 14:30. In the customer's time zone.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )
    timezone = forms.ChoiceField(label="Time zone", widget=TIME_ZONE_WIDGET)
    consolidation_minutes = forms.IntegerField(
        label="Consolidation window (minutes)",
        min_value=0,
        max_value=1440,
        required=False,
        help_text="For the auto policy: an order collects lines this long before it goes "
        "(0: every order goes at once). A bin at zero sends it at once.",
    )
    consolidation_min_value = forms.DecimalField(
        label="Minimum order value",
        min_value=0,
        max_digits=12,
        decimal_places=2,
        required=False,
        help_text="For the auto policy: an order worth this much goes before the window "
        "ends (0: no minimum).",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["timezone"].choices = time_zone_choices(self.initial.get("timezone"))

    def api_data(self) -> dict:
        data = dict(self.cleaned_data)
        data["cutoff_times"] = _cutoffs_parse(data.get("cutoff_times") or "")
        # Left empty: kept as they are.
        for name in ("consolidation_minutes", "consolidation_min_value"):
            if data.get(name) is None:
                data.pop(name, None)
        return data

    @staticmethod
    def initial_for(customer) -> dict:
        return {
            "release_policy": customer.release_policy,
            "cutoff_times": ", ".join(customer.cutoff_times or []),
            "timezone": customer.timezone,
            "consolidation_minutes": customer.consolidation_minutes,
            "consolidation_min_value": customer.consolidation_min_value,
        }


class RepsForm(forms.Form):
    """Which of the vendor's reps look after this customer."""

    reps = forms.TypedMultipleChoiceField(
        label="Reps assigned to this customer",
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, reps=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reps"].choices = [
            (m.user_id, f"{m.user.get_full_name() or m.user.get_username()}") for m in reps
        ]

    def add_service_error(self, err: ApiError) -> None:
        self.add_error("reps" if err.field == "rep_user_ids" else None, str(err.detail))


# --- the vendor's orders list ---------------------------------------------------------

ORDER_SORTS = [
    ("-created", "Newest first"),
    ("created", "Oldest first"),
    ("po", "PO number"),
    ("-po", "PO number, Z to A"),
    ("customer", "Customer"),
    ("-customer", "Customer, Z to A"),
    ("status", "Status"),
    ("-status", "Status, Z to A"),
]


class VendorOrderFilterForm(QueryStringForm):
    q = forms.CharField(
        label="PO number",
        required=False,
        max_length=22,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "e.g. AC000123", "autocomplete": "off"}
        ),
    )
    customer = forms.TypedChoiceField(
        label="Customer", coerce=int, required=False, empty_value=None
    )
    status = forms.ChoiceField(label="Status", required=False)
    edi = forms.ChoiceField(label="EDI state", required=False)
    sort = forms.ChoiceField(label="Sort by", choices=ORDER_SORTS, required=False)

    DEFAULTS = {"q": "", "customer": None, "status": "", "edi": "", "sort": ""}

    def __init__(self, *args, customers=(), statuses=(), edi_states=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].choices = [("", "All customers")] + [
            (c.pk, c.name) for c in customers
        ]
        self.fields["status"].choices = [("", "Any status"), *statuses]
        self.fields["edi"].choices = [("", "Any EDI state"), *edi_states]


class AlertThresholdsForm(forms.Form):
    """The hours of each alert that waits (notify/thresholds.py): blank inherits. The
    range is the service's rule, so its refusal stands next to the field it is about."""

    prefix = "thresholds"

    def __init__(self, *args, rows: list[Effective], for_customer: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.rows = rows
        inherit = "the vendor's default" if for_customer else "the platform's default"
        for row in rows:
            self.fields[threshold_field(row.kind)] = forms.IntegerField(
                label=f"{row.label} (hours)",
                required=False,
                initial=row.own,
                help_text=f"Blank: {inherit}, {row.inherited} h.",
                widget=forms.NumberInput(attrs={"min": 1, "max": THRESHOLD_MAX_HOURS}),
            )

    def hours(self) -> dict[str, int | None]:
        return {row.kind: self.cleaned_data.get(threshold_field(row.kind)) for row in self.rows}

    def add_service_error(self, err: ApiError) -> None:
        name = threshold_field(err.field or "")
        self.add_error(name if name in self.fields else None, str(err.detail))

    def bound_rows(self) -> list[tuple[Effective, forms.BoundField]]:
        return [(row, self[threshold_field(row.kind)]) for row in self.rows]


def threshold_field(kind: str) -> str:
    """A kind's form field: its ThresholdKind member's name (below_min, ...)."""
    try:
        return ThresholdKind(kind).name.lower()
    except ValueError:
        return ""
