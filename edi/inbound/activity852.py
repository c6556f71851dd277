"""852 Product Activity Data from a customer's own system, applied as scans.

Each ZA becomes one scan event through the same service scanners use (so the
ledger, receipts against open orders and reorder evaluation all happen as for a
handheld): QA on hand -> count, QS sold and QW withdrawn -> issue, QR received ->
receive. Event ids are derived from the interchange, group, set and ZA position,
so the same activity can never be counted twice, even past the interchange check.

Only a customer's scanner token may post one: the ERP key has no customer to
put the activity on.
"""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo

from catalog.models import CrossReference, Item, ItemBarcode
from cmi.models import Customer
from edi.inbound.common import (
    CTT_ELEMENTS,
    CUR_ELEMENTS,
    DTM_ELEMENTS,
    PID_ELEMENTS,
    SetContext,
    n1_loop_children,
    pair_rules,
    product_ids,
    product_pairs,
    quantity_parse,
    reject,
)
from edi.inbound.spec import Loop, Seg, SetSpec, date_parse, el, element
from edi.x12 import Segment
from stocking.models import Bin, MovementKind
from stocking.services import REJECTED, scan_batch_ingest

XQ = Seg(
    "XQ",
    True,
    1,
    (
        el("305", "ID", 1, 1, req=True),
        el("373", "DT", 8, 8, req=True),
        el("373", "DT", 8, 8),
        el("127", "AN", 1, 30),
        el("127", "AN", 1, 30),
        el("1004", "ID", 2, 2),
    ),
)
LIN = Seg(
    "LIN",
    True,
    1,
    (
        el("350", "AN", 1, 20),
        el("235", "ID", 2, 2, req=True),
        el("234", "AN", 1, 48, req=True),
        *product_pairs(14),
    ),
    pairs=pair_rules(4, 14),
)
UIT = Seg(
    "UIT", False, 1, (el("C001", "C", 1, 2, req=True), el("212", "R", 1, 17), el("639", "ID", 2, 2))
)
ZA = Seg(
    "ZA",
    True,
    1,
    (
        el("859", "ID", 2, 2, req=True, codes="QA QS QW QR"),
        el("380", "R", 1, 15, req=True),
        el("355", "ID", 2, 2),
        el("374", "ID", 3, 3),
        el("373", "DT", 8, 8),
        el("326", "AN", 1, 45),
        el("235", "ID", 2, 2),
        el("234", "AN", 1, 48),
    ),
    pairs=((4, 5), (7, 8)),
)

SPEC = SetSpec(
    id="852",
    functional_id="PD",
    body=(
        XQ,
        Seg("DTM", False, 10, DTM_ELEMENTS),
        Seg("CUR", False, 1, CUR_ELEMENTS),
        Loop(False, 200, n1_loop_children()),
        Loop(
            True,
            999_999,
            (LIN, UIT, Seg("PID", False, 200, PID_ELEMENTS), Loop(False, 10_000, (ZA,))),
        ),
        Seg("CTT", False, 1, CTT_ELEMENTS),
    ),
)

KINDS = {
    "QA": MovementKind.COUNT,
    "QS": MovementKind.ISSUE,
    "QW": MovementKind.ISSUE,
    "QR": MovementKind.RECEIVE,
}
# Which product id qualifiers name an item, tried in this order.
QUALIFIERS = ("VP", "BP", "UP", "EN", "UK", "UA")
_NAMESPACE = uuid.UUID("9d3c3b4e-5a57-4a8e-9a53-852852852852")


def event_id(ctx: SetContext, index: int) -> uuid.UUID:
    """The same ZA of the same interchange is always the same scan event."""
    key = ":".join(
        [
            str(ctx.vendor_id),
            ctx.record.sender_id,
            str(ctx.interchange.control_number),
            str(ctx.group.control_number),
            ctx.tset.control_number,
            str(index),
        ]
    )
    return uuid.uuid5(_NAMESPACE, key)


def _occurred_at(day: dt.date, kind: str, tz: zoneinfo.ZoneInfo, now: dt.datetime) -> dt.datetime:
    """An on-hand figure is as of the end of its day, movements as of midday, so a
    day's count lands after that day's movements; never later than now."""
    if kind == MovementKind.COUNT:
        moment = dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=tz)
        return min(moment, now)
    moment = dt.datetime.combine(day, dt.time(12, 0), tzinfo=tz)
    return min(moment, now - dt.timedelta(seconds=1))


