"""The vendor's orders across customers and their EDI documents: who sees what, the
filters, the raw X12 view and download, inbound problems, and fixed query counts.

Documents come from the real flow: orders released with a trading partner profile
write their 850s, and the ERP posts 997, 855 and 856 interchanges to the inbox.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cmi.models import Customer
from cmi.services import customer_reps_assign
from edi.models import Document, InboundInterchange
from edi.overdue import orders_overdue_refresh
from replenishment.models import Order
from stocking.models import Bin
from tests.conftest import bearer
from tests.edi.vectors import fill, order_values, partner_for, purchase_order_of
from tests.edi.vectors.fixtures import INBOX, release
from tests.factories import VendorWorld, vendor_world
from tests.portals.helpers import grow, released_order, signed_in

pytestmark = pytest.mark.django_db


def _post(vw: VendorWorld, payload: bytes, status: int = 200):
    resp = bearer(vw.erp_key).post(INBOX, data=payload, content_type="application/edi-x12")
    assert resp.status_code == status, resp.json()
    return resp.json()


def _ack_997(vw: VendorWorld, po850: Document, vector: str = "997_accept.x12"):
    return _post(vw, fill(vector, ACK_GS=po850.gs_control, ACK_ST=po850.st_control))


@dataclass
class EdiWorld:
    a: VendorWorld
    b: VendorWorld
    order0: Order  # customer 0 of A: 997 accepted, 855 acknowledged, 856 shipped
    order1: Order  # customer 1 of A: released, nothing answered
    order_b: Order
    po0: Document
    po1: Document
    po_b: Document
    failed: InboundInterchange  # A's ERP: a 997 naming an 850 we never sent
    failed_b: InboundInterchange

    def doc(self, order: Order, transaction_set: str) -> Document:
        return Document.objects.get(order=order, transaction_set=transaction_set, direction="in")


def _failed_997(vw: VendorWorld, po850: Document) -> InboundInterchange:
    body = _post(
        vw,
        fill("997_accept.x12", ACK_GS=po850.gs_control, ACK_ST="9999"),
        status=400,
    )
    return InboundInterchange.objects.get(pk=body["interchange"])


@pytest.fixture
def ew(a, b) -> EdiWorld:
    partner_for(a.vendor)
    partner_for(b.vendor)
    order0, order1, order_b = release(a, 0), release(a, 1), release(b, 0)
    po0, po1, po_b = (purchase_order_of(o) for o in (order0, order1, order_b))
    _ack_997(a, po0)
    _post(a, fill("855_mixed.x12", DELIVERY="20251205", **order_values(order0)))
    _post(a, fill("856_sopi.x12", SHIPMENT="SHP-1", QTY2=30, **order_values(order0)))
    return EdiWorld(
        a=a,
        b=b,
        order0=Order.objects.get(pk=order0.pk),
        order1=order1,
        order_b=order_b,
        po0=po0,
        po1=po1,
        po_b=po_b,
        failed=_failed_997(a, po0),
        failed_b=_failed_997(b, po_b),
    )


def _urls(order: Order, document: Document, interchange: InboundInterchange) -> list[str]:
    return [
        reverse("portals:vendor_order", kwargs={"order_id": order.pk}),
        reverse("portals:edi_document", kwargs={"document_id": document.pk}),
        reverse("portals:edi_document_download", kwargs={"document_id": document.pk}),
        reverse("portals:edi_interchange", kwargs={"interchange_id": interchange.pk}),
        reverse("portals:edi_interchange_download", kwargs={"interchange_id": interchange.pk}),
    ]


LISTS = ["portals:vendor_orders", "portals:edi_inbound"]


# --- who may see what ------------------------------------------------------------------


@pytest.mark.parametrize("who", ["manager", "staff"])
def test_customer_users_get_403_on_every_vendor_order_page(ew, who):
    """These pages are the vendor's: a customer's people are refused, even for their
    own customer's order and documents."""
    client = signed_in(getattr(ew.a.customers[0], who))
    urls = [reverse(name) for name in LISTS] + _urls(ew.order0, ew.po0, ew.failed)
    for target in urls:
        assert client.get(target).status_code == 403, target


