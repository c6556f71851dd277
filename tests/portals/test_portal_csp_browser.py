"""The portals under their Content-Security-Policy, in a real browser (Debian's chromium).

open_page fails any test whose pages break the policy (see conftest.py), so every
browser test checks it; these walk the pages that run script: the htmx stock list
(search, sort, in-place edit, the export that follows the filters), the scan page and
the API docs (Swagger UI from our own static files). And the first load of a page asks
for nothing that is missing: /favicon.ico answers, the console stays clean.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.portals.browser_kit import BROWSER_MARKS, htmx_wired
from tests.portals.helpers import url

pytestmark = BROWSER_MARKS


def settled(page) -> None:
    """htmx has finished the request and its swap."""
    expect(page.locator(".htmx-request, .htmx-swapping, .htmx-settling")).to_have_count(0)


def test_the_watch_reports_an_inline_script_the_policy_refuses(open_page):
    """The control: a page that adds an inline script gets it refused, and open_page sees
    it (this test then clears the list, so that it alone does not fail)."""
    page = open_page()
    page.goto("/login/")
    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.inlineRan = true'; document.body.append(s); }"
    )
    page.wait_for_timeout(200)
    assert page.evaluate("window.inlineRan === undefined")  # the policy blocked it
    assert any("script" in v for v in open_page.csp_violations), open_page.csp_violations
    open_page.csp_violations.clear()


def test_stock_list_searches_sorts_and_edits_in_place_with_htmx_under_the_policy(open_page, a):
    """Typing filters the list without a page load, a sort header reorders it, an in-place
    edit saves, and the CSV export link carries the filters htmx put in the address."""
    cw = a.customers[0]
    target = cw.bins[0]
    sku = target.item.sku
    page = open_page(a.admin)
    page.goto(url("stock", cw))
    page.evaluate("window.stillTheSamePage = true")

    page.get_by_label("Search").fill(sku)
    expect(page).to_have_url(re.compile(rf"q={sku}"))
    expect(page.locator("#stock-results tbody tr")).to_have_count(1)

    with htmx_wired(page, "#stock-results thead a.sort"):
        page.get_by_label("Search").fill("")
    expect(page.locator("#stock-results tbody tr")).to_have_count(len(cw.bins))
    with htmx_wired(page, "#stock-filter"):
        page.locator("#stock-results thead a").first.click()
    expect(page).to_have_url(re.compile(r"sort="))
    settled(page)

    row = page.locator(f"#bin-{target.pk}")
    with htmx_wired(page, f"#bin-{target.pk} form"):
        row.get_by_role("link", name=re.compile(r"^Edit")).click()
    page.get_by_label(f"Min of {sku}").fill("12")
    page.get_by_label(f"Max of {sku}").fill("60")
    row.get_by_role("button", name="Save").click()
    row.get_by_text("Saved").wait_for()
    assert page.evaluate("window.stillTheSamePage") is True  # all of it without a page load

    page.get_by_label("Search").fill(sku)
    expect(page).to_have_url(re.compile(rf"q={sku}"))
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    assert f"q={sku}" in download.value.url
    assert sku in download.value.path().read_text()


def test_scan_page_records_a_scan_under_the_policy(open_page, a):
    """Its script is a static file: typing a label and Enter records an accepted scan."""
    cw = a.customers[0]
    page = open_page(cw.staff)
    page.goto(url("scan", cw))
    page.get_by_label("Code", exact=True).fill(cw.bins[0].label)
    page.get_by_label("Code", exact=True).press("Enter")
    expect(page.locator("#scan-results li .scan-badge").first).to_have_text("Accepted")


def test_api_docs_render_from_local_assets_under_the_policy(open_page, live_server):
    """Swagger UI draws the operations from the schema, every asset from this server."""
    page = open_page()
    foreign = []
    page.on(
        "request",
        lambda r: None if r.url.startswith(live_server.url) else foreign.append(r.url),
    )
    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("CMI platform API")
    expect(page.locator(".opblock").first).to_be_visible()
    assert foreign == []


def test_first_load_asks_for_nothing_missing_and_logs_no_error(open_page):
    """A fresh browser opening the sign-in page: no console error, no 4xx or 5xx for
    anything it loads, and the favicon it links answers with an icon."""
    page = open_page()
    errors, failed = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto("/login/")
    page.wait_for_load_state("networkidle")
    assert page.locator("link[rel=icon]").get_attribute("href") == "/favicon.ico"
    icon = page.request.get("/favicon.ico")
    assert icon.status == 200
    assert icon.headers["content-type"] in ("image/x-icon", "image/vnd.microsoft.icon")
    assert errors == []
    assert failed == []
