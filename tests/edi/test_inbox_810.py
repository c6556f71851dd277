"""810s: an invoice recorded against its order, every disagreement flagged."""

# ruff: noqa: F811  (the `released` fixture is imported by name and taken as an argument)

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from edi.models import Invoice
from replenishment.models import OrderStatus
from tests.conftest import bearer, scan
from tests.edi.vectors import fill
from tests.edi.vectors.fixtures import release, released  # noqa: F401

pytestmark = pytest.mark.django_db


def _invoice(released, number="INV-1", qty2=50, tds="8250", **extra):
    return released.post(
        fill(
            "810_implied.x12",
            INVOICE=number,
            QTY2=qty2,
            TDS=tds,
            **(released.values() | extra),
        )
    )


def _codes(invoice: Invoice) -> list[tuple]:
    return sorted((d["code"], d.get("line")) for d in invoice.discrepancies)


def test_invoice_total_uses_implied_decimals_and_flags_disagreements(released):
    """TDS*8250 is 82.50 (lines 77.50 + freight 5.00). Line 3 is invoiced at 0.80 but
    ordered at 0.75; nothing is received yet, so every line disagrees with receipts."""
    resp = _invoice(released)
    assert resp.status_code == 200, resp.json()
    invoice = Invoice.objects.get(number="INV-1")
    assert invoice.order_id == released.order.pk
    assert invoice.total == Decimal("82.50")
    assert invoice.invoice_date == dt.date(2025, 11, 24)
    assert invoice.po_date == dt.date(2025, 11, 22)
    assert invoice.lines.count() == 3
    assert set(invoice.lines.values_list("vendor_id", flat=True)) == {released.order.vendor_id}
    assert _codes(invoice) == [
        ("price", 3),
        ("quantity_vs_received", 1),
        ("quantity_vs_received", 2),
        ("quantity_vs_received", 3),
    ]
    assert invoice.flagged


def test_an_invoice_that_matches_orders_and_receipts_is_clean(released):
    """After an 855 that re-priced line 3 and receipt of everything, nothing is flagged."""
    released.post(fill("855_mixed.x12", DELIVERY="20251205", **released.values()))
    released.post(fill("856_sopi.x12", SHIPMENT="S1", QTY2=30, **released.values()))
    device = bearer(released.cw.token)
    quantities = [50, 30, 50]
    device.post(
        "/api/v1/scans",
        {
            "scans": [
                scan("receive", b.label, quantity=q)
                for b, q in zip(released.cw.bins, quantities, strict=True)
            ]
        },
        format="json",
    )
    assert released.refresh().status == OrderStatus.RECEIVED
    # 12.50 + 15.00 + 40.00 + 5.00 freight = 72.50
    resp = _invoice(released, qty2=30, tds="6250")
    invoice = Invoice.objects.get(number="INV-1")
    assert resp.status_code == 200
    assert _codes(invoice) == [("total", None)]
    _invoice(released, number="INV-2", qty2=30, tds="7250")
    assert Invoice.objects.get(number="INV-2").discrepancies == []


def test_a_wrong_total_is_flagged(released):
    _invoice(released, tds="8251")
    invoice = Invoice.objects.get(number="INV-1")
    total = next(d for d in invoice.discrepancies if d["code"] == "total")
    assert total["invoiced"] == "82.51" and total["expected"] == "82.50"


def test_invoiced_quantity_different_from_ordered_is_flagged(released):
    _invoice(released, qty2=45, tds="8000")
    invoice = Invoice.objects.get(number="INV-1")
    assert ("quantity_vs_ordered", 2) in _codes(invoice)
    assert not any(d["code"] == "total" for d in invoice.discrepancies)


def test_the_same_invoice_number_twice_is_refused(released):
    _invoice(released)
    resp = _invoice(released)
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "duplicate_invoice"
    assert Invoice.objects.count() == 1


def test_an_invoice_for_another_vendors_order_is_unknown(released):
    theirs = release(released.vb)
    resp = _invoice(released, PO=theirs.po_number)
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "unknown_po"
    assert not Invoice.objects.exists()


def test_an_invoice_is_an_event_in_the_orders_history(released):
    """The customer and the ERP see the invoice number in the order's history; an
    invoice refused as a duplicate leaves no second event."""
    from replenishment.models import OrderEvent, OrderEventKind

    assert _invoice(released).status_code == 200
    assert _invoice(released).json()["error"]["code"] == "duplicate_invoice"
    events = OrderEvent.objects.filter(order=released.order, kind=OrderEventKind.INVOICED)
    assert [(e.new_value, e.note) for e in events] == [("INV-1", "810")]
    detail = released.erp.get(f"/api/v1/orders/{released.order.pk}").json()
    assert any(e["kind"] == "invoiced" and e["new_value"] == "INV-1" for e in detail["events"])
