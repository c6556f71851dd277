"""Tenancy: vendors (the tenant), their customers, who may act for them, and keys.

A foreign key with `db_index=False` is served by a composite index or unique
constraint that starts with it: its own index would only be written on every insert
(tests/test_indexes.py fails on such a covered index).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models
from django.utils import timezone

from cmi.scoping import ScopedQuerySet


class Role(models.TextChoices):
    VENDOR_ADMIN = "vendor_admin", "Vendor admin"
    VENDOR_REP = "vendor_rep", "Vendor rep"
    CUSTOMER_MANAGER = "customer_manager", "Customer manager"
    CUSTOMER_STAFF = "customer_staff", "Customer staff"


VENDOR_ROLES = frozenset({Role.VENDOR_ADMIN, Role.VENDOR_REP})
CUSTOMER_ROLES = frozenset({Role.CUSTOMER_MANAGER, Role.CUSTOMER_STAFF})


class ReleasePolicy(models.TextChoices):
    AUTO = "auto", "Auto: orders go out at once"
    SCHEDULED = "scheduled", "Scheduled: sent at cutoff times"
    APPROVAL = "approval", "Approval: a customer manager approves"


def validate_timezone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"unknown time zone {value!r}") from exc


def validate_cutoff_times(value: list) -> None:
    if not isinstance(value, list):
        raise ValidationError("cutoff times must be a list of HH:MM strings")
    for item in value:
        parts = str(item).split(":")
        ok = len(parts) == 2 and all(p.isdigit() and len(p) == 2 for p in parts)
        if not ok or int(parts[0]) > 23 or int(parts[1]) > 59:
            raise ValidationError(f"cutoff time {item!r} is not HH:MM")


class Vendor(models.Model):
    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    po_prefix = models.CharField(max_length=8, default="PO")
    # The zone the vendor's own pages (its orders list, documents, settings) show times in;
    # a customer's pages use the customer's zone.
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Customer(models.Model):
    vendor = models.ForeignKey(
        Vendor, on_delete=models.PROTECT, related_name="customers", db_index=False
    )
    code = models.SlugField(max_length=32)
    name = models.CharField(max_length=200)
    account_number = models.CharField(max_length=30, blank=True)
    release_policy = models.CharField(
        max_length=16, choices=ReleasePolicy.choices, default=ReleasePolicy.AUTO
    )
    cutoff_times = models.JSONField(default=list, blank=True, validators=[validate_cutoff_times])
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    # Auto release consolidates: a collecting order waits this long after it was started,
    # or until it is worth `consolidation_min_value` (0: no minimum), unless a bin on it
    # is at zero. A window of 0 sends every order at once.
    consolidation_minutes = models.PositiveSmallIntegerField(default=15)
    consolidation_min_value = models.DecimalField(
        max_digits=12, decimal_places=2, default=Decimal("0")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    scope_customer_field = "id"

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["vendor", "code"], name="customer_code_unique_per_vendor"
            ),
            models.CheckConstraint(
                condition=models.Q(consolidation_min_value__gte=0),
                name="customer_consolidation_min_value_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's one role: in a vendor, and for customer roles in one customer."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership"
    )
    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="memberships")
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, null=True, blank=True, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    # A rep with assigned customers sees only those; with none, all of the vendor's.
    assigned_customers = models.ManyToManyField(Customer, blank=True, related_name="assigned_reps")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(role__in=sorted(CUSTOMER_ROLES), customer__isnull=False)
                    | models.Q(role__in=sorted(VENDOR_ROLES), customer__isnull=True)
                ),
                name="membership_customer_matches_role",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role})"


class SecretToken(models.Model):
    """A bearer secret stored as its SHA-256; the plain value is shown once."""

    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=12, editable=False)
    name = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class ErpKey(SecretToken):
    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="erp_keys")

    scope_customer_field = None

    objects = ScopedQuerySet.as_manager()

    def __str__(self) -> str:
        return f"ERP key {self.prefix}… ({self.vendor})"


class ApiToken(SecretToken):
    """A personal token for scripts; acts with its user's membership."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="+")

    def __str__(self) -> str:
        return f"API token {self.prefix}… ({self.user})"