def _items(ctx: SetContext, codes: dict[str, set[str]]) -> dict[tuple[str, str], set[int]]:
    """{(qualifier, code): item ids}, a few queries for the whole set."""
    scope = ctx.scope
    out: dict[tuple[str, str], set[int]] = {}
    if codes.get("VP"):
        for sku, pk in (
            Item.objects.for_scope(scope).filter(sku__in=codes["VP"]).values_list("sku", "pk")
        ):
            out.setdefault(("VP", sku), set()).add(pk)
    if codes.get("BP"):
        for code, pk in (
            CrossReference.objects.for_scope(scope)
            .filter(code__in=codes["BP"])
            .values_list("code", "item_id")
        ):
            out.setdefault(("BP", code), set()).add(pk)
    barcodes = set().union(*(codes.get(q, set()) for q in ("UP", "EN", "UK", "UA")))
    if barcodes:
        found: dict[str, set[int]] = {}
        for code, pk in (
            ItemBarcode.objects.for_scope(scope)
            .filter(code__in=barcodes)
            .values_list("code", "item_id")
        ):
            found.setdefault(code, set()).add(pk)
        for code, pk in (
            CrossReference.objects.for_scope(scope)
            .filter(code__in=barcodes, kind="barcode")
            .values_list("code", "item_id")
        ):
            found.setdefault(code, set()).add(pk)
        for qualifier in ("UP", "EN", "UK", "UA"):
            for code in codes.get(qualifier, ()):
                if code in found:
                    out[(qualifier, code)] = found[code]
    return out


def apply(ctx: SetContext) -> None:
    scope = ctx.scope
    if scope.role != "device" or scope.customer_id is None:
        raise reject(
            "customer_required",
            "an 852 is a customer's activity: post it with that customer's scanner token",
        )
    xq_position, xq = ctx.first("XQ")  # type: ignore[misc]  (the table requires it)
    period_end = date_parse(element(xq, 3) or element(xq, 2))

    # First pass: which item each LIN names, and its ZAs.
    entries: list[tuple[int, tuple[str, str], list[tuple[int, Segment]]]] = []
    codes: dict[str, set[str]] = {}
    for position, segment in ctx.positioned():
        if segment.tag == "LIN":
            ids = product_ids(segment, 2)
            named = next(((q, ids[q]) for q in QUALIFIERS if q in ids), None)
            if named is None:
                raise reject(
                    "unknown_item",
                    "LIN names the item by none of " + ", ".join(QUALIFIERS),
                    position=position,
                    segment="LIN",
                    element_position=2,
                    element_ref="235",
                    value=element(segment, 2),
                    loop_id="LIN",
                )
            codes.setdefault(named[0], set()).add(named[1])
            entries.append((position, named, []))
        elif segment.tag == "ZA" and entries:
            entries[-1][2].append((position, segment))

    items = _items(ctx, codes)
    item_ids = {pk for ids in items.values() for pk in ids}
    bins_qs = Bin.objects.for_scope(scope).filter(item_id__in=item_ids, active=True)
    if scope.site_id is not None:
        bins_qs = bins_qs.filter(site_id=scope.site_id)
    bins_of: dict[int, list[Bin]] = {}
    for found in bins_qs.order_by("pk"):
        bins_of.setdefault(found.item_id, []).append(found)

    tz = zoneinfo.ZoneInfo(
        Customer.objects.values_list("timezone", flat=True).get(pk=scope.customer_id)
    )
    events: list[dict] = []
    where: list[int] = []
    index = 0
    for position, (qualifier, code), zas in entries:
        matched = items.get((qualifier, code), set())
        if len(matched) != 1:
            raise reject(
                "unknown_item" if not matched else "ambiguous",
                f"{qualifier} {code!r} names {'no' if not matched else len(matched)} item"
                + ("" if len(matched) == 1 else "s"),
                position=position,
                segment="LIN",
                element_position=3,
                element_ref="234",
                value=code,
                loop_id="LIN",
            )
        stocked = bins_of.get(next(iter(matched)), [])
        if len(stocked) != 1:
            raise reject(
                "not_stocked" if not stocked else "ambiguous",
                f"{qualifier} {code!r} is stocked in {len(stocked)} bins here; exactly one is needed",
                position=position,
                segment="LIN",
                element_position=3,
                element_ref="234",
                value=code,
                loop_id="LIN",
            )
        target = stocked[0]
        for za_position, za in zas:
            index += 1
            kind = KINDS[element(za, 1)]  # the table holds ZA01 to these codes
            quantity = quantity_parse(
                element(za, 2), position=za_position, segment="ZA", element_position=2, ref="380"
            )
            day = date_parse(element(za, 5)) or period_end
            if quantity == 0 and kind != MovementKind.COUNT:
                continue  # nothing sold or received: no movement to record
            if day is None:
                raise reject(
                    "missing_date", "no date for the activity", position=xq_position, segment="XQ"
                )
            events.append(
                {
                    "event_id": str(event_id(ctx, index)),
                    "kind": kind,
                    "code": target.label,
                    "quantity": quantity,
                    "occurred_at": _occurred_at(day, kind, tz, ctx.now).isoformat(),
                }
            )
            where.append(za_position)
    if events:
        result = scan_batch_ingest(scope=scope, events=events, now=ctx.now)
        for position, outcome in zip(where, result.results, strict=True):
            if outcome.status == REJECTED:
                error = outcome.error or {}
                raise reject(
                    error.get("code", "scan_rejected"),
                    error.get("detail", "the activity was refused"),
                    position=position,
                    segment="ZA",
                    element_position=5 if "occurred" in error.get("code", "") else 2,
                    element_ref="373" if "occurred" in error.get("code", "") else "380",
                    loop_id="ZA",
                )
    ctx.document_record(customer_id=scope.customer_id)
