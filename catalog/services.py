"""Writes to the catalog."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from catalog.gtin import gtin_kind, gtin_valid
from catalog.models import CrossReference, Item, ItemBarcode
from cmi.errors import ApiError
from cmi.models import Customer
from cmi.scoping import Scope
from cmi.services import ObjectChange, setting_changes_record

ITEM_FIELDS = (
    "description",
    "unit_of_measure",
    "pack_quantity",
    "unit_weight_grams",
    "unit_price",
    "active",
)


def _barcodes_check(*, scope: Scope, codes: list[str], item_id: int | None) -> None:
    for code in codes:
        if code.isdigit() and len(code) in (8, 12, 13, 14) and not gtin_valid(code):
            raise ApiError("invalid_gtin", f"{code} has a wrong check digit.", field="barcodes")
    taken = ItemBarcode.objects.for_scope(scope).filter(code__in=codes)
    if item_id is not None:
        taken = taken.exclude(item_id=item_id)
    clash = taken.values_list("code", flat=True).first()
    if clash:
        raise ApiError(
            "duplicate_barcode", f"Barcode {clash} belongs to another item.", field="barcodes"
        )


@transaction.atomic
def item_create(
    *, scope: Scope, sku: str, description: str, barcodes: list[str] | None = None, **fields: Any
) -> Item:
    if Item.objects.for_scope(scope).filter(sku=sku).exists():
        raise ApiError("duplicate_sku", f"SKU {sku!r} exists.", field="sku")
    barcodes = list(dict.fromkeys(barcodes or []))
    _barcodes_check(scope=scope, codes=barcodes, item_id=None)
    item = Item.objects.create(
        vendor_id=scope.vendor_id,
        sku=sku,
        description=description,
        **{k: v for k, v in fields.items() if k in ITEM_FIELDS},
    )
    ItemBarcode.objects.bulk_create(
        [
            ItemBarcode(vendor_id=scope.vendor_id, item=item, code=c, kind=gtin_kind(c))
            for c in barcodes
        ]
    )
    return item


@transaction.atomic
def item_update(
    *,
    scope: Scope,
    item_id: int,
    barcodes: list[str] | None = None,
    source: str = "api",
    **fields: Any,
) -> Item:
    """Change an item's fields (audited field by field) and, when given, its barcodes."""
    item = Item.objects.for_scope(scope).select_for_update().filter(pk=item_id).first()
    if item is None:
        raise ApiError("not_found", "Not found.", status_code=404)
    audited = ("sku", *ITEM_FIELDS)
    before = {name: getattr(item, name) for name in audited}
    if "sku" in fields and fields["sku"] != item.sku:
        if Item.objects.for_scope(scope).filter(sku=fields["sku"]).exists():
            raise ApiError("duplicate_sku", f"SKU {fields['sku']!r} exists.", field="sku")
        item.sku = fields["sku"]
    for name in ITEM_FIELDS:
        if name in fields:
            setattr(item, name, fields[name])
    item.save()
    setting_changes_record(
        vendor_id=item.vendor_id,
        user_id=scope.user_id,
        source=source,
        changes=[
            ObjectChange(
                customer_id=None,
                object_type="item",
                object_id=item.pk,
                object_label=item.sku,
                before=before,
                after={name: getattr(item, name) for name in audited},
            )
        ],
    )
    if barcodes is not None:
        barcodes = list(dict.fromkeys(barcodes))
        _barcodes_check(scope=scope, codes=barcodes, item_id=item.pk)
        ItemBarcode.objects.filter(item=item).exclude(code__in=barcodes).delete()
        have = set(ItemBarcode.objects.filter(item=item).values_list("code", flat=True))
        ItemBarcode.objects.bulk_create(
            [
                ItemBarcode(vendor_id=scope.vendor_id, item=item, code=c, kind=gtin_kind(c))
                for c in barcodes
                if c not in have
            ]
        )
    return item


@transaction.atomic
def cross_reference_create(
    *, scope: Scope, customer_id: int, item_id: int, kind: str, code: str
) -> CrossReference:
    customer = Customer.objects.for_scope(scope).filter(pk=customer_id).first()
    if customer is None:
        raise ApiError("unknown_customer", f"No customer {customer_id}.", field="customer")
    item = Item.objects.for_scope(scope).filter(pk=item_id).first()
    if item is None:
        raise ApiError("unknown_item", f"No item {item_id}.", field="item")
    if CrossReference.objects.filter(customer=customer, code=code).exists():
        raise ApiError(
            "duplicate_code", f"{code!r} is already a reference of this customer.", field="code"
        )
    return CrossReference.objects.create(
        vendor_id=scope.vendor_id, customer=customer, item=item, kind=kind, code=code
    )


@transaction.atomic
def cross_reference_delete(*, scope: Scope, reference_id: int) -> None:
    deleted, _ = CrossReference.objects.for_scope(scope).filter(pk=reference_id).delete()
    if not deleted:
        raise ApiError("not_found", "Not found.", status_code=404)
