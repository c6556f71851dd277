"""855 Purchase Order Acknowledgment: the vendor's answer to our 850, line by line.

Parse -> match -> apply: the set is read into line answers matched to the order's
lines, then replenishment's `order_acknowledge` applies them under the house locks.
Quantities the vendor changes or cuts change the order line and the bin's on-order
by the same difference, and each change is an order event the customer sees with
the code that caused it ("855 IQ"). An 855 that refuses the whole order (BAK02 RJ,
or every line cut) cancels it, and a cancel 850 goes back to the ERP.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from edi.inbound.common import (
    CTT_ELEMENTS,
    CUR_ELEMENTS,
    DTM_ELEMENTS,
    PER_ELEMENTS,
    PID_ELEMENTS,
    REF_ELEMENTS,
    SetContext,
    decimal_parse,
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
from edi.models import OrderEdiState
from edi.x12 import Segment
from replenishment.models import OrderLine
from replenishment.selectors import order_lines_by_order
from replenishment.services import AnswerKind, LineAnswer, Refused, order_acknowledge

ACK_CODES = "IA IB IC ID IP IQ IR IS"

BAK = Seg(
    "BAK",
    True,
    1,
    (
        el("353", "ID", 2, 2, req=True, codes="00 01 04 05 06 07"),
        el("587", "ID", 2, 2, req=True, codes="AC AD AE AK RD RJ"),
        el("324", "AN", 1, 22, req=True),
        el("373", "DT", 8, 8, req=True),
        el("328", "AN", 1, 30),
        el("326", "AN", 1, 45),
        el("367", "AN", 1, 30),
        el("127", "AN", 1, 30, max_5010=50),
        el("373", "DT", 8, 8),
        el("640", "ID", 2, 2),
        el("1019", "ID", 1, 2),
    ),
)
PO1 = Seg(
    "PO1",
    True,
    1,
    (
        el("350", "AN", 1, 20),
        el("330", "R", 1, 15),
        el("355", "ID", 2, 2),
        el("212", "R", 1, 17),
        el("639", "ID", 2, 2),
        *product_pairs(10),
    ),
    pairs=pair_rules(6, 10),
)
ACK = Seg(
    "ACK",
    True,
    1,
    (
        el("668", "ID", 2, 2, req=True, codes=ACK_CODES),
        el("380", "R", 1, 15),
        el("355", "ID", 2, 2),
        el("374", "ID", 3, 3),
        el("373", "DT", 8, 8),
        el("326", "AN", 1, 45),
        *product_pairs(10),
        el("559", "ID", 2, 2),
        el("822", "AN", 1, 15),
        el("1271", "AN", 1, 30),
    ),
    pairs=((2, 3), (4, 5), *pair_rules(7, 10)),
)
AMT = Seg(
    "AMT",
    False,
    1,
    (el("522", "ID", 1, 3, req=True), el("782", "R", 1, 15, req=True), el("478", "ID", 1, 1)),
)

SPEC = SetSpec(
    id="855",
    functional_id="PR",
    body=(
        BAK,
        Seg("CUR", False, 1, CUR_ELEMENTS),
        Seg("REF", False, 12, REF_ELEMENTS),
        Seg("PER", False, 3, PER_ELEMENTS),
        Seg("DTM", False, 10, DTM_ELEMENTS),
        Loop(False, 200, n1_loop_children()),
        Loop(
            False,
            100_000,
            (
                PO1,
                Seg("CUR", False, 1, CUR_ELEMENTS),
                Seg("PID", False, 1000, PID_ELEMENTS),
                Seg("REF", False, 12, REF_ELEMENTS),
                Seg("DTM", False, 10, DTM_ELEMENTS),
                Loop(False, 104, (ACK, Seg("DTM", False, 10, DTM_ELEMENTS))),
            ),
        ),
        Loop(False, 1, (Seg("CTT", True, 1, CTT_ELEMENTS), AMT)),
    ),
)

# Dates that move the requested delivery: 017 estimated delivery, 068 current ship date.
DELIVERY_QUALIFIERS = ("017", "068")
MAX_PRICE = Decimal("99999999.9999")


@dataclass
class _Item:
    position: int
    po1: Segment
    acks: list[tuple[int, Segment]] = field(default_factory=list)
    dates: list[tuple[int, Segment]] = field(default_factory=list)


def _items(ctx: SetContext) -> tuple[list[tuple[int, Segment]], list[_Item]]:
    """Header DTMs, and each PO1 with the ACKs and DTMs of its loop."""
    header_dates: list[tuple[int, Segment]] = []
    items: list[_Item] = []
    for position, segment in ctx.positioned():
        if segment.tag == "PO1":
            items.append(_Item(position, segment))
        elif segment.tag == "ACK" and items:
            items[-1].acks.append((position, segment))
        elif segment.tag == "DTM":
            (items[-1].dates if items else header_dates).append((position, segment))
        elif segment.tag == "CTT":
            break
    return header_dates, items


def _line_match(item: _Item, lines: list[OrderLine]) -> OrderLine:
    """PO101 is our line number; without it, the vendor SKU (VP) names the line."""
    return order_line_find(
        reference=element(item.po1, 1),
        sku=product_ids(item.po1, 6).get("VP", ""),
        lines=lines,
        position=item.position,
        segment="PO1",
        loop_id="PO1",
        mismatch_element=(_pair_position(item.po1, 6, "VP"), "234"),
        nomatch_element=(1, "350"),
        nomatch_missing=True,
    )


def _pair_position(segment: Segment, first: int, qualifier: str) -> int:
    for index in range(first, len(segment.elements) + 1, 2):
        if element(segment, index) == qualifier:
            return index + 1
    return first + 1


def _answers(item: _Item, line: OrderLine) -> list[LineAnswer]:
    """The ACKs of one PO1 loop as answers for its line; malformed ones refuse the set."""
    po102 = element(item.po1, 2)
    po104 = element(item.po1, 4)
    out: list[LineAnswer] = []
    for position, ack in item.acks:
        code = element(ack, 1)
        qty_text = element(ack, 2)
        note = f"855 {code}"
        if code in ("IQ", "IC") and (qty_text or po102):
            # ACK02 carries the new quantity; a partner that only repeats PO102 means that.
            segment_tag = "ACK" if qty_text else "PO1"
            where = (position if qty_text else item.position, segment_tag, 2)
            new = quantity_parse(
                qty_text or po102,
                position=where[0],
                segment=segment_tag,
                element_position=2,
                ref="380" if qty_text else "330",
            )
            out.append(
                LineAnswer(line.pk, AnswerKind.QUANTITY, note, quantity=new, ref=(*where, str(new)))
            )
        elif code == "IQ":
            raise reject(
                "missing_quantity",
                "ACK*IQ needs the new quantity in ACK02",
                position=position,
                segment="ACK",
                element_position=2,
                element_ref="380",
                missing=True,
                loop_id="ACK",
            )
        if code in ("IP", "IC") and po104:
            price = decimal_parse(po104)
            if price is None or price < 0 or price > MAX_PRICE:
                raise reject(
                    "invalid_price",
                    f"PO104 {po104!r} is not a unit price",
                    position=item.position,
                    segment="PO1",
                    element_position=4,
                    element_ref="212",
                    value=po104,
                )
            out.append(LineAnswer(line.pk, AnswerKind.PRICE, note, unit_price=price))
        elif code == "IP":
            raise reject(
                "missing_price",
                "ACK*IP needs the new unit price in PO104",
                position=item.position,
                segment="PO1",
                element_position=4,
                element_ref="212",
                missing=True,
                loop_id="PO1",
            )
        if code in ("ID", "IR"):
            cut = f"{note} {'deleted' if code == 'ID' else 'rejected'}"
            out.append(
                LineAnswer(
                    line.pk, AnswerKind.QUANTITY, cut, quantity=0, ref=(position, "ACK", 1, "0")
                )
            )
        elif code == "IB":
            when = element(ack, 5)
            out.append(
                LineAnswer(
                    line.pk,
                    AnswerKind.BACKORDER,
                    f"{note} backordered" + (f", expected {when}" if when else ""),
                    text=qty_text,
                )
            )
        elif code == "IS":
            substitute = product_ids(ack, 7)
            named = substitute.get("VP") or next(iter(substitute.values()), "")
            out.append(
                LineAnswer(
                    line.pk,
                    AnswerKind.SUBSTITUTE,
                    f"{note} substitution" + (f": {named}" if named else ""),
                    text=named,
                )
            )
    return out


def _delivery_date(header: list[tuple[int, Segment]], items: list[_Item]) -> dt.date | None:
    """The header's 017 (else 068) date; failing those, the latest line-level one."""
    ranked: list[tuple[int, dt.date]] = []
    for rank_base, dates in ((0, header), (2, [d for item in items for d in item.dates])):
        for _, dtm in dates:
            qualifier = element(dtm, 1)
            if qualifier in DELIVERY_QUALIFIERS:
                parsed = date_parse(element(dtm, 2))
                if parsed:
                    ranked.append((rank_base + DELIVERY_QUALIFIERS.index(qualifier), parsed))
    for item in items:
        for _, ack in item.acks:
            if element(ack, 4) in DELIVERY_QUALIFIERS:
                parsed = date_parse(element(ack, 5))
                if parsed:
                    ranked.append((2 + DELIVERY_QUALIFIERS.index(element(ack, 4)), parsed))
    if not ranked:
        return None
    best = min(rank for rank, _ in ranked)
    return max(day for rank, day in ranked if rank == best)


