"""Writes that set stock up: sites, locations, bins, scanners, min/max.

Called by the API, the portals and the demo seed alike.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone

from catalog.models import Item
from cmi import tokens
from cmi.errors import ApiError
from cmi.models import Customer
from cmi.scoping import Scope
from cmi.services import ObjectChange, setting_changes_record
from stocking import hooks
from stocking.levels import Levels, levels_check
from stocking.locations import location_sort_key
from stocking.models import (
    Bin,
    BinLevelChange,
    LedgerEntry,
    Location,
    MovementKind,
    ScannerDevice,
    Site,
)

LABEL_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: labels are read by people too


def _customer(scope: Scope, customer_id: int) -> Customer:
    found = Customer.objects.for_scope(scope).filter(pk=customer_id).first()
    if found is None:
        raise ApiError("unknown_customer", f"No customer {customer_id}.", field="customer")
    return found


@transaction.atomic
def site_create(*, scope: Scope, customer_id: int, code: str, name: str, **address: Any) -> Site:
    customer = _customer(scope, customer_id)
    if Site.objects.filter(customer=customer, code=code).exists():
        raise ApiError("duplicate_code", f"Site {code!r} exists for this customer.", field="code")
    return Site.objects.create(
        vendor_id=scope.vendor_id, customer=customer, code=code, name=name, **address
    )


@transaction.atomic
def location_create(
    *, scope: Scope, site_id: int, code: str, name: str = "", parent_id: int | None = None
) -> Location:
    site = Site.objects.for_scope(scope).filter(pk=site_id).first()
    if site is None:
        raise ApiError("unknown_site", f"No site {site_id}.", field="site")
    parent = None
    if parent_id is not None:
        parent = Location.objects.for_scope(scope).filter(pk=parent_id).first()
        if parent is None:
            raise ApiError("unknown_location", f"No location {parent_id}.", field="parent")
        if parent.site_id != site.pk:
            raise ApiError(
                "parent_other_site", "The parent location is at another site.", field="parent"
            )
    if Location.objects.filter(customer_id=site.customer_id, code=code).exists():
        raise ApiError(
            "duplicate_code", f"Location {code!r} exists for this customer.", field="code"
        )
    location = Location.objects.create(
        vendor_id=scope.vendor_id,
        customer_id=site.customer_id,
        site=site,
        parent=parent,
        code=code,
        name=name,
        depth=(parent.depth + 1) if parent else 0,
        sort_key=location_sort_key(code, parent.sort_key if parent else ""),
    )
    location.path = f"{parent.path if parent else '/'}{location.pk}/"
    location.save(update_fields=["path"])
    return location


def label_new() -> str:
    return "B" + "".join(secrets.choice(LABEL_ALPHABET) for _ in range(9))


@transaction.atomic
def bin_create(
    *,
    scope: Scope,
    location_id: int,
    item_id: int,
    min_qty: int = 0,
    max_qty: int = 0,
    pack_multiple: int | None = None,
    on_hand: int = 0,
    lead_time_days: int = 0,
    kanban_quantity: int | None = None,
    tare_grams: Any = None,
    label: str | None = None,
    user_id: int | None = None,
) -> Bin:
    """A new bin; its starting on-hand is written to the ledger as a count."""
    location = Location.objects.for_scope(scope).filter(pk=location_id).first()
    if location is None:
        raise ApiError("unknown_location", f"No location {location_id}.", field="location")
    item = Item.objects.for_scope(scope).filter(pk=item_id).first()
    if item is None:
        raise ApiError("unknown_item", f"No item {item_id}.", field="item")
    pack = pack_multiple or item.pack_quantity
    levels_check(Levels(min_qty, max_qty, pack))
    if on_hand < 0:
        raise ApiError("invalid_quantity", "on_hand must be zero or more.", field="on_hand")
    if Bin.objects.filter(location=location, item=item).exists():
        raise ApiError(
            "duplicate_bin", f"{item.sku} is already stocked at {location.code}.", field="item"
        )
    label = label or label_new()
    if Bin.objects.filter(vendor_id=scope.vendor_id, label=label).exists():
        raise ApiError("duplicate_label", f"Label {label!r} is taken.", field="label")
    now = timezone.now()
    found = Bin.objects.create(
        vendor_id=scope.vendor_id,
        customer_id=location.customer_id,
        site_id=location.site_id,
        location=location,
        item=item,
        label=label,
        min_qty=min_qty,
        max_qty=max_qty,
        pack_multiple=pack,
        on_hand=on_hand,
        lead_time_days=lead_time_days,
        kanban_quantity=kanban_quantity,
        tare_grams=tare_grams,
        last_count_at=now if on_hand else None,
    )
    BinLevelChange.objects.create(
        vendor_id=scope.vendor_id,
        customer_id=found.customer_id,
        bin=found,
        user_id=user_id,
        source="create",
        new_min=min_qty,
        new_max=max_qty,
        new_pack_multiple=pack,
    )
    setting_changes_record(
        vendor_id=scope.vendor_id,
        user_id=user_id,
        source="create",
        changes=[
            bin_settings_change(found, {}, {"min": min_qty, "max": max_qty, "pack_multiple": pack})
        ],
    )
    if on_hand:
        LedgerEntry.objects.create(
            vendor_id=scope.vendor_id,
            customer_id=found.customer_id,
            bin=found,
            kind=MovementKind.COUNT,
            quantity=on_hand,
            delta=on_hand,
            on_hand_after=on_hand,
            user_id=user_id,
            occurred_at=now,
            received_at=now,
        )
    return found


@transaction.atomic
def bin_levels_update(
    *,
    scope: Scope,
    bin_id: int,
    min_qty: int | None = None,
    max_qty: int | None = None,
    pack_multiple: int | None = None,
    user_id: int | None = None,
    source: str = "api",
    **other: Any,
) -> Bin:
    """Change min/max/pack (audited) and the bin's other settings, under the bin's lock."""
    found = Bin.objects.for_scope(scope).select_for_update(of=("self",)).filter(pk=bin_id).first()
    if found is None:
        raise ApiError("not_found", "Not found.", status_code=404)
    new_min = found.min_qty if min_qty is None else min_qty
    new_max = found.max_qty if max_qty is None else max_qty
    new_pack = found.pack_multiple if pack_multiple is None else pack_multiple
    levels_check(Levels(new_min, new_max, new_pack))
    before = {name: getattr(found, attr) for name, attr in BIN_SETTINGS.items()}
    changed = (new_min, new_max, new_pack) != (found.min_qty, found.max_qty, found.pack_multiple)
    if changed:
        BinLevelChange.objects.create(
            vendor_id=found.vendor_id,
            customer_id=found.customer_id,
            bin=found,
            user_id=user_id,
            source=source,
            old_min=found.min_qty,
            new_min=new_min,
            old_max=found.max_qty,
            new_max=new_max,
            old_pack_multiple=found.pack_multiple,
            new_pack_multiple=new_pack,
        )
    found.min_qty, found.max_qty, found.pack_multiple = new_min, new_max, new_pack
    for name in ("lead_time_days", "kanban_quantity", "tare_grams", "active"):
        if name in other:
            setattr(found, name, other[name])
    found.save()
    after = {name: getattr(found, attr) for name, attr in BIN_SETTINGS.items()}
    setting_changes_record(
        vendor_id=found.vendor_id,
        user_id=user_id,
        source=source,
        changes=[bin_settings_change(found, before, after)],
    )
    if changed:
        # Evaluated after commit: a raised min orders now, not at the next sweep.
        hooks.bins_touched(vendor_id=found.vendor_id, bin_ids=[found.pk])
    return found


# The bin's settings that decide what gets ordered, as the audit names them.
BIN_SETTINGS = {
    "min": "min_qty",
    "max": "max_qty",
    "pack_multiple": "pack_multiple",
    "lead_time_days": "lead_time_days",
    "kanban_quantity": "kanban_quantity",
    "tare_grams": "tare_grams",
    "active": "active",
}


def bin_settings_change(found: Bin, before: dict, after: dict) -> ObjectChange:
    return ObjectChange(
        customer_id=found.customer_id,
        object_type="bin",
        object_id=found.pk,
        object_label=found.label,
        before=before,
        after=after,
    )


@transaction.atomic
def device_create(
    *, scope: Scope, customer_id: int, name: str, site_id: int | None = None
) -> tuple[ScannerDevice, str]:
    """A scanner and its token: the plain token is returned once and never stored."""
    customer = _customer(scope, customer_id)
    if site_id is not None and not Site.objects.filter(pk=site_id, customer=customer).exists():
        raise ApiError("unknown_site", f"No site {site_id} for this customer.", field="site")
    plain, digest = tokens.token_new(tokens.DEVICE_PREFIX)
    device = ScannerDevice.objects.create(
        vendor_id=scope.vendor_id,
        customer=customer,
        site_id=site_id,
        name=name,
        token_hash=digest,
        prefix=plain[:10],
    )
    return device, plain


@transaction.atomic
def device_revoke(*, scope: Scope, device_id: int) -> ScannerDevice:
    device = ScannerDevice.objects.for_scope(scope).select_for_update().filter(pk=device_id).first()
    if device is None:
        raise ApiError("not_found", "Not found.", status_code=404)
    if device.revoked_at is None:
        device.revoked_at = timezone.now()
        device.save(update_fields=["revoked_at"])
    return device
