"""An ERP's whole conversation with the platform over HTTP, against a live server.

A customer's scanner empties three bins; the order is released (auto policy) with
an 850 in the outbox. The ERP polls the outbox, fetches the 850, confirms pickup,
then posts what an ERP posts: a 997, an 855 that cuts one quantity, an 856 and an
810, each built from the 850 it read. The scanner receives the goods and the order
closes. Every step shows in the order as the ERP reads it, and the 997s we owe
for the ERP's 855, 856 and 810 groups wait in its outbox.
"""

from __future__ import annotations

import pytest
import requests

from edi.models import Invoice, TradingPartner
from edi.x12 import interchange_parse
from replenishment.services import bins_evaluate
from tests.conftest import scan
from tests.edi.vectors import ERP_GS, ERP_ISA, OUR_GS, OUR_ISA, fill
from tests.factories import vendor_world

pytestmark = pytest.mark.django_db(transaction=True)
TIMEOUT = 10


class Erp:
    """The ERP's side: its key, and the calls it makes."""

    def __init__(self, base: str, key: str) -> None:
        self.base = base + "/api/v1"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {key}"

    def outbox(self, after: int) -> dict:
        resp = self.session.get(
            f"{self.base}/edi/outbox", params={"after": after, "limit": 50}, timeout=TIMEOUT
        )
        assert resp.status_code == 200, resp.text
        return resp.json()

    def payload(self, document_id: int) -> bytes:
        resp = self.session.get(f"{self.base}/edi/outbox/{document_id}/payload", timeout=TIMEOUT)
        assert resp.status_code == 200, resp.text
        return resp.content

    def confirm(self, document_id: int) -> None:
        resp = self.session.post(
            f"{self.base}/edi/outbox/{document_id}/delivery",
            json={"status": "received"},
            timeout=TIMEOUT,
        )
        assert resp.status_code == 200, resp.text

    def send(self, payload: bytes) -> dict:
        resp = self.session.post(
            f"{self.base}/edi/inbox",
            data=payload,
            headers={"Content-Type": "application/edi-x12"},
            timeout=TIMEOUT,
        )
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert all(s["status"] == "accepted" for s in body["sets"]), body
        return body

    def order(self, order_id: int) -> dict:
        resp = self.session.get(f"{self.base}/orders/{order_id}", timeout=TIMEOUT)
        assert resp.status_code == 200, resp.text
        return resp.json()


def _scan(base: str, token: str, events: list[dict]) -> None:
    resp = requests.post(
        f"{base}/api/v1/scans",
        json={"scans": events},
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT,
    )
    assert resp.status_code == 200 and resp.json()["accepted"] == len(events), resp.text


def test_erp_round_trip_from_release_to_receipt(live_server):
    va = vendor_world("acme")
    vb = vendor_world("bolt", customers=1)
    TradingPartner.objects.create(
        vendor=va.vendor,
        isa_sender_id=OUR_ISA,
        isa_receiver_id=ERP_ISA,
        gs_sender=OUR_GS,
        gs_receiver=ERP_GS,
    )
    cw = va.customers[0]
    base = live_server.url

    # The customer's stock runs out; the evaluation (the worker's job) releases an order.
    _scan(base, cw.token, [scan("issue", b.label, quantity=30) for b in cw.bins])
    (order_id,) = bins_evaluate(vendor_id=va.vendor.pk, bin_ids=[b.pk for b in cw.bins])

    erp = Erp(base, va.erp_key)
    page = erp.outbox(after=0)
    (doc,) = [d for d in page["results"] if d["transaction_set"] == "850"]
    assert doc["order"] == order_id
    raw_850 = erp.payload(doc["id"])
    erp.confirm(doc["id"])
    assert erp.outbox(after=0)["results"][0]["delivery_status"] == "received"
    assert erp.order(order_id)["status"] == "released"
    # Another vendor's ERP sees none of it.
    assert Erp(base, vb.erp_key).outbox(after=0)["results"] == []

    # What the ERP reads from the 850 is all it needs to answer.
    ic = interchange_parse(raw_850)
    (group,) = ic.groups
    (po,) = group.sets
    beg = next(s for s in po.segments if s.tag == "BEG")
    values = {"PO": beg.elements[2]}
    for po1 in (s for s in po.segments if s.tag == "PO1"):
        values[f"SKU{po1.elements[0]}"] = po1.elements[6]
    assert len(values) == 4

    erp.send(fill("997_accept.x12", ACK_GS=group.control_number, ACK_ST=po.control_number))
    detail = erp.order(order_id)
    assert detail["status"] == "released"
    assert detail["extensions"]["edi"]["ack_997"] == "accepted"

    sent = erp.send(fill("855_mixed.x12", GS06=501, DELIVERY="20251205", **values))
    detail = erp.order(order_id)
    assert detail["status"] == "acknowledged"
    assert [line["quantity_ordered"] for line in detail["lines"]] == [50, 30, 50]
    assert any(e["note"] == "855 IQ" and e["new_value"] == "30" for e in detail["events"])
    assert sent["ack"]["id"] is not None
    assert detail["extensions"]["edi"]["acknowledged_855_at"]

    erp.send(fill("856_sopi.x12", GS06=502, SHIPMENT="SHP-77", QTY2=30, **values))
    detail = erp.order(order_id)
    assert detail["status"] == "shipped"
    assert [line["quantity_shipped"] for line in detail["lines"]] == [50, 30, 50]

    erp.send(fill("810_implied.x12", GS06=503, INVOICE="INV-77", QTY2=30, TDS="7250", **values))
    # Invoiced before receipt: the received quantities disagree, and only they do.
    invoice = Invoice.objects.get(number="INV-77")
    assert {d["code"] for d in invoice.discrepancies} == {"quantity_vs_received"}

    _scan(
        base,
        cw.token,
        [scan("receive", b.label, quantity=q) for b, q in zip(cw.bins, (50, 30, 50), strict=True)],
    )
    detail = erp.order(order_id)
    assert detail["status"] == "received" and detail["closed_at"]
    assert [line["quantity_received"] for line in detail["lines"]] == [50, 30, 50]

    kinds = [e["kind"] for e in detail["events"]]
    assert kinds.index("released") < kinds.index("received")
    statuses = [e["new_value"] for e in detail["events"] if e["kind"] == "status"]
    assert statuses.index("acknowledged") < statuses.index("shipped")

    # The 997s for the 855, 856 and 810 groups wait in the outbox after the 850.
    acks = [d for d in erp.outbox(after=doc["cursor"])["results"] if d["transaction_set"] == "997"]
    answered = []
    for ack in acks:
        (fa,) = interchange_parse(erp.payload(ack["id"])).groups
        ak1 = fa.sets[0].segments[0]
        ak9 = fa.sets[0].segments[-1]
        answered.append((ak1.elements[0], ak1.elements[1], ak9.elements[0]))
    assert answered == [("PR", "501", "A"), ("SH", "502", "A"), ("IN", "503", "A")]
