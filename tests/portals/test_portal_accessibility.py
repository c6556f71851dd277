"""Accessibility of the portals, checked by axe-core in a real browser (Debian's chromium
through Playwright): every main page, at desktop and at phone width, has no violation of
the WCAG 2.1 A and AA rules that axe rates "serious" or "critical" (contrast, names of
inputs, links and buttons, ids, landmarks, list structure...). The full result of each page,
every impact included, is written to test-artifacts/accessibility/ for people to read.
What axe cannot decide ("incomplete") fails too when serious or critical, except contrast.

Keyboard use is checked by hand: Tab from the top of the stock page reaches the skip link,
then the navigation, then the search field before the results; the scan page has its code
field focused on load and Enter records the scan.
"""

# ruff: noqa: F811  (the `ew` fixture is imported by name and taken as an argument)

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse
from playwright.sync_api import expect

from stocking.models import ScanEvent
from tests.portals.browser_kit import BROWSER_MARKS, DESKTOP, PHONE, SHOTS
from tests.portals.helpers import url
from tests.portals.test_portal_browser import demo_activity
from tests.portals.test_portal_bulk_browser import three_rows, upload
from tests.portals.test_portal_vendor_orders import ew  # noqa: F401

pytestmark = BROWSER_MARKS

AXE = Axe()
WCAG_21_AA = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations", "incomplete"],
}
BLOCKING = ("serious", "critical")
# axe leaves some findings "for review" when it cannot decide. Those of every rule count as
# failures here (an aria-describedby naming a missing id, ids repeated, aria-label where it
# is not supported), except contrast: axe cannot measure it on one-character or overlapped
# text, and those were measured by hand (see the pill counts in portal.css).
LEFT_FOR_REVIEW = {"color-contrast"}
REPORTS = SHOTS.parent / "accessibility"
VIEWPORTS = [("desktop", DESKTOP), ("phone", PHONE)]


def describe(violation: dict) -> str:
    """One violation as a person reads it: rule, impact, what it means, and each element
    with axe's explanation."""
    lines = [f"{violation['id']} ({violation['impact']}): {violation['help']}"]
    for node in violation["nodes"]:
        target = " ".join(str(t) for t in node["target"])
        lines.append(f"    at {target}: {node['html'][:160]}")
        summary = (node.get("failureSummary") or "").replace("\n", " ").strip()
        if summary:
            lines.append(f"       {summary[:300]}")
    return "\n".join(lines)


class Audit:
    """Runs axe on pages one after the other and keeps the serious and critical findings,
    so that one assertion at the end names every page that fails and why."""

    def __init__(self, width: str):
        self.width = width
        self.problems: list[str] = []
        self.pages: list[str] = []

    def check(self, page, name: str) -> None:
        page.wait_for_load_state("load")
        results = AXE.run(page, options=WCAG_21_AA).response
        violations = results["violations"]
        REPORTS.mkdir(parents=True, exist_ok=True)
        (REPORTS / f"{name}-{self.width}.txt").write_text(
            f"{page.url}\n\nViolations:\n"
            + "\n\n".join(describe(v) for v in violations)
            + "\n\nFor a person to review (axe could not decide):\n"
            + "\n\n".join(describe(v) for v in results["incomplete"])
            + "\n"
        )
        self.pages.append(name)
        blocking = [v for v in violations if v["impact"] in BLOCKING] + [
            v
            for v in results["incomplete"]
            if v["impact"] in BLOCKING and v["id"] not in LEFT_FOR_REVIEW
        ]
        if blocking:
            found = "\n".join(describe(v) for v in blocking)
            self.problems.append(f"{name} at {self.width} ({page.url}):\n{found}")

    def assert_clean(self) -> None:
        assert not self.problems, (
            f"{len(self.problems)} of {len(self.pages)} pages have serious or critical "
            "accessibility violations:\n\n" + "\n\n".join(self.problems)
        )


