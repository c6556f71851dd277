"""Writing outbound documents: control numbers, the envelope, the outbox cursor.

Control numbers (ISA13, GS06, ST02) come from per-vendor counters taken under row
locks, so they are unique and increasing, also under concurrent releases. The
outbox cursor is drawn last, under its own lock held until commit: cursors become
visible in increasing order and a poll never skips a document.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping
from decimal import Decimal

from django.utils import timezone

from cmi.models import VendorSequence
from edi.models import Direction, Document, OrderEdiState, TradingPartner
from edi.x12 import (
    FunctionalGroup,
    Interchange,
    Segment,
    Separators,
    TransactionSet,
    interchange_serialize,
    text_clean,
)
from replenishment.models import Order, OrderLine

FUNCTIONAL_IDS = {"850": "PO", "997": "FA", "855": "PR", "856": "SH", "810": "IN", "852": "PD"}
# PO1 product id qualifiers by GTIN length: a GTIN-14 (case code) is not an EAN-13,
# and an ERP that looks up "EN" in its EAN table would not find it.
GTIN_QUALIFIERS = {12: "UP", 13: "EN", 14: "UK"}


def partner_separators(partner: TradingPartner) -> Separators:
    return Separators(
        element=partner.element_separator,
        component=partner.component_separator,
        segment=partner.segment_terminator,
        repetition=partner.repetition_separator
        if partner.version == TradingPartner.Version.V5010
        else None,
        newline=partner.newline,
    )


def interchange_build(
    *,
    partner: TradingPartner,
    set_id: str,
    segments: list[Segment],
    isa: int,
    gs: int,
    st_control: str,
    now: dt.datetime,
) -> Interchange:
    """One interchange holding one group holding one set, in the partner's dialect."""
    version = partner.version
    return Interchange(
        sender_qualifier=partner.isa_sender_qualifier,
        sender_id=partner.isa_sender_id,
        receiver_qualifier=partner.isa_receiver_qualifier,
        receiver_id=partner.isa_receiver_id,
        date=now.strftime("%y%m%d"),
        time=now.strftime("%H%M"),
        control_number=isa,
        version="00501" if version == TradingPartner.Version.V5010 else "00401",
        usage=partner.usage,
        ack_requested="0",
        separators=partner_separators(partner),
        groups=[
            FunctionalGroup(
                functional_id=FUNCTIONAL_IDS[set_id],
                sender=partner.gs_sender,
                receiver=partner.gs_receiver,
                date=now.strftime("%Y%m%d"),
                time=now.strftime("%H%M"),
                control_number=gs,
                version=version + partner.gs08_suffix,
                sets=[TransactionSet(id=set_id, control_number=st_control, segments=segments)],
            )
        ],
    )


def partner_envelope_check(partner: TradingPartner) -> None:
    """Raise X12Error when this profile could not write an envelope.

    The model's clean() checks shapes; the writer is stricter (printable ASCII ids,
    GS02/GS03 of 2 to 15 characters, no separator inside an id). A profile that
    passed clean() but failed here would fail every release's 850 inside the
    release transaction, so the profile is tried on a dummy set before it is saved.
    """
    interchange_serialize(
        interchange_build(
            partner=partner,
            set_id="850",
            segments=[Segment("BEG", ["00", "SA", "CHECK", "", "20000101"])],
            isa=1,
            gs=1,
            st_control="0001",
            now=timezone.now(),
        )
    )


def document_write(
    *,
    partner: TradingPartner,
    set_id: str,
    segments: list[Segment],
    order: Order | None = None,
    customer_id: int | None = None,
    purpose: str = "",
    now: dt.datetime | None = None,
) -> Document:
    """One interchange holding one group holding one set; call inside a transaction."""
    now = now or timezone.now()
    vendor_id = partner.vendor_id
    # The control numbers and the outbox cursor in one statement; their locks last to
    # commit, so documents reach the outbox in cursor order.
    numbers = VendorSequence.next_values(
        vendor_id=vendor_id,
        steps={"edi_isa": 1, "edi_gs": 1, "edi_st": 1, "edi_outbox_cursor": 1},
    )
    isa, gs = numbers["edi_isa"], numbers["edi_gs"]
    st_control = f"{numbers['edi_st'] % 1_000_000_000:04d}"
    payload = interchange_serialize(
        interchange_build(
            partner=partner,
            set_id=set_id,
            segments=segments,
            isa=isa,
            gs=gs,
            st_control=st_control,
            now=now,
        )
    )
    return Document.objects.create(
        vendor_id=vendor_id,
        customer_id=customer_id
        if customer_id is not None
        else (order.customer_id if order else None),
        direction=Direction.OUT,
        transaction_set=set_id,
        purpose=purpose,
        order=order,
        cursor=numbers["edi_outbox_cursor"],
        isa_control=isa,
        gs_control=gs,
        st_control=st_control,
        payload=payload,
    )


