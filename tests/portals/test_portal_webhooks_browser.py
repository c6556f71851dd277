"""The webhooks pages in a real browser, at desktop and phone width: a customer manager
adds an endpoint (a receiver on loopback, the SSRF guard relaxed), sends a test event,
sees it delivered in the log with its attempts; nothing scrolls sideways and axe finds
no serious or critical violation.
Screenshots go to test-artifacts/screenshots/ (webhooks-*)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from tests.portals.browser_kit import BROWSER_MARKS, DESKTOP, PHONE, fits_the_width, shoot
from tests.portals.helpers import url
from tests.portals.test_portal_accessibility import Audit
from tests.webhooks.conftest import emit_bin_at_zero
from tests.webhooks.receiver import Receiver
from webhooks import outbound, services
from webhooks.listeners import on_event
from webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = BROWSER_MARKS


@pytest.fixture
def receiver(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    r = Receiver().start()
    yield r
    r.stop()


@pytest.mark.parametrize(("width", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_manager_adds_an_endpoint_sends_a_test_and_reads_the_log(
    open_page, a, receiver, width, viewport
):
    cw = a.customers[0]
    audit = Audit(width)
    page = open_page(cw.manager, viewport=viewport)
    page.goto(url("customer_webhooks", cw))
    audit.check(page, "webhooks-list-empty")
    page.get_by_label("URL").fill(receiver.url)
    page.get_by_label("Description").fill("Our ERP's listener")
    page.get_by_label("Order released (order.released)").check()
    page.get_by_label("Bin at zero (bin.at_zero)").check()
    page.get_by_role("button", name="Add endpoint").click()
    page.wait_for_load_state("domcontentloaded")
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.customer_id == cw.customer.pk
    assert sorted(endpoint.kinds) == ["bin.at_zero", "order.released"]

    # an event that failed twice and then went through, and one that keeps failing
    receiver.script = [500, 200]
    event = emit_bin_at_zero(a, 0)
    on_event(event)
    delivery = WebhookDelivery.objects.get(event=event)
    services.delivery_send(vendor_id=a.vendor.pk, delivery_id=delivery.pk)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    services.delivery_send(vendor_id=a.vendor.pk, delivery_id=delivery.pk)
    failing = emit_bin_at_zero(a, 0)
    on_event(failing)
    stuck = WebhookDelivery.objects.get(event=failing)
    services.delivery_claim(vendor_id=a.vendor.pk, delivery_id=stuck.pk)
    services.delivery_record(
        delivery_id=stuck.pk,
        at=timezone.now(),
        outcome=outbound.Outcome(None, 3001, "ReadTimeoutError: read timed out"),
    )
    WebhookDelivery.objects.filter(pk=stuck.pk).update(status="failed")

    page.get_by_role("button", name="Send test event").click()
    page.wait_for_load_state("domcontentloaded")
    assert "Test message queued" in page.locator(".messages").inner_text()
    test_delivery = WebhookDelivery.objects.get(kind="webhook.test")
    services.delivery_send(vendor_id=a.vendor.pk, delivery_id=test_delivery.pk)
    assert receiver.received[-1].headers["webhook-id"] == test_delivery.msg_id

    page.reload()
    page.wait_for_load_state("domcontentloaded")
    log = page.locator("table").inner_text()
    assert "webhook.test" in log and "bin.at_zero" in log
    page.get_by_text("2 attempts").click()  # open the attempts of the retried one
    assert "HTTP 500" in page.locator("table").inner_text()
    shoot(page, "webhooks-endpoint", width)
    assert fits_the_width(page)
    audit.check(page, "webhooks-endpoint")

    page.get_by_role("button", name=f"Replay {stuck.msg_id}").click()
    page.wait_for_load_state("domcontentloaded")
    assert "queued again" in page.locator(".messages").inner_text()
    stuck.refresh_from_db()
    assert stuck.status == "pending"

    page.goto(url("customer_webhooks", cw))
    assert "Our ERP" in page.content()
    assert fits_the_width(page)
    shoot(page, "webhooks-list", width)
    audit.check(page, "webhooks-list")
    audit.assert_clean()
