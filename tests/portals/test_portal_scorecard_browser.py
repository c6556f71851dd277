"""The scorecard in a real browser: the rep sets a target and sees it judged, the
manager reads the same page on a phone, the printable page prints clean, and the
vendor page lists the customers. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import pytest

from tests.insight.scorecard_world import october_build
from tests.portals.browser_kit import BROWSER_MARKS, PHONE, fits_the_width, shoot
from tests.portals.helpers import url

pytestmark = BROWSER_MARKS
MONTH = "2026-10"


@pytest.fixture
def built(a):
    october_build(a.customers[0])
    return a


def test_rep_sets_a_target_and_sees_it_judged(open_page, built):
    """A trend chart per metric with its words for screen readers; a target of 4 h for
    the 855 p90 is saved and shown missed against 24.0 h."""
    cw = built.customers[0]
    page = open_page(built.rep)
    page.goto(url("scorecard", cw) + f"?month={MONTH}")
    assert page.get_by_role("heading", level=1).inner_text() == "Service scorecard"
    charts = page.locator("svg.sc-chart")
    assert charts.count() == 14
    assert "Fill rate by month" in charts.first.get_attribute("aria-label")
    page.get_by_label("Metric").select_option("ack_855_p90_hours")
    page.get_by_label("Target", exact=True).fill("4")
    page.get_by_role("button", name="Save target").click()
    page.get_by_text("Target for 855 ack, 90th percentile saved.").wait_for()
    row = page.locator("tr.sc-row", has_text="855 ack, 90th percentile")
    assert "Missed" in row.inner_text() and "24.0 h" in row.inner_text()
    assert page.locator("svg.sc-chart line.sc-chart__target").count() == 1
    shoot(page, "scorecard", "desktop")


def test_manager_reads_it_on_a_phone_and_prints_it(open_page, built):
    cw = built.customers[0]
    page = open_page(cw.manager, viewport=PHONE)
    page.goto(url("scorecard", cw) + f"?month={MONTH}")
    assert "66.7%" in page.locator("tr.sc-row", has_text="Fill rate").first.inner_text()
    assert page.get_by_role("button", name="Save target").count() == 0
    shoot(page, "scorecard", "phone")
    assert fits_the_width(page)

    printable = open_page(cw.manager)
    printable.goto(url("scorecard_print", cw) + f"?month={MONTH}")
    printable.emulate_media(media="print")
    assert not printable.locator(".sc-noprint").is_visible()
    assert "Service scorecard: " in printable.get_by_role("heading", level=1).inner_text()
    shoot(printable, "scorecard-print", "desktop")


def test_vendor_page_lists_customers_and_links_to_each(open_page, built):
    page = open_page(built.admin)
    page.goto(f"/scorecards/?month={MONTH}")
    assert page.get_by_role("heading", level=1).inner_text() == "Scorecards, October 2026"
    page.get_by_role("link", name=built.customers[0].customer.name).click()
    page.get_by_role("heading", name="Service scorecard").wait_for()
    page.go_back()
    shoot(page, "scorecards", "desktop")
