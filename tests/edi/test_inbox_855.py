"""855s: the vendor's acknowledgment changes lines, on-order and status, visibly to
the customer; a bad or foreign 855 changes nothing."""

# ruff: noqa: F811  (the `released` fixture is imported by name and taken as an argument)

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from edi.models import Document, OrderEdiState
from replenishment.models import OrderEvent, OrderEventKind, OrderStatus
from stocking.models import Bin
from tests.conftest import as_user, bearer
from tests.edi.test_outbound_850 import x12_check
from tests.edi.vectors import ack_body, fill
from tests.edi.vectors.fixtures import release, released  # noqa: F401

pytestmark = pytest.mark.django_db


def _on_order(released) -> list[int]:
    return [Bin.objects.get(pk=b.pk).on_order for b in released.cw.bins]


def _lines(released):
    return list(released.order.lines.order_by("line_number"))


def test_mixed_acknowledgment_changes_quantity_price_date_and_status(released):
    """IA keeps line 1; IQ cuts line 2 from 50 to 30 (and on-order by 20); IP re-prices
    line 3; IB notes a backorder; DTM*017 moves the delivery date; the order is
    acknowledged and every change is an order event with its code."""
    assert _on_order(released) == [50, 50, 50]
    resp = released.post(fill("855_mixed.x12", DELIVERY="20251205", **released.values()))
    assert resp.status_code == 200, resp.json()
    body = resp.json()
    assert body["duplicate"] is False
    assert body["sets"] == [
        {
            "group": body["sets"][0]["group"],
            "set": "0001",
            "id": "855",
            "status": "accepted",
            "errors": [],
            "orders": [released.order.pk],
        }
    ]
    order = released.refresh()
    assert order.status == OrderStatus.ACKNOWLEDGED
    assert order.requested_delivery_date == dt.date(2025, 12, 5)
    lines = _lines(released)
    assert [line.quantity_ordered for line in lines] == [50, 30, 50]
    assert lines[2].unit_price == Decimal("0.8")
    assert _on_order(released) == [50, 30, 50]
    events = {
        (e.kind, e.note, e.old_value, e.new_value) for e in OrderEvent.objects.filter(order=order)
    }
    assert (OrderEventKind.QUANTITY_CHANGED, "855 IQ", "50", "30") in events
    assert (OrderEventKind.STATUS, "855 IP", "0.7500", "0.8000") in events
    assert (OrderEventKind.STATUS, "855 AC", "released", "acknowledged") in events
    assert any(note.startswith("855 IB backordered") for _, note, _, _ in events)
    assert any(note == "855 delivery date" and new == "2025-12-05" for _, note, _, new in events)
    assert OrderEdiState.objects.get(order=order).acknowledged_855_at is not None
    inbound = Document.objects.get(direction="in", transaction_set="855")
    assert inbound.order_id == order.pk and b"BAK*00*AC" in bytes(inbound.payload)


def test_the_customer_sees_the_changes_on_the_order(released):
    """The order detail (ERP key and the customer's manager alike) shows the 855's events."""
    released.post(fill("855_mixed.x12", DELIVERY="20251205", **released.values()))
    for client in (released.erp, as_user(released.cw.manager)):
        detail = client.get(f"/api/v1/orders/{released.order.pk}").json()
        assert detail["status"] == "acknowledged"
        notes = [e["note"] for e in detail["events"]]
        assert "855 IQ" in notes and "855 IP" in notes


def test_a_997_answers_the_855_group(released):
    """The 855's group is acknowledged in the outbox: AK1 PR + GS06, AK2 855 0001, AK5 A, AK9 A."""
    resp = released.post(fill("855_mixed.x12", GS06=4242, DELIVERY="20251205", **released.values()))
    ack = Document.objects.get(pk=resp.json()["ack"]["id"])
    assert ack.direction == "out" and ack.transaction_set == "997" and ack.order_id is None
    assert ack.cursor is not None and ack.cursor > released.po850.cursor
    assert ack_body(ack) == [
        ("AK1", ["PR", "4242"]),
        ("AK2", ["855", "0001"]),
        ("AK5", ["A"]),
        ("AK9", ["A", "1", "1", "1"]),
    ]


def test_deleted_and_rejected_lines_leave_on_order_and_substitution_is_noted(released):
    """ID and IR set the line to 0 and release its on-order; IS keeps the line and
    records the substitute; the order is acknowledged since one line remains."""
    values = released.values()
    resp = released.post(fill("855_cuts.x12", ACK3="IS", **values))
    assert resp.status_code == 200, resp.json()
    assert [line.quantity_ordered for line in _lines(released)] == [0, 0, 50]
    assert _on_order(released) == [0, 0, 50]
    assert released.refresh().status == OrderStatus.ACKNOWLEDGED
    notes = set(OrderEvent.objects.filter(order=released.order).values_list("note", flat=True))
    assert {
        "855 ID deleted",
        "855 IR rejected",
        f"855 IS substitution: ALT-{values['SKU3']}",
    } <= notes


