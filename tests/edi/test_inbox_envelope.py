"""The inbox as a whole: who may post, envelopes it cannot read, duplicates,
several groups, and the 997s it owes."""

# ruff: noqa: F811  (the `released` fixture is imported by name and taken as an argument)

from __future__ import annotations

import pytest

from edi.models import Document, InboundInterchange
from replenishment.models import OrderEvent, OrderStatus
from tests.conftest import as_user, bearer
from tests.edi.vectors import ack_body, fill
from tests.edi.vectors.fixtures import INBOX, release, released  # noqa: F401

pytestmark = pytest.mark.django_db


def _mixed(released, **extra) -> bytes:
    return fill("855_mixed.x12", DELIVERY="20251205", **(released.values() | extra))


def _quantities(released) -> list[int]:
    return list(
        released.order.lines.order_by("line_number").values_list("quantity_ordered", flat=True)
    )


def test_a_segment_count_mismatch_refuses_the_interchange_naming_se(released):
    """SE01 says 4, the set has 5: 400 naming SE (position 7 from ISA), the raw kept
    as rejected, nothing applied and no 997 written."""
    payload = fill("855_bad_se_count.x12", **released.values())
    outbox = Document.objects.filter(direction="out").count()
    resp = released.post(payload)
    assert resp.status_code == 400
    assert resp.json()["error"] == {
        "code": "segment_count_mismatch",
        "detail": resp.json()["error"]["detail"],
        "field": None,
        "segment_position": 7,
        "segment_tag": "SE",
        "element_position": 1,
    }
    record = InboundInterchange.objects.get(pk=resp.json()["interchange"])
    assert record.status == "rejected" and bytes(record.raw) == payload
    assert record.errors[0]["code"] == "segment_count_mismatch"
    assert record.sender_id == "ERPRECEIVER" and record.isa_control is not None
    assert Document.objects.filter(direction="out").count() == outbox
    assert released.refresh().status == OrderStatus.RELEASED


def test_a_group_count_mismatch_names_ge(released):
    payload = _mixed(released).replace(b"GE*1*", b"GE*2*")
    resp = released.post(payload)
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert (error["code"], error["segment_tag"], error["element_position"]) == (
        "set_count_mismatch",
        "GE",
        1,
    )


@pytest.mark.parametrize("payload", [b"", b"hello", b"ISA*00*short~", "\u00e9t\u00e9".encode()])
def test_what_is_not_x12_is_refused_and_kept(released, payload):
    resp = released.post(payload)
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] in ("not_x12", "isa_invalid")
    assert bytes(InboundInterchange.objects.get(pk=resp.json()["interchange"]).raw) == payload


def test_the_same_interchange_twice_is_applied_once(released):
    payload = _mixed(released)
    first = released.post(payload)
    events = OrderEvent.objects.count()
    outbox = Document.objects.filter(direction="out").count()
    second = released.post(payload)
    assert second.status_code == 200
    assert second.json() == first.json() | {"duplicate": True}
    assert _quantities(released) == [50, 30, 50]
    assert OrderEvent.objects.count() == events
    assert Document.objects.filter(direction="out").count() == outbox  # no second 997
    assert InboundInterchange.objects.count() == 1


def test_a_failed_interchange_sent_again_is_a_duplicate_too(released):
    """The 997 already told the partner it failed: the same ISA13 again changes nothing."""
    payload = fill("855_bad_code.x12", **released.values())
    assert released.post(payload).status_code == 400
    again = released.post(payload)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["sets"][0]["status"] == "rejected"


def test_an_unreadable_envelope_may_be_sent_again_once_fixed(released):
    """Nothing was acknowledged for an envelope we could not read: the same ISA13 is new."""
    good = _mixed(released, ISA13=424242)
    broken = good.replace(b"SE*12*", b"SE*11*")
    assert released.post(broken).status_code == 400
    resp = released.post(good)
    assert resp.status_code == 200 and resp.json()["duplicate"] is False
    assert _quantities(released) == [50, 30, 50]


def test_two_groups_are_answered_by_two_997s(released):
    """An 855 group that applies and an 810 group with a bad date: 200, one set each way."""
    resp = released.post(
        fill("two_groups.x12", GS06=11, GS06B=12, INVOICE="INV-9", **released.values())
    )
    assert resp.status_code == 200, resp.json()
    body = resp.json()
    assert [(s["id"], s["status"]) for s in body["sets"]] == [
        ("855", "accepted"),
        ("810", "rejected"),
    ]
    assert body["sets"][1]["errors"][0]["code"] == "invalid_date"
    assert InboundInterchange.objects.get(pk=body["interchange"]).status == "partial"
    first, second = (ack_body(Document.objects.get(pk=pk)) for pk in body["ack"]["ids"])
    assert first[0] == ("AK1", ["PR", "11"]) and first[-1] == ("AK9", ["A", "1", "1", "1"])
    assert second[0] == ("AK1", ["IN", "12"]) and second[-1] == ("AK9", ["R", "1", "1", "0"])
    assert released.refresh().status == OrderStatus.ACKNOWLEDGED


