"""The portals in a real browser: Debian's chromium driven by Playwright against the
live server. Also saves screenshots of the main pages at desktop and phone width into
test-artifacts/screenshots/ for people to look at.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from cmi.history import history_rewrite_for_tests_and_benchmarks
from cmi.tenancy import scope_for_user
from replenishment.models import Order, OrderLine, OrderStatus
from replenishment.services import bins_evaluate
from stocking.models import Bin, BinLevelChange, LedgerEntry
from stocking.setup import bin_levels_update
from tests.portals.browser_kit import (
    BROWSER_MARKS,
    DESKTOP,
    PHONE,
    fits_the_width,
    htmx_wired,
    shoot,
)
from tests.portals.helpers import awaiting_order, grow, policy, released_order, scans_post, url

pytestmark = BROWSER_MARKS


@pytest.mark.parametrize(
    ("who", "heading"),
    [
        ("manager", "Dashboard"),
        ("staff", "Dashboard"),
        ("admin", "Customers"),
        ("rep", "Customers"),
    ],
)
def test_each_role_signs_in_and_sees_its_home(open_page, a, who, heading):
    """Through the login form: customer users land on their dashboard, vendor staff on
    the customers list, and the header names the role."""
    cw = a.customers[0]
    user = getattr(cw, who) if who in ("manager", "staff") else getattr(a, who)
    page = open_page(user)
    assert page.get_by_role("heading", level=1).inner_text() == heading
    expected = url("dashboard", cw) if heading == "Dashboard" else "/customers/"
    assert page.url.endswith(expected)
    role = {"manager": "Customer manager", "staff": "Customer staff"}.get(who) or (
        "Vendor admin" if who == "admin" else "Vendor rep"
    )
    assert role in page.locator(".account").inner_text()


def test_vendor_edits_min_max_in_place_and_the_audit_shows_it(open_page, a):
    """The admin opens the row's form, is told inline that min above max is wrong, saves
    12/60 without a page load, and the bin page's history lists the change."""
    cw = a.customers[0]
    target = cw.bins[0]
    sku = target.item.sku
    page = open_page(a.admin)
    page.goto(url("stock", cw))
    page.evaluate("window.stillTheSamePage = true")
    row = page.locator(f"#bin-{target.pk}")
    with htmx_wired(page, f"#bin-{target.pk} form"):
        row.get_by_role("link", name=re.compile(r"^Edit")).click()
    minimum = page.get_by_label(f"Min of {sku}")
    maximum = page.get_by_label(f"Max of {sku}")
    assert minimum.evaluate("el => el === document.activeElement")  # focus moved to the form

    minimum.fill("70")
    maximum.fill("60")
    with htmx_wired(page, f"#bin-{target.pk} form"):
        row.get_by_role("button", name="Save").click()
    row.get_by_text("Min must not be above max.").wait_for()
    assert (Bin.objects.get(pk=target.pk).min_qty, Bin.objects.get(pk=target.pk).max_qty) == (
        10,
        50,
    )

    page.get_by_label(f"Min of {sku}").fill("12")
    row.get_by_role("button", name="Save").click()
    row.get_by_text("Saved").wait_for()
    assert "12 – 60" in row.inner_text()
    assert page.evaluate("window.stillTheSamePage") is True
    change = BinLevelChange.objects.get(bin=target, source="portal")
    assert (change.new_min, change.new_max, change.user_id) == (12, 60, a.admin.pk)

    row.get_by_role("link", name=sku, exact=True).click()
    history = page.locator("#level-changes")
    history.wait_for()
    assert a.admin.username in history.inner_text() and "portal" in history.inner_text()


def test_manager_approves_an_order_with_an_edited_quantity(open_page, a):
    """Six packs of 10 instead of the proposed 50: the order goes out with 60."""
    cw = a.customers[0]
    order = awaiting_order(a, cw)
    line = OrderLine.objects.get(order=order, line_number=2)
    page = open_page(cw.manager)
    page.goto(url("dashboard", cw))
    page.get_by_role("link", name=f"Order {order.pk}").click()
    page.get_by_label(f"Quantity for line 2 ({line.item.sku})").fill("60")
    page.get_by_role("button", name="Approve and send").click()
    page.get_by_text("Order approved and sent to the vendor as").wait_for()
    order.refresh_from_db()
    line.refresh_from_db()
    assert order.status == OrderStatus.RELEASED and line.quantity_ordered == 60
    assert "Released" in page.locator("h1").inner_text()
    assert "Quantity changed" in page.locator(".timeline").inner_text()


