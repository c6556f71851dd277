"""The demo's RFID: per customer a kanban drop box with cards for its kanban bins, and a
cabinet whose tagged items (SGTIN-96 tags, one per piece on hand) it counts.

seed_demo calls `rfid_seed` (safe to run twice: every row is looked up by its natural
key first) and `rfid_demo_data` (what simulate_scans needs to play the readers).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any

from django.utils import timezone
from epcpy.epc_schemes.sgtin import SGTIN, SGTINFilterValue

from catalog.models import ItemBarcode
from cmi import tokens
from cmi.models import Customer
from stocking.models import (
    Bin,
    RfidCard,
    RfidMode,
    RfidReader,
    RfidTag,
    ScannerDevice,
    Site,
)

CARDS_PER_BIN = 2
KANBAN_BINS = 4
TAGGED_BINS = 3
TAGS_PER_BIN_MAX = 120  # the cabinet holds small bins: one tag per piece
CABINET_ANTENNAS = 2


def demo_rfid_token(customer_code: str, mode: str) -> str:
    digest = hashlib.sha256(f"demo-rfid:{customer_code}:{mode}".encode()).hexdigest()[:40]
    return tokens.DEVICE_PREFIX + digest


def demo_card_epc(bin_label: str, n: int) -> str:
    return "E2" + hashlib.sha256(f"demo-card:{bin_label}:{n}".encode()).hexdigest()[:22].upper()


def sgtin96(gtin: str, serial: int) -> str:
    """The EPC hex of a piece's tag (SGTIN-96, filter 1: point of sale item)."""
    return SGTIN.from_gtin_plus_serial(gtin.zfill(14), str(serial), 7).hex(
        binary_coding_scheme=SGTIN.BinaryCodingScheme.SGTIN_96,
        filter_value=SGTINFilterValue.POS_ITEM,
    )


def _reader(
    customer: Customer, site: Site, mode: str, name: str, antennas: int, created
) -> RfidReader:
    token = demo_rfid_token(customer.code, mode)
    device = ScannerDevice.objects.filter(token_hash=tokens.token_hash(token)).first()
    if device is None:
        device = ScannerDevice.objects.create(
            vendor_id=customer.vendor_id,
            customer=customer,
            site=site,
            name=name,
            token_hash=tokens.token_hash(token),
            prefix=token[:10],
        )
        created["rfid_readers"] += 1
    reader = RfidReader.objects.filter(device=device).first()
    if reader is None:
        reader = RfidReader.objects.create(
            vendor_id=customer.vendor_id,
            customer=customer,
            device=device,
            site=site,
            mode=mode,
            antenna_count=antennas,
        )
    return reader


def _gtins(bins: list[Bin]) -> dict[int, str]:
    """Each bin's item's GTIN (its first barcode), by item id."""
    out: dict[int, str] = {}
    for item_id, code in (
        ItemBarcode.objects.filter(
            item_id__in={b.item_id for b in bins}, code__regex=r"^[0-9]{12,14}$"
        )
        .order_by("item_id", "code")
        .values_list("item_id", "code")
    ):
        out.setdefault(item_id, code)
    return out


def tagged_bins(customer: Customer, site: Site) -> list[Bin]:
    """The cabinet's bins: min/max bins of the site whose item has a GTIN, no weigh bins."""
    bins = list(
        Bin.objects.filter(
            customer=customer,
            site=site,
            active=True,
            kanban_quantity__isnull=True,
            tare_grams__isnull=True,
            on_hand__gt=0,
            on_hand__lte=TAGS_PER_BIN_MAX,
        ).order_by("label")
    )
    gtins = _gtins(bins)
    chosen, items = [], set()
    for b in bins:
        if b.item_id in gtins and b.item_id not in items:
            chosen.append(b)
            items.add(b.item_id)
    # the cabinet counts an item in its lowest bin at the site: keep the bins it counts
    first = dict(
        Bin.objects.filter(customer=customer, site=site, active=True, item_id__in=items)
        .order_by("-pk")
        .values_list("item_id", "pk")
    )
    return [b for b in chosen if first[b.item_id] == b.pk][:TAGGED_BINS]


