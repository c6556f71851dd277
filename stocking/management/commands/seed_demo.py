"""`manage.py seed_demo [--json]`: two vendors, four customers, ~100 items, ~200 bins.

Safe to run twice: every row is looked up by its natural key before it is made, and
the plan is drawn from a seeded random generator, so a second run changes nothing and
prints the same credentials. Tokens are stored hashed, so the demo's plain tokens are
derived from the vendor/customer code instead of being random: a demo secret, never a
production one.

Everything is built through the same services the API uses (items, sites, locations,
bins), so each bin's starting on-hand is in its ledger.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from catalog.gtin import gtin_check_digit
from catalog.models import CrossReference, CrossReferenceKind, Item
from catalog.services import cross_reference_create, item_create
from cmi import rls, tokens
from cmi.errors import ApiError
from cmi.models import Customer, ErpKey, Membership, ReleasePolicy, Role, Vendor
from cmi.scoping import Scope
from stocking.demo_rfid import rfid_seed
from stocking.models import Bin, Location, ScannerDevice, Site
from stocking.setup import LABEL_ALPHABET, bin_create, location_create, site_create

DEMO_SEED = 2026
WEB_URL = f"http://127.0.0.1:{os.environ.get('PORT') or 8000}"

# --- the catalog: sku, description, unit of measure, pack quantity, unit grams, unit price ---
PRODUCTS: tuple[tuple[str, str, str, int, str | None, str], ...] = (
    ("HB-M6X20-Z", "Hex bolt M6 x 20 mm, class 8.8, zinc plated", "EA", 100, "6.2", "0.0890"),
    ("HB-M8X30-Z", "Hex bolt M8 x 30 mm, class 8.8, zinc plated", "EA", 100, "16.5", "0.1580"),
    ("HB-M8X50-Z", "Hex bolt M8 x 50 mm, class 8.8, zinc plated", "EA", 100, "24.8", "0.2240"),
    ("HB-M10X40-Z", "Hex bolt M10 x 40 mm, class 8.8, zinc plated", "EA", 50, "35.0", "0.3120"),
    ("HB-M12X50-Z", "Hex bolt M12 x 50 mm, class 8.8, zinc plated", "EA", 50, "58.0", "0.4850"),
    ("HB-M16X60-G", "Hex bolt M16 x 60 mm, 8.8, hot-dip galvanized", "EA", 25, "131.0", "1.3500"),
    ("HB-38X112-G5", "Hex cap screw 3/8-16 x 1-1/2 in, grade 5, zinc", "EA", 50, "28.4", "0.2650"),
    ("HN-M6-Z", "Hex nut M6, class 8, zinc plated", "EA", 100, "2.5", "0.0290"),
    ("HN-M8-Z", "Hex nut M8, class 8, zinc plated", "EA", 100, "5.2", "0.0380"),
    ("HN-M10-Z", "Hex nut M10, class 8, zinc plated", "EA", 100, "10.7", "0.0590"),
    ("HN-M12-Z", "Hex nut M12, class 8, zinc plated", "EA", 100, "16.5", "0.0870"),
    ("NN-M8-Z", "Nylon insert lock nut M8, zinc plated", "EA", 100, "5.6", "0.0710"),
    ("NN-M10-Z", "Nylon insert lock nut M10, zinc plated", "EA", 100, "11.0", "0.0990"),
    ("FW-M6-Z", "Flat washer M6 (6.4 x 12 mm), zinc plated", "EA", 100, "1.1", "0.0150"),
    ("FW-M8-Z", "Flat washer M8 (8.4 x 16 mm), zinc plated", "EA", 100, "1.8", "0.0190"),
    ("FW-M10-Z", "Flat washer M10 (10.5 x 20 mm), zinc plated", "EA", 100, "3.0", "0.0260"),
    ("FW-M12-Z", "Flat washer M12 (13 x 24 mm), zinc plated", "EA", 100, "6.3", "0.0380"),
    ("FW-M10-SS", "Flat washer M10, A2 stainless steel", "EA", 100, "3.0", "0.0690"),
    ("SW-M8-Z", "Split lock washer M8, zinc plated", "EA", 100, "1.2", "0.0270"),
    ("SHCS-M5X16-BO", "Socket cap screw M5 x 16 mm, 12.9, black oxide", "EA", 100, "3.9", "0.1090"),
    ("SHCS-M6X20-BO", "Socket cap screw M6 x 20 mm, 12.9, black oxide", "EA", 100, "6.9", "0.1340"),
    (
        "SHCS-M8X25-BO",
        "Socket cap screw M8 x 25 mm, 12.9, black oxide",
        "EA",
        100,
        "15.0",
        "0.2120",
    ),
    (
        "SHCS-M10X30-BO",
        "Socket cap screw M10 x 30 mm, 12.9, black oxide",
        "EA",
        50,
        "28.0",
        "0.3580",
    ),
    ("SHCS-M6X20-SS", "Socket cap screw M6 x 20 mm, A2 stainless", "EA", 100, "7.0", "0.2790"),
    ("FHCS-M6X16-BO", "Flat head socket screw M6 x 16 mm, black oxide", "EA", 100, "4.5", "0.1460"),
    ("SDS-10X1-Z", "Self-drilling screw #10 x 1 in, hex washer head", "EA", 100, "3.2", "0.0620"),
    ("WA-38X3-Z", "Wedge anchor 3/8 x 3 in, zinc plated", "EA", 50, "55.0", "0.6150"),
    ("WA-12X412-Z", "Wedge anchor 1/2 x 4-1/2 in, zinc plated", "EA", 25, "128.0", "1.2400"),
    ("SA-M10X60-Z", "Sleeve anchor M10 x 60 mm, zinc plated", "EA", 50, "32.0", "0.5480"),
    ("DI-38-Z", "Drop-in anchor 3/8-16, zinc plated", "EA", 50, "14.0", "0.4120"),
    ("PA-8X40-NY", "Nylon plug anchor 8 x 40 mm", "EA", 100, "1.6", "0.0390"),
    ("TR-M10X1M-Z", "Threaded rod M10 x 1 m, class 4.8, zinc plated", "EA", 10, "480.0", "3.1900"),
    ("CD-115X1-INOX", "Cutting disc 115 x 1.0 x 22.23 mm, stainless", "EA", 25, "40.0", "1.1500"),
    ("CD-125X1-INOX", "Cutting disc 125 x 1.0 x 22.23 mm, stainless", "EA", 25, "55.0", "1.3500"),
    ("CD-230X2-MET", "Cutting disc 230 x 2.0 x 22.23 mm, metal", "EA", 25, "190.0", "3.2000"),
    ("FD-125-P60", "Flap disc 125 mm, zirconia, P60", "EA", 10, "110.0", "3.9000"),
    ("GD-125X6-MET", "Grinding disc 125 x 6 x 22.23 mm, metal", "EA", 10, "260.0", "2.8500"),
    ("DB-HSS-6.0", "Drill bit HSS-G 6.0 mm, jobber length", "EA", 10, "8.5", "1.4500"),
    ("DB-HSS-8.0", "Drill bit HSS-G 8.0 mm, jobber length", "EA", 10, "16.0", "2.3500"),
    ("DB-HSS-10.0", "Drill bit HSS-G 10.0 mm, jobber length", "EA", 5, "27.0", "3.6000"),
    ("DB-COB-5.0", "Drill bit HSS-Co5 cobalt 5.0 mm", "EA", 10, "5.5", "2.9500"),
    ("DB-SDS-10X160", "Masonry bit SDS-plus 10 x 160 mm", "EA", 5, "62.0", "4.7500"),
    ("GL-NIT-L", "Nitrile disposable gloves, 4 mil, large, box of 100", "BX", 1, None, "9.5000"),
    ("GL-NIT-XL", "Nitrile disposable gloves, 4 mil, X-large, box of 100", "BX", 1, None, "9.5000"),
    ("GL-CUT-A4-9", "Cut-resistant gloves ANSI A4, PU palm, size 9", "PR", 12, "62.0", "6.8000"),
    ("GL-LEA-L", "Leather driver gloves, cowhide, large", "PR", 12, "140.0", "4.2500"),
    ("SG-CLR-AF", "Safety glasses, clear lens, anti-fog, ANSI Z87.1", "EA", 12, "28.0", "2.4000"),
    ("SG-SMK-AF", "Safety glasses, smoke lens, anti-fog, ANSI Z87.1", "EA", 12, "28.0", "2.6000"),
    ("EP-FOAM-200", "Foam ear plugs NRR 32, uncorded, box of 200 pairs", "BX", 1, None, "21.5000"),
    ("RM-N95-20", "N95 particulate respirator, box of 20", "BX", 1, None, "18.9000"),
    ("CT-140X36-NT", "Cable tie 140 x 3.6 mm, natural nylon", "EA", 100, "0.5", "0.0120"),
    ("CT-200X48-BK", "Cable tie 200 x 4.8 mm, black UV-resistant", "EA", 100, "0.9", "0.0210"),
    ("CT-370X76-BK", "Cable tie 370 x 7.6 mm, black UV-resistant", "EA", 100, "3.4", "0.0680"),
    ("LU-MP-400", "Multi-purpose lubricant spray, 400 ml", "EA", 12, "380.0", "5.9500"),
    ("LU-PTFE-400", "Dry PTFE lubricant spray, 400 ml", "EA", 12, "370.0", "8.4000"),
    ("TL-243-50", "Threadlocker, medium strength, blue, 50 ml", "EA", 10, "70.0", "14.2000"),
    ("CL-BRK-500", "Brake and parts cleaner spray, 500 ml", "EA", 12, "420.0", "4.1000"),
    ("TP-DUCT-48", "Duct tape 48 mm x 50 m, silver", "RL", 24, "390.0", "6.7500"),
    ("TP-ELEC-19-BK", "Electrical tape PVC 19 mm x 20 m, black", "RL", 10, "75.0", "1.2500"),
    ("TP-MASK-24", "Masking tape 24 mm x 50 m, general purpose", "RL", 36, "140.0", "1.6500"),
    ("TP-PTFE-12", "PTFE thread seal tape 12 mm x 12 m", "RL", 10, "9.0", "0.6500"),
    ("TP-FLR-50-YB", "Floor marking tape 50 mm x 33 m, yellow/black", "RL", 1, None, "24.9000"),
    ("MK-PNT-WH", "Paint marker, medium tip, white", "EA", 12, "18.0", "2.9000"),
    ("KB-18-10", "Snap-off utility knife blades 18 mm, pack of 10", "BX", 1, None, "3.8000"),
)
ITEMS_PER_VENDOR = 50


@dataclass(frozen=True)
class SiteSpec:
    code: str
    name: str
    address1: str
    city: str
    state: str
    postal_code: str
    racks: int = 3


@dataclass(frozen=True)
class CustomerSpec:
    code: str
    name: str
    account_number: str
    release_policy: str
    timezone: str
    sites: tuple[SiteSpec, ...]
    cutoff_times: tuple[str, ...] = ()


@dataclass(frozen=True)
class VendorSpec:
    code: str
    name: str
    short: str  # usernames: "<short>-admin"
    po_prefix: str
    gs1_prefix: str  # 7 digits: GTIN-13 = prefix + 5-digit item reference + check digit
    customers: tuple[CustomerSpec, ...]


VENDORS: tuple[VendorSpec, ...] = (
    VendorSpec(
        code="acme-industrial",
        name="Acme Industrial Supply",
        short="acme",
        po_prefix="AIS",
        gs1_prefix="0614141",
        customers=(
            CustomerSpec(
                code="great-lakes-fab",
                name="Great Lakes Fabrication Inc.",
                account_number="GLF-20417",
                release_policy=ReleasePolicy.AUTO,
                timezone="America/Detroit",
                sites=(
                    SiteSpec("TOL", "Toledo plant", "4200 Stickney Ave", "Toledo", "OH", "43612"),
                    SiteSpec(
                        "BGW",
                        "Bowling Green weld shop",
                        "1175 Haskins Rd",
                        "Bowling Green",
                        "OH",
                        "43402",
                        racks=2,
                    ),
                ),
            ),
            CustomerSpec(
                code="riverside-precision",
                name="Riverside Precision Machining",
                account_number="RPM-31188",
                release_policy=ReleasePolicy.APPROVAL,
                timezone="America/Chicago",
                sites=(
                    SiteSpec(
                        "RFD",
                        "Rockford machine shop",
                        "2850 Kishwaukee St",
                        "Rockford",
                        "IL",
                        "61109",
                    ),
                ),
            ),
        ),
    ),
    VendorSpec(
        code="northwind-mro",
        name="Northwind MRO",
        short="northwind",
        po_prefix="NWM",
        gs1_prefix="0812345",
        customers=(
            CustomerSpec(
                code="harbor-marine",
                name="Harbor Marine Works",
                account_number="HMW-07720",
                release_policy=ReleasePolicy.SCHEDULED,
                cutoff_times=("10:00", "15:00"),
                timezone="America/New_York",
                sites=(
                    SiteSpec(
                        "PTS",
                        "Portsmouth shipyard maintenance",
                        "85 Terminal Ave",
                        "Portsmouth",
                        "VA",
                        "23704",
                    ),
                    SiteSpec(
                        "NFK",
                        "Norfolk dry dock",
                        "2700 Berkley Ave Ext",
                        "Norfolk",
                        "VA",
                        "23523",
                        racks=2,
                    ),
                ),
            ),
            CustomerSpec(
                code="summit-foods",
                name="Summit Foods Packaging",
                account_number="SFP-40551",
                release_policy=ReleasePolicy.AUTO,
                timezone="America/Denver",
                sites=(
                    SiteSpec(
                        "GRE", "Greeley packaging plant", "3100 W 29th St", "Greeley", "CO", "80631"
                    ),
                ),
            ),
        ),
    ),
)

ROLE_SUFFIX = {
    Role.VENDOR_ADMIN: "admin",
    Role.VENDOR_REP: "rep",
    Role.CUSTOMER_MANAGER: "manager",
    Role.CUSTOMER_STAFF: "staff",
}
VENDOR_USER_ROLES = (Role.VENDOR_ADMIN, Role.VENDOR_REP)
CUSTOMER_USER_ROLES = (Role.CUSTOMER_MANAGER, Role.CUSTOMER_STAFF)


# --- deterministic demo credentials ------------------------------------------------


def demo_device_token(customer_code: str) -> str:
    digest = hashlib.sha256(f"demo-device:{customer_code}".encode()).hexdigest()[:40]
    return tokens.DEVICE_PREFIX + digest


def demo_erp_key(vendor_code: str) -> str:
    return tokens.ERP_PREFIX + hashlib.sha256(f"demo-erp:{vendor_code}".encode()).hexdigest()[:40]


def demo_password(role: str) -> str:
    return f"demo-{ROLE_SUFFIX[role]}-2026"


def demo_username(prefix: str, role: str) -> str:
    return f"{prefix}-{ROLE_SUFFIX[role]}"


def _credentials(prefix: str, roles: tuple[str, ...]) -> dict[str, dict[str, str]]:
    return {
        str(role): {"username": demo_username(prefix, role), "password": demo_password(role)}
        for role in roles
    }


# --- the plan: pure data, drawn from seeded generators, no database ----------------


@dataclass(frozen=True)
class ItemPlan:
    sku: str
    description: str
    unit_of_measure: str
    pack_quantity: int
    unit_weight_grams: Decimal | None
    unit_price: Decimal
    gtin: str


@dataclass(frozen=True)
class LocationPlan:
    site_code: str
    code: str
    name: str
    parent_code: str | None


@dataclass(frozen=True)
class BinPlan:
    label: str
    sku: str
    location_code: str
    min_qty: int
    max_qty: int
    pack_multiple: int
    on_hand: int
    lead_time_days: int
    kanban_quantity: int | None = None
    tare_grams: Decimal | None = None


@dataclass
class CustomerPlan:
    spec: CustomerSpec
    locations: list[LocationPlan] = field(default_factory=list)
    bins: list[BinPlan] = field(default_factory=list)
    cross_references: list[tuple[str, str]] = field(default_factory=list)  # (sku, code)


@dataclass
class VendorPlan:
    spec: VendorSpec
    items: list[ItemPlan] = field(default_factory=list)
    customers: list[CustomerPlan] = field(default_factory=list)


def gtin13(gs1_prefix: str, reference: int) -> str:
    body = f"{gs1_prefix}{reference:05d}"
    return body + str(gtin_check_digit(body))


def _price(rng: random.Random, base: str) -> Decimal:
    value = Decimal(base) * Decimal(str(round(rng.uniform(0.9, 1.12), 3)))
    return value.quantize(Decimal("0.0001") if value < 1 else Decimal("0.01"))


def _items_plan(rng: random.Random, spec: VendorSpec) -> list[ItemPlan]:
    picked = sorted(rng.sample(range(len(PRODUCTS)), ITEMS_PER_VENDOR))
    return [
        ItemPlan(
            sku=sku,
            description=description,
            unit_of_measure=uom,
            pack_quantity=pack,
            unit_weight_grams=Decimal(grams).quantize(Decimal("0.001")) if grams else None,
            unit_price=_price(rng, price),
            gtin=gtin13(spec.gs1_prefix, index + 1),
        )
        for index in picked
        for sku, description, uom, pack, grams, price in [PRODUCTS[index]]
    ]


def _locations_plan(spec: CustomerSpec) -> tuple[list[LocationPlan], list[LocationPlan]]:
    """Per site a stock room SR<n> > racks SR<n>-R0x > shelves SR<n>-R0x-S<y>."""
    locations: list[LocationPlan] = []
    shelves: list[LocationPlan] = []
    for number, site in enumerate(spec.sites, start=1):
        room = LocationPlan(site.code, f"SR{number}", f"{site.name} stock room", None)
        locations.append(room)
        for r in range(1, site.racks + 1):
            rack = LocationPlan(site.code, f"{room.code}-R{r:02d}", f"Rack {r:02d}", room.code)
            locations.append(rack)
            for s in range(1, 5):
                shelf = LocationPlan(
                    site.code, f"{rack.code}-S{s}", f"Rack {r:02d} shelf {s}", rack.code
                )
                locations.append(shelf)
                shelves.append(shelf)
    return locations, shelves


def _minimum(rng: random.Random, pack: int) -> int:
    if pack >= 5:
        return pack * rng.randint(1, 3)
    return pack * rng.randint(2, 8)


def _customer_plan(
    rng: random.Random, spec: CustomerSpec, items: list[ItemPlan], labels: set[str]
) -> CustomerPlan:
    plan = CustomerPlan(spec=spec)
    plan.locations, shelves = _locations_plan(spec)
    total = rng.randint(48, 53)
    site_shares = (
        [total] if len(spec.sites) == 1 else [round(total * 0.6), total - round(total * 0.6)]
    )
    placed: list[tuple[ItemPlan, LocationPlan]] = []
    for site, share in zip(spec.sites, site_shares, strict=True):
        site_shelves = [s for s in shelves if s.site_code == site.code]
        chosen = sorted(rng.sample(range(len(items)), min(share, len(items))))
        # In catalog order, so bolts sit next to bolts and gloves next to gloves.
        per_shelf = -(-len(chosen) // len(site_shelves))
        for n, index in enumerate(chosen):
            placed.append((items[index], site_shelves[n // per_shelf]))

    weigh_candidates = [
        n
        for n, (item, _) in enumerate(placed)
        if item.unit_weight_grams and item.pack_quantity >= 50
    ]
    weigh = set(rng.sample(weigh_candidates, min(3, len(weigh_candidates))))
    # Two-bin kanban suits boxed consumables: gloves, ear plugs, discs, drill bits.
    kanban_candidates = [
        n
        for n, (item, _) in enumerate(placed)
        if n not in weigh and (item.unit_weight_grams is None or 5 <= item.pack_quantity <= 25)
    ]
    kanban = set(rng.sample(kanban_candidates, min(3, len(kanban_candidates))))
    plain = [n for n in range(len(placed)) if n not in kanban]
    at_zero = set(rng.sample(plain, 3))
    below_min = set(rng.sample([n for n in plain if n not in at_zero], 5))

    for n, (item, shelf) in enumerate(placed):
        label = _label(rng, labels)
        pack = item.pack_quantity
        lead_time = rng.randint(2, 5)
        if n in kanban:
            quantity = pack * rng.choice((1, 2)) if pack > 1 else rng.choice((6, 10, 12))
            bin_plan = BinPlan(
                label=label,
                sku=item.sku,
                location_code=shelf.code,
                min_qty=0,
                max_qty=0,
                pack_multiple=pack,
                on_hand=rng.randint(0, 2 * quantity),
                lead_time_days=lead_time,
                kanban_quantity=quantity,
            )
        else:
            low = _minimum(rng, pack)
            high = low * rng.choice((2, 3, 4))
            if n in at_zero:
                on_hand = 0
            elif n in below_min:
                on_hand = rng.randint(1, max(low - 1, 1)) if low > 1 else 0
            else:
                on_hand = rng.randint(low + 1, high)
            bin_plan = BinPlan(
                label=label,
                sku=item.sku,
                location_code=shelf.code,
                min_qty=low,
                max_qty=high,
                pack_multiple=pack,
                on_hand=on_hand,
                lead_time_days=lead_time,
                tare_grams=Decimal(rng.choice(("185.000", "240.000", "415.000")))
                if n in weigh
                else None,
            )
        plan.bins.append(bin_plan)

    stocked = sorted({b.sku for b in plan.bins})
    codes: set[str] = set()
    for sku in rng.sample(stocked, 6):
        code = f"CPN-{rng.randint(10000, 99999)}"
        while code in codes:
            code = f"CPN-{rng.randint(10000, 99999)}"
        codes.add(code)
        plan.cross_references.append((sku, code))
    return plan


def _label(rng: random.Random, taken: set[str]) -> str:
    while True:
        label = "B" + "".join(rng.choice(LABEL_ALPHABET) for _ in range(9))
        if label not in taken:
            taken.add(label)
            return label


def plan_build() -> list[VendorPlan]:
    """The whole demo as data. Each vendor draws from its own generator."""
    plans = []
    for spec in VENDORS:
        rng = random.Random(f"{DEMO_SEED}:{spec.code}")
        plan = VendorPlan(spec=spec, items=_items_plan(rng, spec))
        labels: set[str] = set()
        for customer in spec.customers:
            plan.customers.append(_customer_plan(rng, customer, plan.items, labels))
        plans.append(plan)
    return plans


# --- applying the plan: look up, create only what is missing -----------------------


class _Applier:
    def __init__(self) -> None:
        self.created: Counter[str] = Counter()
        self._hashes: dict[str, str] = {}

    def vendor(self, plan: VendorPlan) -> None:
        spec = plan.spec
        vendor, made = Vendor.objects.get_or_create(
            code=spec.code, defaults={"name": spec.name, "po_prefix": spec.po_prefix}
        )
        self.created["vendors"] += made
        scope = Scope(vendor_id=vendor.pk, role="vendor_admin")

        have = set(Item.objects.for_scope(scope).values_list("sku", flat=True))
        for item in plan.items:
            if item.sku in have:
                continue
            item_create(
                scope=scope,
                sku=item.sku,
                description=item.description,
                barcodes=[item.gtin],
                unit_of_measure=item.unit_of_measure,
                pack_quantity=item.pack_quantity,
                unit_weight_grams=item.unit_weight_grams,
                unit_price=item.unit_price,
            )
            self.created["items"] += 1
        items = {
            i.sku: i.pk
            for i in Item.objects.for_scope(scope).filter(sku__in=[i.sku for i in plan.items])
        }

        key = demo_erp_key(spec.code)
        if not ErpKey.objects.filter(token_hash=tokens.token_hash(key)).exists():
            ErpKey.objects.create(
                vendor=vendor, name="Demo ERP", token_hash=tokens.token_hash(key), prefix=key[:10]
            )
            self.created["erp_keys"] += 1
        for role in VENDOR_USER_ROLES:
            self.user(vendor, None, demo_username(spec.short, role), role)
        for customer_plan in plan.customers:
            self.customer(vendor, scope, customer_plan, items)

    def customer(
        self, vendor: Vendor, scope: Scope, plan: CustomerPlan, items: dict[str, int]
    ) -> None:
        spec = plan.spec
        customer = Customer.objects.filter(vendor=vendor, code=spec.code).first()
        if customer is None:
            customer = Customer(
                vendor=vendor,
                code=spec.code,
                name=spec.name,
                account_number=spec.account_number,
                release_policy=spec.release_policy,
                cutoff_times=list(spec.cutoff_times),
                timezone=spec.timezone,
            )
            customer.full_clean()
            customer.save()
            self.created["customers"] += 1

        sites = {s.code: s.pk for s in Site.objects.filter(customer=customer)}
        for site in spec.sites:
            if site.code not in sites:
                sites[site.code] = site_create(
                    scope=scope,
                    customer_id=customer.pk,
                    code=site.code,
                    name=site.name,
                    address1=site.address1,
                    city=site.city,
                    state=site.state,
                    postal_code=site.postal_code,
                ).pk
                self.created["sites"] += 1

        locations = {loc.code: loc.pk for loc in Location.objects.filter(customer=customer)}
        for loc in plan.locations:  # parents come before their children
            if loc.code not in locations:
                locations[loc.code] = location_create(
                    scope=scope,
                    site_id=sites[loc.site_code],
                    code=loc.code,
                    name=loc.name,
                    parent_id=locations[loc.parent_code] if loc.parent_code else None,
                ).pk
                self.created["locations"] += 1

        stocked = set(Bin.objects.filter(customer=customer).values_list("location_id", "item_id"))
        for b in plan.bins:
            location_id, item_id = locations[b.location_code], items[b.sku]
            if (location_id, item_id) in stocked:
                continue
            label_free = not Bin.objects.filter(vendor=vendor, label=b.label).exists()
            bin_create(
                scope=scope,
                location_id=location_id,
                item_id=item_id,
                min_qty=b.min_qty,
                max_qty=b.max_qty,
                pack_multiple=b.pack_multiple,
                on_hand=b.on_hand,
                lead_time_days=b.lead_time_days,
                kanban_quantity=b.kanban_quantity,
                tare_grams=b.tare_grams,
                label=b.label if label_free else None,
            )
            self.created["bins"] += 1

        have_refs = set(
            CrossReference.objects.filter(customer=customer).values_list("code", flat=True)
        )
        for sku, code in plan.cross_references:
            if code not in have_refs:
                cross_reference_create(
                    scope=scope,
                    customer_id=customer.pk,
                    item_id=items[sku],
                    kind=CrossReferenceKind.PART_NUMBER,
                    code=code,
                )
                self.created["cross_references"] += 1

        token = demo_device_token(spec.code)
        if not ScannerDevice.objects.filter(token_hash=tokens.token_hash(token)).exists():
            ScannerDevice.objects.create(
                vendor=vendor,
                customer=customer,
                name="Demo scanner",
                token_hash=tokens.token_hash(token),
                prefix=token[:10],
            )
            self.created["scanners"] += 1
        for role in CUSTOMER_USER_ROLES:
            self.user(vendor, customer, demo_username(spec.code, role), role)
        self.created.update(rfid_seed(customer))  # a drop box, a cabinet, cards, tags

    def user(self, vendor: Vendor, customer: Customer | None, username: str, role: str) -> None:
        user_model = get_user_model()
        user = user_model.objects.filter(username=username).first()
        if user is None:
            password = demo_password(role)
            if password not in self._hashes:  # hashing is slow on purpose; one per password
                self._hashes[password] = make_password(password)
            user = user_model.objects.create(
                username=username, email=f"{username}@example.com", password=self._hashes[password]
            )
            self.created["users"] += 1
        membership = Membership.objects.filter(user=user).first()
        if membership is None:
            Membership.objects.create(user=user, vendor=vendor, customer=customer, role=role)
        elif (membership.vendor_id, membership.customer_id, membership.role) != (
            vendor.pk,
            customer.pk if customer else None,
            role,
        ):
            raise CommandError(
                f"User {username!r} exists with another membership; not touching it."
            )


def seed() -> Counter[str]:
    """Create what is missing of the demo; returns what was created, by kind."""
    applier = _Applier()
    plans = plan_build()
    with transaction.atomic():
        for plan in plans:
            applier.vendor(plan)
        # Apps above stocking add their part (edi: a partner profile per vendor)
        # through a `demo_seed(vendor_codes)` hook on their AppConfig.
        for config in apps.get_app_configs():
            hook = getattr(config, "demo_seed", None)
            if hook is not None:
                applier.created.update(hook([plan.spec.code for plan in plans]))
    return applier.created


# --- the demo as a dict: what --json prints and simulate_scans drives ---------------


class DemoNotSeeded(Exception):
    pass


def _decimal(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def demo_data(*, detail: bool = False) -> dict[str, Any]:
    """The seeded demo as it is in the database now, with its credentials.

    `detail` adds what a simulator needs to fake weigh bins (tare, unit weight).
    Raises DemoNotSeeded when a demo vendor or customer is missing.
    """
    out: list[dict[str, Any]] = []
    for spec in VENDORS:
        vendor = Vendor.objects.filter(code=spec.code).first()
        if vendor is None:
            raise DemoNotSeeded(f"vendor {spec.code!r} is not in this database")
        customers = []
        for cspec in spec.customers:
            customer = Customer.objects.filter(vendor=vendor, code=cspec.code).first()
            if customer is None:
                raise DemoNotSeeded(f"customer {cspec.code!r} is not in this database")
            bins = (
                Bin.objects.filter(vendor=vendor, customer=customer, active=True)
                .select_related("item", "location")
                .order_by("location__code", "item__sku", "label")
            )
            rows = []
            for b in bins:
                row = {
                    "label": b.label,
                    "sku": b.item.sku,
                    "location": b.location.code,
                    "min": b.min_qty,
                    "max": b.max_qty,
                    "pack_multiple": b.pack_multiple,
                    "on_hand": b.on_hand,
                    "kanban_quantity": b.kanban_quantity,
                }
                if detail:
                    row["tare_grams"] = _decimal(b.tare_grams)
                    row["unit_weight_grams"] = _decimal(b.item.unit_weight_grams)
                rows.append(row)
            customers.append(
                {
                    "code": customer.code,
                    "name": customer.name,
                    "release_policy": customer.release_policy,
                    "scanner_token": demo_device_token(customer.code),
                    "users": _credentials(customer.code, CUSTOMER_USER_ROLES),
                    "bins": rows,
                }
            )
        out.append(
            {
                "code": vendor.code,
                "name": vendor.name,
                "erp_key": demo_erp_key(vendor.code),
                "users": _credentials(spec.short, VENDOR_USER_ROLES),
                "customers": customers,
            }
        )
    return {"vendors": out}


def plan_data(*, detail: bool = False) -> dict[str, Any]:
    """The same shape from the plan alone (starting on-hand), for a database not seeded here."""
    out = []
    for plan in plan_build():
        weights = {i.sku: i.unit_weight_grams for i in plan.items}
        customers = []
        for cplan in plan.customers:
            rows = []
            for b in sorted(cplan.bins, key=lambda b: (b.location_code, b.sku, b.label)):
                row = {
                    "label": b.label,
                    "sku": b.sku,
                    "location": b.location_code,
                    "min": b.min_qty,
                    "max": b.max_qty,
                    "pack_multiple": b.pack_multiple,
                    "on_hand": b.on_hand,
                    "kanban_quantity": b.kanban_quantity,
                }
                if detail:
                    row["tare_grams"] = _decimal(b.tare_grams)
                    row["unit_weight_grams"] = _decimal(weights[b.sku])
                rows.append(row)
            customers.append(
                {
                    "code": cplan.spec.code,
                    "name": cplan.spec.name,
                    "release_policy": str(cplan.spec.release_policy),
                    "scanner_token": demo_device_token(cplan.spec.code),
                    "users": _credentials(cplan.spec.code, CUSTOMER_USER_ROLES),
                    "bins": rows,
                }
            )
        out.append(
            {
                "code": plan.spec.code,
                "name": plan.spec.name,
                "erp_key": demo_erp_key(plan.spec.code),
                "users": _credentials(plan.spec.short, VENDOR_USER_ROLES),
                "customers": customers,
            }
        )
    return {"vendors": out}


class Command(BaseCommand):
    help = (
        "Seed the demo: 2 vendors, 4 customers, ~100 items, ~200 bins, users, scanners, ERP keys."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--json",
            action="store_true",
            dest="as_json",
            help="print the demo as one JSON object, nothing else",
        )

    def handle(self, *args: Any, as_json: bool = False, **options: Any) -> None:
        with rls.system():  # the demo is two vendors
            self._handle(as_json=as_json)

    def _handle(self, *, as_json: bool) -> None:
        try:
            created = seed()
        except ApiError as err:
            raise CommandError(f"seeding failed: {err.error_code}: {err.detail}") from err
        data = demo_data()
        if as_json:
            self.stdout.write(json.dumps(data, indent=2))
            return
        self._summary(data, created)

    def _summary(self, data: dict[str, Any], created: Counter[str]) -> None:
        write = self.stdout.write
        bins = sum(len(c["bins"]) for v in data["vendors"] for c in v["customers"])
        customers = sum(len(v["customers"]) for v in data["vendors"])
        made = (
            ", ".join(f"{n} {kind}" for kind, n in sorted(created.items()) if n)
            or "nothing (already seeded)"
        )
        write(
            self.style.SUCCESS(
                f"Demo: {len(data['vendors'])} vendors, {customers} customers, {bins} bins."
            )
        )
        write(f"Created now: {made}.")
        write(f"Web: {WEB_URL}/   API: {WEB_URL}/api/v1/   docs: {WEB_URL}/api/docs/")
        write("Personal API token: POST /api/v1/auth/token with a username and password below.")
        for vendor in data["vendors"]:
            write("")
            write(self.style.MIGRATE_HEADING(f"{vendor['name']} ({vendor['code']})"))
            write(f"  ERP key        {vendor['erp_key']}")
            for role, cred in vendor["users"].items():
                write(f"  {role:<17} {cred['username']} / {cred['password']}")
            for customer in vendor["customers"]:
                write(
                    f"  {customer['name']} ({customer['code']}, {customer['release_policy']}, "
                    f"{len(customer['bins'])} bins)"
                )
                write(f"    scanner token     {customer['scanner_token']}")
                for role, cred in customer["users"].items():
                    write(f"    {role:<17} {cred['username']} / {cred['password']}")
        first = data["vendors"][0]["customers"][0]
        write("")
        label = first["bins"][0]["label"]
        uid, now = "'$(uuidgen)'", "'$(date -u +%FT%TZ)'"  # expanded by the shell
        event = json.dumps(
            {"event_id": uid, "kind": "issue", "code": label, "quantity": 1, "occurred_at": now}
        )
        write("Post a scan (bash):")
        write(f"  curl -s -X POST {WEB_URL}/api/v1/scans \\")
        write(f"    -H 'Authorization: Bearer {first['scanner_token']}' \\")
        write("    -H 'Content-Type: application/json' \\")
        write(f"    -d '{{\"scans\": [{event}]}}'")
        write("Or drive every scanner at once: manage.py simulate_scans")