OUTBOX = "/api/v1/edi/outbox"


def _cancel_850_in_outbox(released, cursor: int) -> list:
    """What the ERP finds in its outbox after `cursor`: the 997 and the cancel 850,
    whose BEG01 is 01 and whose PO1 lines name what was refused."""
    results = released.erp.get(OUTBOX, {"after": cursor}).json()["results"]
    cancels = [r for r in results if r["transaction_set"] == "850"]
    assert [(r["order"], r["purpose"]) for r in cancels] == [(released.order.pk, "01")]
    payload = released.erp.get(f"{OUTBOX}/{cancels[0]['id']}/payload").content
    (tset,) = x12_check(payload).groups[0].sets
    (beg,) = [s for s in tset.segments if s.tag == "BEG"]
    assert beg.elements[:3] == ["01", "SA", released.order.po_number]
    return [s.elements[:2] for s in tset.segments if s.tag == "PO1"]


def test_every_line_cut_cancels_the_order_and_sends_a_cancel_850(released):
    """ID, IR and ID on the three lines refuse the whole order: it is cancelled through
    the service as it stood (lines keep their quantities, on-order is released, one
    cancelled event), and a cancel 850 naming the three lines goes to the outbox."""
    cursor = released.erp.get(OUTBOX).json()["next_cursor"]
    resp = released.post(fill("855_cuts.x12", ACK3="ID", **released.values()))
    assert resp.status_code == 200, resp.json()
    assert resp.json()["sets"][0]["status"] == "accepted"
    order = released.refresh()
    assert order.status == OrderStatus.CANCELLED and order.closed_at is not None
    assert "855 AC" in order.cancel_reason
    assert _on_order(released) == [0, 0, 0]
    assert [line.quantity_ordered for line in _lines(released)] == [50, 50, 50]
    assert OrderEvent.objects.filter(order=order, kind=OrderEventKind.CANCELLED).count() == 1
    notes = set(OrderEvent.objects.filter(order=order).values_list("note", flat=True))
    assert {"855 ID deleted", "855 IR rejected"} <= notes
    assert _cancel_850_in_outbox(released, cursor) == [["1", "50"], ["2", "50"], ["3", "50"]]


def test_bak_rj_cancels_the_order_and_sends_a_cancel_850(released):
    """BAK02 RJ: the order is cancelled, on-order released, and the ERP's outbox
    holds the 997 of the 855 and a cancel 850 (BEG01 01) for the PO."""
    cursor = released.erp.get(OUTBOX).json()["next_cursor"]
    resp = released.post(fill("855_reject.x12", **released.values()))
    assert resp.status_code == 200, resp.json()
    order = released.refresh()
    assert order.status == OrderStatus.CANCELLED and "855 RJ" in order.cancel_reason
    assert _on_order(released) == [0, 0, 0]
    assert OrderEvent.objects.filter(order=order, kind=OrderEventKind.CANCELLED).count() == 1
    assert _cancel_850_in_outbox(released, cursor) == [["1", "50"], ["2", "50"], ["3", "50"]]
    sets = [
        r["transaction_set"] for r in released.erp.get(OUTBOX, {"after": cursor}).json()["results"]
    ]
    assert sorted(sets) == ["850", "997"]


def test_an_855_replayed_after_the_rejection_sends_no_second_cancel(released):
    """The same 855 again (same ISA13) is a duplicate: its answer replayed, no second
    cancel 850; a new 855 for the cancelled order is refused as invalid_state."""
    payload = fill("855_reject.x12", ISA13=777, **released.values())
    assert released.post(payload).status_code == 200
    again = released.post(payload)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert Document.objects.filter(order=released.order, purpose="01").count() == 1
    later = released.post(fill("855_reject.x12", ISA13=778, **released.values()))
    assert later.status_code == 400 and later.json()["error"]["code"] == "invalid_state"
    assert Document.objects.filter(order=released.order, purpose="01").count() == 1


def test_005010_envelope_allows_the_longer_ref02(released):
    """ISA11 is the repetition separator, ':' the component separator, REF02 may be 50 long."""
    resp = released.post(fill("855_5010.x12", **released.values()))
    assert resp.status_code == 200, resp.json()
    assert [line.quantity_ordered for line in _lines(released)] == [50, 40, 50]