def rfid_seed(customer: Customer) -> Counter[str]:
    created: Counter[str] = Counter()
    site = Site.objects.filter(customer=customer).order_by("code").first()
    if site is None:
        return created
    box = _reader(customer, site, RfidMode.DROP_BOX, "Kanban drop box", 1, created)
    cabinet = _reader(customer, site, RfidMode.CABINET, "Crib cabinet", CABINET_ANTENNAS, created)
    kanban = Bin.objects.filter(customer=customer, active=True, kanban_quantity__isnull=False)
    have = set(RfidCard.objects.filter(customer=customer).values_list("epc", flat=True))
    for b in kanban.order_by("label")[:KANBAN_BINS]:
        for n in range(CARDS_PER_BIN):
            epc = demo_card_epc(b.label, n)
            if epc not in have:
                RfidCard.objects.create(
                    vendor_id=customer.vendor_id, customer=customer, bin=b, epc=epc
                )
                created["rfid_cards"] += 1
    assert box.pk
    now = timezone.now()
    bins = tagged_bins(customer, site)
    gtins = _gtins(bins)
    if RfidTag.objects.filter(customer=customer).exists():
        return created  # tagged before: the cabinet's tags are the simulator's now
    tags = []
    for b in bins:
        gtin = gtins[b.item_id].zfill(14)
        # one tag per piece on hand: the bin's count is its tags from now on
        tags += [
            RfidTag(
                vendor_id=customer.vendor_id,
                customer=customer,
                epc=sgtin96(gtin, serial),
                gtin=gtin,
                serial=str(serial),
                item_id=b.item_id,
                bin=b,
                reader=cabinet,
                present=True,
                first_seen_at=now,
                last_seen_at=now,
            )
            # a GTIN's serials are unique across the vendor's customers
            for serial in range(
                customer.pk * 1_000_000 + 1, customer.pk * 1_000_000 + b.on_hand + 1
            )
        ]
    RfidTag.objects.bulk_create(tags)
    created["rfid_tags"] += len(tags)
    return created


def rfid_demo_data(customer: Customer) -> dict[str, Any]:
    """What the simulator plays: the readers' tokens, the cards, the cabinet's tags."""
    cards = RfidCard.objects.filter(customer=customer).select_related("bin").order_by("epc")
    tags = (
        RfidTag.objects.filter(customer=customer, present=True, reader__mode=RfidMode.CABINET)
        .select_related("bin")
        .order_by("bin__label", "epc")
    )
    tagged: dict[str, dict[str, Any]] = {}
    for t in tags:
        shelf = tagged.setdefault(
            t.bin.label,
            {
                "label": t.bin.label,
                "gtin": t.gtin,
                "min": t.bin.min_qty,
                "max": t.bin.max_qty,
                "serials": [],
            },
        )
        if t.serial.isdigit():
            shelf["serials"].append(int(t.serial))
    return {
        "drop_box_token": demo_rfid_token(customer.code, RfidMode.DROP_BOX),
        "cabinet_token": demo_rfid_token(customer.code, RfidMode.CABINET),
        "cabinet_antennas": CABINET_ANTENNAS,
        "cards": [{"epc": c.epc, "label": c.bin.label} for c in cards],
        "tagged": list(tagged.values()),
    }


def rfid_demo_all() -> dict[str, dict[str, Any]]:
    """rfid_demo_data of every customer with demo readers, by customer code."""
    codes = (
        RfidReader.objects.filter(mode=RfidMode.CABINET)
        .values_list("customer__code", "customer_id")
        .order_by("customer__code")
    )
    return {
        code: rfid_demo_data(Customer.objects.get(pk=pk))
        for code, pk in codes
        if ScannerDevice.objects.filter(
            token_hash=tokens.token_hash(demo_rfid_token(code, RfidMode.CABINET))
        ).exists()
    }
