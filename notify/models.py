"""Alerts: who wants to hear of which domain event, and what they were told.

Every row is written from a domain event (cmi/events.py) by the listener and keyed on
it: Notification (user, event) and EmailDelivery (event, user) are unique, so an event
handed over twice writes nothing twice and a mail is never sent twice.

A foreign key with `db_index=False` is served by a composite index or unique
constraint that starts with it: its own index would only be written on every insert
(tests/test_indexes.py fails on such a covered index).
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from cmi.models import Customer, DomainEvent, Vendor
from cmi.scoping import ScopedQuerySet
from stocking.models import Site


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    IN_APP = "in_app", "In the portal"


class Subscription(models.Model):
    """One user's choice for one event kind and channel; without one, the role's default
    (notify/defaults.py) decides. Optionally narrowed to one customer or one site."""

    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="+", db_index=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="subscriptions",
        db_index=False,
    )
    kind = models.CharField(max_length=64)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    enabled = models.BooleanField(default=True)
    # Email only: collect into the daily digest rather than mail each event.
    digest = models.BooleanField(default=False)
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    site = models.ForeignKey(
        Site, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    scope_customer_field = None

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["user_id", "kind", "channel"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "kind", "channel"], name="subscription_unique_per_user"
            )
        ]
        indexes = [models.Index(fields=["vendor", "kind"])]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} {self.channel} {'on' if self.enabled else 'off'}"


class Notification(models.Model):
    """In the portal: one event told to one user; the bell counts the unread."""

    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="+")
    # Served by (user, created_at, id) and the (user, event) constraint; the partial
    # `notification_unread` serves only the bell's count.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        db_index=False,
    )
    event = models.ForeignKey(DomainEvent, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=64)
    title = models.CharField(max_length=200)
    body = models.CharField(max_length=500, blank=True)
    link = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    scope_customer_field = None

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "event"], name="notification_once_per_event")
        ]
        indexes = [
            models.Index(fields=["user", "created_at", "id"]),
            models.Index(
                fields=["user"],
                name="notification_unread",
                condition=models.Q(read_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.title}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENDING = "sending", "Being sent"
    SENT = "sent", "Sent"
    DIGEST = "digest", "Waiting for the daily digest"
    DIGESTED = "digested", "Sent in a digest"
    SUPPRESSED = "suppressed", "Not sent: the same news was mailed within the window"
    FAILED = "failed", "Failed"


class Digest(models.Model):
    """One user's daily digest: one row per user and day, so it goes out once."""

    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="+", db_index=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    day = models.DateField()
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    scope_customer_field = None

    objects = ScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "day"], name="digest_once_a_day")]
        indexes = [models.Index(fields=["vendor", "status"])]

    def __str__(self) -> str:
        return f"digest {self.user_id} {self.day}"


class EmailDelivery(models.Model):
    """The outbox: one mail of one event to one user, sent by a task at most once."""

    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="+", db_index=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    event = models.ForeignKey(
        DomainEvent, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    kind = models.CharField(max_length=64)
    # What counts as "the same news" for the flapping window: kind and subject.
    dedup_key = models.CharField(max_length=120)
    to = models.EmailField()
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    digest = models.ForeignKey(
        Digest, on_delete=models.SET_NULL, null=True, blank=True, related_name="deliveries"
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    scope_customer_field = None

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "user"], name="email_once_per_event_and_user")
        ]
        indexes = [
            models.Index(fields=["user", "dedup_key", "created_at"]),
            models.Index(fields=["user", "created_at"]),
            models.Index(fields=["vendor", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to} ({self.status})"


class Watch(models.Model):
    """A condition the periodic check saw (a bin below min, a silent scanner): since
    when, and whether its event went out. The event goes once while the condition lasts;
    the row is removed when it clears, so the next time is news again."""

    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="+", db_index=False)
    kind = models.CharField(max_length=64)
    subject_id = models.BigIntegerField()
    since = models.DateTimeField()
    emitted_at = models.DateTimeField(null=True, blank=True)

    scope_customer_field = None

    objects = ScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["vendor", "kind", "subject_id"], name="watch_unique")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject_id} since {self.since.isoformat()}"


class ThresholdKind(models.TextChoices):
    """The alerts that wait N hours before they are news; the values are their event
    kinds (cmi/events.py), so a threshold and the alert it delays share one name."""

    BELOW_MIN = "bin.below_min_unordered", "Bin below min with nothing on order"
    APPROVAL_WAITING = "order.approval_overdue", "Order still awaiting approval"
    SCANNER_SILENT = "scanner.silent", "Scanner silent"


THRESHOLD_MAX_HOURS = 720  # 30 days: longer is no longer an alert


class AlertThreshold(models.Model):
    """How many hours one kind of condition lasts before it is news: for one customer,
    or (customer empty) the vendor's default. Without either, the NOTIFY_* setting.
    Resolved by notify/thresholds.py."""

    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=64, choices=ThresholdKind.choices)
    hours = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(THRESHOLD_MAX_HOURS)]
    )
    updated_at = models.DateTimeField(auto_now=True)

    scope_customer_field = "customer"

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["vendor_id", "customer_id", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["vendor", "customer", "kind"],
                condition=models.Q(customer__isnull=False),
                name="alert_threshold_one_per_customer",
            ),
            # NULLs are distinct in a unique index: the vendor default needs its own.
            models.UniqueConstraint(
                fields=["vendor", "kind"],
                condition=models.Q(customer__isnull=True),
                name="alert_threshold_one_vendor_default",
            ),
            models.CheckConstraint(
                condition=models.Q(hours__gte=1, hours__lte=THRESHOLD_MAX_HOURS),
                name="alert_threshold_hours_range",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=ThresholdKind.values),
                name="alert_threshold_known_kind",
            ),
        ]

    def __str__(self) -> str:
        whose = f"customer {self.customer_id}" if self.customer_id else "vendor default"
        return f"{self.kind} after {self.hours} h ({whose})"
