"""856s: the HL tree becomes shipments and shipped quantities; receipt scans close
the order afterwards."""

# ruff: noqa: F811  (the `released` fixture is imported by name and taken as an argument)

from __future__ import annotations

import datetime as dt

import pytest

from edi.models import Document, Shipment, ShipmentLine
from replenishment.models import OrderEvent, OrderStatus
from stocking.models import Bin
from tests.conftest import bearer, scan
from tests.edi.vectors import ack_body, fill
from tests.edi.vectors.fixtures import release, released  # noqa: F401

pytestmark = pytest.mark.django_db


def _ship(released, shipment="SHP-1", qty2=50, **extra):
    return released.post(
        fill("856_sopi.x12", SHIPMENT=shipment, QTY2=qty2, **(released.values() | extra))
    )


def test_ship_notice_records_the_shipment_and_ships_the_order(released):
    """S: carrier, bill of lading, tracking, ship date; P: SSCCs; I: lines by LIN01
    or, without it, by the VP SKU; the order becomes shipped."""
    resp = _ship(released)
    assert resp.status_code == 200, resp.json()
    assert resp.json()["sets"][0]["orders"] == [released.order.pk]
    shipment = Shipment.objects.get(order=released.order)
    assert shipment.shipment_id == "SHP-1"
    assert shipment.carrier == "UPS Ground"
    assert shipment.bill_of_lading == "BOL-SHP-1"
    assert shipment.tracking_number == "1Z999AA10123456784"
    assert shipment.shipped_at == dt.date(2025, 11, 23)
    assert shipment.document.direction == "in" and shipment.document.transaction_set == "856"
    rows = sorted(
        ShipmentLine.objects.filter(shipment=shipment).values_list(
            "line__line_number", "quantity", "sscc"
        )
    )
    lines = ShipmentLine.objects.filter(shipment=shipment)
    assert set(lines.values_list("vendor_id", flat=True)) == {released.order.vendor_id}
    assert rows == [
        (1, 50, "000123456000000012"),
        (2, 50, "000123456000000012"),
        (3, 50, "000123456000000029"),
    ]
    order = released.refresh()
    assert order.status == OrderStatus.SHIPPED
    assert [line.quantity_shipped for line in order.lines.order_by("line_number")] == [50, 50, 50]
    assert OrderEvent.objects.filter(order=order, note="856 SHP-1", new_value="shipped").exists()
    ack = ack_body(Document.objects.get(pk=resp.json()["ack"]["id"]))
    assert ack[0][1][0] == "SH" and ack[-1] == ("AK9", ["A", "1", "1", "1"])


def test_receipt_scans_after_the_ship_notice_close_the_order(released, api):
    """Receive scans of everything shipped lower on-order and mark the order received."""
    _ship(released)
    device = bearer(released.cw.token)
    scans = [scan("receive", b.label, quantity=50) for b in released.cw.bins]
    resp = device.post("/api/v1/scans", {"scans": scans}, format="json")
    assert resp.status_code == 200 and resp.json()["accepted"] == 3
    order = released.refresh()
    assert order.status == OrderStatus.RECEIVED and order.closed_at is not None
    assert [b.on_order for b in Bin.objects.filter(pk__in=[b.pk for b in released.cw.bins])] == [
        0,
        0,
        0,
    ]


def test_a_partial_shipment_leaves_the_order_open_until_everything_is_received(released):
    """20 of line 2's 50 shipped: the order is partially shipped, not shipped, and stays
    so after the shipped goods are received (30 of line 2 are still to come)."""
    _ship(released, qty2=20)
    lines = list(released.order.lines.order_by("line_number"))
    assert [line.quantity_shipped for line in lines] == [50, 20, 50]
    assert released.refresh().status == OrderStatus.PARTIALLY_SHIPPED
    device = bearer(released.cw.token)
    device.post(
        "/api/v1/scans",
        {
            "scans": [
                scan("receive", b.label, quantity=50 if i != 1 else 20)
                for i, b in enumerate(released.cw.bins)
            ]
        },
        format="json",
    )
    assert released.refresh().status == OrderStatus.PARTIALLY_SHIPPED  # 30 of line 2 open


def test_the_rest_shipped_later_makes_a_partially_shipped_order_shipped(released):
    """A second notice with the rest of line 2 completes the order: each status change
    is an order event naming its 856, and the ERP and the customer see the status."""
    _ship(released, shipment="SHP-1", qty2=20)
    resp = _ship(released, shipment="SHP-2", qty2=30)
    assert resp.status_code == 200, resp.json()
    order = released.refresh()
    assert order.status == OrderStatus.SHIPPED
    assert [
        (e.old_value, e.new_value, e.note)
        for e in OrderEvent.objects.filter(order=order, note__startswith="856").order_by("id")
    ] == [
        ("released", "partially_shipped", "856 SHP-1"),
        ("partially_shipped", "shipped", "856 SHP-2"),
    ]


def test_partially_shipped_orders_are_listed_by_status_for_the_erp(released):
    """GET /api/v1/orders?status=partially_shipped finds the order; shipped does not."""
    _ship(released, qty2=20)
    found = released.erp.get("/api/v1/orders", {"status": "partially_shipped"}).json()
    assert [o["id"] for o in found["results"]] == [released.order.pk]
    assert found["results"][0]["status"] == "partially_shipped"
    assert released.erp.get("/api/v1/orders", {"status": "shipped"}).json()["results"] == []


def test_the_same_shipment_resent_under_a_new_isa13_is_refused(released):
    _ship(released)
    resp = _ship(released)
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "duplicate_shipment"
    assert resp.json()["error"]["segment_tag"] == "BSN"
    assert [line.quantity_shipped for line in released.order.lines.order_by("line_number")] == [
        50,
        50,
        50,
    ]


def test_an_item_directly_under_the_shipment_is_a_bad_tree(released):
    resp = released.post(fill("856_bad_tree.x12", SHIPMENT="SHP-2", **released.values()))
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert error["code"] == "invalid_hierarchy"
    assert (error["segment_tag"], error["element_position"]) == ("HL", 3)
    assert error["segment_position"] == 7  # ISA, GS, ST, BSN, HL, TD5, HL
    assert released.refresh().status == OrderStatus.RELEASED
    assert not Shipment.objects.exists()


def test_another_vendors_po_in_prf_is_unknown(released):
    """Vendor A's ERP naming vendor B's real PO number ships nothing of B's."""
    theirs = release(released.vb)
    resp = _ship(released, PO=theirs.po_number)
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "unknown_po"
    assert resp.json()["error"]["segment_tag"] == "PRF"
    assert not Shipment.objects.exists()
    theirs.refresh_from_db()
    assert theirs.status == OrderStatus.RELEASED


def test_a_cancelled_order_cannot_ship(released):
    from replenishment.models import Order

    Order.objects.filter(pk=released.order.pk).update(status=OrderStatus.CANCELLED)
    resp = _ship(released)
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "invalid_state"