@pytest.mark.parametrize(
    ("vector", "code", "segment", "element", "ak"),
    [
        ("855_missing_bak.x12", "missing_segment", "BAK", None, [("AK3", ["BAK", "2", "", "3"])]),
        (
            "855_bad_code.x12",
            "invalid_code",
            "BAK",
            2,
            [("AK3", ["BAK", "2", "", "8"]), ("AK4", ["2", "587", "7", "ZZ"])],
        ),
        (
            "855_bad_date.x12",
            "invalid_date",
            "BAK",
            4,
            [("AK3", ["BAK", "2", "", "8"]), ("AK4", ["4", "373", "8", "20251345"])],
        ),
        ("855_too_long.x12", "too_long", "REF", 2, [("AK3", ["REF", "3", "", "8"])]),
    ],
)
def test_a_bad_855_is_refused_whole_with_the_997_saying_why(
    released, vector, code, segment, element, ak
):
    """Nothing changes; 400 names the first failure (positions counted from ISA); the
    997 carries AK3/AK4 and AK5 R."""
    resp = released.post(fill(vector, **released.values()))
    assert resp.status_code == 400
    body = resp.json()
    assert body["error"]["code"] == code
    assert body["error"]["segment_tag"] == segment
    assert body["error"]["element_position"] == element
    assert body["error"]["field"] is None
    (result,) = body["sets"]
    assert result["status"] == "rejected" and result["errors"][0]["code"] == code
    # The set starts at ST = position 3 of the interchange (ISA, GS, ST).
    assert body["error"]["segment_position"] == 2 + result["errors"][0]["segment_position"]
    order = released.refresh()
    assert order.status == OrderStatus.RELEASED
    assert [line.quantity_ordered for line in _lines(released)] == [50, 50, 50]
    assert not OrderEvent.objects.filter(order=order, note__startswith="855").exists()
    ack = ack_body(Document.objects.get(pk=body["ack"]["id"]))
    for expected in ak:
        assert expected[0] in dict(ack) and expected in ack, ack
    assert ack[-2][0] == "AK5" and ack[-2][1][:2] == ["R", "5"]
    assert ack[-1] == ("AK9", ["R", "1", "1", "0"])


def test_bad_code_reports_every_element_error(released):
    """BAK02 ZZ and ACK01 IX are both reported: one AK3 each."""
    body = released.post(fill("855_bad_code.x12", **released.values())).json()
    codes = [(e["segment"], e["element_position"], e["code"]) for e in body["sets"][0]["errors"]]
    assert codes == [("BAK", 2, "invalid_code"), ("ACK", 1, "invalid_code")]


def test_another_vendors_po_number_is_unknown_and_changes_nothing(released):
    """Vendor B's ERP naming vendor A's PO: unknown_po, A's order untouched."""
    resp = released.post(
        fill("855_mixed.x12", DELIVERY="20251205", **released.values()),
        client=bearer(released.vb.erp_key),
    )
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "unknown_po"
    assert released.refresh().status == OrderStatus.RELEASED
    assert _on_order(released) == [50, 50, 50]
    # Vendor B has no trading partner: no 997 could be written.
    assert resp.json()["ack"] == {"id": None, "ids": []}


def test_a_scanner_cannot_post_an_855(released):
    resp = released.post(
        fill("855_mixed.x12", DELIVERY="20251205", **released.values()),
        client=bearer(released.cw.token),
    )
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "not_allowed"
    assert released.refresh().status == OrderStatus.RELEASED


def test_an_855_for_a_shipped_order_is_refused(released):
    from replenishment.models import Order

    Order.objects.filter(pk=released.order.pk).update(status=OrderStatus.SHIPPED)
    resp = released.post(fill("855_mixed.x12", DELIVERY="20251205", **released.values()))
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "invalid_state"
    assert [line.quantity_ordered for line in _lines(released)] == [50, 50, 50]


def test_an_unknown_line_refuses_the_set(released):
    values = released.values() | {"SKU2": "NO-SUCH-SKU"}
    resp = released.post(fill("855_mixed.x12", DELIVERY="20251205", **values))
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "line_mismatch"
    assert [line.quantity_ordered for line in _lines(released)] == [50, 50, 50]


def test_a_second_customers_order_is_untouched(released):
    """The 855 names one order; another customer's open order of the vendor keeps its lines."""
    other = release(released.va, customer=1)
    released.post(fill("855_mixed.x12", DELIVERY="20251205", **released.values()))
    assert [line.quantity_ordered for line in other.lines.order_by("line_number")] == [50, 50, 50]
    other.refresh_from_db()
    assert other.status == OrderStatus.RELEASED


def test_a_line_number_that_only_looks_numeric_is_unknown(released):
    """PO101 '¹' passes str.isdigit() but is no line number: refused, not a crash."""
    payload = fill("855_mixed.x12", DELIVERY="20251205", **released.values())
    resp = released.post(payload.replace(b"PO1*2*", "PO1*¹*".encode()))
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "unknown_line"