def test_audit_finds_what_it_is_meant_to_find(open_page):
    """The check itself can fail: a page with an unlabelled input, a nameless link, pale
    text on white and a description naming a missing id (which axe leaves "for review") is
    reported, with each rule's id in the message."""
    page = open_page()
    page.set_content(
        '<!doctype html><html lang="en"><head><title>Bad</title></head><body><main>'
        '<h1>Bad</h1><input type="text"><a href="/x"></a>'
        '<label for="c">Code</label><input id="c" aria-describedby="nowhere">'
        '<p style="color:#ccc;background:#fff">pale text</p></main></body></html>'
    )
    audit = Audit("desktop")
    audit.check(page, "known-bad")
    with pytest.raises(AssertionError) as failed:
        audit.assert_clean()
    for rule in ("label", "link-name", "color-contrast", "aria-valid-attr-value"):
        assert f"{rule} (" in str(failed.value), rule


@pytest.mark.parametrize(("width", "viewport"), VIEWPORTS)
def test_sign_in_and_not_found_pages_pass_axe(open_page, a, width, viewport):
    """The login and password reset forms (signed out), and the not-found page."""
    audit = Audit(width)
    anonymous = open_page(viewport=viewport)
    anonymous.goto("/login/")
    audit.check(anonymous, "login")
    anonymous.goto(reverse("portals:password_reset"))
    audit.check(anonymous, "password-reset")

    admin = open_page(a.admin, viewport=viewport)
    response = admin.goto(
        url("stock", a.customers[0]).replace(str(a.customers[0].customer.pk), "999999")
    )
    assert response.status == 404
    audit.check(admin, "not-found")
    audit.assert_clean()


@pytest.mark.parametrize(("width", "viewport"), VIEWPORTS)
def test_customer_pages_pass_axe(open_page, a, width, viewport):
    """A manager's pages over a week of activity: dashboard, stock (all, filtered), a bin,
    the orders, an order awaiting approval, the scan page (empty, then with a recorded
    scan), scanners (and the page that shows a new token once), users; and the stock page
    with the admin's in-place edit open."""
    cw = a.customers[0]
    made = demo_activity(a)
    audit = Audit(width)
    manager = open_page(cw.manager, viewport=viewport)
    pages = {
        "dashboard": url("dashboard", cw),
        "stock": url("stock", cw),
        "stock-filtered": url("stock", cw) + "?q=zzz-nothing&status=below_min",
        "stock-below-min": url("stock", cw) + "?status=below_min&sort=-location",
        "bin": url("bin", cw, bin_id=made["bin"].pk),
        "orders": url("orders", cw),
        "order-awaiting-approval": url("order", cw, order_id=made["order"].pk),
        "scan": url("scan", cw),
        "scanners": url("scanners", cw),
        "users": url("users", cw),
    }
    for name, target in pages.items():
        manager.goto(target)
        audit.check(manager, name)

    manager.goto(url("scan", cw))
    code = manager.get_by_label("Code", exact=True)
    code.fill(made["bin"].label)
    code.press("Enter")
    expect(manager.locator("#scan-results li").first).to_contain_text("Accepted")
    audit.check(manager, "scan-recorded")

    manager.goto(url("scanners", cw))
    manager.get_by_label("Name").fill("Dock handheld")
    manager.get_by_role("button", name="Add scanner").click()
    manager.get_by_label("Token for Dock handheld").wait_for()
    audit.check(manager, "scanners-token")

    admin = open_page(a.admin, viewport=viewport)
    admin.goto(url("stock", cw))
    row = admin.locator(f"#bin-{made['bin'].pk}")
    row.get_by_role("link", name=re.compile(r"^Edit")).click()
    admin.get_by_label(f"Min of {made['bin'].item.sku}").wait_for()
    audit.check(admin, "stock-editing")
    audit.assert_clean()


