"""The webhooks pages: vendor admins manage every endpoint, a customer manager only their
customer's; another vendor's or customer's endpoint is a 404 on every page and button;
the delivery log costs the same queries at any size."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.portals.helpers import signed_in, url
from tests.webhooks.conftest import emit_bin_at_zero
from webhooks import outbound, services
from webhooks.listeners import on_event
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db

PUBLIC = "https://93.184.215.14/hook"


def endpoint(vw, customer_index: int | None = None) -> WebhookEndpoint:
    customer_id = None if customer_index is None else vw.customers[customer_index].customer.pk
    return services.endpoint_create(scope=vw.scope, url=PUBLIC, customer_id=customer_id)


def failed_delivery(vw, ep: WebhookEndpoint, customer_index: int = 0) -> WebhookDelivery:
    event = emit_bin_at_zero(vw, customer_index)
    on_event(event)
    d = WebhookDelivery.objects.get(event=event, endpoint=ep)
    services.delivery_claim(vendor_id=vw.vendor.pk, delivery_id=d.pk)
    services.delivery_record(
        delivery_id=d.pk, at=timezone.now(), outcome=outbound.Outcome(500, 31, "HTTP 500")
    )
    WebhookDelivery.objects.filter(pk=d.pk).update(status=DeliveryStatus.FAILED)
    return d


def test_a_vendor_admin_adds_an_endpoint_and_sees_its_secret(a):
    client = signed_in(a.admin)
    resp = client.post(
        reverse("portals:webhooks"),
        {"url": PUBLIC, "description": "ERP", "kinds": ["bin.at_zero"], "customer": ""},
    )
    ep = WebhookEndpoint.objects.get()
    assert resp.status_code == 302 and resp["Location"] == reverse("portals:webhook", args=[ep.pk])
    assert (ep.customer_id, ep.kinds, ep.vendor_id) == (None, ["bin.at_zero"], a.vendor.pk)
    page = client.get(reverse("portals:webhook", args=[ep.pk])).content.decode()
    assert ep.secret in page and "Send test event" in page
    assert PUBLIC in client.get(reverse("portals:webhooks")).content.decode()


def test_an_inside_address_is_refused_on_the_form(a):
    resp = signed_in(a.admin).post(reverse("portals:webhooks"), {"url": "http://10.0.0.8/x"})
    assert resp.status_code == 200
    assert "private or reserved address" in resp.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_a_customer_manager_adds_for_their_customer_and_sees_only_its_endpoints(a):
    cw = a.customers[0]
    vendor_wide, other = endpoint(a), endpoint(a, 1)
    client = signed_in(cw.manager)
    resp = client.post(url("customer_webhooks", cw), {"url": PUBLIC})
    assert resp.status_code == 302
    mine = WebhookEndpoint.objects.exclude(pk__in=[vendor_wide.pk, other.pk]).get()
    assert mine.customer_id == cw.customer.pk
    page = client.get(url("customer_webhooks", cw)).content.decode()
    assert reverse("portals:webhook", args=[mine.pk]) in page
    assert reverse("portals:webhook", args=[other.pk]) not in page
    assert reverse("portals:webhook", args=[vendor_wide.pk]) not in page
    assert client.get(reverse("portals:webhooks")).status_code == 403


def test_buttons_send_a_test_replay_and_rotate(a):
    ep = endpoint(a)
    d = failed_delivery(a, ep)
    client = signed_in(a.admin)
    client.post(reverse("portals:webhook_test", args=[ep.pk]))
    assert WebhookDelivery.objects.filter(endpoint=ep, kind="webhook.test").count() == 1
    client.post(reverse("portals:webhook_delivery_replay", args=[ep.pk, d.pk]))
    d.refresh_from_db()
    assert d.status == DeliveryStatus.PENDING and d.attempts == 0
    old = ep.secret
    client.post(reverse("portals:webhook_rotate", args=[ep.pk]))
    ep.refresh_from_db()
    assert ep.secret != old and ep.previous_secret == old
    page = client.get(reverse("portals:webhook", args=[ep.pk])).content.decode()
    assert "HTTP 500" in page and "31 ms" in page
    resp = client.post(
        reverse("portals:webhook", args=[ep.pk]),
        {"url": PUBLIC, "description": "", "kinds": []},  # enabled unticked
    )
    assert resp.status_code == 302
    ep.refresh_from_db()
    assert not ep.enabled
    resp = client.post(reverse("portals:webhook_test", args=[ep.pk]), follow=True)
    assert "disabled" in resp.content.decode()
    client.post(reverse("portals:webhook_delete", args=[ep.pk]))
    assert not WebhookEndpoint.objects.filter(pk=ep.pk).exists()


PAGES = [
    ("get", "webhook"),
    ("post", "webhook"),
    ("post", "webhook_test"),
    ("post", "webhook_replay"),
    ("post", "webhook_rotate"),
    ("post", "webhook_delete"),
    ("post", "webhook_delivery_replay"),
]


@pytest.mark.parametrize(("method", "name"), PAGES)
@pytest.mark.parametrize("who", ["other_vendor_admin", "other_customer_manager"])
def test_another_tenants_endpoint_is_404_on_every_page_and_button(world, method, name, who):
    va = world["a"]
    ep = endpoint(va, 1)
    d = failed_delivery(va, ep, 1)
    user = world["b"].admin if who == "other_vendor_admin" else va.customers[0].manager
    args = [ep.pk, d.pk] if name == "webhook_delivery_replay" else [ep.pk]
    before = list(WebhookEndpoint.objects.values()), list(WebhookDelivery.objects.values())
    resp = getattr(signed_in(user), method)(reverse(f"portals:{name}", args=args), {"url": PUBLIC})
    assert resp.status_code == 404
    assert (
        list(WebhookEndpoint.objects.values()),
        list(WebhookDelivery.objects.values()),
    ) == before


def test_another_customers_webhooks_page_is_404(world):
    va = world["a"]
    client = signed_in(va.customers[0].manager)
    assert client.get(url("customer_webhooks", va.customers[1])).status_code == 404
    assert (
        signed_in(world["b"].admin).get(url("customer_webhooks", va.customers[0])).status_code
        == 404
    )


def test_the_endpoint_page_takes_the_same_queries_at_any_size(a):
    small = endpoint(a)
    for _ in range(2):
        failed_delivery(a, small)
    services.endpoint_update(scope=a.scope, endpoint_id=small.pk, enabled=False)
    large = endpoint(a)
    for _ in range(15):
        failed_delivery(a, large)
    client = signed_in(a.admin)
    client.get(reverse("portals:webhook", args=[small.pk]))  # warm-up
    counts = []
    for ep in (small, large):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("portals:webhook", args=[ep.pk])).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
