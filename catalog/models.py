"""The vendor's catalog and each customer's own names for its items.

A foreign key with `db_index=False` is served by a composite index or unique
constraint that starts with it: its own index would only be written on every insert
(tests/test_indexes.py fails on such a covered index).
"""

from __future__ import annotations

from django.db import models

from cmi.models import Customer, Vendor
from cmi.scoping import ScopedQuerySet


class Item(models.Model):
    vendor = models.ForeignKey(
        Vendor, on_delete=models.PROTECT, related_name="items", db_index=False
    )
    sku = models.CharField(max_length=48)
    description = models.CharField(max_length=200)
    unit_of_measure = models.CharField(max_length=4, default="EA")
    pack_quantity = models.PositiveIntegerField(default=1)
    unit_weight_grams = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    unit_price = models.DecimalField(max_digits=12, decimal_places=4, default=0)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    scope_customer_field = None

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.UniqueConstraint(fields=["vendor", "sku"], name="item_sku_unique_per_vendor"),
            models.CheckConstraint(
                condition=models.Q(pack_quantity__gte=1), name="item_pack_quantity_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(unit_price__gte=0), name="item_unit_price_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(unit_weight_grams__isnull=True)
                | models.Q(unit_weight_grams__gt=0),
                name="item_unit_weight_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.description}"


class BarcodeKind(models.TextChoices):
    GTIN = "gtin", "GTIN-14"
    UPC = "upc", "UPC-A"
    EAN = "ean", "EAN-13"
    OTHER = "other", "Other"


class ItemBarcode(models.Model):
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+", db_index=False)
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="barcodes")
    code = models.CharField(max_length=48)
    kind = models.CharField(max_length=8, choices=BarcodeKind.choices, default=BarcodeKind.GTIN)

    scope_customer_field = None

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["vendor", "code"], name="item_barcode_unique_per_vendor"
            )
        ]

    def __str__(self) -> str:
        return self.code


class CrossReferenceKind(models.TextChoices):
    PART_NUMBER = "part_number", "Customer part number"
    BARCODE = "barcode", "Customer barcode"


class CrossReference(models.Model):
    """A customer's own part number or barcode for one of the vendor's items."""

    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+", db_index=False)
    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        related_name="cross_references",
        db_index=False,
    )
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="cross_references")
    kind = models.CharField(max_length=12, choices=CrossReferenceKind.choices)
    code = models.CharField(max_length=48)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["customer_id", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "code"], name="cross_reference_unique_per_customer"
            ),
        ]
        indexes = [models.Index(fields=["vendor", "customer", "item"])]

    def __str__(self) -> str:
        return f"{self.code} -> {self.item_id}"
