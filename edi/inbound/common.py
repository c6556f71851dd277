"""What every inbound set handler shares: its context, how it refuses, and the
order and line lookups the ERP's answers all need. Handlers read here and write
orders only through replenishment's services, which take the locks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from cmi.scoping import Scope
from edi.inbound.spec import (
    EL_INVALID_CODE,
    EL_MISSING,
    SEG_ELEMENT_ERRORS,
    Seg,
    SetError,
    el,
    element,
    is_number,
)
from edi.models import Document, InboundInterchange
from edi.x12 import FunctionalGroup, Interchange, Segment, TransactionSet
from replenishment.models import Order, OrderLine

# Common segments, described once: their elements do not change from set to set.
DTM_ELEMENTS = (
    el("374", "ID", 3, 3, req=True),
    el("373", "DT", 8, 8),
    el("337", "TM", 4, 8),
    el("623", "ID", 2, 2),
    el("1250", "ID", 2, 3),
    el("1251", "AN", 1, 35),
)
REF_ELEMENTS = (
    el("128", "ID", 2, 3, req=True),
    el("127", "AN", 1, 30, max_5010=50),
    el("352", "AN", 1, 80),
    el("C040", "C", 1, 2),
)
PER_ELEMENTS = (
    el("366", "ID", 2, 2, req=True),
    el("93", "AN", 1, 60),
    el("365", "ID", 2, 2),
    el("364", "AN", 1, 80, max_5010=256),
    el("365", "ID", 2, 2),
    el("364", "AN", 1, 80, max_5010=256),
    el("365", "ID", 2, 2),
    el("364", "AN", 1, 80, max_5010=256),
    el("443", "AN", 1, 20),
)
N1_ELEMENTS = (
    el("98", "ID", 2, 3, req=True),
    el("93", "AN", 1, 60),
    el("66", "ID", 1, 2),
    el("67", "AN", 2, 80),
    el("706", "ID", 2, 2),
    el("98", "ID", 2, 3),
)
N2_ELEMENTS = (el("93", "AN", 1, 60, req=True), el("93", "AN", 1, 60))
N3_ELEMENTS = (el("166", "AN", 1, 55, req=True), el("166", "AN", 1, 55))
N4_ELEMENTS = (
    el("19", "AN", 2, 30),
    el("156", "ID", 2, 2),
    el("116", "ID", 3, 15),
    el("26", "ID", 2, 3),
    el("309", "ID", 1, 2),
    el("310", "AN", 1, 30),
    el("1715", "ID", 1, 3),
)
PID_ELEMENTS = (
    el("349", "ID", 1, 1, req=True, codes="F S X"),
    el("750", "ID", 2, 3),
    el("559", "ID", 2, 2),
    el("751", "AN", 1, 12),
    el("352", "AN", 1, 80),
    el("752", "ID", 2, 2),
    el("822", "AN", 1, 15),
    el("819", "ID", 2, 3),
    el("1073", "ID", 1, 1),
)
CUR_ELEMENTS = (el("98", "ID", 2, 3, req=True), el("100", "ID", 3, 3, req=True))
CTT_ELEMENTS = (
    el("354", "N0", 1, 6, req=True),
    el("347", "R", 1, 10),
    el("81", "R", 1, 10),
    el("355", "ID", 2, 2),
    el("183", "R", 1, 8),
    el("355", "ID", 2, 2),
    el("352", "AN", 1, 80),
)
# Product id pairs (qualifier 235, id 234): what PO1, LIN, IT1 carry after their own elements.
PRODUCT_PAIR = (el("235", "ID", 2, 2), el("234", "AN", 1, 48))


def product_pairs(count: int) -> tuple:
    return PRODUCT_PAIR * count


def pair_rules(first: int, count: int) -> tuple[tuple[int, int], ...]:
    return tuple((first + 2 * i, first + 2 * i + 1) for i in range(count))


def n1_loop_children() -> tuple[Seg, ...]:
    return (
        Seg("N1", True, 1, N1_ELEMENTS),
        Seg("N2", False, 2, N2_ELEMENTS),
        Seg("N3", False, 2, N3_ELEMENTS),
        Seg("N4", False, 1, N4_ELEMENTS),
        Seg("REF", False, 12, REF_ELEMENTS),
        Seg("PER", False, 3, PER_ELEMENTS),
    )


class SetRejected(Exception):
    """Raised by a handler: the set applies nothing (its savepoint rolls back)."""

    def __init__(self, *errors: SetError) -> None:
        super().__init__(errors[0].detail if errors else "rejected")
        self.errors = list(errors)


def reject(
    code: str,
    detail: str,
    *,
    position: int | None = None,
    segment: str | None = None,
    element_position: int | None = None,
    element_ref: str = "",
    value: str = "",
    loop_id: str = "",
    missing: bool = False,
) -> SetRejected:
    """A business refusal; when it points at an element, a 997 shows it as that
    element's value not being one we know (AK4 code 7), or missing (code 1)."""
    pointed = element_position is not None
    return SetRejected(
        SetError(
            code=code,
            detail=detail,
            segment_position=position,
            segment=segment,
            element_position=element_position,
            segment_error=SEG_ELEMENT_ERRORS if pointed else None,
            element_error=(EL_MISSING if missing else EL_INVALID_CODE) if pointed else None,
            element_ref=element_ref,
            loop_id=loop_id,
            value=value[:99],
        )
    )