@pytest.mark.parametrize("who", ["admin", "rep"])
def test_another_vendors_order_document_and_interchange_are_404(ew, who):
    """Vendor B's ids, on every URL, are as absent for vendor A's staff as ids that
    do not exist; and B's orders are not in A's list."""
    client = signed_in(getattr(ew.a, who))
    for target in _urls(ew.order_b, ew.po_b, ew.failed_b):
        assert client.get(target).status_code == 404, target
    page = client.get(reverse("portals:vendor_orders")).content.decode()
    assert ew.order_b.po_number not in page
    inbound = client.get(reverse("portals:edi_inbound")).content.decode()
    assert f"#{ew.failed_b.pk}<" not in inbound and f"#{ew.failed.pk}<" in inbound


def test_ids_beyond_any_bigint_are_404_not_500(ew):
    """An id no bigint holds is simply not there: a 404 on every URL, never a 500."""
    client = signed_in(ew.a.admin)
    huge = 2**64
    for name, kw in [
        ("portals:vendor_order", "order_id"),
        ("portals:edi_document", "document_id"),
        ("portals:edi_document_download", "document_id"),
        ("portals:edi_interchange", "interchange_id"),
    ]:
        assert client.get(reverse(name, kwargs={kw: huge})).status_code == 404


def test_rep_assigned_to_customer_0_sees_only_its_orders_and_documents(ew):
    """A rep assigned to customer 0 does not see customer 1's orders in the list, gets
    404 on customer 1's order and documents, and 404 on interchanges that belong to no
    customer (the ERP's); customer 0's order and documents open."""
    a = ew.a
    customer_reps_assign(
        scope=a.scope, customer_id=a.customers[0].customer.pk, rep_user_ids=[a.rep.pk]
    )
    client = signed_in(a.rep)
    page = client.get(reverse("portals:vendor_orders")).content.decode()
    assert ew.order0.po_number in page and ew.order1.po_number not in page
    for target in _urls(ew.order1, ew.po1, ew.failed)[:3]:
        assert client.get(target).status_code == 404, target
    assert client.get(_urls(ew.order1, ew.po1, ew.failed)[3]).status_code == 404
    for target in _urls(ew.order0, ew.po0, ew.failed)[:3]:
        assert client.get(target).status_code == 200, target
    assert client.get(reverse("portals:edi_inbound")).status_code == 200
    inbound = client.get(reverse("portals:edi_inbound")).content.decode()
    assert f"#{ew.failed.pk}<" not in inbound
    # The vendor's admin sees every customer's orders.
    everything = signed_in(a.admin).get(reverse("portals:vendor_orders")).content.decode()
    assert ew.order0.po_number in everything and ew.order1.po_number in everything


# --- the list --------------------------------------------------------------------------


def _listed(client, **params) -> str:
    resp = client.get(reverse("portals:vendor_orders"), params)
    assert resp.status_code == 200
    return resp.content.decode()


def test_list_shows_each_order_with_customer_status_lines_and_edi_state(ew):
    """Each row: PO, customer, status and what the ERP answered (or has not yet); the
    failed inbound interchange is announced above the list."""
    page = _listed(signed_in(ew.a.admin))
    assert ew.order0.po_number in page and ew.order1.po_number in page
    assert "Customer 0 of acme" in page and "Customer 1 of acme" in page
    assert "997 accepted" in page and "855 received" in page  # order 0
    assert "Waiting for 997" in page and "Waiting for 855" in page  # order 1
    assert "Shipped" in page and "Released" in page
    assert "1 inbound interchange did not apply" in page


