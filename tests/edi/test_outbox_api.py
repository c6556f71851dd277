"""The partner profile API (vendor admins) and the outbox the ERP pulls (ERP key only).

Another vendor's document is a 404, never a 403; the outbox never lists another
vendor's documents nor inbound ones; polling is stable under a cursor; pickup
reports are idempotent.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from edi.documents import document_write
from edi.models import Direction, Document, TradingPartner
from edi.x12 import Segment
from tests.conftest import as_user, bearer
from tests.edi.test_outbound_850 import (  # noqa: F401 (the fixture applies here too)
    every_850_is_valid_x12,
    partner_for,
    release,
)

PARTNER = "/api/v1/edi/partner"
OUTBOX = "/api/v1/edi/outbox"

FULL_PROFILE = {
    "isa_sender_qualifier": "01",
    "isa_sender_id": "123456789",
    "isa_receiver_qualifier": "ZZ",
    "isa_receiver_id": "ERP-PROD",
    "gs_sender": "CMIPLAT",
    "gs_receiver": "ERPRCV",
    "version": "005010",
    "gs08_suffix": "VICS",
    "usage": "P",
    "element_separator": "|",
    "component_separator": ":",
    "segment_terminator": "~",
    "repetition_separator": "^",
    "newline": False,
    "expect_997": False,
    "hours_997": 2,
    "hours_855": 48,
    "days_receipt": 10,
}
MINIMAL_PROFILE = {
    "isa_sender_id": "CMIPLATFORM",
    "isa_receiver_id": "ERPRECEIVER",
    "gs_sender": "CMIPLAT",
    "gs_receiver": "ERPRCV",
}


def assert_error(resp, status: int, code: str, field: str | None = None) -> None:
    assert resp.status_code == status, resp.content
    error = resp.json()["error"]
    assert error["code"] == code, error
    if field is not None:
        assert error["field"] == field, error


def clients(world, v: str = "a") -> dict:
    """Every kind of caller of vendor `v`, by role."""
    w = world[v]
    cw = w.customers[0]
    return {
        "vendor_admin": as_user(w.admin),
        "vendor_rep": as_user(w.rep),
        "customer_manager": as_user(cw.manager),
        "customer_staff": as_user(cw.staff),
        "device": bearer(cw.token),
        "erp": bearer(w.erp_key),
    }


# --- partner profile ---------------------------------------------------------------------


def test_partner_get_without_a_profile_is_404(world):
    """A vendor that has not set up X12 gets 404 not_found for its profile."""
    assert_error(clients(world)["vendor_admin"].get(PARTNER), 404, "not_found")


def test_partner_put_creates_then_replaces_the_one_profile(world):
    """PUT with every field creates the profile (201) and GET returns it; a second PUT
    replaces it whole (200): fields left out go back to their defaults. Still one row."""
    admin = clients(world)["vendor_admin"]
    resp = admin.put(PARTNER, FULL_PROFILE, format="json")
    assert resp.status_code == 201, resp.content
    got = admin.get(PARTNER).json()
    assert {k: got[k] for k in FULL_PROFILE} == FULL_PROFILE

    resp = admin.put(PARTNER, MINIMAL_PROFILE, format="json")
    assert resp.status_code == 200, resp.content
    partner = TradingPartner.objects.get(vendor=world["a"].vendor)
    assert partner.pk == got["id"]
    assert (partner.version, partner.element_separator, partner.hours_997) == ("004010", "*", 4)
    assert (partner.isa_sender_qualifier, partner.gs08_suffix, partner.expect_997) == (
        "ZZ",
        "",
        True,
    )
    assert TradingPartner.objects.count() == 1


def test_partner_profile_is_used_by_the_next_850(world):
    """The profile saved through the API shapes the next release's envelope."""
    clients(world)["vendor_admin"].put(PARTNER, FULL_PROFILE, format="json")
    order_id = release(world["a"].customers[0])
    payload = bytes(Document.objects.get(order_id=order_id).payload)
    assert payload.startswith(b"ISA|00|")
    assert b"|005010VICS~" in payload and payload[82:83] == b"^"


