"""The vendor's order, EDI and settings pages in a real browser, at desktop and phone
width: nothing scrolls sideways, the raw X12 wraps, forms show their errors in place.
Screenshots go to test-artifacts/screenshots/."""

# ruff: noqa: F811  (the `ew` fixture is imported by name and taken as an argument)

from __future__ import annotations

import pytest
from django.urls import reverse

from edi.models import TradingPartner
from tests.portals.browser_kit import BROWSER_MARKS, DESKTOP, PHONE, fits_the_width, shoot
from tests.portals.test_portal_vendor_orders import ew  # noqa: F401

pytestmark = BROWSER_MARKS


@pytest.mark.parametrize(("viewport", "width"), [(DESKTOP, "desktop"), (PHONE, "phone")])
def test_vendor_order_pages_fit_the_screen(open_page, ew, viewport, width):
    page = open_page(ew.a.admin, viewport=viewport)
    pages = {
        "vendor-orders": reverse("portals:vendor_orders"),
        "vendor-order": reverse("portals:vendor_order", kwargs={"order_id": ew.order0.pk}),
        "edi-document": reverse("portals:edi_document", kwargs={"document_id": ew.po0.pk}),
        "edi-inbound": reverse("portals:edi_inbound"),
        "edi-interchange": reverse(
            "portals:edi_interchange", kwargs={"interchange_id": ew.failed.pk}
        ),
        "settings": reverse("portals:settings"),
        "customer-settings": reverse(
            "portals:customer_settings", kwargs={"customer_id": ew.a.customers[0].customer.pk}
        ),
    }
    for name, target in pages.items():
        page.goto(target)
        assert page.get_by_role("heading", level=1).is_visible(), name
        shoot(page, name, width)
        assert fits_the_width(page), name


def test_partner_profile_error_is_shown_beside_its_field_then_saved(open_page, ew):
    """Typing the element separator into the component separator is refused next to the
    field; fixing it saves the profile with a confirmation."""
    page = open_page(ew.a.admin, viewport=PHONE)
    page.goto(reverse("portals:settings"))
    page.get_by_label("Component separator (ISA16)").fill("*")
    page.get_by_role("button", name="Save profile").click()
    assert "separators must all differ" in page.locator(".field--error").first.inner_text()
    assert fits_the_width(page)
    page.get_by_label("Component separator (ISA16)").fill(">")
    page.get_by_label("997 due within (hours)").fill("6")
    page.get_by_role("button", name="Save profile").click()
    assert "Trading partner profile saved." in page.locator(".messages").inner_text()
    assert TradingPartner.objects.get(vendor=ew.a.vendor).hours_997 == 6