def test_a_segment_we_do_not_use_is_noted_not_fatal(released):
    """An N9 in an 855: applied, and the 997 says AK5 E with AK3 code 2."""
    payload = (
        _mixed(released).replace(b"DTM*017", b"N9*ZZ*NOTE~\nDTM*017").replace(b"SE*12*", b"SE*13*")
    )
    resp = released.post(payload)
    assert resp.status_code == 200, resp.json()
    (result,) = resp.json()["sets"]
    assert result["status"] == "accepted"
    assert result["errors"][0]["code"] == "unexpected_segment"
    ack = ack_body(Document.objects.get(pk=resp.json()["ack"]["id"]))
    assert ("AK3", ["N9", "3", "", "2"]) in ack
    assert ("AK5", ["E", "5"]) in ack and ack[-1] == ("AK9", ["E", "1", "1", "1"])
    assert _quantities(released) == [50, 30, 50]


def test_a_set_we_do_not_receive_is_refused_as_not_supported(released):
    payload = _mixed(released).replace(b"GS*PR*", b"GS*PO*").replace(b"ST*855*", b"ST*850*")
    resp = released.post(payload)
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert (error["code"], error["segment_tag"], error["segment_position"]) == (
        "unsupported_set",
        "ST",
        3,
    )
    ack = ack_body(Document.objects.get(pk=resp.json()["ack"]["id"]))
    assert ("AK5", ["R", "1"]) in ack


def test_a_set_in_the_wrong_group_is_refused(released):
    resp = released.post(_mixed(released).replace(b"GS*PR*", b"GS*IN*"))
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "wrong_group"


def test_an_unsupported_version_refuses_the_group(released):
    resp = released.post(_mixed(released).replace(b"*X*004010~", b"*X*003040~"))
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "unsupported_version"
    ack = ack_body(Document.objects.get(pk=resp.json()["ack"]["id"]))
    assert ack[-1] == ("AK9", ["R", "1", "1", "0", "2"])


def test_an_interchange_from_another_sender_is_refused(released):
    resp = released.post(_mixed(released, ISA06="SOMEONEELSE"))
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert (error["code"], error["segment_tag"], error["element_position"]) == (
        "unknown_sender",
        "ISA",
        6,
    )
    resp = released.post(_mixed(released, ISA08="NOTUS"))
    assert resp.json()["error"]["code"] == "wrong_receiver"
    assert _quantities(released) == [50, 50, 50]


def test_without_a_trading_partner_no_997_is_written(world):
    """Vendor B has no partner profile: its ERP's 855 applies, nothing goes to the outbox."""
    vb = world["b"]
    order = release(vb)
    values = {"PO": order.po_number, "DELIVERY": "20251205"}
    for line in order.lines.select_related("item"):
        values[f"SKU{line.line_number}"] = line.item.sku
    resp = bearer(vb.erp_key).post(
        INBOX, data=fill("855_mixed.x12", **values), content_type="text/plain"
    )
    assert resp.status_code == 200, resp.json()
    assert resp.json()["ack"] == {"id": None, "ids": []}
    assert not Document.objects.filter(direction="out").exists()
    order.refresh_from_db()
    assert order.status == OrderStatus.ACKNOWLEDGED


@pytest.mark.parametrize(
    "content_type",
    ["application/edi-x12", "text/plain", "application/octet-stream", "application/json"],
)
def test_any_content_type_is_read_as_raw_bytes(released, content_type):
    resp = released.erp.post(INBOX, data=_mixed(released), content_type=content_type)
    assert resp.status_code == 200, resp.json()


def test_who_may_post(released, api):
    payload = _mixed(released)
    assert api.post(INBOX, data=payload, content_type="text/plain").status_code == 401
    manager = as_user(released.cw.manager)
    assert manager.post(INBOX, data=payload, content_type="text/plain").status_code == 403
    admin = as_user(released.va.admin)
    assert admin.post(INBOX, data=payload, content_type="text/plain").status_code == 403
    assert released.erp.get(INBOX).status_code in (403, 405)
    assert InboundInterchange.objects.count() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_interchange_posted_at_once_is_applied_once(released):
    """Two posts of one interchange racing: the unique constraint makes one wait for
    the other, which it then reports as a duplicate. The quantity is cut once."""
    import threading

    from django.db import connection

    payload = _mixed(released)
    barrier = threading.Barrier(3)
    answers: list[tuple[int, bool]] = []

    def post() -> None:
        try:
            client = bearer(released.va.erp_key)
            barrier.wait(timeout=10)
            resp = client.post(INBOX, data=payload, content_type="application/edi-x12")
            answers.append((resp.status_code, resp.json()["duplicate"]))
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(answers) == [(200, False), (200, True), (200, True)]
    assert _quantities(released) == [50, 30, 50]
    assert OrderEvent.objects.filter(note="855 IQ").count() == 1
    assert InboundInterchange.objects.count() == 1
    assert Document.objects.filter(direction="out", transaction_set="997").count() == 1