@pytest.mark.parametrize(
    "role", ["vendor_rep", "customer_manager", "customer_staff", "device", "erp"]
)
def test_partner_profile_is_for_vendor_admins_only(world, role):
    """Every caller but a vendor admin gets 403 on GET and PUT, and nothing is saved."""
    partner_for(world["a"].vendor)
    client = clients(world)[role]
    assert_error(client.get(PARTNER), 403, "permission_denied")
    assert_error(client.put(PARTNER, FULL_PROFILE, format="json"), 403, "permission_denied")
    assert TradingPartner.objects.get(vendor=world["a"].vendor).isa_sender_id == "CMIPLATFORM"


def test_partner_of_another_vendor_is_neither_seen_nor_touched(world):
    """Vendor A's admin sees A's profile only, and a PUT changes A's only."""
    partner_for(world["b"].vendor, isa_receiver_id="BOLTERP")
    admin = clients(world)["vendor_admin"]
    assert_error(admin.get(PARTNER), 404, "not_found")
    assert admin.put(PARTNER, MINIMAL_PROFILE, format="json").status_code == 201
    assert TradingPartner.objects.get(vendor=world["b"].vendor).isa_receiver_id == "BOLTERP"
    assert admin.get(PARTNER).json()["isa_receiver_id"] == "ERPRECEIVER"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"isa_sender_id": "X" * 16}, "isa_sender_id"),
        ({"isa_receiver_id": "   "}, "isa_receiver_id"),
        ({"isa_sender_qualifier": "Z"}, "isa_sender_qualifier"),
        ({"isa_receiver_qualifier": "Z!"}, "isa_receiver_qualifier"),
        ({"gs_receiver": "Y" * 16}, "gs_receiver"),
        ({"gs_sender": "X"}, "gs_sender"),  # GS02 is 2 to 15
        ({"isa_sender_id": "ÉRP"}, "isa_sender_id"),  # the ISA counts bytes
        ({"isa_receiver_id": "ERP*1"}, "isa_receiver_id"),  # holds the separator
        ({"element_separator": "~"}, "element_separator"),  # same as the terminator
        ({"component_separator": "A"}, "element_separator"),
        ({"segment_terminator": " "}, "element_separator"),
        ({"element_separator": "**"}, "element_separator"),
        ({"version": "005010", "repetition_separator": "*"}, "element_separator"),
        ({"element_separator": "."}, "element_separator"),  # every price holds one
        ({"gs08_suffix": "VI-CS"}, "gs08_suffix"),
    ],
)
def test_invalid_profile_is_400_invalid_partner_naming_the_field(world, change, field):
    """A profile the model's clean() or the envelope writer refuses is 400
    invalid_partner naming the field, and the saved profile stays as it was."""
    partner_for(world["a"].vendor)
    before = TradingPartner.objects.values().get(vendor=world["a"].vendor)
    resp = clients(world)["vendor_admin"].put(PARTNER, {**MINIMAL_PROFILE, **change}, format="json")
    assert_error(resp, 400, "invalid_partner", field)
    assert TradingPartner.objects.values().get(vendor=world["a"].vendor) == before


def test_profile_without_required_ids_is_400_required(world):
    """PUT without the ids answers 400 required naming the field; nothing is created."""
    body = {k: v for k, v in MINIMAL_PROFILE.items() if k != "isa_sender_id"}
    resp = clients(world)["vendor_admin"].put(PARTNER, body, format="json")
    assert_error(resp, 400, "required", "isa_sender_id")
    assert not TradingPartner.objects.exists()


# --- outbox ---------------------------------------------------------------------------------


