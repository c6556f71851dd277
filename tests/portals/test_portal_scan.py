"""The scan page and its JSON endpoint: the scan API's rules for people signed in.

Each event is judged alone (accepted, duplicate, rejected with a code), an event id
sent twice moves stock once, the scope is the one customer of the URL, the person is
recorded on the event, and no body, however bad, gets anything but a JSON answer.
"""

from __future__ import annotations

import json
import uuid

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cmi.models import Membership
from stocking.models import Bin, LedgerEntry, ScanEvent
from tests.portals.helpers import grow, signed_in, url


def event(code: str, kind: str = "issue", quantity: int | None = 1, **extra) -> dict:
    made = {
        "event_id": str(uuid.uuid4()),
        "kind": kind,
        "code": code,
        "occurred_at": timezone.now().isoformat(),
    }
    if quantity is not None:
        made["quantity"] = quantity
    return made | extra


def post(client: Client, cw, body, **headers):
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return client.post(
        url("scan_events", cw), data=data, content_type="application/json", **headers
    )


def on_hand(found: Bin) -> int:
    return Bin.objects.get(pk=found.pk).on_hand


# --- the page ----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["manager", "staff", "admin", "rep"])
def test_scan_page_opens_for_customer_people_and_vendor_staff(
    a, who, django_assert_max_num_queries
):
    """Customer managers and staff, and vendor staff drilling in, get the page: the kind
    switch, the code and quantity inputs, the live region, and the endpoint to post to."""
    cw = a.customers[0]
    user = getattr(cw, who) if who in ("manager", "staff") else getattr(a, who)
    client = signed_in(user)
    with django_assert_max_num_queries(6):
        resp = client.get(url("scan", cw))
    assert resp.status_code == 200
    html = resp.content.decode()
    for needle in (
        f'data-endpoint="{url("scan_events", cw)}"',
        'id="scan-code"',
        'inputmode="numeric"',
        'aria-live="polite"',
        "<noscript>",
        'value="receive"',
        'value="count"',
        "portals/scan.js",
    ):
        assert needle in html, needle
    assert f"cmi-scan-queue:{user.pk}:{cw.customer.pk}" in html


def test_anonymous_visitors_get_sign_in_and_the_endpoint_answers_401_json(a):
    """The page sends strangers to the login form; the endpoint says 401 in JSON."""
    cw = a.customers[0]
    resp = Client().get(url("scan", cw))
    assert resp.status_code == 302 and resp["Location"].startswith("/login/")
    resp = post(Client(), cw, {"scans": [event(cw.bins[0].label)]})
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "not_authenticated"


def test_another_vendors_customer_is_404_on_page_and_endpoint(a, b):
    """Vendor B's customer id, for vendor A's admin and A's customer staff: 404, and the
    endpoint's 404 is JSON. Nothing is stored."""
    foreign = b.customers[0]
    for user in (a.admin, a.customers[0].staff):
        client = signed_in(user)
        assert client.get(url("scan", foreign)).status_code == 404
        resp = post(client, foreign, {"scans": [event(foreign.bins[0].label)]})
        assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found"
    assert not ScanEvent.objects.exists()


def test_the_other_customers_id_is_404_for_customer_users(a):
    """Customer 0's manager and staff cannot open or post to customer 1's scan page."""
    c0, c1 = a.customers
    for user in (c0.manager, c0.staff):
        client = signed_in(user)
        assert client.get(url("scan", c1)).status_code == 404
        resp = post(client, c1, {"scans": [event(c1.bins[0].label)]})
        assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found"
    assert on_hand(c1.bins[0]) == 30


def test_a_rep_sees_only_assigned_customers(a):
    """A rep assigned to customer 1 gets 404 on customer 0's page and endpoint."""
    c0, c1 = a.customers
    Membership.objects.get(user=a.rep).assigned_customers.set([c1.customer])
    client = signed_in(a.rep)
    assert client.get(url("scan", c0)).status_code == 404
    assert client.get(url("scan", c1)).status_code == 200
    resp = post(client, c0, {"scans": [event(c0.bins[0].label)]})
    assert resp.status_code == 404
    assert on_hand(c0.bins[0]) == 30


def test_the_endpoint_takes_only_post(a):
    """A GET of the JSON endpoint is a JSON 405, not an HTML page."""
    cw = a.customers[0]
    resp = signed_in(cw.staff).get(url("scan_events", cw))
    assert resp.status_code == 405 and resp.json()["error"]["code"] == "method_not_allowed"


# --- the events ----------------------------------------------------------------------------


