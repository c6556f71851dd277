"""852s from a customer's own system become scans of that customer's bins."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from types import SimpleNamespace

import pytest

from catalog.models import ItemBarcode
from edi.inbound.activity852 import event_id
from edi.models import Document, InboundInterchange
from stocking.models import Bin, LedgerEntry, ScanEvent
from stocking.setup import bin_create
from tests.conftest import bearer
from tests.edi.vectors import fill

pytestmark = pytest.mark.django_db
INBOX = "/api/v1/edi/inbox"


@pytest.fixture(autouse=True)
def counted_long_ago(world):
    """The bins were last counted a month ago: last week's activity comes after that.
    (An activity dated before a bin's last count is inside that count, and is kept
    without changing on-hand, as for any late scan.)"""
    Bin.objects.update(last_count_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=30))


def _activity(vw, **extra) -> bytes:
    today = dt.datetime.now(zoneinfo.ZoneInfo("America/Chicago")).date()
    end = today - dt.timedelta(days=1)
    gtin = ItemBarcode.objects.get(item=vw.items[2]).code
    values = {
        "START": (end - dt.timedelta(days=6)).strftime("%Y%m%d"),
        "END": end.strftime("%Y%m%d"),
        "SKU2": vw.items[1].sku,
        "GTIN3": gtin,
        "ISA06": "CUSTOMERSYS",
        "ISA08": "ACMEVENDOR",
        **extra,
    }
    return fill("852_activity.x12", **values)


def _post(token: str, payload: bytes):
    return bearer(token).post(INBOX, data=payload, content_type="text/plain")


def _on_hand(cw) -> list[int]:
    return [Bin.objects.get(pk=b.pk).on_hand for b in cw.bins]


def test_activity_becomes_counts_issues_and_receipts(world):
    """QS 5 then QA 20 on bin 0 (BP part number): 20; QW 2 on bin 1 (VP SKU): 28;
    QR 10 on bin 2 (EN barcode): 40. Each ZA is a scan event with a derived id."""
    va = world["a"]
    cw = va.customers[0]
    assert _on_hand(cw) == [30, 30, 30]
    resp = _post(cw.token, _activity(va))
    assert resp.status_code == 200, resp.json()
    assert resp.json()["sets"][0]["status"] == "accepted"
    assert resp.json()["ack"] == {"id": None, "ids": []}  # the ERP is not told of a customer's 852
    assert _on_hand(cw) == [20, 28, 40]
    events = ScanEvent.objects.filter(device=cw.device)
    assert sorted(events.values_list("kind", flat=True)) == ["count", "issue", "issue", "receive"]
    record = InboundInterchange.objects.get(pk=resp.json()["interchange"])
    assert record.customer_id == cw.customer.pk and record.device_id == cw.device.pk
    assert record.sender_id == f"c{cw.customer.pk}/CUSTOMERSYS"
    doc = Document.objects.get(direction="in", transaction_set="852")
    assert doc.customer_id == cw.customer.pk
    # The ledger says what happened, in the order it happened.
    kinds = list(
        LedgerEntry.objects.filter(bin=cw.bins[0], scan_event__isnull=False)
        .order_by("occurred_at")
        .values_list("kind", "on_hand_after")
    )
    assert kinds == [("issue", 25), ("count", 20)]


def test_event_ids_are_derived_from_the_interchange(world):
    """Vendor, sender, ISA13, GS06, ST02 and the ZA's index name each event: the same
    report can never be counted twice, even by a path around the interchange check."""
    va = world["a"]
    cw = va.customers[0]
    resp = _post(cw.token, _activity(va, ISA13=777, GS06=9))
    assert resp.status_code == 200
    ctx = SimpleNamespace(
        vendor_id=va.vendor.pk,
        record=InboundInterchange.objects.get(pk=resp.json()["interchange"]),
        interchange=SimpleNamespace(control_number=777),
        group=SimpleNamespace(control_number=9),
        tset=SimpleNamespace(control_number="0001"),
    )
    expected = {event_id(ctx, i) for i in range(1, 5)}  # type: ignore[arg-type]
    assert set(ScanEvent.objects.values_list("event_id", flat=True)) == expected


def test_the_same_852_twice_is_applied_once(world):
    va = world["a"]
    cw = va.customers[0]
    payload = _activity(va)
    first = _post(cw.token, payload)
    second = _post(cw.token, payload)
    assert second.status_code == 200
    assert second.json()["duplicate"] is True
    assert second.json()["sets"] == first.json()["sets"]
    assert _on_hand(cw) == [20, 28, 40]
    assert ScanEvent.objects.count() == 4


def test_the_same_control_number_from_another_customer_is_not_a_duplicate(world):
    """Two customers' systems may share an ISA06 and ISA13: each gets its own result."""
    va = world["a"]
    payload = _activity(va, ISA13=555)
    assert _post(va.customers[0].token, payload).json()["duplicate"] is False
    other = _post(va.customers[1].token, payload)
    assert other.json()["duplicate"] is False and other.status_code == 200
    assert _on_hand(va.customers[0]) == [20, 28, 40]
    assert _on_hand(va.customers[1]) == [20, 28, 40]


def test_an_item_in_two_bins_is_ambiguous_and_nothing_applies(world):
    va = world["a"]
    cw = va.customers[0]
    bin_create(
        scope=va.scope,
        location_id=cw.room.pk,
        item_id=va.items[1].pk,
        min_qty=1,
        max_qty=10,  # whole packs of 10
        on_hand=3,
    )
    resp = _post(cw.token, _activity(va))
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert error["code"] == "ambiguous" and error["segment_tag"] == "LIN"
    assert _on_hand(cw) == [30, 30, 30]
    assert not ScanEvent.objects.exists()


def test_an_unknown_part_number_is_refused(world):
    va = world["a"]
    cw = va.customers[0]
    resp = _post(cw.token, _activity(va, SKU2="NOPE"))
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "unknown_item"
    assert _on_hand(cw) == [30, 30, 30]


def test_another_vendors_items_are_unknown(world):
    """Vendor B's barcode in vendor A's customer's 852 names nothing."""
    va, vb = world["a"], world["b"]
    gtin_b = ItemBarcode.objects.get(item=vb.items[2]).code
    resp = _post(va.customers[0].token, _activity(va, GTIN3=gtin_b))
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "unknown_item"


def test_the_erp_key_cannot_post_an_852(world):
    va = world["a"]
    resp = _post(va.erp_key, _activity(va, ISA06="ERPRECEIVER", ISA08="CMIPLATFORM"))
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "customer_required"
    assert _on_hand(va.customers[0]) == [30, 30, 30]


def test_a_bad_activity_code_is_refused(world):
    va = world["a"]
    cw = va.customers[0]
    payload = _activity(va).replace(b"ZA*QW*2*EA", b"ZA*QX*2*EA")
    resp = _post(cw.token, payload)
    assert resp.status_code == 400
    assert (resp.json()["error"]["code"], resp.json()["error"]["segment_tag"]) == (
        "invalid_code",
        "ZA",
    )
