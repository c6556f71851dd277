"""The first hour in a real browser (issue 12 §4): the approval bar of a long order stays
in view at phone and desktop size, the vendor nav fits a 390 px phone, kanban bins read
as kanban, and the time zone search. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import pytest
from django.urls import reverse

from replenishment.models import OrderLine
from stocking.models import Bin
from tests.portals.browser_kit import BROWSER_MARKS, DESKTOP, PHONE, fits_the_width, shoot
from tests.portals.helpers import awaiting_order, grow, url

pytestmark = BROWSER_MARKS


def _in_view(page, selector: str) -> bool:
    """The element is wholly inside the viewport (not merely in the page)."""
    return page.evaluate(
        """(sel) => { const r = document.querySelector(sel).getBoundingClientRect();
             return r.top >= 0 && r.left >= 0 && r.bottom <= window.innerHeight
                    && r.right <= window.innerWidth; }""",
        selector,
    )


@pytest.mark.parametrize(("width", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_approve_and_reject_stay_in_view_on_a_long_order(open_page, a, width, viewport):
    """An order of 30 lines: at the top of the page, halfway down and at the last line
    the bar with the total and both buttons is on screen; approving from it works."""
    cw = a.customers[0]
    grow(a, cw, bins=30)
    bins = list(Bin.objects.filter(customer_id=cw.customer.pk).order_by("pk"))
    order = awaiting_order(a, cw, bins=bins)
    assert OrderLine.objects.filter(order=order).count() == 30
    page = open_page(cw.manager, viewport=viewport)
    page.goto(url("order", cw, order_id=order.pk))
    bar = ".approve-bar"
    page.locator("#approve-title").scroll_into_view_if_needed()
    assert _in_view(page, bar)
    shoot_viewport(page, "approval-long-order-top", width)
    rows = page.locator("#approve-form tbody tr")
    rows.nth(15).evaluate("row => row.scrollIntoView({block: 'start'})")
    assert _in_view(page, bar)
    assert page.get_by_role("button", name="Approve and send").is_visible()
    assert page.get_by_role("button", name="Reject", exact=True).is_visible()
    shoot_viewport(page, "approval-long-order-middle", width)
    rows.nth(29).evaluate("row => row.scrollIntoView({block: 'center'})")
    assert _in_view(page, bar)
    assert fits_the_width(page)
    page.get_by_role("button", name="Approve and send").click()
    page.get_by_text("Order approved and sent to the vendor as").wait_for()
    assert f"Order {order.pk}" in page.locator("h1").inner_text()


def shoot_viewport(page, name: str, width: str) -> None:
    """What the screen shows (a full-page shot would not show a sticky bar sticking)."""
    from tests.portals.browser_kit import SHOTS

    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-{width}.png"))


def test_vendor_nav_fits_a_390px_phone(open_page, a):
    """Every vendor nav entry, "Settings" included, is wholly on screen at 390 px."""
    page = open_page(a.admin, viewport=PHONE)
    page.goto("/customers/")
    nav = page.get_by_role("navigation", name="Vendor")
    for name in ("Customers", "Orders", "Catalog", "Settings"):
        box = nav.get_by_role("link", name=name, exact=True).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert fits_the_width(page)
    shoot_viewport(page, "vendor-nav", "phone")


@pytest.mark.parametrize(("width", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_kanban_bins_read_as_kanban(open_page, a, width, viewport):
    """The stock list and the bin page show card quantity and cards out, not 0 - 0 and
    Over max; the shelf label is on the row."""
    cw = a.customers[0]
    kanban = cw.bins[0]
    Bin.objects.filter(pk=kanban.pk).update(
        kanban_quantity=12, min_qty=0, max_qty=0, on_hand=30, on_order=24
    )
    page = open_page(cw.manager, viewport=viewport)
    page.goto(url("stock", cw))
    row = page.locator(f"#bin-{kanban.pk}")
    text = row.inner_text()
    assert "Kanban, card of 12" in text and "2 cards out" in text and kanban.label in text
    assert "Over max" not in text and "0 – 0" not in text
    shoot(page, "stock-kanban", width)
    page.goto(url("bin", cw, bin_id=kanban.pk))
    stats = page.locator(".stats").inner_text()
    assert "Card quantity" in stats and "Cards out" in stats and "Min" not in stats
    shoot(page, "bin-kanban", width)


def test_time_zone_search_narrows_the_grouped_choices(open_page, a):
    """Typing "chicago" in the search box leaves America/Chicago chosen; the select
    still posts it and the vendor's zone is saved."""
    page = open_page(a.admin)
    page.goto(reverse("portals:settings"))
    page.get_by_label("Search time zones").fill("chicago")
    visible = page.evaluate(
        """() => Array.from(document.querySelectorAll('#id_timezone option'))
               .filter(o => !o.hidden).map(o => o.value)"""
    )
    assert visible == ["America/Chicago"]
    assert page.locator("#id_timezone").input_value() == "America/Chicago"
    shoot_viewport(page, "vendor-time-zone-search", "desktop")
    page.get_by_role("button", name="Save time zone").click()
    page.get_by_text("Time zone saved.").wait_for()
    a.vendor.refresh_from_db()
    assert a.vendor.timezone == "America/Chicago"