def test_each_event_is_judged_alone_in_one_batch(a):
    """Accepted, a duplicate inside the batch, a malformed event and an unknown code: each
    gets its own result, and only the good ones move stock."""
    cw = a.customers[0]
    b0, b1, _ = cw.bins
    first = event(b0.label, "issue", 3)
    batch = [
        first,
        dict(first),  # the same id again
        event(b1.label, "receive", 5),
        {"event_id": str(uuid.uuid4()), "kind": "issue", "quantity": 2},  # no code
        event("NO-SUCH-LABEL", "issue", 1),
        "not an object",
        event(b1.label, "count", None),  # a count needs its quantity
    ]
    resp = post(signed_in(cw.staff), cw, {"scans": batch})
    assert resp.status_code == 200
    body = resp.json()
    statuses = [r["status"] for r in body["results"]]
    assert statuses == [
        "accepted",
        "duplicate",
        "accepted",
        "rejected",
        "rejected",
        "rejected",
        "rejected",
    ]
    codes = [r["error"]["code"] for r in body["results"] if r["error"]]
    assert codes == ["missing_code", "unknown_code", "invalid_event", "missing_quantity"]
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (2, 1, 4)
    assert body["results"][0]["event_id"] == first["event_id"]
    assert (on_hand(b0), on_hand(b1)) == (27, 35)
    assert ScanEvent.objects.count() == 2


def test_results_name_the_bin_and_its_on_hand_now(a):
    """An accepted event says which item, location and bin it landed on, and the on-hand
    after it; a rejected one carries no bin."""
    cw = a.customers[0]
    b0 = cw.bins[0]
    resp = post(signed_in(cw.staff), cw, {"scans": [event(b0.label, "issue", 4), event("NOPE")]})
    good, bad = resp.json()["results"]
    assert good["bin"] == {
        "label": b0.label,
        "sku": b0.item.sku,
        "description": b0.item.description,
        "location": cw.shelf.code,
        "on_hand": 26,
    }
    assert bad["bin"] is None


def test_resending_the_same_event_moves_stock_once(a):
    """The browser resends after a lost answer: the second post says duplicate, on-hand
    and the ledger changed once."""
    cw = a.customers[0]
    b0 = cw.bins[0]
    client = signed_in(cw.staff)
    once = event(b0.label, "issue", 3)
    assert post(client, cw, {"scans": [once]}).json()["results"][0]["status"] == "accepted"
    again = post(client, cw, {"scans": [once]}).json()["results"][0]
    assert again["status"] == "duplicate"
    assert again["bin"]["on_hand"] == 27
    assert on_hand(b0) == 27
    assert ScanEvent.objects.filter(event_id=once["event_id"]).count() == 1
    assert LedgerEntry.objects.filter(bin_id=b0.pk, kind="issue").count() == 1


def test_the_scan_records_the_signed_in_person_not_a_device(a):
    """ScanEvent.user and the ledger row name the person; there is no device."""
    cw = a.customers[0]
    b0 = cw.bins[0]
    sent = event(b0.label, "receive", 2)
    post(signed_in(cw.staff), cw, {"scans": [sent]})
    stored = ScanEvent.objects.get(event_id=sent["event_id"])
    assert (stored.user_id, stored.device_id, stored.customer_id) == (
        cw.staff.pk,
        None,
        cw.customer.pk,
    )
    entry = LedgerEntry.objects.get(scan_event=stored)
    assert (entry.user_id, entry.device_id, entry.delta) == (cw.staff.pk, None, 2)


def test_vendor_staff_scan_for_the_customer_of_the_url(a):
    """A vendor admin on customer 0's page records a scan on customer 0's bin, in the
    admin's name."""
    cw = a.customers[0]
    sent = event(cw.bins[1].label, "count", 12)
    resp = post(signed_in(a.admin), cw, {"scans": [sent]})
    assert resp.json()["accepted"] == 1
    assert on_hand(cw.bins[1]) == 12
    assert ScanEvent.objects.get(event_id=sent["event_id"]).user_id == a.admin.pk


@pytest.mark.parametrize("who", ["staff", "admin"])
def test_another_customers_bin_label_is_not_found_here(a, who):
    """On customer 0's page a label of customer 1's bin is unknown, also for the vendor
    admin who may see both customers: the scope is narrowed to the URL's customer."""
    c0, c1 = a.customers
    user = c0.staff if who == "staff" else a.admin
    resp = post(signed_in(user), c0, {"scans": [event(c1.bins[0].label, "issue", 5)]})
    (result,) = resp.json()["results"]
    assert result["status"] == "rejected" and result["error"]["code"] == "unknown_code"
    assert on_hand(c1.bins[0]) == 30
    assert not ScanEvent.objects.exists()


def test_an_item_code_with_its_location_finds_the_bin(a):
    """The item's SKU alone names no bin; with the shelf's location code it does."""
    cw = a.customers[0]
    b0 = cw.bins[0]
    resp = post(
        signed_in(cw.staff),
        cw,
        {
            "scans": [
                event(b0.item.sku, "issue", 1),
                event(b0.item.sku, "issue", 1, location=cw.shelf.code),
            ]
        },
    )
    first, second = resp.json()["results"]
    assert first["error"]["code"] == "missing_location"
    assert second["status"] == "accepted" and second["bin"]["label"] == b0.label
    assert on_hand(b0) == 29


# --- CSRF and bad bodies ---------------------------------------------------------------------


