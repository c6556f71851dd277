"""Reads of EDI for people: orders with what the ERP has said about them, the
documents that crossed, and the inbound interchanges that did not apply.

Documents and interchanges carry no customer scope of their own (`for_scope` only
checks the vendor), so every read here narrows them to the scope's customers too:
a rep assigned to some customers sees only their documents, and a document that
belongs to no customer (a 997 we wrote, an ERP-wide interchange) only when the
scope sees every customer.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from typing import Any

from django.db.models import (
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce

from cmi.scoping import Scope
from edi.models import (
    AckStatus,
    Direction,
    Document,
    InboundInterchange,
    InterchangeStatus,
    Shipment,
    ShipmentLine,
    TradingPartner,
)
from replenishment.models import OUTSTANDING, Order, OrderLine, OrderStatus

ISA_LENGTH = 106
_LINE_BREAKS = "\r\n"

# The EDI state filter of the orders list: key -> (label, condition on the annotated list).
EDI_STATES: dict[str, tuple[str, Q]] = {
    "waiting_997": (
        "Waiting for 997",
        # Unanswered as flags_compute reads it: the 850 itself, or for an original
        # the order's state, carries the 997's word.
        Q(last_850_at__isnull=False, last_850_ack="")
        & (~Q(last_850_purpose="00") | Q(edi_state__isnull=True) | Q(edi_state__ack_997=""))
        & Q(status__in=(*OUTSTANDING, OrderStatus.CANCELLED)),
    ),
    "waiting_855": (
        "Waiting for 855",
        Q(status=OrderStatus.RELEASED, has_original_850=True, edi_state__acknowledged_855_at=None),
    ),
    "rejected_997": (
        "997 rejected or with errors",
        Q(last_850_ack__in=(AckStatus.REJECTED, AckStatus.ACCEPTED_WITH_ERRORS)),
    ),
    "overdue": (
        "Any answer overdue",
        Q(edi_state__overdue_997=True)
        | Q(edi_state__overdue_855=True)
        | Q(edi_state__overdue_receipt=True),
    ),
    "overdue_997": ("997 overdue", Q(edi_state__overdue_997=True)),
    "overdue_855": ("855 overdue", Q(edi_state__overdue_855=True)),
    "overdue_receipt": ("Receipt overdue", Q(edi_state__overdue_receipt=True)),
    "no_850": ("No 850 sent", Q(last_850_at__isnull=True)),
}


def _customer_narrowed(qs: QuerySet, scope: Scope, field: str = "customer_id") -> QuerySet:
    if scope.customer_ids is not None:
        qs = qs.filter(**{f"{field}__in": scope.customer_ids})
    return qs


def _purchase_orders() -> QuerySet[Document]:
    return Document.objects.filter(
        order_id=OuterRef("pk"), direction=Direction.OUT, transaction_set="850"
    )


def partner_find(*, scope: Scope) -> TradingPartner | None:
    """The vendor's trading partner profile, or None before it has one."""
    return TradingPartner.objects.for_scope(scope).first()


