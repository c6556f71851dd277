from rest_framework import serializers

from cmi.events import KINDS
from webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint

KIND_CHOICES = sorted(KINDS)


class WebhookEndpointIn(serializers.Serializer):
    url = serializers.URLField(max_length=500)
    kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=KIND_CHOICES),
        required=False,
        default=list,
        max_length=len(KIND_CHOICES),
        help_text="Event kinds to receive; empty or left out: every kind.",
    )
    customer = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="Only this customer's events (vendor staff); a customer manager's "
        "endpoints are always their own customer's.",
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)


class WebhookEndpointUpdateIn(serializers.Serializer):
    url = serializers.URLField(max_length=500, required=False)
    kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=KIND_CHOICES),
        required=False,
        max_length=len(KIND_CHOICES),
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    enabled = serializers.BooleanField(required=False)


class WebhookEndpointOut(serializers.ModelSerializer):
    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "customer",
            "kinds",
            "enabled",
            "disabled_reason",
            "disabled_at",
            "last_success_at",
            "created_at",
        ]


class WebhookEndpointSecretOut(WebhookEndpointOut):
    secret = serializers.CharField(
        help_text="Standard Webhooks secret (`whsec_` + base64): verify signatures with it."
    )

    class Meta(WebhookEndpointOut.Meta):
        fields = [*WebhookEndpointOut.Meta.fields, "secret"]


class WebhookAttemptOut(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ["at", "status_code", "response_ms", "error", "succeeded"]


class WebhookDeliveryOut(serializers.ModelSerializer):
    event = serializers.IntegerField(source="event_id", allow_null=True)
    attempts_log = WebhookAttemptOut(source="log", many=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "msg_id",
            "kind",
            "event",
            "status",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "created_at",
            "finished_at",
            "payload",
            "attempts_log",
        ]


class WebhookDeliveryFilterIn(serializers.Serializer):
    status = serializers.ChoiceField(choices=DeliveryStatus.choices, required=False)


class WebhookQueuedOut(serializers.Serializer):
    queued = serializers.IntegerField()


class WebhookTestQueuedOut(serializers.Serializer):
    delivery = serializers.IntegerField()
    msg_id = serializers.CharField()
