"""Overdue answers: an 850 without a 997 within hours_997 (when 997s are expected), a
release without an 855 within hours_855, a shipment not received within
days_receipt. The sweep flags them on OrderEdiState and clears them once the answer
is there; vendor staff list them; the order detail shows them.

Time is moved by back-dating documents (`created_at`), never by sleeping.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from edi.models import (
    AckStatus,
    Direction,
    Document,
    OrderEdiState,
    Shipment,
    TradingPartner,
)
from edi.overdue import order_edi_view, orders_overdue_refresh, overdue_flag_all
from edi.tasks import flag_overdue
from replenishment.models import Order, OrderStatus
from replenishment.services import order_cancel
from stocking.models import Bin
from tests.conftest import as_user, bearer
from tests.edi.test_outbound_850 import (  # noqa: F401 (the fixture applies here too)
    every_850_is_valid_x12,
    partner_for,
    release,
)
from tests.factories import vendor_scope

OVERDUE = "/api/v1/edi/overdue"


def back_date(order_id: int, **ago) -> None:
    """Move every document of the order into the past."""
    Document.objects.filter(order_id=order_id).update(
        created_at=timezone.now() - dt.timedelta(**ago)
    )


def state(order_id: int) -> OrderEdiState:
    return OrderEdiState.objects.get(order_id=order_id)


def flags(order_id: int) -> tuple[bool, bool, bool]:
    s = state(order_id)
    return (s.overdue_997, s.overdue_855, s.overdue_receipt)


def ship(order_id: int) -> Shipment:
    """What inbound 856 processing leaves: the document, the shipment, the status."""
    order = Order.objects.get(pk=order_id)
    document = Document.objects.create(
        vendor_id=order.vendor_id,
        customer_id=order.customer_id,
        direction=Direction.IN,
        transaction_set="856",
        order=order,
        isa_control=1,
        gs_control=1,
        st_control="0001",
        payload=b"",
    )
    Order.objects.filter(pk=order_id).update(status=OrderStatus.SHIPPED)
    return Shipment.objects.create(
        vendor_id=order.vendor_id, order=order, document=document, shipment_id="SHP1"
    )


@pytest.fixture
def order_id(world):
    """Vendor A (997 within 4 h, 855 within 24 h, receipt within 14 days) released an
    order for customer 0."""
    partner_for(world["a"].vendor, hours_997=4, hours_855=24, days_receipt=14)
    return release(world["a"].customers[0])


# --- 997 -------------------------------------------------------------------------------------


def test_850_within_its_allowance_is_not_flagged(order_id):
    """An 850 three hours old, with 4 hours allowed for its 997, is not overdue."""
    back_date(order_id, hours=3)
    assert overdue_flag_all() == 0
    assert flags(order_id) == (False, False, False)


def test_850_without_997_past_the_allowance_is_flagged_then_cleared_by_the_997(order_id):
    """Five hours without a 997 flags overdue_997 with a reason; the 997 marking the
    850 accepted clears it at the next sweep."""
    back_date(order_id, hours=5)
    assert overdue_flag_all() == 1
    assert flags(order_id) == (True, False, False)
    assert "no 997" in state(order_id).flagged_reason

    Document.objects.filter(order_id=order_id).update(ack_status=AckStatus.ACCEPTED)
    assert overdue_flag_all() == 1
    assert flags(order_id) == (False, False, False)
    assert state(order_id).flagged_reason == ""


def test_997_recorded_on_the_order_state_also_answers(order_id):
    """An inbound processor that records the 997 on OrderEdiState.ack_997 (and not on
    the document) clears the flag as well."""
    back_date(order_id, hours=5)
    overdue_flag_all()
    OrderEdiState.objects.filter(order_id=order_id).update(ack_997=AckStatus.REJECTED)
    overdue_flag_all()
    assert flags(order_id) == (False, False, False)


def test_no_997_flag_when_the_partner_sends_none(world, order_id):
    """With expect_997 off, a missing 997 is never overdue, and an old flag clears."""
    back_date(order_id, hours=5)
    overdue_flag_all()
    TradingPartner.objects.filter(vendor=world["a"].vendor).update(expect_997=False)
    overdue_flag_all()
    assert flags(order_id) == (False, False, False)


def test_cancel_owes_its_own_997(world, order_id):
    """The 997 of the original does not answer the cancel: a cancel 850 unanswered past
    the allowance flags overdue_997, even though the order is cancelled."""
    Document.objects.filter(order_id=order_id).update(ack_status=AckStatus.ACCEPTED)
    OrderEdiState.objects.filter(order_id=order_id).update(ack_997=AckStatus.ACCEPTED)
    order_cancel(scope=vendor_scope(world["a"].vendor), order_id=order_id)
    back_date(order_id, hours=5)
    overdue_flag_all()
    assert flags(order_id) == (True, False, False)
    Document.objects.filter(order_id=order_id, purpose="01").update(ack_status="accepted")
    overdue_flag_all()
    assert flags(order_id) == (False, False, False)


# --- 855 -------------------------------------------------------------------------------------


def test_release_without_855_past_the_allowance_is_flagged_then_cleared(order_id):
    """25 hours after the 850 with no 855 flags overdue_855 (and the 997 too); the 855
    arriving (acknowledged_855_at) clears the 855 flag."""
    back_date(order_id, hours=25)
    overdue_flag_all()
    assert flags(order_id) == (True, True, False)
    Document.objects.filter(order_id=order_id).update(ack_status=AckStatus.ACCEPTED)
    OrderEdiState.objects.filter(order_id=order_id).update(acknowledged_855_at=timezone.now())
    overdue_flag_all()
    assert flags(order_id) == (False, False, False)


def test_acknowledged_order_owes_no_855(order_id):
    """An order already acknowledged is never 855-overdue."""
    back_date(order_id, hours=25)
    Order.objects.filter(pk=order_id).update(status=OrderStatus.ACKNOWLEDGED)
    Document.objects.filter(order_id=order_id).update(ack_status=AckStatus.ACCEPTED)
    overdue_flag_all()
    assert flags(order_id) == (False, False, False)


# --- receipt ---------------------------------------------------------------------------------


def test_shipment_not_received_in_time_is_flagged_then_cleared_by_the_receipt(order_id):
    """An order shipped 15 days ago and not received flags overdue_receipt; once it is
    received the flag clears."""
    Document.objects.filter(order_id=order_id).update(ack_status=AckStatus.ACCEPTED)
    shipment = ship(order_id)
    Document.objects.filter(pk=shipment.document_id).update(
        created_at=timezone.now() - dt.timedelta(days=13)
    )
    overdue_flag_all()
    assert flags(order_id) == (False, False, False)
    Document.objects.filter(pk=shipment.document_id).update(
        created_at=timezone.now() - dt.timedelta(days=15)
    )
    overdue_flag_all()
    assert flags(order_id) == (False, False, True)
    assert "not received" in state(order_id).flagged_reason
    Order.objects.filter(pk=order_id).update(status=OrderStatus.RECEIVED)
    overdue_flag_all()
    assert flags(order_id) == (False, False, False)


def test_a_partial_shipment_not_received_in_time_is_flagged_too(order_id):
    """Part of the order shipped 15 days ago and not received: overdue_receipt, as for
    a whole shipment (the rest still to come does not excuse what was sent)."""
    Document.objects.filter(order_id=order_id).update(ack_status=AckStatus.ACCEPTED)
    shipment = ship(order_id)
    Order.objects.filter(pk=order_id).update(status=OrderStatus.PARTIALLY_SHIPPED)
    Document.objects.filter(pk=shipment.document_id).update(
        created_at=timezone.now() - dt.timedelta(days=15)
    )
    overdue_flag_all()
    assert flags(order_id) == (False, False, True)


# --- the sweep -------------------------------------------------------------------------------


def test_sweep_task_is_idempotent(order_id):
    """The beat task flags once; running it again changes nothing."""
    back_date(order_id, hours=30)
    assert flag_overdue() == 1
    assert flag_overdue() == 0
    assert flags(order_id) == (True, True, False)


def test_each_vendor_is_judged_by_its_own_partner(world, order_id):
    """Vendor B allows 48 hours for the 855: at 30 hours B's order is not 855-overdue
    while A's is."""
    partner_for(world["b"].vendor, hours_997=48, hours_855=48)
    b_order = release(world["b"].customers[0])
    back_date(order_id, hours=30)
    back_date(b_order, hours=30)
    overdue_flag_all()
    assert flags(order_id) == (True, True, False)
    assert flags(b_order) == (False, False, False)


