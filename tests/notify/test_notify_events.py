"""Alerts, per event kind: who hears of it, who does not, and exactly once.

Each kind is made to happen through the service that owns it (a scan, an evaluation,
an acknowledgment, a ship notice, a receipt, an import, the overdue sweep, the
periodic checks). Every event is then dispatched, dispatched again and handed to the
listener a third time: one notification and at most one mail per person still.

The people: vendor A's admin and rep (no assigned customers: all of them), a second
rep assigned to customer 1 only, each customer's manager and staff; and vendor B's,
who never hear of vendor A. Defaults by role (notify/defaults.py) decide the channels.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from cmi import events
from cmi.csvin import csv_read
from cmi.models import Customer, DomainEvent
from edi.models import Document
from edi.overdue import orders_overdue_refresh
from insight.services import recommendations_compute
from notify.checks import checks_vendor
from replenishment.models import Order, OrderLine
from replenishment.services import AnswerKind, LineAnswer, order_acknowledge, orders_ship
from stocking.bulk import BIN_COLUMNS, BIN_REQUIRED, bins_import_apply
from stocking.models import Bin, ScannerDevice
from tests.conftest import bearer, scan
from tests.edi.vectors import partner_for
from tests.edi.vectors.fixtures import release
from tests.notify.kit import hear_all, in_app, mailed, people

# (in the portal, by mail) for an event about vendor A's customer 0, by role default
CUSTOMER_ALL = ["admin", "manager0", "rep", "staff0"]
CUSTOMER_MANAGERS = ["admin", "manager0", "rep"]


def _zero_by_scan(world):
    cw = world["a"].customers[0]
    resp = bearer(cw.token).post(
        "/api/v1/scans", {"scans": [scan("issue", cw.bins[0].label, quantity=30)]}, format="json"
    )
    assert resp.json()["results"][0]["status"] == "accepted"


def _awaiting(world):
    va = world["a"]
    Customer.objects.filter(pk=va.customers[0].customer.pk).update(release_policy="approval")
    release(va)


def _released(world):
    release(world["a"])


def _acknowledged(world):
    order = release(world["a"])
    order_acknowledge(scope=world["a"].scope, order_id=order.pk, source="855", code="AC")


def _changed(world):
    order = release(world["a"])
    line = OrderLine.objects.filter(order=order).order_by("line_number").first()
    order_acknowledge(
        scope=world["a"].scope,
        order_id=order.pk,
        answers=[LineAnswer(line.pk, AnswerKind.QUANTITY, "855 IQ", quantity=10)],
        source="855",
        code="AC",
    )


def _shipped(world):
    order = release(world["a"])
    lines = OrderLine.objects.filter(order=order)
    orders_ship(
        scope=world["a"].scope,
        shipped={order.pk: {line.pk: line.quantity_ordered for line in lines}},
        note="856 SHP1",
        tracking=["1Z999AA10123456784"],
    )


def _received(world):
    order = release(world["a"])
    cw = world["a"].customers[0]
    labels = {b.pk: b.label for b in cw.bins}
    scans = [
        scan("receive", labels[line.bin_id], quantity=line.quantity_ordered)
        for line in OrderLine.objects.filter(order=order)
    ]
    assert (
        bearer(cw.token).post("/api/v1/scans", {"scans": scans}, format="json").status_code == 200
    )


def _ack_overdue(world):
    va = world["a"]
    partner_for(va.vendor)
    order = release(va)
    Document.objects.filter(order_id=order.pk).update(
        created_at=timezone.now() - dt.timedelta(days=3)
    )
    orders_overdue_refresh(vendor_id=va.vendor.pk)
    orders_overdue_refresh(vendor_id=va.vendor.pk)  # still overdue: no second event


def _import(world):
    va = world["a"]
    cw = va.customers[0]
    text = f"site,location,sku,min,max,pack_multiple\nMAIN,SHELF-A,{cw.bins[0].item.sku},12,60,1\n"
    bins_import_apply(
        scope=va.scope,
        customer_id=cw.customer.pk,
        table=csv_read(text, required=BIN_REQUIRED, optional=BIN_COLUMNS),
    )


def _recommendations(world):
    va = world["a"]
    recommendations_compute(vendor_id=va.vendor.pk, customer_id=va.customers[0].customer.pk)


def _below_min(world):
    va = world["a"]
    b = va.customers[0].bins[0]
    Bin.objects.filter(pk=b.pk).update(on_hand=2)
    now = timezone.now()
    checks_vendor(vendor_id=va.vendor.pk, now=now)  # seen: the clock starts
    checks_vendor(vendor_id=va.vendor.pk, now=now + dt.timedelta(hours=25))  # due: once
    checks_vendor(vendor_id=va.vendor.pk, now=now + dt.timedelta(hours=26))  # not again


def _approval_overdue(world):
    _awaiting(world)
    hear_all()
    later = timezone.now() + dt.timedelta(hours=9)
    checks_vendor(vendor_id=world["a"].vendor.pk, now=later)
    checks_vendor(vendor_id=world["a"].vendor.pk, now=later + dt.timedelta(hours=1))


def _scanner_silent(world):
    va = world["a"]
    ScannerDevice.objects.filter(vendor=va.vendor).exclude(pk=va.customers[0].device.pk).update(
        last_seen_at=timezone.now()
    )
    ScannerDevice.objects.filter(pk=va.customers[0].device.pk).update(
        last_seen_at=timezone.now() - dt.timedelta(hours=30)
    )
    checks_vendor(vendor_id=va.vendor.pk, now=timezone.now())
    checks_vendor(vendor_id=va.vendor.pk, now=timezone.now() + dt.timedelta(hours=1))


def _delivery_failed(world):
    events.emit(
        "delivery.failed",
        vendor_id=world["a"].vendor.pk,
        data={"endpoint_id": 1, "url": "https://erp.example/hook", "last_error": "HTTP 500"},
    )


CASES = {
    # kind: (make it happen, in the portal, by mail)
    "bin.at_zero": (_zero_by_scan, CUSTOMER_ALL, ["manager0", "rep"]),
    "order.awaiting_approval": (_awaiting, CUSTOMER_MANAGERS, ["manager0", "rep"]),
    "order.released": (_released, CUSTOMER_MANAGERS, ["rep"]),
    "order.acknowledged": (_acknowledged, CUSTOMER_MANAGERS, ["rep"]),
    "order.changed": (_changed, CUSTOMER_MANAGERS, ["manager0", "rep"]),
    "order.shipped": (_shipped, CUSTOMER_ALL, ["rep"]),
    "order.received": (_received, CUSTOMER_ALL, ["rep"]),
    "edi.ack_overdue": (_ack_overdue, ["admin", "rep"], ["admin", "rep"]),
    "import.finished": (_import, CUSTOMER_MANAGERS, ["admin", "rep"]),
    "recommendations.ready": (_recommendations, CUSTOMER_MANAGERS, ["rep"]),
    "bin.below_min_unordered": (_below_min, CUSTOMER_MANAGERS, ["manager0", "rep"]),
    "order.approval_overdue": (_approval_overdue, CUSTOMER_MANAGERS, ["manager0", "rep"]),
    "scanner.silent": (_scanner_silent, CUSTOMER_MANAGERS, ["manager0", "rep"]),
    "delivery.failed": (_delivery_failed, ["admin", "rep", "rep_c1"], ["admin", "rep", "rep_c1"]),
}


def test_every_kind_of_the_catalog_is_covered_here():
    assert set(CASES) == set(events.KINDS)


@pytest.mark.parametrize("kind", sorted(CASES))
def test_each_kind_reaches_exactly_its_audience_once(world, kind):
    """Only vendor A's people who may see customer 0 hear of it (never customer 1's
    people, the rep assigned elsewhere, or vendor B), each once per channel, however
    often the event is handed over."""
    people(world)
    make, expected_in_app, expected_mail = CASES[kind]
    make(world)
    heard = hear_all()
    assert [e.kind for e in heard].count(kind) == 1, [e.kind for e in heard]
    event = next(e for e in heard if e.kind == kind)
    assert set(event.data) == set(events.KINDS[kind].fields)
    assert in_app(kind, world) == expected_in_app
    assert mailed(kind, world) == expected_mail


def test_shipped_carries_tracking_and_changed_the_quantities(world):
    """order.shipped names the ship notice's tracking; order.changed each changed line."""
    _shipped(world)
    shipped = DomainEvent.objects.get(kind="order.shipped")
    assert shipped.data["tracking"] == ["1Z999AA10123456784"]
    assert shipped.data["status"] == "shipped"
    vb = world["b"]
    order_b = release(vb)
    line_b = OrderLine.objects.filter(order=order_b).order_by("line_number").first()
    order_acknowledge(
        scope=vb.scope,
        order_id=order_b.pk,
        answers=[LineAnswer(line_b.pk, AnswerKind.QUANTITY, "855 IQ", quantity=10)],
        source="855",
        code="AC",
    )
    changed = DomainEvent.objects.get(kind="order.changed")
    assert changed.data["changes"] == [
        {
            "line": line_b.line_number,
            "sku": line_b.item.sku,
            "ordered": line_b.quantity_ordered,
            "acknowledged": 10,
        }
    ]