@pytest.fixture
def outbox(world):
    """Both vendors have a profile; A released two orders, B one; A also has an
    inbound document, which the outbox must never list."""
    va, vb = world["a"], world["b"]
    partner_for(va.vendor)
    partner_for(vb.vendor)
    a_orders = [release(cw) for cw in va.customers]
    b_order = release(vb.customers[0])
    inbound = Document.objects.create(
        vendor=va.vendor,
        direction=Direction.IN,
        transaction_set="997",
        isa_control=9,
        gs_control=9,
        st_control="0009",
        payload=b"ISA...",
    )
    return {
        "a": list(Document.objects.filter(vendor=va.vendor, direction="out").order_by("cursor")),
        "b": list(Document.objects.filter(vendor=vb.vendor, direction="out").order_by("cursor")),
        "a_orders": a_orders,
        "b_order": b_order,
        "inbound": inbound,
    }


def test_outbox_lists_the_vendors_outbound_documents_in_cursor_order(world, outbox):
    """The ERP key sees its vendor's outbound documents, in cursor order, with control
    numbers, order and PO number; next_cursor is the last cursor returned."""
    resp = bearer(world["a"].erp_key).get(OUTBOX)
    assert resp.status_code == 200, resp.content
    body = resp.json()
    docs = outbox["a"]
    assert [r["id"] for r in body["results"]] == [d.pk for d in docs]
    first = body["results"][0]
    doc = docs[0]
    assert first == {
        "id": doc.pk,
        "cursor": doc.cursor,
        "transaction_set": "850",
        "purpose": "00",
        "isa_control": doc.isa_control,
        "gs_control": doc.gs_control,
        "st_control": doc.st_control,
        "order": doc.order_id,
        "po_number": doc.order.po_number,
        "created_at": first["created_at"],
        "delivered_at": None,
        "delivery_status": "",
    }
    assert body["next_cursor"] == docs[-1].cursor


def test_outbox_polling_is_stable_and_pages_by_cursor(world, outbox):
    """The same `after` returns the same documents; `limit` pages; past the end the
    answer is empty and next_cursor stays the `after` given."""
    erp = bearer(world["a"].erp_key)
    first = erp.get(OUTBOX, {"limit": 1}).json()
    assert first == erp.get(OUTBOX, {"limit": 1}).json()
    assert [r["id"] for r in first["results"]] == [outbox["a"][0].pk]
    second = erp.get(OUTBOX, {"after": first["next_cursor"], "limit": 1}).json()
    assert [r["id"] for r in second["results"]] == [outbox["a"][1].pk]
    assert second == erp.get(OUTBOX, {"after": first["next_cursor"], "limit": 1}).json()
    end = erp.get(OUTBOX, {"after": second["next_cursor"]}).json()
    assert end == {"results": [], "next_cursor": second["next_cursor"]}
    far = erp.get(OUTBOX, {"after": 10**12}).json()
    assert far == {"results": [], "next_cursor": 10**12}


def test_new_documents_appear_after_the_cursor_already_read(world, outbox):
    """A document written after a poll has a higher cursor: the next poll from the
    returned next_cursor gets it, and only it."""
    erp = bearer(world["a"].erp_key)
    cursor = erp.get(OUTBOX).json()["next_cursor"]
    from replenishment.services import order_cancel
    from tests.factories import vendor_scope

    order_cancel(scope=vendor_scope(world["a"].vendor), order_id=outbox["a_orders"][0])
    results = erp.get(OUTBOX, {"after": cursor}).json()["results"]
    assert [(r["order"], r["purpose"]) for r in results] == [(outbox["a_orders"][0], "01")]


@pytest.mark.parametrize(
    ("query", "code", "field"),
    [
        ({"after": "abc"}, "invalid_cursor", "after"),
        ({"after": "-1"}, "invalid_cursor", "after"),
        ({"after": "1.5"}, "invalid_cursor", "after"),
        ({"after": ""}, "invalid_cursor", "after"),
        ({"after": "9" * 25}, "invalid_cursor", "after"),
        ({"after": "٣"}, "invalid_cursor", "after"),  # a digit, but not ASCII
        ({"limit": "0"}, "invalid_limit", "limit"),
        ({"limit": "501"}, "invalid_limit", "limit"),
        ({"limit": "ten"}, "invalid_limit", "limit"),
    ],
)
def test_bad_cursor_or_limit_is_400_with_a_code(world, outbox, query, code, field):
    """A cursor that is not a whole number >= 0, or a limit outside 1..500, is 400."""
    assert_error(bearer(world["a"].erp_key).get(OUTBOX, query), 400, code, field)


