"""A hand-computed October 2026 for the scorecard tests (customer in America/Chicago).

Rows are written directly (ledger rows, orders, EDI documents, order events with the
times the scenario needs); the figures they must give are worked out in
`EXPECTED_OCTOBER` below, by hand.

Bins (min 10, max 50; prices 0.25, 0.50, 0.75), all made 1 September:
- bin 0: counted 20 on 20 Sep; 11 Oct asked 25 got 20 (to zero); 13 Oct asked 5 got 0;
  21 Oct received 40. So 10 days at zero, ends the month at 40.
- bin 1: 60 on hand all month (over max), never scanned.
- bin 2: 5 on hand all month (below min), never scanned.

Orders (times Chicago):
- A: released 5 Oct 10:00; 997 at 12:00 (2 h); acknowledged 14:00 (4 h); lines
  10 of 10 shipped and 20 of which 15 shipped (short); received 8 Oct, requested 8 Oct.
- B: released 10 Oct 10:00; 997 at 11:00 (1 h); acknowledged 11 Oct 10:00 (24 h), its
  one line's quantity changed then; received 20 Oct, requested 15 Oct (late).
- C: released 25 Oct 10:00, no answer yet; its line changed at approval (before
  release: not the vendor's change).
- D: released 28 Sep, received 2 Oct, requested 1 Oct (late; counts for October's
  on-time only).
"""

from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo
from decimal import Decimal

from cmi.history import history_rewrite_for_tests_and_benchmarks
from edi.models import Document
from replenishment.models import Order, OrderEvent, OrderLine, OrderStatus
from stocking.models import Bin, LedgerEntry

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
OCTOBER = dt.date(2026, 10, 1)
NOW = dt.datetime(2026, 11, 15, 12, 0, tzinfo=dt.UTC)
_numbers = itertools.count(1)


def local(month: int, day: int, hour: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=CHICAGO)


# Turns: issued value 20 x 0.25 = 5.00; average value on hand (time-weighted over
# October's 31 days): bin 0 (20 x 10 + 0 x 10 + 40 x 11) / 31 x 0.25, bin 1 60 x 0.50,
# bin 2 5 x 0.75.
_AVG_VALUE = round((20 * 10 + 40 * 11) / 31 * 0.25, 2) + 30.0 + 3.75
EXPECTED_OCTOBER = {
    "fill_rate": 66.7,  # 20 of 30 units asked
    "issues_short": 2,
    "stockout_share": 10.8,  # 10 bin-days of 93
    "stockout_bin_days": 10.0,
    "below_min_share": 33.3,  # bin 2 of 3
    "over_max_share": 33.3,  # bin 1 of 3
    "ack_997_median_hours": 1.5,  # 2 h and 1 h
    "ack_997_p90_hours": 2.0,
    "ack_855_median_hours": 14.0,  # 4 h and 24 h
    "ack_855_p90_hours": 24.0,
    "on_time_share": 33.3,  # A on time, B and D late
    "order_accuracy": 50.0,  # 4 lines: A's second short, B's changed
    "scan_coverage": 33.3,  # only bin 0 scanned in the 30 days to 1 Nov
    "inventory_turns": round(5.0 / round(_AVG_VALUE, 2) * 365 / 31, 1),
    "issues": 2,
    "bins": 3,
    "orders_released": 3,
    "orders_unacknowledged": 1,
    "orders_received": 3,
    "lines": 4,
    "lines_changed": 1,
    "lines_short": 1,
}


def _ledger(b: Bin, kind: str, quantity: int, delta: int, after: int, at: dt.datetime):
    return LedgerEntry(
        vendor_id=b.vendor_id,
        customer_id=b.customer_id,
        bin=b,
        kind=kind,
        quantity=quantity,
        delta=delta,
        on_hand_after=after,
        occurred_at=at,
        received_at=at,
    )


def _order(cw, *, status, released, requested=None, closed=None) -> Order:
    n = next(_numbers)
    return Order.objects.create(
        vendor_id=cw.customer.vendor_id,
        customer=cw.customer,
        site=cw.site,
        status=status,
        po_number=f"SC{cw.customer.pk:04d}{n:06d}",
        released_at=released,
        requested_delivery_date=requested,
        closed_at=closed,
    )