def test_filters_by_customer_status_edi_state_and_po_number(ew):
    """Each filter keeps exactly the orders it names."""
    client = signed_in(ew.a.admin)
    po0, po1 = ew.order0.po_number, ew.order1.po_number

    def only(page: str, wanted: str, unwanted: str) -> bool:
        return wanted in page and unwanted not in page

    c1 = ew.a.customers[1].customer.pk
    assert only(_listed(client, customer=c1), po1, po0)
    assert only(_listed(client, status="shipped"), po0, po1)
    assert only(_listed(client, status="released"), po1, po0)
    assert only(_listed(client, edi="waiting_997"), po1, po0)
    assert only(_listed(client, edi="waiting_855"), po1, po0)
    assert only(_listed(client, q=po0), po0, po1)
    assert "No orders match" in _listed(client, edi="rejected_997")


def test_overdue_filter_follows_the_flags_of_the_sweep(ew):
    """Two days on, customer 1's order owes a 997 and an 855; customer 0's owes nothing."""
    import datetime as dt

    from django.utils import timezone

    orders_overdue_refresh(vendor_id=ew.a.vendor.pk, now=timezone.now() + dt.timedelta(days=2))
    client = signed_in(ew.a.admin)
    for key in ("overdue", "overdue_997", "overdue_855"):
        page = _listed(client, edi=key)
        assert ew.order1.po_number in page and ew.order0.po_number not in page, key
    page = _listed(client)
    assert "997 overdue" in page and "855 overdue" in page


def test_rejected_997_shows_in_the_list_filter_and_on_the_document(ew):
    """A 997 that rejects customer 1's 850 marks it; its AK3/AK4 details are listed."""
    _ack_997(ew.a, ew.po1, "997_errors.x12")
    client = signed_in(ew.a.admin)
    page = _listed(client, edi="rejected_997")
    assert ew.order1.po_number in page and ew.order0.po_number not in page
    assert "997 rejected" in page
    doc = client.get(reverse("portals:edi_document", kwargs={"document_id": ew.po1.pk}))
    text = doc.content.decode()
    assert "Rejected (997 R)" in text
    assert "AK3 segment PO1 at position 12" in text and "value &#x27;ABC&#x27;" in text


@pytest.mark.parametrize(
    "params",
    [
        {"customer": "abc"},
        {"customer": "99999999999999999999999"},
        {"status": "<script>"},
        {"edi": "nope"},
        {"sort": "password"},
        {"page": "-1"},
        {"page": "x"},
        {"q": "x" * 500},
    ],
)
def test_bad_query_strings_fall_back_to_defaults(ew, params):
    """Garbage in the query string never errors: the bad filter is ignored."""
    resp = signed_in(ew.a.admin).get(reverse("portals:vendor_orders"), params)
    assert resp.status_code == 200


def test_sorts_by_po_number_both_ways(ew):
    """sort=po ascends, sort=-po descends."""
    client = signed_in(ew.a.admin)
    po0, po1 = sorted([ew.order0.po_number, ew.order1.po_number])
    up = _listed(client, sort="po")
    down = _listed(client, sort="-po")
    assert up.index(po0) < up.index(po1)
    assert down.index(po1) < down.index(po0)


def test_list_pages(ew, monkeypatch):
    """Pages of PAGE_SIZE orders, with a pager to the next."""
    monkeypatch.setattr("portals.views.vendor_orders.PAGE_SIZE", 1)
    client = signed_in(ew.a.admin)
    first = _listed(client, sort="po")
    second = _listed(client, sort="po", page=2)
    po0, po1 = sorted([ew.order0.po_number, ew.order1.po_number])
    assert po0 in first and po1 not in first and "Page 1 of 2" in first
    assert po1 in second and po0 not in second


# --- the order page --------------------------------------------------------------------