def test_limit_bounds_are_inclusive(world, outbox):
    """limit=1 and limit=500 are both accepted."""
    erp = bearer(world["a"].erp_key)
    assert len(erp.get(OUTBOX, {"limit": 1}).json()["results"]) == 1
    assert len(erp.get(OUTBOX, {"limit": 500}).json()["results"]) == 2


def test_another_vendors_erp_never_sees_this_vendors_documents(world, outbox):
    """Vendor B's ERP key lists only B's documents, from any cursor."""
    erp_b = bearer(world["b"].erp_key)
    ids = [r["id"] for r in erp_b.get(OUTBOX, {"limit": 500}).json()["results"]]
    assert ids == [d.pk for d in outbox["b"]]
    assert erp_b.get(OUTBOX, {"after": outbox["b"][-1].cursor}).json()["results"] == []


def test_payload_is_the_exact_bytes_as_edi_x12(world, outbox):
    """The payload endpoint answers the stored bytes, unchanged, as application/edi-x12,
    whether the client asks for JSON, X12 or anything."""
    doc = outbox["a"][0]
    erp = bearer(world["a"].erp_key)
    for accept in ("*/*", "application/edi-x12", "application/json"):
        resp = erp.get(f"{OUTBOX}/{doc.pk}/payload", HTTP_ACCEPT=accept)
        assert resp.status_code == 200, (accept, resp.content)
        assert resp["Content-Type"] == "application/edi-x12"
        assert resp.content == bytes(doc.payload)


@pytest.mark.parametrize("target", ["other_vendor", "inbound", "missing", "absurd"])
def test_payload_and_delivery_of_a_foreign_or_missing_document_are_404(world, outbox, target):
    """Another vendor's document, an inbound document, an id that does not exist and
    one beyond any integer column: 404 not_found on payload and delivery, and nothing
    changes."""
    document_id = {
        "other_vendor": outbox["b"][0].pk,
        "inbound": outbox["inbound"].pk,
        "missing": 10**9,
        "absurd": 10**25,
    }[target]
    erp = bearer(world["a"].erp_key)
    assert_error(erp.get(f"{OUTBOX}/{document_id}/payload"), 404, "not_found")
    resp = erp.post(f"{OUTBOX}/{document_id}/delivery", {"status": "received"}, format="json")
    assert_error(resp, 404, "not_found")
    assert not Document.objects.exclude(delivery_status="").exists()
    # Accept: application/edi-x12 still gets the error as JSON.
    resp = erp.get(f"{OUTBOX}/{document_id}/payload", HTTP_ACCEPT="application/edi-x12")
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    "role", ["vendor_admin", "vendor_rep", "customer_manager", "customer_staff", "device"]
)
def test_outbox_is_for_the_erp_key_only(world, outbox, role):
    """People and scanners get 403 permission_denied on the list, the payload and the
    delivery report; no document is marked."""
    client = clients(world)[role]
    doc = outbox["a"][0]
    assert_error(client.get(OUTBOX), 403, "permission_denied")
    assert_error(client.get(f"{OUTBOX}/{doc.pk}/payload"), 403, "permission_denied")
    resp = client.post(f"{OUTBOX}/{doc.pk}/delivery", {"status": "received"}, format="json")
    assert_error(resp, 403, "permission_denied")
    assert Document.objects.get(pk=doc.pk).delivery_status == ""