def test_refresh_of_named_orders_clears_at_once(world, order_id):
    """Inbound processing can refresh the orders it just answered: their flags clear
    without waiting for the sweep; other orders are left alone."""
    other = release(world["a"].customers[1])
    back_date(order_id, hours=5)
    back_date(other, hours=5)
    overdue_flag_all()
    Document.objects.filter(order_id__in=[order_id, other]).update(ack_status="accepted")
    orders_overdue_refresh(vendor_id=world["a"].vendor.pk, order_ids=[order_id])
    assert flags(order_id) == (False, False, False)
    assert flags(other) == (True, False, False)


# --- the list and the order detail ----------------------------------------------------------


def more_orders(cw, count: int) -> list[int]:
    """Release `count` more orders for the customer's site, one after another."""
    out = []
    for _ in range(count):
        Bin.objects.filter(pk__in=[b.pk for b in cw.bins]).update(on_order=0)
        out.append(release(cw))
    return out


def test_overdue_list_shows_the_vendors_flagged_orders(world, order_id):
    """Vendor staff see each flagged order once: PO number, customer, which answers are
    late, since when and when they fell due. Unflagged orders and other vendors'
    flagged orders are not listed."""
    partner_for(world["b"].vendor)
    b_order = release(world["b"].customers[0])
    fine = release(world["a"].customers[1])
    back_date(order_id, hours=25)
    back_date(b_order, hours=25)
    overdue_flag_all()
    resp = as_user(world["a"].admin).get(OVERDUE)
    assert resp.status_code == 200, resp.content
    (row,) = resp.json()["results"]
    order = Order.objects.select_related("customer").get(pk=order_id)
    assert row["order"] == order_id and row["po_number"] == order.po_number
    assert row["customer"] == {
        "id": order.customer_id,
        "code": order.customer.code,
        "name": order.customer.name,
    }
    kinds = {f["kind"]: f for f in row["flags"]}
    assert set(kinds) == {"997", "855"}
    sent = Document.objects.get(order_id=order_id).created_at
    assert dt.datetime.fromisoformat(kinds["855"]["waiting_since"]) == sent
    assert dt.datetime.fromisoformat(kinds["855"]["due_at"]) == sent + dt.timedelta(hours=24)
    assert dt.datetime.fromisoformat(kinds["997"]["due_at"]) == sent + dt.timedelta(hours=4)
    assert fine not in [r["order"] for r in resp.json()["results"]]


