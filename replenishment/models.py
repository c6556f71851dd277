"""Replenishment orders: lines collect per site, then go out by the customer's policy.

A foreign key with `db_index=False` is served by a composite index or unique
constraint that starts with it: its own index would only be written on every insert
(tests/test_indexes.py fails on such a covered index).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from catalog.models import Item
from cmi.models import Customer, Vendor
from cmi.scoping import ScopedQuerySet
from stocking.models import Bin, Site


class OrderStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    RELEASED = "released", "Released"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    PARTIALLY_SHIPPED = "partially_shipped", "Partially shipped"
    SHIPPED = "shipped", "Shipped"
    RECEIVED = "received", "Received"
    CANCELLED = "cancelled", "Cancelled"


# Lines still collect on these: at most one such order per site.
COLLECTING = (OrderStatus.DRAFT, OrderStatus.AWAITING_APPROVAL)
# Sent to the vendor and not yet closed: receipts count against these.
OUTSTANDING = (
    OrderStatus.RELEASED,
    OrderStatus.ACKNOWLEDGED,
    OrderStatus.PARTIALLY_SHIPPED,
    OrderStatus.SHIPPED,
)
# Goods on their way (a ship notice came): received goods close them.
IN_TRANSIT = (OrderStatus.PARTIALLY_SHIPPED, OrderStatus.SHIPPED)
OPEN = COLLECTING + OUTSTANDING


class Order(models.Model):
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+", db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="orders")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="orders")
    status = models.CharField(max_length=20, choices=OrderStatus.choices, default=OrderStatus.DRAFT)
    po_number = models.CharField(max_length=22, null=True, blank=True)
    requested_delivery_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    released_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=200, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["vendor", "po_number"],
                condition=Q(po_number__isnull=False),
                name="order_po_unique_per_vendor",
            ),
            models.UniqueConstraint(
                fields=["site"],
                condition=Q(status__in=COLLECTING),
                name="order_one_collecting_per_site",
            ),
        ]
        indexes = [
            models.Index(fields=["vendor", "updated_at", "id"]),
            models.Index(fields=["vendor", "customer", "status"]),
            models.Index(fields=["vendor", "site", "status"]),
            # The vendor's orders page across customers: by status, newest first.
            models.Index(fields=["vendor", "status", "created_at"]),
            models.Index(fields=["vendor", "created_at"]),
            # A customer's orders page: keyset paging, newest first.
            models.Index(
                fields=["vendor", "customer", "created_at", "id"], name="order_customer_keyset"
            ),
        ]

    def __str__(self) -> str:
        return self.po_number or f"order {self.pk} ({self.status})"


class OrderLine(models.Model):
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    # Both lookups are served by composite indexes that start with the column
    # (order_line_number_unique, and the (bin, order) index): a single-column index
    # on either would only cost every line written (the sweep writes thousands).
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", db_index=False)
    bin = models.ForeignKey(
        Bin, on_delete=models.PROTECT, related_name="order_lines", db_index=False
    )
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="+")
    line_number = models.PositiveIntegerField()
    quantity_proposed = models.PositiveIntegerField()
    quantity_ordered = models.PositiveIntegerField()
    quantity_shipped = models.PositiveIntegerField(default=0)
    quantity_received = models.PositiveIntegerField(default=0)
    unit_price = models.DecimalField(max_digits=12, decimal_places=4)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["order_id", "line_number"]
        constraints = [
            models.UniqueConstraint(fields=["order", "bin"], name="order_line_one_per_bin"),
            models.UniqueConstraint(
                fields=["order", "line_number"], name="order_line_number_unique"
            ),
            models.CheckConstraint(
                condition=Q(quantity_received__lte=F("quantity_ordered")) | Q(quantity_ordered=0),
                name="order_line_received_le_ordered",
            ),
        ]
        indexes = [models.Index(fields=["bin", "order"])]

    def __str__(self) -> str:
        return f"{self.order_id}#{self.line_number}"

    @property
    def quantity_open(self) -> int:
        return max(self.quantity_ordered - self.quantity_received, 0)


class OrderEventKind(models.TextChoices):
    CREATED = "created", "Created"
    LINE_ADDED = "line_added", "Line added"
    LINE_INCREASED = "line_increased", "Line quantity increased"
    QUANTITY_CHANGED = "quantity_changed", "Quantity changed"
    SUBMITTED = "submitted", "Submitted for approval"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    RELEASED = "released", "Released"
    RECEIVED = "received", "Received"
    CANCELLED = "cancelled", "Cancelled"
    STATUS = "status", "Status changed"
    BACKORDERED = "backordered", "Backordered"
    INVOICED = "invoiced", "Invoiced"


class OrderEvent(models.Model):
    """The order's history: every change the customer and vendor may want to see."""

    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="events")
    line = models.ForeignKey(
        OrderLine, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    kind = models.CharField(max_length=20, choices=OrderEventKind.choices)
    old_value = models.CharField(max_length=64, blank=True)
    new_value = models.CharField(max_length=64, blank=True)
    note = models.CharField(max_length=200, blank=True)
    # Indexed only where set (order_event_user): the events the sweep and the EDI
    # inbound write, most of them, have no user.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            # A user's delete is checked against it; only events a person caused.
            models.Index(fields=["user"], condition=Q(user__isnull=False), name="order_event_user"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {self.kind}"
