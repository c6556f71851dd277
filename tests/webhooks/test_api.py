"""/api/v1/webhooks/...: who may manage endpoints, what they see, and that another
vendor's or customer's endpoint or delivery is a 404 on every route."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.conftest import as_user
from tests.webhooks.conftest import emit_bin_at_zero
from webhooks import outbound, services
from webhooks.listeners import on_event
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db

BASE = "/api/v1/webhooks/endpoints"
PUBLIC = "https://93.184.215.14/hook"


def make_endpoint(vw, customer_index: int | None = None, url: str = PUBLIC) -> WebhookEndpoint:
    customer_id = None if customer_index is None else vw.customers[customer_index].customer.pk
    return services.endpoint_create(scope=vw.scope, url=url, customer_id=customer_id)


def delivered(vw, endpoint: WebhookEndpoint, n: int, attempts: int = 2) -> list[WebhookDelivery]:
    """n failed deliveries of the endpoint, each with `attempts` attempts in its log."""
    made = []
    index = next(
        (i for i, cw in enumerate(vw.customers) if cw.customer.pk == endpoint.customer_id), 0
    )
    for _ in range(n):
        event = emit_bin_at_zero(vw, index)
        on_event(event)
        d = WebhookDelivery.objects.get(event=event, endpoint=endpoint)
        for _ in range(attempts):
            WebhookDelivery.objects.filter(pk=d.pk).update(next_attempt_at=timezone.now())
            services.delivery_claim(vendor_id=vw.vendor.pk, delivery_id=d.pk)
            services.delivery_record(
                delivery_id=d.pk, at=timezone.now(), outcome=outbound.Outcome(503, 40, "HTTP 503")
            )
        WebhookDelivery.objects.filter(pk=d.pk).update(status=DeliveryStatus.FAILED)
        made.append(d)
    return made


def test_a_vendor_admin_registers_reads_changes_and_deletes_an_endpoint(world):
    client = as_user(world["a"].admin)
    resp = client.post(
        BASE, {"url": PUBLIC, "kinds": ["bin.at_zero", "order.released"]}, format="json"
    )
    assert resp.status_code == 201, resp.json()
    body = resp.json()
    assert body["secret"].startswith("whsec_") and body["customer"] is None
    pk = body["id"]
    listed = client.get(BASE).json()
    assert [e["id"] for e in listed["results"]] == [pk] and "secret" not in listed["results"][0]
    assert client.get(f"{BASE}/{pk}").json()["secret"] == body["secret"]
    resp = client.patch(f"{BASE}/{pk}", {"kinds": [], "enabled": False}, format="json")
    assert resp.json()["kinds"] == [] and resp.json()["enabled"] is False
    rotated = client.post(f"{BASE}/{pk}/rotate-secret").json()["secret"]
    assert rotated != body["secret"]
    assert client.post(f"{BASE}/{pk}/test").json()["error"]["code"] == "endpoint_disabled"
    client.patch(f"{BASE}/{pk}", {"enabled": True}, format="json")
    resp = client.post(f"{BASE}/{pk}/test")
    assert resp.status_code == 202 and resp.json()["msg_id"].startswith("msg_")
    assert client.post(f"{BASE}/{pk}/replay-failed").json() == {"queued": 0}
    assert client.delete(f"{BASE}/{pk}").status_code == 204
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"url": "http://127.0.0.1/x"}, "url_private_address", "url"),
        ({"url": "http://[::1]/x"}, "url_private_address", "url"),
        ({"url": "http://10.0.0.1/x"}, "url_private_address", "url"),
        ({"url": "http://169.254.169.254/x"}, "url_private_address", "url"),
        ({"url": "ftp://93.184.215.14/x"}, "url_scheme", "url"),
        ({"url": PUBLIC, "kinds": ["bin.exploded"]}, "invalid_choice", "kinds"),
        ({}, "required", "url"),
    ],
)
def test_bad_input_is_a_400_with_a_stable_code(world, body, code, field):
    resp = as_user(world["a"].admin).post(BASE, body, format="json")
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == code
    assert (resp.json()["error"]["field"] or "").startswith(field)


def test_a_customer_manager_manages_only_their_customers_endpoints(world):
    va = world["a"]
    mine, theirs = va.customers[0], va.customers[1]
    vendor_wide = make_endpoint(va)
    other_customer = make_endpoint(va, 1)
    client = as_user(mine.manager)
    resp = client.post(BASE, {"url": PUBLIC}, format="json")
    assert resp.status_code == 201 and resp.json()["customer"] == mine.customer.pk
    resp = client.post(BASE, {"url": PUBLIC, "customer": theirs.customer.pk}, format="json")
    assert resp.status_code == 404
    listed = {e["id"] for e in client.get(BASE).json()["results"]}
    assert vendor_wide.pk not in listed and other_customer.pk not in listed and len(listed) == 1


@pytest.mark.parametrize("role", ["rep", "staff"])
def test_reps_and_customer_staff_may_not_touch_webhooks(world, role):
    va = world["a"]
    user = va.rep if role == "rep" else va.customers[0].staff
    client = as_user(user)
    assert client.get(BASE).status_code == 403
    assert client.post(BASE, {"url": PUBLIC}, format="json").status_code == 403


def test_an_admin_may_not_name_another_vendors_customer(world):
    resp = as_user(world["a"].admin).post(
        BASE, {"url": PUBLIC, "customer": world["b"].customers[0].customer.pk}, format="json"
    )
    assert resp.status_code == 404


ROUTES = [
    ("get", "{e}"),
    ("patch", "{e}"),
    ("delete", "{e}"),
    ("post", "{e}/test"),
    ("post", "{e}/replay-failed"),
    ("post", "{e}/rotate-secret"),
    ("get", "{e}/deliveries"),
    ("get", "{e}/deliveries/{d}"),
    ("post", "{e}/deliveries/{d}/replay"),
]


@pytest.mark.parametrize(("method", "route"), ROUTES)
@pytest.mark.parametrize("who", ["other_vendor_admin", "other_customer_manager"])
def test_another_tenants_endpoint_and_delivery_are_404_and_unchanged(world, method, route, who):
    """An endpoint of customer 1 of vendor A, seen by vendor B's admin or by the manager
    of customer 0: not found, on every route, and nothing changes."""
    va = world["a"]
    endpoint = make_endpoint(va, 1)
    [delivery] = delivered(va, endpoint, 1)
    user = world["b"].admin if who == "other_vendor_admin" else va.customers[0].manager
    before = (
        WebhookEndpoint.objects.values().get(pk=endpoint.pk),
        WebhookDelivery.objects.values().get(pk=delivery.pk),
    )
    path = f"{BASE}/" + route.format(e=endpoint.pk, d=delivery.pk)
    resp = getattr(as_user(user), method)(path, {}, format="json")
    assert resp.status_code == 404, (path, resp.status_code)
    assert resp.json()["error"]["code"] == "not_found"
    after = (
        WebhookEndpoint.objects.values().get(pk=endpoint.pk),
        WebhookDelivery.objects.values().get(pk=delivery.pk),
    )
    assert after == before


def test_a_delivery_is_404_under_another_endpoint_of_the_same_vendor(world):
    va = world["a"]
    one, two = make_endpoint(va), make_endpoint(va)
    [delivery] = delivered(va, one, 1)
    client = as_user(va.admin)
    assert client.get(f"{BASE}/{two.pk}/deliveries/{delivery.pk}").status_code == 404
    assert client.post(f"{BASE}/{two.pk}/deliveries/{delivery.pk}/replay").status_code == 404
    assert client.get(f"{BASE}/{one.pk}/deliveries/{delivery.pk}").status_code == 200


def test_the_delivery_log_shows_each_attempt_and_replays(world):
    va = world["a"]
    endpoint = make_endpoint(va, 0)
    [delivery] = delivered(va, endpoint, 1, attempts=2)
    client = as_user(va.customers[0].manager)
    resp = client.get(f"{BASE}/{endpoint.pk}/deliveries?status=failed")
    [row] = resp.json()["results"]
    assert row["id"] == delivery.pk and row["kind"] == "bin.at_zero"
    assert [(a["status_code"], a["response_ms"]) for a in row["attempts_log"]] == [
        (503, 40),
        (503, 40),
    ]
    assert client.get(f"{BASE}/{endpoint.pk}/deliveries?status=bogus").status_code == 400
    resp = client.post(f"{BASE}/{endpoint.pk}/deliveries/{delivery.pk}/replay")
    assert resp.status_code == 202 and resp.json() == {"queued": 1}
    again = client.post(f"{BASE}/{endpoint.pk}/deliveries/{delivery.pk}/replay")
    assert again.status_code == 409 and again.json()["error"]["code"] == "delivery_not_failed"


def test_the_delivery_log_takes_the_same_queries_at_any_size(world):
    """Deliveries with their attempts: the same number of queries for 2 rows and for 12."""
    va = world["a"]
    small = make_endpoint(va)
    delivered(va, small, 2, attempts=2)
    services.endpoint_update(scope=va.scope, endpoint_id=small.pk, enabled=False)  # hears no more
    large = make_endpoint(va)
    delivered(va, large, 12, attempts=3)
    client = as_user(va.admin)
    client.get(f"{BASE}/{small.pk}/deliveries")  # warm-up (session, content types)
    counts = []
    for endpoint, size in ((small, 2), (large, 12)):
        with CaptureQueriesContext(connection) as queries:
            resp = client.get(f"{BASE}/{endpoint.pk}/deliveries")
        assert len(resp.json()["results"]) == size
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
    assert counts[0] <= 8, counts