def _line(order, b, number, ordered, shipped=0, received=0) -> OrderLine:
    return OrderLine.objects.create(
        vendor_id=order.vendor_id,
        customer_id=order.customer_id,
        order=order,
        bin=b,
        item_id=b.item_id,
        line_number=number,
        quantity_proposed=ordered,
        quantity_ordered=ordered,
        quantity_shipped=shipped,
        quantity_received=received,
        unit_price=Decimal("1.00"),
    )


def _doc_850(order, *, sent, acked) -> None:
    n = next(_numbers)
    doc = Document.objects.create(
        vendor_id=order.vendor_id,
        customer_id=order.customer_id,
        direction="out",
        transaction_set="850",
        purpose="00",
        order=order,
        isa_control=n,
        gs_control=n,
        st_control=f"{n:04d}",
        payload=b"ISA",
        ack_status="accepted" if acked else "",
        acked_at=acked,
    )
    Document.objects.filter(pk=doc.pk).update(created_at=sent)


def _event(order, kind, at, *, line=None, new="", old=""):
    event = OrderEvent.objects.create(
        vendor_id=order.vendor_id, order=order, line=line, kind=kind, new_value=new, old_value=old
    )
    OrderEvent.objects.filter(pk=event.pk).update(at=at)


def october_build(cw) -> None:
    """The scenario above, for one customer of the fixture world (3 bins)."""
    b0, b1, b2 = cw.bins[:3]
    with history_rewrite_for_tests_and_benchmarks():
        Bin.objects.filter(pk__in=[b0.pk, b1.pk, b2.pk]).update(created_at=local(9, 1))
        Bin.objects.filter(pk=b0.pk).update(on_hand=40)
        Bin.objects.filter(pk=b1.pk).update(on_hand=60)
        Bin.objects.filter(pk=b2.pk).update(on_hand=5)
        # The set-up's own count rows are of today (after the scenario): moved out of it.
        LedgerEntry.objects.filter(bin_id__in=[b0.pk, b1.pk, b2.pk]).delete()
        LedgerEntry.objects.bulk_create(
            [
                _ledger(b0, "count", 20, -10, 20, local(9, 20)),
                _ledger(b0, "issue", 25, -20, 0, local(10, 11)),
                _ledger(b0, "issue", 5, 0, 0, local(10, 13)),
                _ledger(b0, "receive", 40, 40, 40, local(10, 21)),
            ]
        )

        a = _order(
            cw,
            status=OrderStatus.RECEIVED,
            released=local(10, 5, 10),
            requested=dt.date(2026, 10, 8),
            closed=local(10, 8, 9),
        )
        _line(a, b0, 1, 10, shipped=10, received=10)
        _line(a, b1, 2, 20, shipped=15, received=20)
        _doc_850(a, sent=local(10, 5, 10), acked=local(10, 5, 12))
        _event(a, "status", local(10, 5, 14), old="released", new="acknowledged")

        b = _order(
            cw,
            status=OrderStatus.RECEIVED,
            released=local(10, 10, 10),
            requested=dt.date(2026, 10, 15),
            closed=local(10, 20, 9),
        )
        line_b = _line(b, b2, 1, 5, shipped=5, received=5)
        _doc_850(b, sent=local(10, 10, 10), acked=local(10, 10, 11))
        _event(b, "status", local(10, 11, 10), old="released", new="acknowledged")
        _event(b, "quantity_changed", local(10, 11, 10), line=line_b, old="8", new="5")

        c = _order(cw, status=OrderStatus.RELEASED, released=local(10, 25, 10))
        line_c = _line(c, b0, 1, 7)
        _event(c, "quantity_changed", local(10, 24, 10), line=line_c, old="9", new="7")

        d = _order(
            cw,
            status=OrderStatus.RECEIVED,
            released=local(9, 28, 10),
            requested=dt.date(2026, 10, 1),
            closed=local(10, 2, 9),
        )
        _line(d, b1, 1, 3, shipped=3, received=3)
