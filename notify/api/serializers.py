from __future__ import annotations

from rest_framework import serializers

from cmi.events import KINDS
from cmi.filters import MAX_ID
from notify.models import Channel, Notification, ThresholdKind
from notify.thresholds import Source


class NotificationOut(serializers.ModelSerializer):
    event = serializers.IntegerField(source="event_id")
    customer = serializers.IntegerField(source="customer_id", allow_null=True)

    class Meta:
        model = Notification
        fields = [
            "id",
            "kind",
            "title",
            "body",
            "link",
            "event",
            "customer",
            "created_at",
            "read_at",
        ]


class ReadIn(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        max_length=500,
        help_text="Notifications to mark read; without, every unread one.",
    )


class ReadOut(serializers.Serializer):
    marked = serializers.IntegerField()


class SubscriptionOut(serializers.Serializer):
    kind = serializers.CharField()
    title = serializers.CharField()
    channel = serializers.ChoiceField(choices=Channel.choices)
    enabled = serializers.BooleanField()
    digest = serializers.BooleanField()
    customer = serializers.IntegerField(source="customer_id", allow_null=True)
    site = serializers.IntegerField(source="site_id", allow_null=True)
    explicit = serializers.BooleanField(help_text="False: the role's default.")


class SubscriptionIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=sorted(KINDS))
    channel = serializers.ChoiceField(choices=Channel.choices)
    enabled = serializers.BooleanField()
    digest = serializers.BooleanField(default=False)
    customer = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    site = serializers.IntegerField(required=False, allow_null=True, min_value=1)


class SubscriptionsIn(serializers.Serializer):
    subscriptions = SubscriptionIn(many=True, max_length=100)


class ThresholdHoursField(serializers.IntegerField):
    """Hours of one kind: a whole number (the service checks the range), null clears."""

    def to_internal_value(self, data):
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError:
            raise serializers.ValidationError(
                "Hours are a whole number.", code="invalid_threshold_hours"
            ) from None


class AlertThresholdsIn(serializers.Serializer):
    hours = serializers.DictField(
        child=ThresholdHoursField(allow_null=True),
        allow_empty=False,
        help_text=(
            "{kind: hours} for the kinds to change: 1 to 720, or null to clear (inherit "
            "the vendor's default, else the platform's). Kinds not named stay as they are. "
            "Kinds: bin.below_min_unordered, order.approval_overdue, scanner.silent."
        ),
    )


class AlertThresholdOut(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ThresholdKind.choices)
    label = serializers.CharField()
    hours = serializers.IntegerField(help_text="The hours that apply.")
    source = serializers.ChoiceField(
        choices=[s.value for s in Source],
        help_text="Where they come from: the customer's own, the vendor's default, or the "
        "platform's default.",
    )
    own = serializers.IntegerField(
        allow_null=True, help_text="Set at this level (null: inherited)."
    )
    inherited = serializers.IntegerField(help_text="What applies when `own` is cleared.")


class AlertThresholdsOut(serializers.Serializer):
    customer = serializers.IntegerField(allow_null=True, help_text="null: the vendor's defaults")
    thresholds = AlertThresholdOut(many=True)