def test_order_page_shows_lines_documents_shipment_and_history(ew):
    """Lines as they stand after the 855 (line 2 cut to 30, all shipped), the 850 out
    and the 997, 855 and 856 in with their control numbers and states, the shipment's
    tracking number, and the 855's changes in the history."""
    resp = signed_in(ew.a.admin).get(
        reverse("portals:vendor_order", kwargs={"order_id": ew.order0.pk})
    )
    assert resp.status_code == 200
    page = resp.content.decode()
    assert ew.order0.po_number in page and "Customer 0 of acme" in page
    for set_id in ("850 sent", "997 received", "855 received", "856 received"):
        assert set_id in page, set_id
    assert f"ST {ew.po0.st_control}" in page and f"ISA {ew.po0.isa_control}" in page
    assert "Accepted (997 A)" in page and "Received and applied" in page
    assert "1Z999AA10123456784" in page and "UPS" in page
    assert "855 IQ" in page
    lines = list(ew.order0.lines.order_by("line_number"))
    assert [line.quantity_ordered for line in lines] == [50, 30, 50]
    assert [line.quantity_shipped for line in lines] == [50, 30, 50]
    for document in Document.objects.filter(order=ew.order0):
        assert reverse("portals:edi_document", kwargs={"document_id": document.pk}) in page


# --- the document page -----------------------------------------------------------------


def test_raw_view_shows_one_segment_per_line_and_escapes_markup(a, b):
    """Data is never markup: a customer name with <script> is shown escaped in the raw
    X12, one segment per line."""
    partner_for(a.vendor)
    Customer.objects.filter(pk=a.customers[0].customer.pk).update(
        name="Acme <script>alert(1)</script> & Co"
    )
    po = purchase_order_of(release(a, 0))
    # ">" is this partner's component separator: the writer made it a space in the data.
    assert b"PER*BD*Acme <script alert(1)</script & Co~" in bytes(po.payload)
    resp = signed_in(a.admin).get(reverse("portals:edi_document", kwargs={"document_id": po.pk}))
    assert resp.status_code == 200
    page = resp.content.decode()
    assert "<script alert" not in page
    assert "PER*BD*Acme &lt;script alert(1)&lt;/script &amp; Co~" in page
    lines = re.findall(r'<span class="x12__seg">(.*?)\n</span>', page)
    assert len(lines) == bytes(po.payload).count(b"~")
    assert lines[0].startswith("ISA*") and lines[0].endswith("~")
    assert any(line.startswith("ST*850*") for line in lines)
    assert lines[-1].startswith("IEA*")
    assert all(line.count("~") == 1 for line in lines)


def test_inbound_document_shows_its_set_as_received(ew):
    """An inbound 855 shows as received and applied, with its BAK in the raw view."""
    doc = ew.doc(ew.order0, "855")
    page = (
        signed_in(ew.a.admin)
        .get(reverse("portals:edi_document", kwargs={"document_id": doc.pk}))
        .content.decode()
    )
    assert "855 received" in page and "Received and applied" in page
    assert "BAK*00*AC*" + ew.order0.po_number in page


def test_download_is_the_exact_stored_bytes(ew):
    """The download of an outbound 850 and of an inbound 856 is the stored payload, byte
    for byte, as an X12 attachment."""
    for document in (ew.po0, ew.doc(ew.order0, "856")):
        resp = signed_in(ew.a.admin).get(
            reverse("portals:edi_document_download", kwargs={"document_id": document.pk})
        )
        assert resp.status_code == 200
        assert resp.content == bytes(Document.objects.get(pk=document.pk).payload)
        assert resp["Content-Type"] == "application/edi-x12"
        assert resp["Content-Disposition"].startswith("attachment;")


def test_inbound_problems_list_and_interchange_page(ew):
    """The failed 997 is listed with its error code; its page shows the raw interchange
    and the download is the bytes as posted."""
    client = signed_in(ew.a.admin)
    page = client.get(reverse("portals:edi_inbound")).content.decode()
    assert "unknown_document" in page and "No set applied" in page
    detail = client.get(
        reverse("portals:edi_interchange", kwargs={"interchange_id": ew.failed.pk})
    ).content.decode()
    assert "AK2*850*9999~" in detail and "unknown_document" in detail
    raw = client.get(
        reverse("portals:edi_interchange_download", kwargs={"interchange_id": ew.failed.pk})
    )
    assert raw.content == bytes(InboundInterchange.objects.get(pk=ew.failed.pk).raw)


# --- queries ---------------------------------------------------------------------------