class VendorSequence(models.Model):
    """Per-vendor counters (PO numbers, EDI control numbers), taken under a row lock."""

    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, db_index=False)
    name = models.CharField(max_length=40)
    value = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["vendor", "name"], name="vendor_sequence_unique")
        ]

    def __str__(self) -> str:
        return f"{self.vendor_id}:{self.name}={self.value}"

    @classmethod
    def next_value(cls, *, vendor_id: int, name: str, step: int = 1) -> int:
        """Call inside a transaction: the row stays locked until it commits.

        One statement (an upsert returning the new value): the first call creates the
        counter at ``step``; a concurrent caller waits on the row's lock and gets the
        next. ``step`` takes several numbers at once: the last of them is returned.
        """
        return cls.next_values(vendor_id=vendor_id, steps={name: step})[name]

    @classmethod
    def next_values(cls, *, vendor_id: int, steps: Mapping[str, int]) -> dict[str, int]:
        """Several counters of a vendor in one upsert: {name: its new value}.

        The rows are locked in name order, whatever order the caller gives, so two
        callers taking overlapping sets cannot deadlock; the locks last to commit.
        """
        names = sorted(steps)
        qn = connection.ops.quote_name
        table = qn(cls._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (vendor_id, name, value) VALUES "  # noqa: S608 (the model's own table)
                + ", ".join(["(%s, %s, %s)"] * len(names))
                + " ON CONFLICT (vendor_id, name) "
                f"DO UPDATE SET value = {table}.value + EXCLUDED.value RETURNING name, value",
                [v for name in names for v in (vendor_id, name, steps[name])],
            )
            return dict(cursor.fetchall())


class SettingSource(models.TextChoices):
    """Where a setting change came from."""

    API = "api", "API"
    PORTAL = "portal", "Portal"
    IMPORT = "import", "Import"
    ADJUST = "adjust", "Bulk adjustment"
    CREATE = "create", "Created"
    ADMIN = "admin", "Admin"
    RECOMMENDATION = "recommendation", "Recommendation"


class SettingChange(models.Model):
    """The audit of every setting that decides what gets ordered: one row per field
    changed, with who, when, before and after, and where the change came from.

    Append-only (see cmi.history). Written only by `cmi.services.setting_changes_record`.
    `customer` is empty for vendor-wide settings (catalog fields, the partner profile).
    """

    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+", db_index=False)
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    object_type = models.CharField(max_length=32)  # customer, bin, item, trading_partner
    object_id = models.BigIntegerField()
    object_label = models.CharField(max_length=100, blank=True)  # a bin's label, an item's SKU
    field = models.CharField(max_length=40)
    before = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    source = models.CharField(max_length=16, choices=SettingSource.choices)
    at = models.DateTimeField(default=timezone.now)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["vendor", "customer", "at"]),
            models.Index(fields=["vendor", "object_type", "object_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.object_type} {self.object_id} {self.field}: {self.before} -> {self.after}"


class JobWatermark(models.Model):
    """How far a periodic job has got: its next run resumes from `reached_at`.

    In the database, not the broker or the cache, so an outage of either neither
    loses the mark nor makes a job start over.
    """

    name = models.CharField(max_length=100, unique=True)
    reached_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} @ {self.reached_at.isoformat()}"


class DomainEvent(models.Model):
    """Something that happened that people or other systems may want to hear about.

    Written by a service in the same transaction as the change it reports (so an event
    exists exactly when its change committed), then handed to the listeners named in
    `settings.DOMAIN_EVENT_LISTENERS` after commit (cmi/events.py). `dispatched_at`
    is set once every listener took it; until then the catch-up task retries, so
    listeners must be idempotent (they key what they write on the event id).
    """

    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+", db_index=False)
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The site the event is about, when there is one (a bin's, a scanner's).
    site_id = models.BigIntegerField(null=True, blank=True)
    kind = models.CharField(max_length=64)
    subject_type = models.CharField(max_length=32, blank=True)  # bin, order, device, ...
    subject_id = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    occurred_at = models.DateTimeField(default=timezone.now)
    dispatched_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["vendor", "customer", "occurred_at"]),
            models.Index(fields=["vendor", "kind", "occurred_at"]),
            models.Index(
                fields=["occurred_at"],
                name="domainevent_undispatched",
                condition=models.Q(dispatched_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject_type} {self.subject_id}"
