"""Answers the ERP is late with: a 997 after an 850, an 855 after a release, a receipt
after a shipment. Flagged on OrderEdiState by a periodic sweep, cleared the same way
once the answer is there, and shown to vendor staff.

The sweep only reads what inbound processing writes (Document.ack_status and
OrderEdiState.ack_997 for 997s, OrderEdiState.acknowledged_855_at for 855s, the
order's status and its shipments), so it is safe to run at any time and any number
of times: each run recomputes the flags from the database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import DateTimeField, Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from rest_framework import serializers

from cmi.scoping import Scope
from edi.models import Direction, Document, OrderEdiState, Shipment, TradingPartner
from replenishment.models import IN_TRANSIT, OUTSTANDING, Order, OrderStatus
from replenishment.services import order_events_emit

FLAGGED = Q(overdue_997=True) | Q(overdue_855=True) | Q(overdue_receipt=True)
BATCH = 500


def _purchase_orders() -> QuerySet[Document]:
    return Document.objects.filter(
        order_id=OuterRef("order_id"), direction=Direction.OUT, transaction_set="850"
    )


def with_answer_times(qs: QuerySet[OrderEdiState]) -> QuerySet[OrderEdiState]:
    """Annotate what each rule waits on: the last 850 (and whether it was answered),
    the first original 850 (an 855 answers the order, not a cancel), the first shipment.

    Subqueries, so a list of states is one query whatever its length.
    """
    last = _purchase_orders().order_by("-cursor")
    return qs.annotate(
        last_850_at=Subquery(last.values("created_at")[:1]),
        last_850_ack=Subquery(last.values("ack_status")[:1]),
        last_850_purpose=Subquery(last.values("purpose")[:1]),
        first_850_at=Subquery(
            _purchase_orders().filter(purpose="00").order_by("cursor").values("created_at")[:1]
        ),
        # The 856's arrival is when the platform learned the goods left.
        shipped_at=Subquery(
            Shipment.objects.filter(order_id=OuterRef("order_id"))
            .order_by("document__created_at")
            .values("document__created_at")[:1],
            output_field=DateTimeField(),
        ),
    )


@dataclass(frozen=True)
class Flags:
    overdue_997: bool = False
    overdue_855: bool = False
    overdue_receipt: bool = False
    reason: str = ""


def _when(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def flags_compute(
    state: OrderEdiState, *, status: str, partner: TradingPartner, now: dt.datetime
) -> Flags:
    """The flags one annotated state should carry now."""
    sent = state.last_850_at  # type: ignore[attr-defined]
    first = state.first_850_at  # type: ignore[attr-defined]
    shipped = state.shipped_at  # type: ignore[attr-defined]
    # ack_997 on the state answers the original: that is where an inbound processor
    # that does not mark the document itself would put it.
    answered_997 = bool(state.last_850_ack) or (  # type: ignore[attr-defined]
        state.last_850_purpose == "00" and bool(state.ack_997)  # type: ignore[attr-defined]
    )
    late_997 = (
        partner.expect_997
        # A received order's 997 is moot; a cancelled one still owes one for its cancel.
        and status in (*OUTSTANDING, OrderStatus.CANCELLED)
        and sent is not None
        and not answered_997
        and sent <= now - dt.timedelta(hours=partner.hours_997)
    )
    late_855 = (
        status == OrderStatus.RELEASED
        and state.acknowledged_855_at is None
        and first is not None
        and first <= now - dt.timedelta(hours=partner.hours_855)
    )
    late_receipt = (
        status in IN_TRANSIT
        and shipped is not None
        and shipped <= now - dt.timedelta(days=partner.days_receipt)
    )
    reasons = []
    if late_997:
        reasons.append(f"no 997 for the 850 of {_when(sent)}")
    if late_855:
        reasons.append(f"no 855 since {_when(first)}")
    if late_receipt:
        reasons.append(f"shipped {_when(shipped)}, not received")
    return Flags(late_997, late_855, late_receipt, "; ".join(reasons)[:200])


def _candidates(vendor_id: int, order_ids: list[int] | None) -> QuerySet[OrderEdiState]:
    """States that are flagged (so they can clear) or could become so."""
    unanswered_cancel = Exists(_purchase_orders().filter(purpose="01", ack_status="").values("pk"))
    qs = OrderEdiState.objects.filter(vendor_id=vendor_id)
    if order_ids is not None:
        qs = qs.filter(order_id__in=order_ids)
    else:
        qs = qs.filter(
            FLAGGED
            | Q(order__status__in=OUTSTANDING)
            | (Q(order__status=OrderStatus.CANCELLED) & unanswered_cancel)
        )
    return (
        with_answer_times(qs)
        .select_related("order")
        .only(
            "id",
            "order_id",
            "order__status",
            "ack_997",
            "acknowledged_855_at",
            "overdue_997",
            "overdue_855",
            "overdue_receipt",
            "flagged_reason",
        )
    )


FLAG_FIELDS = ["overdue_997", "overdue_855", "overdue_receipt", "flagged_reason"]


def orders_overdue_refresh(
    *, vendor_id: int, order_ids: list[int] | None = None, now: dt.datetime | None = None
) -> int:
    """Set and clear the vendor's overdue flags; return how many states changed.

    With `order_ids`, only those orders: what inbound processing can call right
    after it applies an answer, so the flag clears at once rather than at the
    next sweep. Without, every state that is flagged or could become so.
    """
    now = now or timezone.now()
    partner = TradingPartner.objects.filter(vendor_id=vendor_id).first()
    changed: list[OrderEdiState] = []
    newly_overdue: dict[int, dict] = {}
    count = 0
    for state in _candidates(vendor_id, order_ids).order_by("pk").iterator(chunk_size=BATCH):
        if partner is None:  # the profile was removed: nothing is owed any more
            flags = Flags()
        else:
            flags = flags_compute(state, status=state.order.status, partner=partner, now=now)
        current = (state.overdue_997, state.overdue_855, state.overdue_receipt)
        wanted = (flags.overdue_997, flags.overdue_855, flags.overdue_receipt)
        if current == wanted and state.flagged_reason == flags.reason:
            continue
        # An acknowledgment (997 or 855) newly overdue is news once: the flag stays set
        # while it stays overdue, so the event does not repeat until it cleared.
        if (flags.overdue_997 and not state.overdue_997) or (
            flags.overdue_855 and not state.overdue_855
        ):
            newly_overdue[state.order_id] = {"sent_at": state.first_850_at}  # type: ignore[attr-defined]
        state.overdue_997, state.overdue_855, state.overdue_receipt = wanted
        state.flagged_reason = flags.reason
        changed.append(state)
        if len(changed) >= BATCH:
            count += _save(vendor_id, changed, newly_overdue)
    return count + _save(vendor_id, changed, newly_overdue)


@transaction.atomic
def _save(vendor_id: int, changed: list[OrderEdiState], newly_overdue: dict[int, dict]) -> int:
    # Only the flag columns: an answer that inbound processing records meanwhile
    # (ack_997, acknowledged_855_at) is never overwritten by the sweep.
    OrderEdiState.objects.bulk_update(changed, FLAG_FIELDS)
    order_events_emit(
        "edi.ack_overdue", vendor_id=vendor_id, order_ids=list(newly_overdue), extra=newly_overdue
    )
    done = len(changed)
    changed.clear()
    newly_overdue.clear()
    return done


def overdue_flag_all(*, now: dt.datetime | None = None) -> int:
    """The periodic sweep: every vendor that has states. Returns states changed."""
    vendor_ids = (
        OrderEdiState.objects.values_list("vendor_id", flat=True).distinct().order_by("vendor_id")
    )
    return sum(
        orders_overdue_refresh(vendor_id=vendor_id, now=now) for vendor_id in list(vendor_ids)
    )


# --- reads ---------------------------------------------------------------------------


def overdue_list(*, scope: Scope) -> QuerySet[OrderEdiState]:
    """The scope's flagged orders, longest waiting first."""
    qs = OrderEdiState.objects.filter(FLAGGED, vendor_id=scope.vendor_id)
    if scope.customer_ids is not None:
        qs = qs.filter(order__customer_id__in=scope.customer_ids)
    return (
        with_answer_times(qs)
        .select_related("order", "order__customer")
        .order_by("order__released_at", "order_id")
    )