def test_a_scan_batch_emits_one_event_per_emptied_bin(world):
    """Two issues that each empty the same bin, and one that empties another, in one
    batch: one bin.at_zero per bin; a bin still above zero emits nothing."""
    cw = world["a"].customers[0]
    b0, b1, b2 = (b.label for b in cw.bins)
    batch = [
        scan("issue", b0, quantity=30),
        scan("receive", b0, quantity=5),
        scan("issue", b0, quantity=5),
        scan("issue", b1, quantity=30),
        scan("issue", b2, quantity=1),
    ]
    bearer(cw.token).post("/api/v1/scans", {"scans": batch}, format="json")
    zeroed = sorted(
        int(s)
        for s in DomainEvent.objects.filter(kind="bin.at_zero").values_list("subject_id", flat=True)
    )
    assert zeroed == sorted([cw.bins[0].pk, cw.bins[1].pk])


def test_an_order_awaiting_approval_that_is_approved_stops_the_overdue_check(world):
    """The overdue event is about the order still waiting: an approved order is not news."""
    people(world)
    _awaiting(world)
    order = Order.objects.get(customer=world["a"].customers[0].customer)
    from replenishment.services import order_approve
    from tests.factories import vendor_scope

    order_approve(scope=vendor_scope(world["a"].vendor), order_id=order.pk)
    checks_vendor(vendor_id=world["a"].vendor.pk, now=timezone.now() + dt.timedelta(hours=9))
    assert not DomainEvent.objects.filter(kind="order.approval_overdue").exists()
