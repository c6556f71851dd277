"""856 Ship Notice: what left the vendor's dock, as an HL tree.

S (shipment: carrier, bill of lading, tracking, ship date) -> O (order: PRF PO
number) -> P (pack: MAN*GM SSCC, optional) -> I (item: LIN, SN1 quantity). Each
order in the notice gets a Shipment with one ShipmentLine per item; replenishment's
`orders_ship` grows its lines' shipped quantities and makes it shipped, or partially
shipped while something is still to come. Receipt scans close it later.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from edi.inbound.common import (
    CTT_ELEMENTS,
    DTM_ELEMENTS,
    PER_ELEMENTS,
    PID_ELEMENTS,
    REF_ELEMENTS,
    SetContext,
    n1_loop_children,
    order_line_find,
    pair_rules,
    product_ids,
    product_pairs,
    quantity_parse,
    reject,
    vendor_order,
)
from edi.inbound.spec import Loop, Seg, SetSpec, date_parse, el, element
from edi.models import Shipment, ShipmentLine
from edi.x12 import Segment
from replenishment.models import Order, OrderLine
from replenishment.selectors import order_lines_by_order
from replenishment.services import Refused, orders_ship

BSN = Seg(
    "BSN",
    True,
    1,
    (
        el("353", "ID", 2, 2, req=True, codes="00 05 06 07"),
        el("396", "AN", 2, 30, req=True),
        el("373", "DT", 8, 8, req=True),
        el("337", "TM", 4, 8, req=True),
        el("1005", "ID", 4, 4),
        el("640", "ID", 2, 2),
        el("641", "ID", 3, 3),
    ),
)
HL = Seg(
    "HL",
    True,
    1,
    (
        el("628", "AN", 1, 12, req=True),
        el("734", "AN", 1, 12),
        el("735", "ID", 1, 2, req=True, codes="S O P I"),
        el("736", "ID", 1, 1, codes="0 1"),
    ),
)
LIN = Seg(
    "LIN",
    False,
    1,
    (
        el("350", "AN", 1, 20),
        el("235", "ID", 2, 2, req=True),
        el("234", "AN", 1, 48, req=True),
        *product_pairs(14),
    ),
    pairs=pair_rules(4, 14),
)
SN1 = Seg(
    "SN1",
    False,
    1,
    (
        el("350", "AN", 1, 20),
        el("382", "R", 1, 10, req=True),
        el("355", "ID", 2, 2, req=True),
        el("646", "R", 1, 15),
        el("330", "R", 1, 15),
        el("355", "ID", 2, 2),
        el("728", "R", 1, 10),
        el("668", "ID", 2, 2),
    ),
)
PRF = Seg(
    "PRF",
    False,
    1,
    (
        el("324", "AN", 1, 22, req=True),
        el("328", "AN", 1, 30),
        el("327", "AN", 1, 8),
        el("373", "DT", 8, 8),
        el("350", "AN", 1, 20),
        el("367", "AN", 1, 30),
        el("92", "ID", 2, 2),
    ),
)
TD1 = Seg(
    "TD1",
    False,
    20,
    (
        el("103", "AN", 3, 5),
        el("80", "N0", 1, 7),
        el("23", "ID", 1, 1),
        el("22", "AN", 1, 30),
        el("79", "AN", 1, 50),
        el("187", "ID", 1, 2),
        el("81", "R", 1, 10),
        el("355", "ID", 2, 2),
        el("183", "R", 1, 8),
        el("355", "ID", 2, 2),
    ),
)
TD5 = Seg(
    "TD5",
    False,
    12,
    (
        el("133", "ID", 1, 2),
        el("66", "ID", 1, 2),
        el("67", "AN", 2, 80),
        el("91", "ID", 1, 2),
        el("387", "AN", 1, 35),
        el("368", "ID", 2, 2),
        el("309", "ID", 1, 2),
        el("310", "AN", 1, 30),
        el("731", "ID", 1, 2),
        el("732", "ID", 2, 2),
        el("733", "ID", 1, 3),
        el("284", "ID", 1, 2),
        el("284", "ID", 1, 2),
        el("26", "ID", 2, 3),
        el("156", "ID", 2, 2),
    ),
    pairs=((2, 3),),
)
MAN = Seg(
    "MAN",
    False,
    10,
    (
        el("88", "ID", 1, 2, req=True),
        el("87", "AN", 1, 48, req=True),
        el("87", "AN", 1, 48),
        el("88", "ID", 1, 2),
        el("87", "AN", 1, 48),
        el("87", "AN", 1, 48),
    ),
)

SPEC = SetSpec(
    id="856",
    functional_id="SH",
    body=(
        BSN,
        Seg("DTM", False, 10, DTM_ELEMENTS),
        Loop(
            True,
            200_000,
            (
                HL,
                LIN,
                SN1,
                PRF,
                Seg("PID", False, 200, PID_ELEMENTS),
                TD1,
                TD5,
                Seg("REF", False, 1000, REF_ELEMENTS),
                Seg("PER", False, 3, PER_ELEMENTS),
                MAN,
                Seg("DTM", False, 10, DTM_ELEMENTS),
                Loop(False, 200, n1_loop_children()),
            ),
        ),
        Seg("CTT", False, 1, CTT_ELEMENTS),
    ),
)

# Which level each level may hang under. An item may sit directly under its order
# when the vendor does not report packs.
PARENTS = {"S": (None,), "O": ("S",), "P": ("O",), "I": ("P", "O")}


@dataclass
class _Level:
    id: str
    parent: str
    code: str
    position: int
    segments: list[tuple[int, Segment]] = field(default_factory=list)

    def first(self, tag: str, qualifier: str | None = None) -> tuple[int, Segment] | None:
        for position, segment in self.segments:
            if segment.tag == tag and (qualifier is None or element(segment, 1) == qualifier):
                return position, segment
        return None

    def value(self, tag: str, qualifier: str | None, index: int) -> str:
        found = self.first(tag, qualifier)
        return element(found[1], index) if found else ""


def _tree(ctx: SetContext) -> tuple[list[tuple[int, Segment]], list[_Level]]:
    """The header segments and the HL levels, the tree's shape checked."""
    header: list[tuple[int, Segment]] = []
    levels: list[_Level] = []
    by_id: dict[str, _Level] = {}
    for position, segment in ctx.positioned():
        if segment.tag == "HL":
            level = _Level(element(segment, 1), element(segment, 2), element(segment, 3), position)
            if level.id in by_id:
                raise _bad_tree(level, 1, f"HL01 {level.id!r} is used twice", level.id)
            parent = by_id.get(level.parent) if level.parent else None
            if level.parent and parent is None:
                raise _bad_tree(
                    level, 2, f"HL02 {level.parent!r} names no earlier HL", level.parent
                )
            if (parent.code if parent else None) not in PARENTS[level.code]:
                under = f"under {parent.code}" if parent else "at the top"
                raise _bad_tree(level, 3, f"an {level.code} level cannot stand {under}", level.code)
            if level.code == "S" and levels:
                raise _bad_tree(level, 3, "one shipment (S) per notice, and it comes first", "S")
            by_id[level.id] = level
            levels.append(level)
        elif levels:
            levels[-1].segments.append((position, segment))
        elif segment.tag != "CTT":
            header.append((position, segment))
    if not levels or levels[0].code != "S":
        position = levels[0].position if levels else 2
        raise reject(
            "invalid_hierarchy",
            "the notice must start with a shipment (S) level",
            position=position,
            segment="HL",
            element_position=3,
            element_ref="735",
            loop_id="HL",
        )
    return header, levels


