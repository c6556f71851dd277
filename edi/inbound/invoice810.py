"""810 Invoice: recorded against its order, with every disagreement flagged.

An invoice is money owed whatever it says, so a line we cannot match or a
quantity that disagrees does not refuse the set: it is kept and flagged in
Invoice.discrepancies for a person to settle. Only what makes the invoice
unusable (no such order, the same number twice, amounts out of range) refuses it.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

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
    pair_rules,
    product_ids,
    product_pairs,
    reject,
    vendor_order,
)
from edi.inbound.spec import Loop, Seg, SetSpec, date_parse, el, element, is_number
from edi.models import Invoice, InvoiceLine
from edi.x12 import Segment
from replenishment.models import COLLECTING, OrderLine, OrderStatus
from replenishment.selectors import order_lines_by_order
from replenishment.services import order_invoice

BIG = Seg(
    "BIG",
    True,
    1,
    (
        el("373", "DT", 8, 8, req=True),
        el("76", "AN", 1, 22, req=True),
        el("373", "DT", 8, 8),
        # Optional in the standard; our guide requires the PO number: it is how we match.
        el("324", "AN", 1, 22, req=True),
        el("328", "AN", 1, 30),
        el("327", "AN", 1, 8),
        el("640", "ID", 2, 2),
        el("353", "ID", 2, 2),
        el("306", "ID", 1, 2),
        el("76", "AN", 1, 22),
    ),
)
IT1 = Seg(
    "IT1",
    True,
    1,
    (
        el("350", "AN", 1, 20),
        el("358", "R", 1, 10, req=True),
        el("355", "ID", 2, 2, req=True),
        el("212", "R", 1, 17, req=True),
        el("639", "ID", 2, 2),
        *product_pairs(10),
    ),
    pairs=pair_rules(6, 10),
)
ITD = Seg(
    "ITD",
    False,
    10,
    (
        el("336", "ID", 2, 2),
        el("333", "ID", 1, 2),
        el("338", "R", 1, 6),
        el("370", "DT", 8, 8),
        el("351", "N0", 1, 3),
        el("446", "DT", 8, 8),
        el("386", "N0", 1, 3),
        el("362", "N2", 1, 10),
        el("388", "N2", 1, 10),
        el("389", "N2", 1, 10),
        el("342", "R", 1, 5),
        el("352", "AN", 1, 80),
        el("765", "N0", 1, 2),
        el("107", "ID", 1, 2),
        el("954", "R", 1, 10),
    ),
)
NTE = Seg("NTE", False, 100, (el("363", "ID", 3, 3), el("352", "AN", 1, 80, req=True)))
TDS = Seg(
    "TDS",
    True,
    1,
    (
        el("610", "N2", 1, 15, req=True),
        el("610", "N2", 1, 15),
        el("610", "N2", 1, 15),
        el("610", "N2", 1, 15),
    ),
)
TXI = Seg(
    "TXI",
    False,
    10,
    (
        el("963", "ID", 2, 2, req=True),
        el("782", "R", 1, 18),
        el("954", "R", 1, 10),
        el("955", "ID", 2, 2),
        el("956", "AN", 1, 30),
        el("441", "ID", 1, 1),
        el("1325", "ID", 1, 1),
        el("350", "AN", 1, 20),
        el("828", "R", 1, 9),
        el("325", "AN", 1, 20),
    ),
)
SAC = Seg(
    "SAC",
    True,
    1,
    (
        el("248", "ID", 1, 1, req=True, codes="A C N"),
        el("1300", "ID", 4, 4),
        el("559", "ID", 2, 2),
        el("1301", "AN", 1, 10),
        el("610", "N2", 1, 15),
        el("378", "ID", 1, 1),
        el("332", "R", 1, 6),
        el("118", "R", 1, 9),
        el("355", "ID", 2, 2),
        el("380", "R", 1, 15),
        el("380", "R", 1, 15),
        el("331", "ID", 2, 2),
        el("127", "AN", 1, 30),
        el("770", "AN", 1, 20),
        el("352", "AN", 1, 80),
        el("819", "ID", 2, 3),
    ),
)

SPEC = SetSpec(
    id="810",
    functional_id="IN",
    body=(
        BIG,
        NTE,
        Seg("CUR", False, 1, CUR_ELEMENTS),
        Seg("REF", False, 12, REF_ELEMENTS),
        Seg("PER", False, 3, PER_ELEMENTS),
        Loop(False, 200, n1_loop_children()),
        ITD,
        Seg("DTM", False, 10, DTM_ELEMENTS),
        Loop(
            False,
            200_000,
            (
                IT1,
                Seg("PID", False, 1000, PID_ELEMENTS),
                Seg("REF", False, 1000, REF_ELEMENTS),
                Seg("DTM", False, 10, DTM_ELEMENTS),
            ),
        ),
        TDS,
        TXI,
        Loop(False, 25, (SAC, TXI)),
        Seg("CTT", False, 1, CTT_ELEMENTS),
    ),
)

CENT = Decimal("0.01")
MAX_MONEY = Decimal("999999999999.99")  # Invoice.total: 14 digits, 2 of them decimals
MAX_PRICE = Decimal("999999999999.9999")  # InvoiceLine.unit_price
MAX_QUANTITY = Decimal("99999999999")  # InvoiceLine.quantity


def _implied(value: str) -> Decimal:
    """N2: digits with two implied decimals, TDS*163560 is 1635.60."""
    return (Decimal(value) / 100).quantize(CENT)


def _amount_check(
    value: Decimal, limit: Decimal, position: int, tag: str, index: int, ref: str
) -> None:
    if abs(value) > limit:
        raise reject(
            "invalid_amount",
            f"{tag}{index:02d} is beyond what an invoice can hold",
            position=position,
            segment=tag,
            element_position=index,
            element_ref=ref,
            value=str(value),
        )


def _line_for(it1: Segment, lines: list[OrderLine]) -> OrderLine | None:
    reference = element(it1, 1)
    sku = product_ids(it1, 6).get("VP", "")
    if is_number(reference):
        line = next((x for x in lines if x.line_number == int(reference)), None)
        if line is not None and (not sku or sku == line.item.sku):
            return line
    if sku:
        matches = [x for x in lines if x.item.sku == sku]
        if len(matches) == 1:
            return matches[0]
    return None


def apply(ctx: SetContext) -> None:
    big_position, big = ctx.first("BIG")  # type: ignore[misc]  (the table requires it)
    number = element(big, 2)
    order = vendor_order(
        ctx, element(big, 4), position=big_position, segment="BIG", element_position=4
    )
    ctx.order_ids.append(order.pk)
    if order.status in COLLECTING:  # cannot happen with a PO number; a guard, not a rule
        raise reject(
            "invalid_state", f"order is {order.status}", position=big_position, segment="BIG"
        )
    if Invoice.objects.filter(vendor_id=ctx.vendor_id, number=number).exists():
        raise reject(
            "duplicate_invoice",
            f"invoice {number!r} was already received",
            position=big_position,
            segment="BIG",
            element_position=2,
            element_ref="76",
            value=number,
        )
    lines = order_lines_by_order(scope=ctx.scope, order_ids=[order.pk])[order.pk]
    discrepancies: list[dict] = []
    if order.status == OrderStatus.CANCELLED:
        discrepancies.append({"code": "order_cancelled", "detail": "the order was cancelled"})

    invoiced: list[InvoiceLine] = []
    computed = Decimal(0)
    quantities: dict[int, Decimal] = defaultdict(Decimal)
    tds: Decimal | None = None
    for position, segment in ctx.positioned():
        if segment.tag == "IT1":
            quantity = decimal_parse(element(segment, 2)) or Decimal(0)
            price = decimal_parse(element(segment, 4)) or Decimal(0)
            _amount_check(quantity, MAX_QUANTITY, position, "IT1", 2, "358")
            _amount_check(price, MAX_PRICE, position, "IT1", 4, "212")
            line = _line_for(segment, lines)
            uom = element(segment, 3)
            sku = product_ids(segment, 6).get("VP", "")
            invoiced.append(
                InvoiceLine(
                    vendor_id=order.vendor_id,
                    line=line,
                    reference=element(segment, 1)[:20],
                    sku=sku[:48],
                    quantity=quantity,
                    unit_of_measure=uom[:2],
                    unit_price=price,
                )
            )
            computed += (quantity * price).quantize(CENT, rounding=ROUND_HALF_UP)
            if line is None:
                discrepancies.append(
                    {
                        "code": "line_not_on_order",
                        "segment_position": position,
                        "reference": element(segment, 1),
                        "sku": sku,
                        "detail": "no line of the order matches this IT1",
                    }
                )
                continue
            quantities[line.pk] += quantity
            if price != line.unit_price:
                discrepancies.append(
                    {
                        "code": "price",
                        "line": line.line_number,
                        "invoiced": f"{price:f}",
                        "expected": f"{line.unit_price:f}",
                        "detail": f"line {line.line_number} invoiced at {price}, ordered at {line.unit_price}",
                    }
                )
            if uom and uom != line.item.unit_of_measure:
                discrepancies.append(
                    {
                        "code": "unit_of_measure",
                        "line": line.line_number,
                        "invoiced": uom,
                        "expected": line.item.unit_of_measure,
                        "detail": f"line {line.line_number} invoiced in {uom}",
                    }
                )
        elif segment.tag == "TDS":
            tds = _implied(element(segment, 1))
            _amount_check(tds, MAX_MONEY, position, "TDS", 1, "610")
        elif segment.tag == "SAC" and element(segment, 5):
            amount = _implied(element(segment, 5))
            computed += (
                amount
                if element(segment, 1) == "C"
                else -amount
                if element(segment, 1) == "A"
                else 0
            )
        elif segment.tag == "TXI" and element(segment, 2):
            computed += decimal_parse(element(segment, 2)) or Decimal(0)

    for line in lines:
        if line.pk not in quantities:
            continue
        billed = quantities[line.pk]
        if billed != line.quantity_ordered:
            discrepancies.append(
                {
                    "code": "quantity_vs_ordered",
                    "line": line.line_number,
                    "invoiced": f"{billed.normalize():f}",
                    "expected": str(line.quantity_ordered),
                    "detail": f"line {line.line_number}: {billed.normalize():f} invoiced, {line.quantity_ordered} ordered",
                }
            )
        if billed != line.quantity_received:
            discrepancies.append(
                {
                    "code": "quantity_vs_received",
                    "line": line.line_number,
                    "invoiced": f"{billed.normalize():f}",
                    "expected": str(line.quantity_received),
                    "detail": f"line {line.line_number}: {billed.normalize():f} invoiced, {line.quantity_received} received",
                }
            )
    assert tds is not None  # the table requires TDS
    if computed.quantize(CENT) != tds:
        discrepancies.append(
            {
                "code": "total",
                "invoiced": f"{tds:f}",
                "expected": f"{computed.quantize(CENT):f}",
                "detail": f"TDS says {tds}, the lines (with charges and taxes) add up to {computed.quantize(CENT)}",
            }
        )

    document = ctx.document_record(order=order)
    invoice = Invoice.objects.create(
        vendor_id=ctx.vendor_id,
        order=order,
        document=document,
        number=number,
        invoice_date=date_parse(element(big, 1)),
        po_date=date_parse(element(big, 3)),
        total=tds,
        discrepancies=discrepancies,
    )
    for row in invoiced:
        row.invoice = invoice
    InvoiceLine.objects.bulk_create(invoiced)
    # The order's history shows the invoice; the invoice's rows are EDI's own.
    order_invoice(scope=ctx.scope, order_id=order.pk, number=number, note="810")
