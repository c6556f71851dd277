"""EDI with the vendor's ERP: the partner profile, every document that crossed, and
what the answers carried (shipments, invoices).

A foreign key with `db_index=False` is served by a composite index or unique
constraint that starts with it: its own index would only be written on every insert
(tests/test_indexes.py fails on such a covered index).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from cmi.models import Customer, Vendor
from cmi.scoping import ScopedQuerySet
from replenishment.models import Order, OrderLine


class TradingPartner(models.Model):
    """The vendor's ERP as an X12 partner. Everything partner-specific lives here."""

    class Version(models.TextChoices):
        V4010 = "004010", "004010"
        V5010 = "005010", "005010"

    vendor = models.OneToOneField(Vendor, on_delete=models.CASCADE, related_name="trading_partner")
    # Our side (ISA05/06, GS02) and theirs (ISA07/08, GS03).
    isa_sender_qualifier = models.CharField(max_length=2, default="ZZ")
    isa_sender_id = models.CharField(max_length=15)
    isa_receiver_qualifier = models.CharField(max_length=2, default="ZZ")
    isa_receiver_id = models.CharField(max_length=15)
    gs_sender = models.CharField(max_length=15)
    gs_receiver = models.CharField(max_length=15)
    version = models.CharField(max_length=6, choices=Version.choices, default=Version.V4010)
    gs08_suffix = models.CharField(
        max_length=6, blank=True, help_text="e.g. VICS: GS08 becomes 004010VICS"
    )
    usage = models.CharField(
        max_length=1, choices=[("P", "Production"), ("T", "Test")], default="T"
    )
    element_separator = models.CharField(max_length=1, default="*")
    component_separator = models.CharField(max_length=1, default=">")
    segment_terminator = models.CharField(max_length=1, default="~")
    repetition_separator = models.CharField(max_length=1, default="^", help_text="005010 only")
    newline = models.BooleanField(default=True, help_text="a line break after each segment")
    expect_997 = models.BooleanField(default=True)
    hours_997 = models.PositiveSmallIntegerField(default=4)
    hours_855 = models.PositiveSmallIntegerField(default=24)
    days_receipt = models.PositiveSmallIntegerField(
        default=14, help_text="shipped and not received after this"
    )

    scope_customer_field = None

    objects = ScopedQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.vendor} <-> {self.isa_receiver_id.strip()}"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        for name in ("isa_sender_qualifier", "isa_receiver_qualifier"):
            value = getattr(self, name)
            if len(value) != 2 or not value.isalnum():
                errors[name] = "an ISA qualifier is 2 letters or digits"
        for name in ("isa_sender_id", "isa_receiver_id", "gs_sender", "gs_receiver"):
            value = getattr(self, name)
            if not value.strip() or len(value) > 15 or not value.isprintable():
                errors[name] = "1 to 15 printable characters"
        seps = [self.element_separator, self.component_separator, self.segment_terminator]
        if self.version == self.Version.V5010:
            seps.append(self.repetition_separator)
        if any(len(s) != 1 or s.isalnum() or s == " " for s in seps):
            errors["element_separator"] = (
                "separators are single characters, not letters, digits or space"
            )
        elif len(set(seps)) != len(seps):
            errors["element_separator"] = "separators must all differ"
        if self.gs08_suffix and not self.gs08_suffix.isalnum():
            errors["gs08_suffix"] = "letters and digits only"
        if errors:
            raise ValidationError(errors)


class Direction(models.TextChoices):
    OUT = "out", "Outbound"
    IN = "in", "Inbound"


class AckStatus(models.TextChoices):
    ACCEPTED = "accepted", "Accepted (997 A)"
    ACCEPTED_WITH_ERRORS = "accepted_with_errors", "Accepted with errors (997 E)"
    REJECTED = "rejected", "Rejected (997 R)"


class Document(models.Model):
    """One transaction set that crossed, in either direction; immutable once written.

    Outbound documents are what the ERP pulls from the outbox, in `cursor` order.
    The cursor is drawn under a per-vendor lock held to commit, so cursors become
    visible in order and a poll never skips one.
    """

    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+", db_index=False)
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    direction = models.CharField(max_length=3, choices=Direction.choices)
    transaction_set = models.CharField(max_length=3)  # 850, 997, 855, 856, 810, 852
    purpose = models.CharField(
        max_length=2, blank=True
    )  # BEG01 for 850s: 00 original, 01 cancel, 05 replace
    order = models.ForeignKey(
        Order,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="edi_documents",
        db_index=False,
    )
    interchange = models.ForeignKey(
        "InboundInterchange",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="documents",
    )
    cursor = models.BigIntegerField(null=True, blank=True)
    isa_control = models.BigIntegerField()
    gs_control = models.BigIntegerField()
    st_control = models.CharField(max_length=9)
    payload = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    delivery_status = models.CharField(max_length=10, blank=True)  # received | failed
    delivery_reason = models.CharField(max_length=200, blank=True)
    ack_status = models.CharField(max_length=22, choices=AckStatus.choices, blank=True)
    ack_errors = models.JSONField(default=list, blank=True)
    acked_at = models.DateTimeField(null=True, blank=True)

    scope_customer_field = None

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["cursor", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["vendor", "cursor"],
                condition=Q(cursor__isnull=False),
                name="edi_document_cursor_unique",
            ),
            models.UniqueConstraint(
                fields=["vendor", "direction", "gs_control", "st_control"],
                condition=Q(direction="out"),
                name="edi_outbound_set_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["vendor", "direction", "cursor"]),
            models.Index(fields=["order", "transaction_set"]),
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.transaction_set} #{self.st_control}"