@pytest.mark.parametrize(("width", "viewport"), VIEWPORTS)
def test_vendor_pages_pass_axe(open_page, ew, width, viewport):
    """The admin's pages: customers, orders across customers, an order with its 850, 997,
    855 and 856, an EDI document, inbound problems and a failed interchange, the catalog and an item, a label sheet, the bins import
    and its preview with a bad row, the bins adjustment preview, the catalog import, the
    vendor settings (also with a field's error shown) and a customer's settings."""
    a = ew.a
    cw = a.customers[0]
    audit = Audit(width)
    admin = open_page(a.admin, viewport=viewport)
    pages = {
        "customers": reverse("portals:customers"),
        "vendor-orders": reverse("portals:vendor_orders"),
        "vendor-order": reverse("portals:vendor_order", kwargs={"order_id": ew.order0.pk}),
        "edi-document": reverse("portals:edi_document", kwargs={"document_id": ew.po0.pk}),
        "edi-inbound": reverse("portals:edi_inbound"),
        "edi-interchange": reverse(
            "portals:edi_interchange", kwargs={"interchange_id": ew.failed.pk}
        ),
        "catalog": reverse("portals:catalog"),
        "catalog-item": reverse("portals:catalog_item", kwargs={"item_id": a.items[0].pk}),
        "labels": url("labels", cw) + f"?site={cw.site.pk}&format=code128",
        "bins-import": url("bins_import", cw),
        "catalog-import": reverse("portals:catalog_import"),
        "settings": reverse("portals:settings"),
        "customer-settings": url("customer_settings", cw),
    }
    for name, target in pages.items():
        admin.goto(target)
        audit.check(admin, name)

    upload(admin, cw, three_rows(a))
    assert admin.locator("#rows-error").is_visible()
    audit.check(admin, "bins-import-preview")

    admin.goto(url("bins_adjust", cw))
    audit.check(admin, "bins-adjust")
    admin.get_by_label("By percent").fill("10")
    admin.get_by_role("button", name="Preview").click()
    admin.get_by_role("heading", name=re.compile(r"^Preview: ")).wait_for()
    audit.check(admin, "bins-adjust-preview")

    admin.goto(reverse("portals:settings"))
    admin.get_by_label("Component separator (ISA16)").fill("*")
    admin.get_by_role("button", name="Save profile").click()
    admin.locator(".field--error").first.wait_for()
    audit.check(admin, "settings-error")
    audit.assert_clean()


def test_keyboard_reaches_skip_link_then_navigation_then_search_before_results(open_page, a):
    """On the stock page, Tab from the top: the skip link first, then the navigation's
    links, and the search field before any link of the results."""
    cw = a.customers[0]
    page = open_page(a.admin)
    page.goto(url("stock", cw))
    order: list[dict] = []
    for _ in range(60):
        page.keyboard.press("Tab")
        order.append(
            page.evaluate(
                """() => {
                    const el = document.activeElement;
                    return {
                        text: (el.textContent || '').trim(),
                        id: el.id,
                        inNav: !!el.closest('nav'),
                        inResults: !!el.closest('#stock-results'),
                    };
                }"""
            )
        )
        if order[-1]["inResults"]:
            break
    assert order[0]["text"] == "Skip to content"
    first_nav = next(i for i, el in enumerate(order) if el["inNav"])
    search = next(i for i, el in enumerate(order) if el["id"] == "id_q")
    first_result = next(i for i, el in enumerate(order) if el["inResults"])
    assert 0 < first_nav < search < first_result, order


def test_scan_page_focuses_the_code_and_enter_records(open_page, a):
    """On load the code field has the focus (a handheld can type at once); typing a shelf
    label and pressing Enter records the scan, and the focus is back in the empty field."""
    cw = a.customers[0]
    target = cw.bins[0]
    page = open_page(cw.staff, viewport=PHONE)
    scans = ScanEvent.objects.filter(customer_id=cw.customer.pk)
    before = scans.count()
    page.goto(url("scan", cw))
    code = page.get_by_label("Code", exact=True)
    expect(code).to_be_focused()
    page.keyboard.type(target.label)
    page.keyboard.press("Enter")
    newest = page.locator("#scan-results li").first
    expect(newest).to_contain_text(target.label)
    expect(newest.locator(".scan-badge")).to_have_text("Accepted")  # the server has it
    expect(code).to_be_focused()
    expect(code).to_have_value("")
    assert scans.count() == before + 1
    assert scans.order_by("-pk").first().user_id == cw.staff.pk