def test_limited_rep_sees_only_assigned_customers_overdue_orders(world, order_id):
    """A rep assigned to customer 1 does not see customer 0's flagged order."""
    back_date(order_id, hours=25)
    overdue_flag_all()
    rep = world["a"].rep
    rep.membership.assigned_customers.add(world["a"].customers[1].customer)
    assert as_user(rep).get(OVERDUE).json()["results"] == []
    rep.membership.assigned_customers.add(world["a"].customers[0].customer)
    assert [r["order"] for r in as_user(rep).get(OVERDUE).json()["results"]] == [order_id]


@pytest.mark.parametrize("role", ["customer_manager", "customer_staff", "device", "erp"])
def test_overdue_list_is_for_vendor_staff(world, order_id, role):
    """Customer users, scanners and the ERP key get 403 permission_denied."""
    a = world["a"]
    cw = a.customers[0]
    client = {
        "customer_manager": as_user(cw.manager),
        "customer_staff": as_user(cw.staff),
        "device": bearer(cw.token),
        "erp": bearer(a.erp_key),
    }[role]
    resp = client.get(OVERDUE)
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "permission_denied"


def test_overdue_list_query_count_does_not_grow_with_rows(world, order_id):
    """Listing 2 or 6 flagged orders costs the same number of queries."""
    cw = world["a"].customers[0]
    admin = as_user(world["a"].admin)
    ids = [order_id, *more_orders(cw, 1)]
    for pk in ids:
        back_date(pk, hours=25)
    overdue_flag_all()
    admin.get(OVERDUE)  # warm up
    with CaptureQueriesContext(connection) as few:
        assert len(admin.get(OVERDUE).json()["results"]) == 2
    for pk in more_orders(cw, 4):
        back_date(pk, hours=25)
    overdue_flag_all()
    with CaptureQueriesContext(connection) as many:
        assert len(admin.get(OVERDUE).json()["results"]) == 6
    assert len(few) == len(many), [q["sql"] for q in many.captured_queries]


def test_order_detail_shows_edi_answers_flags_and_documents(world, order_id):
    """order_edi_view gives the 997 status, the 855 time, the flags and every document
    of the order; registered as an order detail extension it appears under
    `extensions.edi` of GET /orders/{id} (edi/apps.py registers it)."""
    back_date(order_id, hours=25)
    overdue_flag_all()
    order_cancel(scope=vendor_scope(world["a"].vendor), order_id=order_id)
    Document.objects.filter(order_id=order_id, purpose="00").update(ack_status="accepted")
    view = order_edi_view(Order.objects.get(pk=order_id))["edi"]
    assert view["overdue_997"] and view["overdue_855"] and not view["overdue_receipt"]
    assert view["acknowledged_855_at"] is None
    assert view["ack_997"] is None  # the cancel, the latest 850, is not answered yet
    assert [(d["transaction_set"], d["purpose"], d["ack_status"]) for d in view["documents"]] == [
        ("850", "00", "accepted"),
        ("850", "01", None),
    ]

    resp = as_user(world["a"].admin).get(f"/api/v1/orders/{order_id}")
    assert resp.status_code == 200, resp.content
    assert resp.json()["extensions"]["edi"]["documents"] == view["documents"]
