"""The bell and the alert pages in a real browser, at desktop and phone width: the bell
shows the unread count (fetched by htmx, under the strict CSP), the notifications page
marks read, and the settings page saves a choice. Screenshots go to
test-artifacts/screenshots/ (notifications-*, alert-settings-*)."""

from __future__ import annotations

import pytest

from cmi import events
from cmi.tasks import events_dispatch
from notify.models import Channel, Notification, Subscription
from tests.portals.browser_kit import BROWSER_MARKS, DESKTOP, PHONE, fits_the_width, shoot

pytestmark = BROWSER_MARKS


def bins_at_zero(vw, count: int) -> None:
    cw = vw.customers[0]
    for b in cw.bins[:count]:
        event = events.emit(
            "bin.at_zero",
            vendor_id=vw.vendor.pk,
            customer_id=cw.customer.pk,
            site_id=cw.site.pk,
            subject_type="bin",
            subject_id=b.pk,
            data={"bin_id": b.pk, "label": b.label, "sku": b.item.sku, "site": "MAIN",
                  "on_hand": 0, "min_qty": b.min_qty, "max_qty": b.max_qty, "on_order": 0},
        )  # fmt: skip
        events_dispatch(vw.vendor.pk, event.pk)


@pytest.mark.parametrize(("width", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_the_bell_counts_and_the_page_marks_read(open_page, a, width, viewport):
    """Two bins at zero: the manager's bell says 2; opening it lists both; marking one
    read leaves 1 on the bell; mark all read empties it."""
    bins_at_zero(a, 2)
    cw = a.customers[0]
    page = open_page(cw.manager, viewport=viewport)
    page.goto(f"/customers/{cw.customer.pk}/")
    count = page.locator(".bell__count")
    count.wait_for()
    assert count.inner_text().startswith("2")
    assert fits_the_width(page)
    shoot(page, "notifications-bell", width)
    page.locator("a.bell").click()
    page.wait_for_load_state("domcontentloaded")
    assert page.locator(".notification--unread").count() == 2
    assert fits_the_width(page)
    shoot(page, "notifications", width)
    page.get_by_role("button", name="Mark read").first.click()
    page.wait_for_load_state("domcontentloaded")
    page.locator(".bell__count").wait_for()
    assert page.locator(".bell__count").inner_text().startswith("1")
    page.get_by_role("button", name="Mark all read").click()
    page.wait_for_load_state("domcontentloaded")
    assert page.locator(".notification--unread").count() == 0
    assert not Notification.objects.filter(user=cw.manager, read_at__isnull=True).exists()


@pytest.mark.parametrize(("width", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_the_settings_page_saves_a_choice(open_page, a, width, viewport):
    """The rep turns off bin-at-zero mail and asks for the digest of shipped orders."""
    page = open_page(a.rep, viewport=viewport)
    page.goto("/notifications/settings/")
    page.get_by_label("Bin at zero: by mail").uncheck()
    page.get_by_label("Order shipped: daily digest").check()
    assert fits_the_width(page)
    shoot(page, "alert-settings", width)
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state("domcontentloaded")
    assert "saved" in page.locator(".messages").inner_text()
    assert not page.get_by_label("Bin at zero: by mail").is_checked()
    zero = Subscription.objects.get(user=a.rep, kind="bin.at_zero", channel=Channel.EMAIL)
    shipped = Subscription.objects.get(user=a.rep, kind="order.shipped", channel=Channel.EMAIL)
    assert (zero.enabled, shipped.enabled, shipped.digest) == (False, True, True)
    shoot(page, "alert-settings-saved", width)