def _queries(client, target: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        resp = client.get(target)
    assert resp.status_code == 200, target
    return len(ctx.captured_queries)


def _busy_vendor(code: str, orders: int, lines: int):
    """A vendor with a partner, `orders` one-line orders (each with its 850, every other
    one answered by a 997) and one order of `lines` lines."""
    vw = vendor_world(code)
    partner_for(vw.vendor)
    cw = vw.customers[0]
    grow(vw, cw, bins=orders + lines)
    every = list(Bin.objects.filter(customer_id=cw.customer.pk).order_by("pk"))
    made = []
    for n in range(orders):
        order = released_order(vw, cw, [every[n]])
        if n % 2:
            _ack_997(vw, purchase_order_of(order))
        made.append(order)
    big = released_order(vw, cw, every[orders : orders + lines])
    _ack_997(vw, purchase_order_of(big))
    _post(vw, fill("997_accept.x12", ACK_GS=1, ACK_ST="9999"), status=400)
    return vw, big


BUDGET = {
    "vendor_orders": 7,  # session, user, membership; customers, count, page, inbound count
    "vendor_order": 10,  # + order, lines, events, documents, shipments (+ lines), invoices
    "edi_document": 4,  # + the document (order, customer, interchange joined)
    "edi_inbound": 5,  # + count, page
}


def test_pages_have_a_fixed_query_count(db):
    """The same number of queries with 2 orders of 3 lines as with 14 orders and a 12-line
    order with its documents."""
    counts = []
    for code, orders, lines in (("small", 1, 3), ("large", 13, 12)):
        vw, big = _busy_vendor(code, orders, lines)
        client = signed_in(vw.admin)
        po = purchase_order_of(big)
        counts.append(
            {
                "vendor_orders": _queries(client, reverse("portals:vendor_orders")),
                "vendor_order": _queries(
                    client, reverse("portals:vendor_order", kwargs={"order_id": big.pk})
                ),
                "edi_document": _queries(
                    client, reverse("portals:edi_document", kwargs={"document_id": po.pk})
                ),
                "edi_inbound": _queries(client, reverse("portals:edi_inbound")),
            }
        )
    small, large = counts
    assert small == large, counts
    for page, budget in BUDGET.items():
        assert small[page] <= budget, (page, small[page])


def test_customer_order_page_shows_the_shipment_tracking_without_edi_links(ew):
    """The customer's manager sees the 856's carrier and tracking number on the order,
    with the shipped quantities, but no link into the vendor's EDI pages."""
    cw = ew.a.customers[0]
    resp = signed_in(cw.manager).get(
        reverse("portals:order", kwargs={"customer_id": cw.customer.pk, "order_id": ew.order0.pk})
    )
    page = resp.content.decode()
    assert resp.status_code == 200
    assert "Shipment SHP-1" in page and "1Z999AA10123456784" in page and "UPS" in page
    assert "line 2 (" in page and ": 30" in page
    assert "/edi/documents/" not in page


def test_a_partially_shipped_order_is_labelled_and_filtered(ew):
    """20 of line 2's 50 shipped: the vendor's list labels the order "Partially shipped"
    and its status filter finds it; the customer's order page and open tab show it."""
    _post(ew.a, fill("856_sopi.x12", SHIPMENT="SHP-9", QTY2=20, **order_values(ew.order1)))
    client = signed_in(ew.a.admin)
    page = _listed(client, status="partially_shipped")
    assert ew.order1.po_number in page and ew.order0.po_number not in page
    assert "Partially shipped" in page
    assert 'value="partially_shipped"' in _listed(client)
    customer = ew.a.customers[1]
    manager = signed_in(customer.manager)
    args = {"customer_id": customer.customer.pk}
    detail = manager.get(reverse("portals:order", kwargs={**args, "order_id": ew.order1.pk}))
    assert detail.status_code == 200
    assert "badge--order-partially_shipped" in detail.content.decode()
    assert (
        ew.order1.po_number in manager.get(reverse("portals:orders", kwargs=args)).content.decode()
    )