def test_a_foreign_customers_url_is_404(open_page, a, b):
    """Another customer's and another vendor's pages answer 404 with the not-found page."""
    page = open_page(a.customers[0].manager)
    for cw in (a.customers[1], b.customers[0]):
        response = page.goto(url("stock", cw))
        assert response.status == 404
        assert page.get_by_role("heading", level=1).inner_text() == "Not found"
    response = page.goto(url("bin", a.customers[0], bin_id=b.customers[0].bins[0].pk))
    assert response.status == 404


def test_keyboard_users_can_skip_to_the_content(open_page, a):
    """The first Tab lands on the skip link, and it is visible when focused."""
    cw = a.customers[0]
    page = open_page(cw.staff)
    page.goto(url("stock", cw))
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Skip to content"
    assert page.locator(".skip-link").bounding_box()["y"] >= 0


def demo_activity(a) -> dict:
    """A week of a customer's life: bins counted a week ago, scans since, a released order,
    an order awaiting approval, a min/max change, and more shelves in every state."""
    cw = a.customers[0]
    b0, b1, b2 = cw.bins
    week_ago = timezone.now() - dt.timedelta(days=7)
    Bin.objects.filter(customer_id=cw.customer.pk).update(last_count_at=week_ago)
    with history_rewrite_for_tests_and_benchmarks():
        LedgerEntry.objects.filter(customer_id=cw.customer.pk).update(occurred_at=week_ago)

    def days_ago(days: float) -> dt.datetime:
        return timezone.now() - dt.timedelta(days=days)

    scans_post(
        a,
        cw,
        [
            (b0, "issue", 6, days_ago(6.5)),
            (b0, "issue", 9, days_ago(5.2)),
            (b0, "receive", 20, days_ago(4.1)),
            (b0, "issue", 12, days_ago(3.3)),
            (b0, "issue", 8, days_ago(2.0)),
            (b0, "count", 14, days_ago(1.2)),
            (b0, "issue", 8, days_ago(0.3)),
            (b1, "issue", 28, days_ago(0.8)),
            (b2, "count", 5, days_ago(2.5)),
        ],
    )
    released_order(a, cw, [b2])
    policy(cw, "approval")
    (order_id,) = bins_evaluate(vendor_id=a.vendor.pk, bin_ids=[b0.pk, b1.pk])
    bin_levels_update(
        scope=scope_for_user(a.rep),
        bin_id=b1.pk,
        min_qty=10,
        max_qty=60,
        user_id=a.rep.pk,
        source="portal",
    )
    grow(a, cw, bins=14)
    return {"order": Order.objects.get(pk=order_id), "bin": b0}


@pytest.mark.parametrize(("width", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_main_pages_fit_the_screen_and_are_saved_as_screenshots(open_page, a, width, viewport):
    """Each main page renders at desktop and phone width without sideways scrolling; the
    screenshots are kept for review."""
    cw = a.customers[0]
    made = demo_activity(a)
    anonymous = open_page(viewport=viewport)
    anonymous.goto("/login/")
    shoot(anonymous, "login", width)
    assert fits_the_width(anonymous)

    manager = open_page(cw.manager, viewport=viewport)
    pages = {
        "dashboard": url("dashboard", cw),
        "stock": url("stock", cw),
        "bin": url("bin", cw, bin_id=made["bin"].pk),
        "orders": url("orders", cw),
        "order-awaiting-approval": url("order", cw, order_id=made["order"].pk),
    }
    for name, target in pages.items():
        manager.goto(target)
        shoot(manager, name, width)
        assert fits_the_width(manager), name

    admin = open_page(a.admin, viewport=viewport)
    admin.goto("/customers/")
    shoot(admin, "customers", width)
    assert fits_the_width(admin)
    admin.goto(url("stock", cw))
    admin.locator(f"#bin-{made['bin'].pk}").get_by_role("link", name=re.compile(r"^Edit")).click()
    admin.get_by_label(f"Min of {made['bin'].item.sku}").wait_for()
    shoot(admin, "stock-editing", width)
    assert fits_the_width(admin)
    admin.goto(url("stock", a.customers[1]).replace(str(a.customers[1].customer.pk), "999999"))
    shoot(admin, "not-found", width)
