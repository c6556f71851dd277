"""Input and output of the partner profile, the outbox and the overdue list."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from edi.models import Document, TradingPartner
from edi.outbound import DELIVERY_STATUSES
from edi.overdue import overdue_flags

# --- partner profile ---------------------------------------------------------------

_PROFILE_FIELDS = [
    "isa_sender_qualifier",
    "isa_sender_id",
    "isa_receiver_qualifier",
    "isa_receiver_id",
    "gs_sender",
    "gs_receiver",
    "version",
    "gs08_suffix",
    "usage",
    "element_separator",
    "component_separator",
    "segment_terminator",
    "repetition_separator",
    "newline",
    "expect_997",
    "hours_997",
    "hours_855",
    "days_receipt",
]


def _text(help_text: str, *, required: bool = False, trim: bool = True) -> serializers.CharField:
    # Widths are the model's to judge (full_clean, code invalid_partner); this bound
    # only keeps absurd bodies out.
    return serializers.CharField(
        max_length=100,
        required=required,
        allow_blank=True,
        trim_whitespace=trim,
        help_text=help_text,
    )


def _separator(help_text: str) -> serializers.CharField:
    # Not trimmed: a blank separator must reach the model's check and be named.
    return _text(help_text, trim=False)


class PartnerIn(serializers.Serializer):
    """The whole profile. PUT replaces it: a field left out takes its default."""

    isa_sender_qualifier = _text("ISA05, 2 characters. Default ZZ.")
    isa_sender_id = _text("ISA06: our id, 1 to 15 characters.", required=True)
    isa_receiver_qualifier = _text("ISA07, 2 characters. Default ZZ.")
    isa_receiver_id = _text("ISA08: the ERP's id, 1 to 15 characters.", required=True)
    gs_sender = _text("GS02: our application code, 2 to 15 characters.", required=True)
    gs_receiver = _text("GS03: the ERP's application code, 2 to 15 characters.", required=True)
    version = serializers.ChoiceField(
        choices=TradingPartner.Version.choices, required=False, help_text="Default 004010."
    )
    gs08_suffix = _text("Appended to GS08, e.g. VICS gives 004010VICS.")
    usage = serializers.ChoiceField(
        choices=[("P", "Production"), ("T", "Test")], required=False, help_text="ISA15."
    )
    element_separator = _separator("Default *.")
    component_separator = _separator("ISA16. Default >.")
    segment_terminator = _separator("Default ~.")
    repetition_separator = _separator("ISA11 in 005010. Default ^.")
    newline = serializers.BooleanField(required=False, help_text="A line break after each segment.")
    expect_997 = serializers.BooleanField(required=False)
    hours_997 = serializers.IntegerField(min_value=1, max_value=720, required=False)
    hours_855 = serializers.IntegerField(min_value=1, max_value=720, required=False)
    days_receipt = serializers.IntegerField(min_value=1, max_value=365, required=False)


class PartnerOut(serializers.ModelSerializer):
    class Meta:
        model = TradingPartner
        fields = ["id", *_PROFILE_FIELDS]


# --- outbox --------------------------------------------------------------------------


class OutboxDocumentOut(serializers.ModelSerializer):
    order = serializers.IntegerField(source="order_id", allow_null=True)
    po_number = serializers.CharField(source="order.po_number", allow_null=True, default=None)
    delivery_status = serializers.CharField(
        help_text="Empty until the ERP reports; then received or failed."
    )

    class Meta:
        model = Document
        fields = [
            "id",
            "cursor",
            "transaction_set",
            "purpose",
            "isa_control",
            "gs_control",
            "st_control",
            "order",
            "po_number",
            "created_at",
            "delivered_at",
            "delivery_status",
        ]


class OutboxPageOut(serializers.Serializer):
    results = OutboxDocumentOut(many=True)
    next_cursor = serializers.IntegerField(
        help_text="Send as `after` next time: the last cursor returned, or `after` when none was."
    )


class DeliveryIn(serializers.Serializer):
    status = serializers.ChoiceField(choices=DELIVERY_STATUSES)
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True)


class DeliveryOut(OutboxDocumentOut):
    delivery_reason = serializers.CharField()

    class Meta(OutboxDocumentOut.Meta):
        fields = [*OutboxDocumentOut.Meta.fields, "delivery_reason"]


# --- overdue -----------------------------------------------------------------------------


class OverdueCustomerOut(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()


class OverdueFlagOut(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["997", "855", "receipt"])
    waiting_since = serializers.DateTimeField(
        allow_null=True, help_text="The 850 or the shipment the answer is owed for."
    )
    due_at = serializers.DateTimeField(allow_null=True, help_text="When it became overdue.")


class OverdueOut(serializers.Serializer):
    order = serializers.IntegerField(source="order_id")
    po_number = serializers.CharField(source="order.po_number", allow_null=True)
    status = serializers.CharField(source="order.status")
    customer = OverdueCustomerOut(source="order.customer")
    flags = serializers.SerializerMethodField()
    flagged_reason = serializers.CharField()

    @extend_schema_field(OverdueFlagOut(many=True))
    def get_flags(self, state) -> list:
        # The allowances come from the profile, read once by the view.
        flags = overdue_flags(state, self.context.get("partner"))
        return OverdueFlagOut(flags, many=True).data
