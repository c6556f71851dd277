"""Hostile bytes in an interchange: NUL in an element, bytes after IEA, an unknown
ISA15. Each is answered 400 (or a set rejected in a 997), never a 500, and what was
received is kept as bytes."""

# ruff: noqa: F811  (the `released` fixture is imported by name and taken as an argument)

from __future__ import annotations

import json

import pytest

from edi.models import Document, InboundInterchange
from replenishment.models import OrderStatus
from tests.edi.vectors import fill
from tests.edi.vectors.fixtures import released  # noqa: F401

pytestmark = pytest.mark.django_db


def _mixed(released) -> bytes:
    return fill("855_mixed.x12", DELIVERY="20251205", **released.values())


def _kept(resp) -> InboundInterchange:
    return InboundInterchange.objects.get(pk=resp.json()["interchange"])


def test_nul_in_an_element_rejects_the_set_with_a_997_and_keeps_the_bytes(released):
    """A NUL inside BAK03 is an invalid character: the set is refused (997 R, AK4 code 6),
    nothing is applied, the raw bytes are kept, and the stored answer is valid JSON."""
    payload = _mixed(released).replace(b"BAK*00*AC*", b"BAK*00*AC*\x00")
    outbox = Document.objects.filter(direction="out", transaction_set="997").count()
    resp = released.post(payload)
    assert resp.status_code == 400, resp.content[:300]
    assert resp.json()["error"]["code"] == "invalid_character"
    assert resp.json()["sets"][0]["status"] == "rejected"
    record = _kept(resp)
    assert bytes(record.raw) == payload
    json.dumps(record.result)  # stored and readable back
    assert "\x00" not in json.dumps(record.errors, ensure_ascii=False)
    ack = Document.objects.filter(direction="out", transaction_set="997")
    assert ack.count() == outbox + 1
    assert b"AK5*R" in bytes(ack.order_by("-pk").first().payload)
    assert released.refresh().status == OrderStatus.RELEASED


@pytest.mark.parametrize("tail", [b"\x00", b"\x00\x01garbage", b"junk after\x00", b"\xff\xfe"])
def test_bytes_after_iea_refuse_the_interchange_and_keep_the_bytes(released, tail):
    payload = _mixed(released) + tail
    resp = released.post(payload)
    assert resp.status_code == 400, resp.content[:300]
    assert resp.json()["error"]["code"] in ("unexpected_segment", "invalid_segment")
    assert bytes(_kept(resp).raw) == payload
    assert released.refresh().status == OrderStatus.RELEASED


def test_nul_in_the_isa_is_refused_not_a_500(released):
    payload = _mixed(released)
    payload = payload[:40] + b"\x00" + payload[41:]
    resp = released.post(payload)
    assert resp.status_code == 400, resp.content[:300]
    assert bytes(_kept(resp).raw) == payload


@pytest.mark.parametrize("usage", [b"X", b" ", b"\x00"])
def test_isa15_other_than_p_or_t_is_refused(released, usage):
    """ISA15 says production (P) or test (T); anything else is not applied."""
    payload = _mixed(released)
    assert payload[102:103] == b"T"
    payload = payload[:102] + usage + payload[103:]
    resp = released.post(payload)
    assert resp.status_code == 400, resp.content[:300]
    error = resp.json()["error"]
    assert (error["code"], error["segment_tag"], error["element_position"]) == (
        "isa_invalid",
        "ISA",
        15,
    )
    assert released.refresh().status == OrderStatus.RELEASED