def overdue_flags(state: OrderEdiState, partner: TradingPartner | None) -> list[dict[str, Any]]:
    """Which answers are late, what they wait on since when, and when they fell due."""
    rules = [
        ("997", state.overdue_997, state.last_850_at, "hours_997", 1),  # type: ignore[attr-defined]
        ("855", state.overdue_855, state.first_850_at, "hours_855", 1),  # type: ignore[attr-defined]
        ("receipt", state.overdue_receipt, state.shipped_at, "days_receipt", 24),  # type: ignore[attr-defined]
    ]
    out = []
    for kind, flagged, since, allowance, hours in rules:
        if not flagged:
            continue
        due = (
            since + dt.timedelta(hours=getattr(partner, allowance) * hours)
            if since and partner
            else None
        )
        out.append({"kind": kind, "waiting_since": since, "due_at": due})
    return out


_DATETIME = serializers.DateTimeField()


def _iso(value: dt.datetime | None) -> str | None:
    return _DATETIME.to_representation(value) if value else None


def order_edi_view(order: Order) -> dict[str, Any]:
    """The `edi` part of an order's detail: answers, flags and every document that
    crossed for it. Registered with replenishment/hooks.py."""
    state = OrderEdiState.objects.filter(order_id=order.pk).first()
    documents = list(
        Document.objects.filter(order_id=order.pk, vendor_id=order.vendor_id)
        .order_by("created_at", "id")
        .values("id", "direction", "transaction_set", "purpose", "created_at", "ack_status")
    )
    last_850 = next(
        (
            d
            for d in reversed(documents)
            if d["direction"] == Direction.OUT and d["transaction_set"] == "850"
        ),
        None,
    )
    ack_997 = (state.ack_997 if state else "") or (last_850["ack_status"] if last_850 else "")
    return {
        "edi": {
            "ack_997": ack_997 or None,
            "acknowledged_855_at": _iso(state.acknowledged_855_at) if state else None,
            "overdue_997": bool(state and state.overdue_997),
            "overdue_855": bool(state and state.overdue_855),
            "overdue_receipt": bool(state and state.overdue_receipt),
            "flagged_reason": state.flagged_reason if state else "",
            "documents": [
                {
                    "id": d["id"],
                    "direction": d["direction"],
                    "transaction_set": d["transaction_set"],
                    "purpose": d["purpose"],
                    "created_at": _iso(d["created_at"]),
                    "ack_status": d["ack_status"] or None,
                }
                for d in documents
            ],
        }
    }