def test_outbox_needs_authentication(world, outbox):
    """Without credentials the outbox answers 401 not_authenticated."""
    from rest_framework.test import APIClient

    anonymous = APIClient()
    doc = outbox["a"][0]
    assert_error(anonymous.get(OUTBOX), 401, "not_authenticated")
    assert_error(anonymous.get(f"{OUTBOX}/{doc.pk}/payload"), 401, "not_authenticated")
    resp = anonymous.post(f"{OUTBOX}/{doc.pk}/delivery", {"status": "received"}, format="json")
    assert_error(resp, 401, "not_authenticated")


def test_delivery_report_is_recorded_and_idempotent(world, outbox):
    """`received` records delivered_at and status; the same report again answers 200
    and changes nothing; the list shows the pickup."""
    doc = outbox["a"][0]
    erp = bearer(world["a"].erp_key)
    url = f"{OUTBOX}/{doc.pk}/delivery"
    resp = erp.post(url, {"status": "received"}, format="json")
    assert resp.status_code == 200, resp.content
    assert resp.json()["delivery_status"] == "received" and resp.json()["delivered_at"]
    stored = Document.objects.get(pk=doc.pk)
    again = erp.post(url, {"status": "received"}, format="json")
    assert again.status_code == 200 and again.json() == resp.json()
    assert Document.objects.get(pk=doc.pk).delivered_at == stored.delivered_at
    listed = erp.get(OUTBOX).json()["results"][0]
    assert listed["delivery_status"] == "received" and listed["delivered_at"]
    assert bytes(Document.objects.get(pk=doc.pk).payload) == bytes(doc.payload)


def test_failed_delivery_keeps_the_reason_and_a_later_receipt_replaces_it(world, outbox):
    """`failed` with a reason is recorded; the ERP's later `received` is its newer word
    and replaces it."""
    doc = outbox["a"][1]
    erp = bearer(world["a"].erp_key)
    url = f"{OUTBOX}/{doc.pk}/delivery"
    resp = erp.post(url, {"status": "failed", "reason": "mapper rejected N4"}, format="json")
    assert resp.status_code == 200, resp.content
    stored = Document.objects.get(pk=doc.pk)
    assert (stored.delivery_status, stored.delivery_reason) == ("failed", "mapper rejected N4")
    erp.post(url, {"status": "received"}, format="json")
    stored = Document.objects.get(pk=doc.pk)
    assert (stored.delivery_status, stored.delivery_reason) == ("received", "")


@pytest.mark.parametrize(
    "body",
    [{}, {"status": "delivered"}, {"status": "failed", "reason": "x" * 201}, {"status": None}],
)
def test_bad_delivery_report_is_400_and_changes_nothing(world, outbox, body):
    """A status other than received or failed, or an overlong reason, is 400."""
    doc = outbox["a"][0]
    resp = bearer(world["a"].erp_key).post(f"{OUTBOX}/{doc.pk}/delivery", body, format="json")
    assert resp.status_code == 400, resp.content
    assert resp.json()["error"]["field"] in ("status", "reason")
    assert Document.objects.get(pk=doc.pk).delivery_status == ""


def test_outbox_list_query_count_does_not_grow_with_documents(world):
    """Listing 5 or 50 documents costs the same number of queries."""
    va = world["a"]
    partner = partner_for(va.vendor)
    order_id = release(va.customers[0])
    order = Document.objects.get(order_id=order_id).order

    def add(count: int) -> None:
        for _ in range(count):
            document_write(
                partner=partner,
                set_id="850",
                segments=[Segment("BEG", ["00", "SA", order.po_number, "", "20250101"])],
                order=order,
                purpose="00",
            )

    erp = bearer(va.erp_key)
    erp.get(OUTBOX)  # warm up: whatever the first request of a key does once
    add(4)
    with CaptureQueriesContext(connection) as five:
        assert len(erp.get(OUTBOX).json()["results"]) == 5
    add(45)
    with CaptureQueriesContext(connection) as fifty:
        assert len(erp.get(OUTBOX).json()["results"]) == 50
    assert len(five) == len(fifty), [q["sql"] for q in fifty.captured_queries]
    assert not any("payload" in q["sql"] for q in fifty.captured_queries)