@dataclass
class SetContext:
    """Everything a handler may look at. The scope is the poster's, resolved once."""

    scope: Scope
    record: InboundInterchange
    interchange: Interchange
    group: FunctionalGroup
    tset: TransactionSet
    now: dt.datetime
    raw_set: bytes = b""
    # What the handler reports back: the orders it touched.
    order_ids: list[int] = field(default_factory=list)

    @property
    def vendor_id(self) -> int:
        return self.scope.vendor_id

    def positioned(self) -> list[tuple[int, Segment]]:
        """The body's segments with their positions in the set (ST = 1)."""
        return [(i + 2, s) for i, s in enumerate(self.tset.segments)]

    def first(self, tag: str) -> tuple[int, Segment] | None:
        for position, segment in self.positioned():
            if segment.tag == tag:
                return position, segment
        return None

    def document_record(
        self, *, order: Order | None = None, customer_id: int | None = None
    ) -> Document:
        """The inbound set as a document of its own (shipments and invoices point at it)."""
        return Document.objects.create(
            vendor_id=self.vendor_id,
            customer_id=customer_id
            if customer_id is not None
            else getattr(order, "customer_id", None),
            direction="in",
            transaction_set=self.tset.id,
            order=order,
            interchange=self.record,
            isa_control=self.interchange.control_number,
            gs_control=self.group.control_number,
            st_control=self.tset.control_number[:9],
            payload=self.raw_set,
        )


def quantity_parse(
    value: str, *, position: int, segment: str, element_position: int, ref: str
) -> int:
    """A quantity we apply must be a whole, non-negative number ("12", "12.0")."""
    try:
        number = Decimal(value)
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite() or number < 0 or number != number.to_integral_value():
        raise reject(
            "invalid_quantity",
            f"{segment}{element_position:02d} {value!r} is not a whole quantity",
            position=position,
            segment=segment,
            element_position=element_position,
            element_ref=ref,
            value=value,
        )
    if number > 10_000_000:
        raise reject(
            "invalid_quantity",
            f"{segment}{element_position:02d} {value!r} is beyond any order",
            position=position,
            segment=segment,
            element_position=element_position,
            element_ref=ref,
            value=value,
        )
    return int(number)


def decimal_parse(value: str) -> Decimal | None:
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def product_ids(segment: Segment, first: int) -> dict[str, str]:
    """{qualifier: id} from the pairs starting at element `first` (e.g. PO106/PO107)."""
    out: dict[str, str] = {}
    for index in range(first, len(segment.elements) + 1, 2):
        qualifier, value = element(segment, index), element(segment, index + 1)
        if qualifier and value and qualifier not in out:
            out[qualifier] = value
    return out


def vendor_order(
    ctx: SetContext, po_number: str, *, position: int, segment: str, element_position: int
) -> Order:
    """The poster's vendor's order with this PO number; any other vendor's is unknown."""
    found = Order.objects.for_scope(ctx.scope).filter(po_number=po_number).first()
    if found is None:
        raise reject(
            "unknown_po",
            f"no order with PO number {po_number!r}",
            position=position,
            segment=segment,
            element_position=element_position,
            element_ref="324",
            value=po_number,
        )
    return found


def order_line_find(
    *,
    reference: str,
    sku: str,
    lines: list[OrderLine],
    position: int,
    segment: str,
    loop_id: str,
    mismatch_element: tuple[int, str],
    nomatch_element: tuple[int, str],
    nomatch_missing: bool,
) -> OrderLine:
    """The order line a partner's item names: our line number when sent (checked
    against the vendor SKU when both are), otherwise the one line with that VP SKU.

    `mismatch_element` and `nomatch_element` are the (position, data element
    reference) the 997 points at for each refusal; sets place them differently.
    """
    where = {"position": position, "segment": segment, "loop_id": loop_id}
    if reference:
        line = next(
            (x for x in lines if is_number(reference) and x.line_number == int(reference)), None
        )
        if line is None:
            raise reject(
                "unknown_line",
                f"the order has no line {reference!r}",
                element_position=1,
                element_ref="350",
                value=reference,
                **where,
            )
        if sku and sku != line.item.sku:
            at, ref = mismatch_element
            raise reject(
                "line_mismatch",
                f"line {reference} is {line.item.sku}, not {sku!r}",
                element_position=at,
                element_ref=ref,
                value=sku if ref == "234" else reference,
                **where,
            )
        return line
    matches = [x for x in lines if sku and x.item.sku == sku]
    if len(matches) != 1:
        at, ref = nomatch_element
        raise reject(
            "unknown_line",
            f"no single line of the order for vendor SKU {sku!r}"
            if sku
            else f"{segment} names no line and no VP SKU",
            element_position=at,
            element_ref=ref,
            value=sku,
            missing=nomatch_missing and not sku,
            **where,
        )
    return matches[0]