def _bad_tree(level: _Level, index: int, detail: str, value: str):
    ref = {1: "628", 2: "734", 3: "735"}[index]
    return reject(
        "invalid_hierarchy",
        detail,
        position=level.position,
        segment="HL",
        element_position=index,
        element_ref=ref,
        value=value,
        loop_id="HL",
    )


def _ship_date(header: list[tuple[int, Segment]], shipment: _Level, bsn: Segment) -> dt.date | None:
    text = shipment.value("DTM", "011", 2)
    if not text:
        text = next(
            (element(s, 2) for _, s in header if s.tag == "DTM" and element(s, 1) == "011"), ""
        )
    return date_parse(text or element(bsn, 3))


def apply(ctx: SetContext) -> None:
    bsn_position, bsn = ctx.first("BSN")  # type: ignore[misc]  (the table requires it)
    shipment_id = element(bsn, 2)
    header, levels = _tree(ctx)
    top = levels[0]
    by_id = {level.id: level for level in levels}

    # Orders first, all of them, so they are locked together in the house order.
    order_of_level: dict[str, Order] = {}
    for level in levels:
        if level.code != "O":
            continue
        prf = level.first("PRF")
        if prf is None:
            raise reject(
                "missing_po",
                f"order level {level.id} has no PRF with the PO number",
                position=level.position,
                segment="HL",
                loop_id="HL",
            )
        order_of_level[level.id] = vendor_order(
            ctx, element(prf[1], 1), position=prf[0], segment="PRF", element_position=1
        )
    if not order_of_level:
        raise reject(
            "missing_po",
            "the notice names no order (no O level)",
            position=top.position,
            segment="HL",
            loop_id="HL",
        )
    orders = {o.pk: o for o in order_of_level.values()}
    lines_of = order_lines_by_order(scope=ctx.scope, order_ids=sorted(orders))

    shipped: list[tuple[OrderLine, int, str]] = []
    for level in levels:
        if level.code != "I":
            continue
        pack = by_id[level.parent] if by_id[level.parent].code == "P" else None
        order_level = by_id[pack.parent] if pack else by_id[level.parent]
        order = orders[order_of_level[order_level.id].pk]
        line = _item_line(level, lines_of[order.pk])
        sn1 = level.first("SN1")
        if sn1 is None:
            raise reject(
                "missing_quantity",
                f"item level {level.id} has no SN1 with the shipped quantity",
                position=level.position,
                segment="HL",
                loop_id="HL",
            )
        quantity = quantity_parse(
            element(sn1[1], 2), position=sn1[0], segment="SN1", element_position=2, ref="382"
        )
        sscc = pack.value("MAN", "GM", 2) if pack else ""
        if len(sscc) > 20:
            found = pack.first("MAN", "GM")  # type: ignore[union-attr]
            raise reject(
                "invalid_sscc",
                f"SSCC {sscc[:30]!r} is longer than 20 characters",
                position=found[0] if found else level.position,
                segment="MAN",
                element_position=2,
                element_ref="87",
                value=sscc,
            )
        if quantity:
            shipped.append((line, quantity, sscc))

    quantities: dict[int, dict[int, int]] = {pk: defaultdict(int) for pk in orders}
    for line, qty, _ in shipped:
        quantities[line.order_id][line.pk] += qty
    try:
        orders = orders_ship(
            scope=ctx.scope,
            shipped=quantities,
            note=f"856 {shipment_id}",
            tracking=[top.value("REF", "CN", 2)[:50]],
        )
    except Refused as exc:
        level_id = next(k for k, o in order_of_level.items() if o.pk == exc.ref)
        prf_position = by_id[level_id].first("PRF")[0]  # type: ignore[index]
        raise reject(
            exc.error_code,
            str(exc.detail),
            position=prf_position,
            segment="PRF",
            element_position=1,
            element_ref="324",
            value=orders[exc.ref].po_number or "",  # type: ignore[index]
        ) from exc
    # The orders are locked now, so a concurrent resend of this notice waits here.
    existing = set(
        Shipment.objects.filter(
            vendor_id=ctx.vendor_id, order_id__in=list(orders), shipment_id=shipment_id
        ).values_list("order_id", flat=True)
    )
    if existing:
        raise reject(
            "duplicate_shipment",
            f"shipment {shipment_id!r} was already reported for this order",
            position=bsn_position,
            segment="BSN",
            element_position=2,
            element_ref="396",
            value=shipment_id,
        )

    document = ctx.document_record(order=orders[next(iter(orders))] if len(orders) == 1 else None)
    carrier = top.value("TD5", None, 5) or top.value("TD5", None, 3)
    shipments = {
        order.pk: Shipment.objects.create(
            vendor_id=ctx.vendor_id,
            order=order,
            document=document,
            shipment_id=shipment_id,
            carrier=carrier[:80],
            bill_of_lading=top.value("REF", "BM", 2)[:50],
            tracking_number=top.value("REF", "CN", 2)[:50],
            shipped_at=_ship_date(header, top, bsn),
        )
        for order in orders.values()
    }
    ShipmentLine.objects.bulk_create(
        [
            ShipmentLine(
                vendor_id=line.vendor_id,
                shipment=shipments[line.order_id],
                line=line,
                quantity=qty,
                sscc=sscc,
            )
            for line, qty, sscc in shipped
        ]
    )
    ctx.order_ids += list(orders)


def _item_line(level: _Level, lines: list[OrderLine]) -> OrderLine:
    """LIN01 is our PO line number when the vendor sends it; otherwise the VP SKU."""
    found = level.first("LIN")
    if found is None:
        raise reject(
            "missing_item",
            f"item level {level.id} has no LIN",
            position=level.position,
            segment="HL",
            loop_id="HL",
        )
    position, lin = found
    return order_line_find(
        reference=element(lin, 1),
        sku=product_ids(lin, 2).get("VP", ""),
        lines=lines,
        position=position,
        segment="LIN",
        loop_id="HL",
        mismatch_element=(1, "350"),
        nomatch_element=(3, "234"),
        nomatch_missing=False,
    )
