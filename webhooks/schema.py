"""The `webhooks` section of the OpenAPI schema, written from cmi.events.KINDS.

One entry per event kind (and the synthetic `webhook.test`): the JSON body we POST,
its headers in the description. SPECTACULAR_SETTINGS["WEBHOOKS"] names `WEBHOOKS`.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, OpenApiWebhook, extend_schema, inline_serializer
from rest_framework import serializers

from cmi.events import KINDS
from webhooks.services import TEST_KIND

HEADERS = (
    "Headers (Standard Webhooks): `webhook-id` (the message id, the same on every retry: "
    "use it to drop duplicates), `webhook-timestamp` (Unix seconds of this attempt), "
    '`webhook-signature` (`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, keyed by the '
    "base64-decoded part of the endpoint's `whsec_` secret; during a secret rotation two "
    "space-separated signatures). Answer 2xx within 5 seconds; anything else is retried "
    "with backoff for over 24 hours."
)
TEST_FIELDS = {"endpoint_id": "the endpoint's id", "message": "a fixed text"}


def _name(kind: str) -> str:
    return "".join(part.capitalize() for part in kind.replace(".", "_").split("_"))


def _webhook(kind: str, title: str, description: str, fields: dict[str, str]) -> OpenApiWebhook:
    data = inline_serializer(
        name=f"Webhook{_name(kind)}Data",
        fields={
            name: serializers.JSONField(help_text=text, required=True)
            for name, text in fields.items()
        },
    )
    body = inline_serializer(
        name=f"Webhook{_name(kind)}",
        fields={
            "type": serializers.ChoiceField(choices=[kind], help_text="the event kind"),
            "timestamp": serializers.DateTimeField(help_text="when it happened"),
            "data": data,
        },
    )
    return OpenApiWebhook(
        name=kind,
        decorator=extend_schema(
            summary=title,
            description=f"{description}\n\n{HEADERS}",
            request=body,
            responses={200: OpenApiResponse(description="Received (any 2xx).")},
        ),
    )


WEBHOOKS = [_webhook(k.name, k.title, k.description, dict(k.fields)) for k in KINDS.values()] + [
    _webhook(
        TEST_KIND,
        "Test message",
        "Sent by the endpoint's `test` action (the portal's Send test event button); "
        "not a domain event.",
        TEST_FIELDS,
    )
]
