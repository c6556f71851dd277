"""997s from the ERP mark our 850s accepted or rejected; a 997 is never answered."""

# ruff: noqa: F811  (the `released` fixture is imported by name and taken as an argument)

from __future__ import annotations

import pytest

from edi.models import Document, OrderEdiState
from tests.conftest import bearer
from tests.edi.vectors import fill
from tests.edi.vectors.fixtures import release, released  # noqa: F401

pytestmark = pytest.mark.django_db


def _ack(released, vector="997_accept.x12", document=None, **extra):
    document = document or released.po850
    values = {"ACK_GS": document.gs_control, "ACK_ST": document.st_control, **extra}
    return released.post(fill(vector, **values))


def test_an_accepting_997_marks_the_850_and_the_order(released):
    outbox_before = Document.objects.filter(direction="out").count()
    resp = _ack(released)
    assert resp.status_code == 200, resp.json()
    body = resp.json()
    assert body["sets"][0]["id"] == "997" and body["sets"][0]["status"] == "accepted"
    assert body["ack"] == {"id": None, "ids": []}  # never a 997 for a 997
    assert Document.objects.filter(direction="out").count() == outbox_before
    po850 = Document.objects.get(pk=released.po850.pk)
    assert po850.ack_status == "accepted" and po850.acked_at is not None and po850.ack_errors == []
    assert OrderEdiState.objects.get(order=released.order).ack_997 == "accepted"


def test_a_rejecting_997_keeps_its_ak3_ak4_details(released):
    resp = _ack(released, "997_errors.x12")
    assert resp.status_code == 200, resp.json()
    po850 = Document.objects.get(pk=released.po850.pk)
    assert po850.ack_status == "rejected"
    assert po850.ack_errors == [
        {
            "segment": "PO1",
            "position": 12,
            "loop": "PO1",
            "code": "8",
            "elements": [
                {"position": "2", "ref": "330", "code": "7", "value": "ABC"},
                {"position": "4", "ref": "212", "code": "6", "value": ""},
            ],
        },
        {"segment": "ZZZ", "position": 20, "loop": "", "code": "2", "elements": []},
        {"set_reasons": ["5"]},
    ]
    assert OrderEdiState.objects.get(order=released.order).ack_997 == "rejected"


def test_an_unknown_ak2_is_refused_and_marks_nothing(released):
    resp = _ack(released, ACK_ST="9999")
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert error["code"] == "unknown_document"
    assert (error["segment_tag"], error["segment_position"], error["element_position"]) == (
        "AK2",
        5,  # ISA, GS, ST, AK1, AK2
        2,
    )
    assert Document.objects.get(pk=released.po850.pk).ack_status == ""


def test_another_vendors_850_cannot_be_acknowledged(released):
    """Vendor B's ERP echoing vendor A's control numbers finds nothing of B's."""
    other = bearer(released.vb.erp_key).post(
        "/api/v1/edi/inbox",
        data=fill(
            "997_accept.x12", ACK_GS=released.po850.gs_control, ACK_ST=released.po850.st_control
        ),
        content_type="application/edi-x12",
    )
    assert other.status_code == 400
    assert other.json()["error"]["code"] == "unknown_document"
    assert Document.objects.get(pk=released.po850.pk).ack_status == ""


def test_the_997_for_a_cancel_850_marks_that_document(released):
    """An order released then cancelled has two 850s; AK2 picks the one it names."""
    from replenishment.services import order_cancel
    from tests.factories import vendor_scope

    order_cancel(scope=vendor_scope(released.va.vendor), order_id=released.order.pk)
    cancel = Document.objects.get(order=released.order, transaction_set="850", purpose="01")
    resp = _ack(released, document=cancel)
    assert resp.status_code == 200
    cancel.refresh_from_db()
    assert cancel.ack_status == "accepted"
    assert Document.objects.get(pk=released.po850.pk).ack_status == ""


def test_a_997_naming_an_850_of_a_second_order(released):
    second = release(released.va, customer=1)
    doc = Document.objects.get(order=second, transaction_set="850")
    assert _ack(released, document=doc).status_code == 200
    assert OrderEdiState.objects.get(order=second).ack_997 == "accepted"
    assert OrderEdiState.objects.get(order=released.order).ack_997 == ""