def apply(ctx: SetContext) -> None:
    position, bak = ctx.first("BAK")  # type: ignore[misc]  (the table requires it)
    ack_type = element(bak, 2)
    order = vendor_order(ctx, element(bak, 3), position=position, segment="BAK", element_position=3)
    ctx.order_ids.append(order.pk)
    lines = order_lines_by_order(scope=ctx.scope, order_ids=[order.pk])[order.pk]
    header_dates, items = _items(ctx)
    answers: list[LineAnswer] = []
    seen: set[int] = set()
    for item in items:
        line = _line_match(item, lines)
        if line.pk in seen:
            raise reject(
                "duplicate_line",
                f"line {line.line_number} is acknowledged twice",
                position=item.position,
                segment="PO1",
                element_position=1,
                element_ref="350",
                value=element(item.po1, 1),
            )
        seen.add(line.pk)
        answers += _answers(item, line)
    try:
        order = order_acknowledge(
            scope=ctx.scope,
            order_id=order.pk,
            answers=answers,
            delivery_date=_delivery_date(header_dates, items),
            source="855",
            code=ack_type,
            refused=ack_type == "RJ",
        )
    except Refused as exc:
        raise _refusal(exc, bak_position=position, po_number=order.po_number or "") from exc
    state, _ = OrderEdiState.objects.get_or_create(
        order_id=order.pk, defaults={"vendor_id": order.vendor_id}
    )
    OrderEdiState.objects.filter(pk=state.pk).update(acknowledged_855_at=ctx.now)
    ctx.document_record(order=order)


def _refusal(exc: Refused, *, bak_position: int, po_number: str):
    """The service's refusal as the set's: pointed at the ACK (or PO1) quantity that
    caused it, else at the PO number in BAK03."""
    if isinstance(exc.ref, tuple):
        position, segment, index, value = exc.ref
        return reject(
            exc.error_code,
            str(exc.detail),
            position=position,
            segment=segment,
            element_position=index,
            element_ref="380",
            value=value,
        )
    return reject(
        exc.error_code,
        str(exc.detail),
        position=bak_position,
        segment="BAK",
        element_position=3,
        element_ref="324",
        value=po_number,
    )