def _money(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _fit(value: str, minimum: int) -> str:
    return value if len(value) >= minimum else ""


def purchase_order_segments(
    *,
    order: Order,
    lines: list[OrderLine],
    separators: Separators,
    purpose: str,
    part_numbers: Mapping[int, str] | None = None,
    gtins: Mapping[int, str] | None = None,
) -> list[Segment]:
    """The 850's body (between ST and SE): BEG, CUR, REF, PER, DTM, N1 loops, PO1 loops, CTT.

    `part_numbers` (the customer's own, by item id) and `gtins` (by item id) add the
    PO1's buyer part number and GTIN where there is one.
    """
    part_numbers = part_numbers or {}
    gtins = gtins or {}

    def clean(value: str, limit: int) -> str:
        return text_clean(value or "", separators)[:limit]

    customer, site = order.customer, order.site
    # The PO date is the customer's calendar day, like the requested delivery date
    # the release computed: a late-evening release in Chicago is not tomorrow's order.
    released = (
        (order.released_at or timezone.now())
        .astimezone(zoneinfo.ZoneInfo(customer.timezone))
        .strftime("%Y%m%d")
    )
    segments = [
        Segment("BEG", [purpose, "SA", clean(order.po_number or "", 22), "", released]),
        Segment("CUR", ["BY", "USD"]),
    ]
    account = clean(customer.account_number, 30)
    if account:
        segments.append(Segment("REF", ["IA", account]))
    segments.append(Segment("PER", ["BD", clean(customer.name, 60)]))
    if order.requested_delivery_date:
        segments.append(Segment("DTM", ["002", order.requested_delivery_date.strftime("%Y%m%d")]))
    segments.append(Segment("N1", ["BY", clean(customer.name, 60), "91", clean(customer.code, 80)]))
    segments.append(Segment("N1", ["ST", clean(site.name, 60), "92", clean(site.code, 80)]))
    # X12 gives address elements minimum lengths as well as maximums; a value that
    # cleans down to too little is left out rather than sent invalid.
    street = [v for v in (clean(site.address1, 55), clean(site.address2, 55)) if v]
    if street:
        segments.append(Segment("N3", street))
    n4 = [
        _fit(clean(site.city, 30), 2),
        _fit(clean(site.state, 2), 2),
        _fit(clean(site.postal_code, 15), 3),
        _fit(clean(site.country, 3), 2),
    ]
    while n4 and not n4[-1]:
        n4.pop()
    if n4:
        segments.append(Segment("N4", n4))
    total = 0
    for line in lines:
        item = line.item
        element = [
            str(line.line_number),
            str(line.quantity_ordered),
            clean(item.unit_of_measure, 2) or "EA",
            _money(line.unit_price),
            "",
            "VP",
            clean(item.sku, 48),
        ]
        part = part_numbers.get(line.item_id, "")
        if part:
            element += ["BP", clean(part, 48)]
        gtin = gtins.get(line.item_id, "")
        if gtin:
            element += [GTIN_QUALIFIERS[len(gtin)], gtin]
        segments.append(Segment("PO1", element))
        segments.append(Segment("PID", ["F", "", "", "", clean(item.description, 80)]))
        total += line.quantity_ordered
    segments.append(Segment("CTT", [str(len(lines)), str(total)]))
    return segments


def purchase_orders_write(*, vendor_id: int, order_ids: list[int], purpose: str) -> list[Document]:
    """An 850 for each order (00 original at release, 01 cancel, 05 replace)."""
    from catalog.models import CrossReference, CrossReferenceKind, ItemBarcode

    partner = TradingPartner.objects.filter(vendor_id=vendor_id).first()
    if partner is None:
        return []
    orders = list(
        Order.objects.filter(vendor_id=vendor_id, pk__in=order_ids)
        .select_related("customer", "site")
        .order_by("pk")
    )
    lines = list(
        OrderLine.objects.filter(order_id__in=order_ids)
        .select_related("item")
        .order_by("order_id", "line_number")
    )
    item_ids = {line.item_id for line in lines}
    parts = {
        (ref.customer_id, ref.item_id): ref.code
        for ref in CrossReference.objects.filter(
            customer_id__in={order.customer_id for order in orders},
            item_id__in=item_ids,
            kind=CrossReferenceKind.PART_NUMBER,
        ).order_by("-id")
    }
    gtins: dict[int, str] = {}
    for code in ItemBarcode.objects.filter(item_id__in=item_ids).order_by("-id"):
        if code.code.isdigit() and len(code.code) in (12, 13, 14):
            gtins[code.item_id] = code.code
    separators = partner_separators(partner)
    written = []
    for order in orders:
        mine = [line for line in lines if line.order_id == order.pk and line.quantity_ordered > 0]
        segments = purchase_order_segments(
            order=order,
            lines=mine,
            separators=separators,
            purpose=purpose,
            part_numbers={
                line.item_id: parts.get((order.customer_id, line.item_id), "") for line in mine
            },
            gtins=gtins,
        )
        written.append(
            document_write(
                partner=partner, set_id="850", segments=segments, order=order, purpose=purpose
            )
        )
    # One statement for the batch; ignore_conflicts because a cancel's 850 (or a
    # concurrent writer) finds the state row already there.
    OrderEdiState.objects.bulk_create(
        [OrderEdiState(order=order, vendor_id=vendor_id) for order in orders],
        ignore_conflicts=True,
    )
    return written
