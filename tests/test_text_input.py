"""Free text from clients: each event's text judged alone, and no body can cause a 500.

Lone surrogates, NUL and other control characters and over-long values in any text
field of a scan reject that event with a stable code; the other events are stored.
A surrogate where no single event can take the blame refuses the request (400).
"""

from __future__ import annotations

import json

import pytest

from stocking.models import Bin, LedgerEntry, ScanEvent
from tests.conftest import bearer, scan

URL = "/api/v1/scans"


def raw_post(client, text: str, url: str = URL):
    """Post JSON text as written (json.dumps escapes a lone surrogate as \\ud800)."""
    return client.post(url, text.encode("utf-8"), content_type="application/json")


def batch_text(events: list[dict]) -> str:
    return json.dumps({"scans": events})


@pytest.fixture
def cw(world):
    return world["a"].customers[0]


BAD_TEXT = [
    ("code", "\ud800", "text_invalid"),
    ("code", "AB\udfffC", "text_invalid"),
    ("code", "A\x00B", "text_invalid"),
    ("code", "A\x7fB", "text_invalid"),
    ("code", "A\x85B", "text_invalid"),
    ("code", "A" * 65, "text_too_long"),
    ("location", "\ud800", "text_invalid"),
    ("location", "SHELF\x00", "text_invalid"),
    ("location", "L" * 33, "text_too_long"),
    ("event_id", "\ud800", "text_invalid"),
    ("event_id", "\x00" * 36, "text_invalid"),
    ("occurred_at", "2026-01-01T00:00:00\ud800", "text_invalid"),
    ("kind", "issue\ud800", "text_invalid"),
]


@pytest.mark.parametrize(("field", "value", "code"), BAD_TEXT)
def test_bad_text_in_one_event_rejects_it_alone(cw, field, value, code):
    """Five good events and one with bad text: 200, the bad one rejected with its code,
    the five stored."""
    label = cw.bins[0].label
    good = [scan("issue", label, quantity=1) for _ in range(5)]
    bad = scan("issue", label, quantity=1)
    bad[field] = value
    if field == "location":
        bad["code"] = cw.bins[0].item.sku
    resp = raw_post(bearer(cw.token), batch_text([*good[:2], bad, *good[2:]]))
    assert resp.status_code == 200, resp.content[:300]
    body = resp.json()
    assert (body["accepted"], body["rejected"]) == (5, 1), body
    result = body["results"][2]
    assert (result["status"], result["error"]["code"]) == ("rejected", code)
    assert field in result["error"]["detail"]
    assert ScanEvent.objects.count() == 5
    assert Bin.objects.get(pk=cw.bins[0].pk).on_hand == 25


def test_unknown_keys_with_surrogates_do_not_matter_inside_an_event(cw):
    """An event is judged on the fields it is read for; a junk key does not sink it."""
    event = scan("issue", cw.bins[0].label, quantity=1)
    event["\ud800note"] = "\ud800"
    resp = raw_post(bearer(cw.token), batch_text([event]))
    assert resp.status_code == 200
    assert resp.json()["accepted"] == 1


@pytest.mark.parametrize(
    "text",
    [
        '{"scans": [], "\\ud800": 1}',
        '{"\\ud800": [1]}',
        '{"scans": [{"event_id": "x"}], "note": "\\udc00"}',
    ],
)
def test_surrogate_outside_the_events_refuses_the_request(cw, text):
    resp = raw_post(bearer(cw.token), text)
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "text_invalid"
    assert ScanEvent.objects.count() == 0


def test_portal_scan_endpoint_judges_bad_text_per_event(cw, client):
    client.force_login(cw.manager)
    good = scan("issue", cw.bins[0].label, quantity=1)
    bad = scan("issue", "\ud800", quantity=1)
    bad["event_id"] = "\ud800"
    resp = raw_post(client, batch_text([good, bad]), f"/customers/{cw.customer.pk}/scan/events/")
    assert resp.status_code == 200, resp.content[:300]
    body = resp.json()
    assert [r["status"] for r in body["results"]] == ["accepted", "rejected"]
    assert body["results"][1]["event_id"] is None
    assert LedgerEntry.objects.filter(kind="issue").count() == 1


@pytest.mark.parametrize(
    ("url", "token_kind"),
    [
        ("/api/v1/sites/", "vendor_admin"),
        ("/api/v1/items/", "vendor_admin"),
        ("/api/v1/auth/token", None),
    ],
)
def test_surrogates_in_any_json_body_are_a_400_not_a_500(world, url, token_kind):
    from tests.conftest import as_user

    va = world["a"]
    client = as_user(va.admin) if token_kind else bearer("x")
    if token_kind is None:
        from rest_framework.test import APIClient

        client = APIClient()
    text = '{"customer": 1, "code": "\\ud800", "name": "\\ud800", "sku": "\\ud800", "username": "\\ud800", "password": "\\ud800", "\\ud800": "\\ud800"}'
    resp = raw_post(client, text, url)
    assert resp.status_code == 400, resp.content[:300]
    assert resp.json()["error"]["code"] == "text_invalid"
