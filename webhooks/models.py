"""Outbound webhooks: endpoints people register, one delivery per event and endpoint,
and every attempt to deliver it (the delivery log).

A delivery is the unit of work: its `status` and `next_attempt_at` are the record of
what is pending (a beat task picks due rows every minute), so nothing depends on a
countdown surviving in the broker. A worker claims a delivery by moving it to
`sending` with a conditional UPDATE, so two workers never send it at the same time.

A foreign key with `db_index=False` is served by a composite index or unique
constraint that starts with it: its own index would only be written on every insert
(tests/test_indexes.py fails on such a covered index).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from cmi.models import Customer, DomainEvent, Vendor
from cmi.scoping import ScopedQuerySet


class WebhookEndpoint(models.Model):
    """A URL that hears of a vendor's events: all of its customers', or one customer's
    (`customer` set: registered by that customer's manager, or by the vendor for it)."""

    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+", db_index=False)
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    # Event kinds (cmi.events.KINDS) this endpoint hears; empty: every kind.
    kinds = models.JSONField(default=list, blank=True)
    # Standard Webhooks form: "whsec_" + base64 of 32 random bytes.
    secret = models.CharField(max_length=100)
    # After a rotation the old secret still signs (a second signature) until this time,
    # so a receiver can switch without losing messages.
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    # The last 2xx answer: an endpoint is disabled only when nothing got through for
    # the whole retry schedule of a delivery.
    last_success_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by_id = models.BigIntegerField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["vendor", "customer", "enabled"])]

    def __str__(self) -> str:
        return self.url

    def hears(self, kind: str) -> bool:
        return not self.kinds or kind in self.kinds


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # waiting for next_attempt_at
    SENDING = "sending", "Sending"  # claimed by a worker until lease_until
    SUCCEEDED = "succeeded", "Delivered"
    FAILED = "failed", "Failed"  # gave up (or endpoint disabled); can be replayed


class WebhookDelivery(models.Model):
    """One message to one endpoint: a domain event, or a synthetic `webhook.test`.

    `msg_id` is the `webhook-id` header, the same on every retry and replay, so a
    receiver can drop a message it already processed. `payload` is the body as first
    built (type, timestamp, data): a replay sends the same message.
    """

    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+", db_index=False)
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(
        DomainEvent, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    msg_id = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    # Attempts made in the current round (a replay starts a new round at 0).
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # When the beat task last put it on the broker: not again while that is recent.
    queued_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    round_started_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_customer_field = "endpoint__customer"

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "event"],
                name="webhookdelivery_once_per_event",
                condition=Q(event__isnull=False),
            )
        ]
        indexes = [
            models.Index(fields=["vendor", "endpoint", "created_at"]),
            models.Index(fields=["vendor", "endpoint", "status"]),
            models.Index(
                fields=["next_attempt_at"],
                name="webhookdelivery_due",
                condition=Q(status="pending"),
            ),
            models.Index(
                fields=["lease_until"],
                name="webhookdelivery_sending",
                condition=Q(status="sending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.msg_id} {self.kind} -> {self.endpoint_id}"


class WebhookAttempt(models.Model):
    """One POST of a delivery: when, the answer's status code and time, or the error."""

    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+")
    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="log", db_index=False
    )
    at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    succeeded = models.BooleanField(default=False)

    objects = ScopedQuerySet.as_manager()
    scope_customer_field = "delivery__endpoint__customer"

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["delivery", "at"])]

    def __str__(self) -> str:
        return f"{self.delivery_id} @ {self.at}: {self.status_code or self.error}"
