"""Test data built through the same services the API uses."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model

from catalog.models import Item
from catalog.services import cross_reference_create, item_create
from cmi.models import Customer, Membership, Role, Vendor
from cmi.scoping import Scope
from cmi.services import erp_key_create
from stocking.models import Bin, Location, ScannerDevice, Site
from stocking.setup import bin_create, device_create, location_create, site_create

PASSWORD = "correct-horse-battery-9"
_seq = itertools.count(1)


def vendor_scope(vendor: Vendor) -> Scope:
    return Scope(vendor_id=vendor.pk, role="vendor_admin")


def user_make(
    vendor: Vendor, role: str, customer: Customer | None = None, username: str | None = None
):
    user = get_user_model().objects.create_user(
        username=username or f"{role}-{next(_seq)}",
        password=PASSWORD,
        email=f"u{next(_seq)}@example.com",
    )
    Membership.objects.create(user=user, vendor=vendor, customer=customer, role=role)
    return user


def gtin13(n: int) -> str:
    from catalog.gtin import gtin_check_digit

    body = f"400{n:09d}"
    return body + str(gtin_check_digit(body))


@dataclass
class CustomerWorld:
    customer: Customer
    site: Site
    room: Location
    shelf: Location
    device: ScannerDevice
    token: str
    bins: list[Bin]
    manager: object
    staff: object


@dataclass
class VendorWorld:
    vendor: Vendor
    scope: Scope
    items: list[Item]
    admin: object
    rep: object
    erp_key: str
    customers: list[CustomerWorld] = field(default_factory=list)


def vendor_world(
    code: str,
    *,
    customers: int = 2,
    items: int = 3,
    policy: str = "auto",
    consolidation_minutes: int = 0,
) -> VendorWorld:
    """Two customers with a site, shelf, three bins, a scanner and people each.

    Auto release sends at once unless a test asks for a consolidation window (the
    product's default is 15 minutes; most tests are about what happens after release).
    """
    vendor = Vendor.objects.create(code=code, name=f"Vendor {code}", po_prefix=code[:2].upper())
    scope = vendor_scope(vendor)
    made_items = [
        item_create(
            scope=scope,
            sku=f"{code.upper()}-SKU-{i}",
            description=f"Hex bolt M{6 + i} x 30 zinc",
            barcodes=[gtin13(vendor.pk * 1000 + i)],
            pack_quantity=10 if i == 1 else 1,
            unit_weight_grams=Decimal("12.5"),
            unit_price=Decimal("0.25") * (i + 1),
        )
        for i in range(items)
    ]
    _, erp_plain = erp_key_create(vendor_id=vendor.pk, name="erp")
    world = VendorWorld(
        vendor=vendor,
        scope=scope,
        items=made_items,
        admin=user_make(vendor, Role.VENDOR_ADMIN),
        rep=user_make(vendor, Role.VENDOR_REP),
        erp_key=erp_plain,
    )
    for c in range(customers):
        customer = Customer.objects.create(
            vendor=vendor,
            code=f"{code}-c{c}",
            name=f"Customer {c} of {code}",
            release_policy=policy,
            account_number=f"ACCT{c:04d}",
            timezone="America/Chicago",
            consolidation_minutes=consolidation_minutes,
        )
        site = site_create(
            scope=scope,
            customer_id=customer.pk,
            code="MAIN",
            name="Main plant",
            address1="1 Industrial Way",
            city="Springfield",
            state="IL",
            postal_code="62701",
        )
        room = location_create(scope=scope, site_id=site.pk, code="ROOM", name="Stock room")
        shelf = location_create(
            scope=scope, site_id=site.pk, code="SHELF-A", name="Shelf A", parent_id=room.pk
        )
        bins = [
            bin_create(
                scope=scope,
                location_id=shelf.pk,
                item_id=item.pk,
                min_qty=10,
                max_qty=50,
                on_hand=30,
                pack_multiple=item.pack_quantity,
                lead_time_days=3,
                tare_grams=Decimal("100"),
            )
            for item in made_items
        ]
        cross_reference_create(
            scope=scope,
            customer_id=customer.pk,
            item_id=made_items[0].pk,
            kind="part_number",
            code="CPN-0001",
        )
        device, token = device_create(scope=scope, customer_id=customer.pk, name="Handheld 1")
        world.customers.append(
            CustomerWorld(
                customer=customer,
                site=site,
                room=room,
                shelf=shelf,
                device=device,
                token=token,
                bins=bins,
                manager=user_make(vendor, Role.CUSTOMER_MANAGER, customer),
                staff=user_make(vendor, Role.CUSTOMER_STAFF, customer),
            )
        )
    return world