class InterchangeStatus(models.TextChoices):
    APPLIED = "applied", "Every set applied"
    PARTIAL = "partial", "Some sets applied"
    # The envelope was sound but no set applied: still a duplicate if sent again,
    # because the partner has had our 997 saying so.
    FAILED = "failed", "No set applied"
    # The envelope itself could not be read: nothing was acknowledged, so the same
    # ISA13 may come again once fixed (the uniqueness below leaves these out).
    REJECTED = "rejected", "Envelope rejected"


class InboundInterchange(models.Model):
    """Every interchange posted to the inbox, kept raw for audit; one per sender + ISA13.

    `sender_id` is the key duplicates are found by: ISA06 for the vendor's ERP, and
    "c<customer id>/ISA06" for a customer's own system, so two customers whose
    systems happen to share an ISA06 and a control number never see each other's
    results.
    """

    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    sender_id = models.CharField(max_length=32)
    isa_control = models.BigIntegerField(null=True, blank=True)
    raw = models.BinaryField()
    received_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=12, choices=InterchangeStatus.choices)
    errors = models.JSONField(default=list, blank=True)
    # The answer the inbox gave, replayed as is when the interchange comes again.
    result = models.JSONField(default=dict, blank=True)
    device = models.ForeignKey(
        "stocking.ScannerDevice", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    scope_customer_field = None

    objects = ScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["vendor", "sender_id", "isa_control"],
                condition=Q(isa_control__isnull=False) & ~Q(status="rejected"),
                name="edi_interchange_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.sender_id} #{self.isa_control}"


class Shipment(models.Model):
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+", db_index=False)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="shipments")
    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="+")
    shipment_id = models.CharField(max_length=30)  # BSN02
    carrier = models.CharField(max_length=80, blank=True)
    bill_of_lading = models.CharField(max_length=50, blank=True)
    tracking_number = models.CharField(max_length=50, blank=True)
    shipped_at = models.DateField(null=True, blank=True)

    scope_customer_field = "order__customer"

    class Meta:
        ordering = ["id"]
        constraints = [
            # The same ship notice resent under a new ISA13 must not ship the goods twice.
            models.UniqueConstraint(
                fields=["vendor", "order", "shipment_id"], name="shipment_once_per_order"
            )
        ]

    def __str__(self) -> str:
        return self.shipment_id


class ShipmentLine(models.Model):
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+")
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines")
    line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, related_name="shipment_lines")
    quantity = models.PositiveIntegerField()
    sscc = models.CharField(max_length=20, blank=True)

    def __str__(self) -> str:
        return f"{self.shipment_id}:{self.line_id} x{self.quantity}"


class Invoice(models.Model):
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+", db_index=False)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="invoices")
    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="+")
    number = models.CharField(max_length=22)
    invoice_date = models.DateField(null=True, blank=True)
    po_date = models.DateField(null=True, blank=True)
    total = models.DecimalField(max_digits=14, decimal_places=2)
    discrepancies = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["vendor", "number"], name="invoice_number_unique_per_vendor"
            )
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def flagged(self) -> bool:
        return bool(self.discrepancies)


class InvoiceLine(models.Model):
    """One IT1 as invoiced; `line` is the order line it was matched to, if any."""

    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    line = models.ForeignKey(
        OrderLine, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reference = models.CharField(max_length=20, blank=True)  # IT101 as sent
    sku = models.CharField(max_length=48, blank=True)
    quantity = models.DecimalField(max_digits=15, decimal_places=4)
    unit_of_measure = models.CharField(max_length=2, blank=True)
    unit_price = models.DecimalField(max_digits=17, decimal_places=4)

    class Meta:
        ordering = ["invoice_id", "id"]

    def __str__(self) -> str:
        return f"{self.invoice_id}:{self.reference or self.sku} x{self.quantity}"


class OrderEdiState(models.Model):
    """What the ERP has said about an order, and what it is late saying."""

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="edi_state")
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+", db_index=False)
    ack_997 = models.CharField(max_length=22, choices=AckStatus.choices, blank=True)
    acknowledged_855_at = models.DateTimeField(null=True, blank=True)
    overdue_997 = models.BooleanField(default=False)
    overdue_855 = models.BooleanField(default=False)
    overdue_receipt = models.BooleanField(default=False)
    flagged_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        indexes = [models.Index(fields=["vendor", "overdue_997", "overdue_855", "overdue_receipt"])]

    def __str__(self) -> str:
        return f"EDI state of {self.order_id}"
