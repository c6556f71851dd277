"""The catalog and the label sheet in a real browser: they fit a phone, and the label
sheet prints labels alone (no navigation, no form)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.portals.browser_kit import BROWSER_MARKS, DESKTOP, PHONE, fits_the_width, shoot
from tests.portals.helpers import grow, url

pytestmark = BROWSER_MARKS


@pytest.mark.parametrize(("width", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_catalog_and_labels_fit_the_screen(open_page, a, width, viewport):
    cw = a.customers[0]
    grow(a, cw, bins=9)
    admin = open_page(a.admin, viewport)
    pages = {
        "catalog": reverse("portals:catalog"),
        "catalog-item": reverse("portals:catalog_item", kwargs={"item_id": a.items[0].pk}),
        "labels-code128": url("labels", cw) + f"?site={cw.site.pk}&format=code128",
        "labels-qr": url("labels", cw) + f"?site={cw.site.pk}&format=qr",
    }
    for name, target in pages.items():
        admin.goto(target)
        shoot(admin, name, width)
        assert fits_the_width(admin), name


def test_label_sheet_prints_labels_only(open_page, a):
    """In print media the bars, tabs, form and button are gone; the labels sit three to a
    row; the Print button works once the script has shown it."""
    cw = a.customers[0]
    page = open_page(cw.manager, DESKTOP)
    page.goto(url("labels", cw))
    page.get_by_label("Barcode").select_option("qr")
    page.get_by_role("button", name="Show labels").click()
    page.wait_for_load_state("domcontentloaded")
    assert page.get_by_role("button", name="Print").is_visible()
    assert page.locator(".label").count() == 3
    page.emulate_media(media="print")
    for hidden in (".topbar", ".custbar", ".filters", "#print-labels", ".footer"):
        assert not page.locator(hidden).is_visible(), hidden
    tops = {round(box["y"]) for box in (lab.bounding_box() for lab in page.locator(".label").all())}
    assert len(tops) == 1  # three labels on one row
    shoot(page, "labels-print", "desktop")