def vendor_order_list(*, scope: Scope) -> QuerySet[Order]:
    """The scope's orders across customers, each annotated with its line count and
    its last 850 (when, its purpose, what the 997 said), with the EDI state joined.

    Subqueries, so a page of orders is one query whatever the lines and documents.
    """
    last = _purchase_orders().order_by("-cursor", "-pk")
    line_count = (
        OrderLine.objects.filter(order_id=OuterRef("pk"))
        .order_by()
        .values("order_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        Order.objects.for_scope(scope)
        .select_related("customer", "site", "edi_state")
        .annotate(
            line_count=Coalesce(Subquery(line_count, output_field=IntegerField()), Value(0)),
            last_850_at=Subquery(last.values("created_at")[:1]),
            last_850_ack=Coalesce(Subquery(last.values("ack_status")[:1]), Value("")),
            last_850_purpose=Subquery(last.values("purpose")[:1]),
            has_original_850=Exists(_purchase_orders().filter(purpose="00")),
        )
    )


def vendor_order_get(*, scope: Scope, order_id: int) -> Order | None:
    return vendor_order_list(scope=scope).filter(pk=order_id).first()


def order_documents(*, scope: Scope, order_id: int) -> list[Document]:
    """Every document that crossed for the order, oldest first; payloads left out.
    The order was found through the scope, so its documents are in it."""
    return list(
        Document.objects.for_scope(scope)
        .filter(order_id=order_id)
        .select_related("interchange")
        .defer("payload", "interchange__raw", "interchange__result")
        .order_by("created_at", "pk")
    )


def order_shipments(*, scope: Scope, order_id: int) -> list[Shipment]:
    return list(
        Shipment.objects.filter(vendor_id=scope.vendor_id, order_id=order_id)
        .prefetch_related(
            Prefetch(
                "lines", queryset=ShipmentLine.objects.select_related("line__item").order_by("pk")
            )
        )
        .order_by("pk")
    )


def edi_documents(*, scope: Scope) -> QuerySet[Document]:
    return _customer_narrowed(Document.objects.for_scope(scope), scope)


def edi_document_get(*, scope: Scope, document_id: int) -> Document | None:
    """One document with its payload, or None when it is not the scope's."""
    return (
        edi_documents(scope=scope)
        .select_related("order", "customer", "interchange")
        .defer("interchange__raw", "interchange__result")
        .filter(pk=document_id)
        .first()
    )


PROBLEMS = (InterchangeStatus.FAILED, InterchangeStatus.PARTIAL, InterchangeStatus.REJECTED)


def inbound_problems(*, scope: Scope) -> QuerySet[InboundInterchange]:
    """Inbound interchanges that did not apply whole, newest first; raw bytes left out."""
    return (
        _customer_narrowed(InboundInterchange.objects.for_scope(scope), scope)
        .filter(status__in=PROBLEMS)
        .select_related("customer")
        .defer("raw", "result")
        .order_by("-received_at", "-pk")
    )


def inbound_interchange_get(*, scope: Scope, interchange_id: int) -> InboundInterchange | None:
    return (
        _customer_narrowed(InboundInterchange.objects.for_scope(scope), scope)
        .select_related("customer")
        .filter(pk=interchange_id)
        .first()
    )


# --- how things are shown ------------------------------------------------------------


@dataclass(frozen=True)
class Badge:
    text: str
    tone: str  # ok | warn | bad | info | neutral


def order_edi_badges(order: Order) -> list[Badge]:
    """What the ERP has said about an annotated order, and what it is late saying."""
    state = getattr(order, "edi_state", None)
    if order.last_850_at is None:  # type: ignore[attr-defined]
        return []
    badges: list[Badge] = []
    ack = order.last_850_ack or (  # type: ignore[attr-defined]
        state.ack_997 if state and order.last_850_purpose == "00" else ""  # type: ignore[attr-defined]
    )
    if ack == AckStatus.ACCEPTED:
        badges.append(Badge("997 accepted", "ok"))
    elif ack == AckStatus.ACCEPTED_WITH_ERRORS:
        badges.append(Badge("997 with errors", "warn"))
    elif ack == AckStatus.REJECTED:
        badges.append(Badge("997 rejected", "bad"))
    elif state and state.overdue_997:
        badges.append(Badge("997 overdue", "bad"))
    elif order.status in (*OUTSTANDING, OrderStatus.CANCELLED):
        badges.append(Badge("Waiting for 997", "neutral"))
    if state and state.acknowledged_855_at:
        badges.append(Badge("855 received", "ok"))
    elif state and state.overdue_855:
        badges.append(Badge("855 overdue", "bad"))
    elif order.status == OrderStatus.RELEASED:
        badges.append(Badge("Waiting for 855", "neutral"))
    if state and state.overdue_receipt:
        badges.append(Badge("Receipt overdue", "bad"))
    return badges


def document_badges(document: Document) -> list[Badge]:
    """A document's state: pickup and 997 for what we sent, applied for what came in."""
    if document.direction == Direction.IN:
        badges = [Badge("Received and applied", "ok")]
        interchange = document.interchange
        if interchange is not None and interchange.status == InterchangeStatus.PARTIAL:
            badges.append(Badge("Interchange partly applied", "warn"))
        return badges
    if document.delivery_status == "received":
        badges = [Badge("Delivered", "ok")]
    elif document.delivery_status == "failed":
        badges = [Badge("Delivery failed", "bad")]
    else:
        badges = [Badge("Sent, not picked up", "neutral")]
    if document.transaction_set == "997":
        return badges  # a 997 is never answered
    tones = {
        AckStatus.ACCEPTED: "ok",
        AckStatus.ACCEPTED_WITH_ERRORS: "warn",
        AckStatus.REJECTED: "bad",
    }
    if document.ack_status:
        badges.append(Badge(document.get_ack_status_display(), tones[document.ack_status]))
    else:
        badges.append(Badge("No 997 yet", "neutral"))
    return badges


def _ack_error_lines(errors: list[dict[str, Any]]) -> list[str]:
    """A 997's AK3/AK4/AK5 details, one line each."""
    lines = []
    for error in errors:
        if "set_reasons" in error:
            lines.append("AK5 set error codes: " + ", ".join(map(str, error["set_reasons"])))
            continue
        head = f"AK3 segment {error.get('segment', '')} at position {error.get('position', '')}"
        if error.get("loop"):
            head += f" (loop {error['loop']})"
        if error.get("code"):
            head += f": error code {error['code']}"
        lines.append(head)
        for element in error.get("elements") or []:
            text = f"AK4 element {element.get('position', '')}"
            if element.get("ref"):
                text += f" (ref {element['ref']})"
            text += f": error code {element.get('code', '')}"
            if element.get("value"):
                text += f", value {element['value']!r}"
            lines.append("  " + text)
    return lines


def _set_error_line(error: dict[str, Any]) -> str:
    where = []
    if error.get("segment"):
        where.append(str(error["segment"]))
    if error.get("segment_position") is not None:
        where.append(f"segment {error['segment_position']}")
    if error.get("element_position") is not None:
        where.append(f"element {error['element_position']}")
    prefix = f"[{error.get('code', 'error')}] "
    return prefix + (f"{' '.join(where)}: " if where else "") + str(error.get("detail", ""))


def interchange_error_lines(errors: list[dict[str, Any]]) -> list[str]:
    """The errors kept on an interchange: an envelope error, or each set's errors."""
    lines = []
    for entry in errors or []:
        if "errors" in entry and "set" in entry:
            lines.append(
                f"Group {entry.get('group')}, set {entry.get('set')} ({entry.get('id')}): "
                f"{entry.get('status')}"
            )
            lines.extend("  " + _set_error_line(e) for e in entry["errors"])
        else:
            lines.append(_set_error_line(entry))
    return lines


def document_error_lines(document: Document) -> list[str]:
    """What went wrong with a document, or what was noted about it."""
    if document.direction == Direction.OUT:
        lines = _ack_error_lines(document.ack_errors or [])
        if document.delivery_status == "failed" and document.delivery_reason:
            lines.insert(0, f"Pickup failed: {document.delivery_reason}")
        return lines
    interchange = document.interchange
    if interchange is None:
        return []
    # The interchange keeps its sets' notes by group and set control number.
    mine = [
        entry
        for entry in interchange.errors or []
        if str(entry.get("group")) == str(document.gs_control)
        and str(entry.get("set")) == document.st_control
    ]
    return [line.strip() for line in interchange_error_lines(mine)[1:]] if mine else []


def x12_text(raw: bytes | memoryview) -> str:
    """The bytes as text: UTF-8, else Latin-1 (which maps every byte), as the reader does."""
    data = bytes(raw)
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def x12_segments(raw: bytes | memoryview) -> list[str]:
    """One segment per line, each with its terminator, whatever the separators.

    An interchange names its terminator in the ISA (the character after ISA16); a
    stored inbound set (ST to SE) was written one segment per line. Anything else
    is shown line by line as it is.
    """
    text = x12_text(raw).lstrip("\ufeff \t\r\n")
    if text.startswith("ISA") and len(text) >= ISA_LENGTH:
        terminator = text[ISA_LENGTH - 1]
        if not terminator.isalnum() and terminator != text[3]:
            pieces = (piece.strip(_LINE_BREAKS) for piece in text.split(terminator))
            segments = [piece + terminator for piece in pieces if piece]
            # The text after the last terminator is not a segment (usually nothing).
            if not text.rstrip(_LINE_BREAKS).endswith(terminator) and segments:
                segments[-1] = segments[-1][: -len(terminator)]
            return segments
    return [line for line in text.splitlines() if line.strip()]