def test_csrf_is_enforced_and_the_refusal_is_json(a):
    """Without the X-CSRFToken header the post is a 403 JSON and changes nothing; with
    the page's token it is accepted."""
    cw = a.customers[0]
    client = Client(enforce_csrf_checks=True)
    client.force_login(cw.staff)
    body = {"scans": [event(cw.bins[0].label, "issue", 1)]}
    resp = post(client, cw, body)
    assert resp.status_code == 403
    assert resp["Content-Type"] == "application/json"
    assert resp.json()["error"]["code"] == "csrf_failed"
    assert on_hand(cw.bins[0]) == 30

    page = client.get(url("scan", cw))
    token = page.context["csrf_token"]
    resp = post(client, cw, body, HTTP_X_CSRFTOKEN=str(token))
    assert resp.status_code == 200 and resp.json()["accepted"] == 1
    assert on_hand(cw.bins[0]) == 29


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"not json at all", 400, "not_json"),
        (b"", 400, "not_json"),
        (b"\xff\xfe", 400, "not_json"),
        (b'{"scans": NaN}', 400, "not_json"),
        (b"[1, 2]", 400, "missing_scans"),
        (b'{"events": []}', 400, "missing_scans"),
        (b'{"scans": {"a": 1}}', 400, "invalid_scans"),
        (b'{"scans": "x"}', 400, "invalid_scans"),
        (b'{"scans": []}', 400, "empty_batch"),
        (b"[" * 100_000, 400, "not_json"),
    ],
)
def test_garbage_bodies_get_a_json_error_with_a_code(a, body, status, code):
    """Whatever the body, the answer is JSON with a stable code, never a 500."""
    cw = a.customers[0]
    resp = post(signed_in(cw.staff), cw, body)
    assert resp.status_code == status
    assert resp["Content-Type"] == "application/json"
    assert resp.json()["error"]["code"] == code
    assert not ScanEvent.objects.exists()


def test_more_events_than_the_api_takes_are_refused_whole(a, settings):
    """Above SCAN_BATCH_MAX the batch is refused as the API refuses it (413,
    batch_too_large) and nothing is stored; at the limit it is taken."""
    settings.SCAN_BATCH_MAX = 5
    cw = a.customers[0]
    client = signed_in(cw.staff)
    resp = post(client, cw, {"scans": [event(cw.bins[0].label) for _ in range(6)]})
    assert resp.status_code == 413
    assert resp.json()["error"] == {
        "code": "batch_too_large",
        "detail": "At most 5 scans per batch.",
        "field": "scans",
    }
    assert not ScanEvent.objects.exists()
    resp = post(client, cw, {"scans": [event(cw.bins[0].label) for _ in range(5)]})
    assert resp.status_code == 200 and resp.json()["accepted"] == 5


def test_a_body_above_the_upload_limit_is_a_json_413(a, settings):
    """Django's own body limit turns into the API's code, not an HTML 400 page."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    cw = a.customers[0]
    resp = post(signed_in(cw.staff), cw, {"scans": [event("X" * 60) for _ in range(20)]})
    assert resp.status_code == 413
    assert resp.json()["error"]["code"] == "batch_too_large"


# --- size and the hand-over to replenishment ----------------------------------------------------


def _batch_queries(client, cw, bins) -> int:
    batch = {"scans": [event(found.label, "issue", 1) for found in bins]}
    with CaptureQueriesContext(connection) as queries:
        resp = post(client, cw, batch)
    assert resp.status_code == 200 and resp.json()["accepted"] == len(bins)
    return len(queries)


def test_query_count_of_a_batch_does_not_grow_with_its_size(a):
    """2 events or 40 on as many bins: the same number of queries."""
    cw = a.customers[0]
    bins = grow(a, cw, bins=42)
    client = signed_in(cw.staff)
    small = _batch_queries(client, cw, bins[:2])
    large = _batch_queries(client, cw, bins[2:42])
    assert small == large, f"{small} queries for 2 events, {large} for 40"
    assert small <= 13


def test_browser_scans_hand_the_touched_bins_to_replenishment(
    a, celery_test_queue, django_capture_on_commit_callbacks
):
    """After commit the same evaluate_bins task as for a scanner's post is published to
    the broker for the touched bin, so a bin that fell below min gets its order."""
    from cmi.celery import app
    from tests.conftest import queue_purge

    queue = celery_test_queue["evaluate_queue"]
    queue_purge(queue)
    cw = a.customers[0]
    b0 = cw.bins[0]
    with django_capture_on_commit_callbacks(execute=True):
        resp = post(signed_in(cw.staff), cw, {"scans": [event(b0.label, "issue", 25)]})
    assert resp.json()["accepted"] == 1
    with app.connection_for_write() as conn:
        message = conn.default_channel.basic_get(queue, no_ack=True)
    assert message is not None
    assert message.headers["task"] == "replenishment.tasks.evaluate_bins"
    args, _, _ = message.decode()
    assert args == [a.vendor.pk, [b0.pk]]
