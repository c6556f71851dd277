"""The usage pages in a real browser at desktop and phone width: the charts show (the
narrow geometry on a phone), nothing scrolls sideways, no CSP violation. Screenshots go
to test-artifacts/screenshots/ (usage-*, vendor-usage-*)."""

# ruff: noqa: F811  (the `used` fixture is imported by name and taken as an argument)

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.portals.browser_kit import BROWSER_MARKS, DESKTOP, PHONE, fits_the_width, shoot
from tests.portals.test_portal_analytics import used  # noqa: F401

pytestmark = BROWSER_MARKS


@pytest.mark.parametrize(("viewport", "width"), [(DESKTOP, "desktop"), (PHONE, "phone")])
def test_usage_pages_show_their_charts_and_fit_the_screen(open_page, used, viewport, width):
    a = used["a"]
    cw = a.customers[0]
    geometry = "narrow" if width == "phone" else "wide"
    page = open_page(a.admin, viewport=viewport)
    pages = {
        "usage": reverse("portals:analytics", kwargs={"customer_id": cw.customer.pk})
        + "?grain=day",
        "vendor-usage": reverse("portals:vendor_usage") + "?q=SKU-0",
    }
    for name, target in pages.items():
        page.goto(target)
        assert page.get_by_role("heading", level=1).is_visible(), name
        charts = page.locator(f"svg.chart__svg--{geometry}")
        assert charts.count() == 2, name  # usage and stock value over time
        for i in range(charts.count()):
            assert charts.nth(i).is_visible(), name
            assert charts.nth(i).bounding_box()["width"] > 300, name
        assert page.locator("svg.hchart").first.is_visible(), name
        shoot(page, name, width)
        assert fits_the_width(page), name
    # The manager of the customer sees the same page, held to the customer.
    manager = open_page(cw.manager, viewport=viewport)
    manager.goto(pages["usage"])
    assert manager.locator(f"svg.achart--bars.chart__svg--{geometry}").is_visible()
    assert open_page.csp_violations == []
