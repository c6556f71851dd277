from __future__ import annotations

from rest_framework import serializers

from cmi.events import KINDS
from notify.models import Channel, Notification


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
        child=serializers.IntegerField(min_value=1),
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
