"""The scan page as an installable app, in a real browser (Debian's chromium through
Playwright): after one visit with a connection, the page opens again with none (from
the service worker's cache), scans made then wait on the phone, and they reach the
server with their own event ids once the connection returns. Kanban bins are cards."""

from __future__ import annotations

from playwright.sync_api import expect

from stocking.models import Bin, ScanEvent
from tests.portals.browser_kit import BROWSER_MARKS, DESKTOP, PHONE, fits_the_width, shoot
from tests.portals.helpers import url
from tests.portals.test_portal_scan_browser import record

pytestmark = BROWSER_MARKS
SCANS_POSTED = "**/scan/events/"

CACHED = """async () => {
  const urls = [];
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) urls.push(new URL(request.url).pathname);
  }
  return urls;
}"""


def installed(page, cw) -> list[str]:
    """Waits until the service worker controls the page and has kept the page, its
    script and the bins list; returns what it kept."""
    page.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.controller")
    wanted = {url("scan", cw), url("scan_bins", cw), "/static/portals/scan.js"}
    for _ in range(50):
        kept = page.evaluate(CACHED)
        if wanted <= set(kept):
            return kept
        page.wait_for_timeout(100)
    raise AssertionError(f"not cached: {wanted - set(kept)}")


def test_after_one_visit_the_page_opens_offline_and_its_scans_arrive_when_back(open_page, a):
    """Online once; then with no connection the page reloads and opens again from the
    cache (answered by the service worker, not the server), a scan is recorded and
    survives another reload and opening; online again it is sent by itself, stored once
    with the event id the phone gave it, and on-hand moves once."""
    cw = a.customers[0]
    target = cw.bins[1]
    page = open_page(cw.staff, viewport=PHONE)
    page.goto(url("scan", cw))
    page.get_by_label("Code", exact=True).wait_for()
    kept = installed(page, cw)
    assert "/static/portals/scan.css" in kept and "/static/portals/portal.css" in kept

    page.context.set_offline(True)
    # And the scans' endpoint unreachable too, as on a phone with no signal: chromium's
    # offline emulation has let a page's POST through on a loaded machine (a tab opened
    # or closed while offline), and the page must then keep the scan, not lose it.
    page.context.route(SCANS_POSTED, lambda route: route.abort("internetdisconnected"))
    response = page.reload()
    assert response is not None and response.from_service_worker
    code = page.get_by_label("Code", exact=True)
    expect(code).to_be_enabled()  # the script ran: it came from the cache too
    expect(page.locator("#scan-conn")).to_have_text("Offline")
    event_id = record(page, target.label, 3)
    expect(page.locator("#scan-waiting")).to_have_text("1")
    expect(page.locator(f"li[data-event-id='{event_id}'] .scan-badge")).to_have_text("Waiting")
    # the bins list came from the cache: the waiting scan already names its item
    expect(page.locator(f"li[data-event-id='{event_id}']")).to_contain_text(target.item.sku)
    assert fits_the_width(page)
    shoot(page, "scan-offline", "phone")

    page.reload()  # still offline: the page and the waiting scan are both still there
    expect(page.locator("#scan-waiting")).to_have_text("1")
    expect(page.locator(f"li[data-event-id='{event_id}']")).to_contain_text(
        f"Issue 3 · {target.label}"
    )
    opened = page.goto(url("scan", cw))  # the app opened again from the home screen
    assert opened is not None and opened.from_service_worker
    expect(page.get_by_label("Code", exact=True)).to_be_enabled()
    expect(page.locator("#scan-waiting")).to_have_text("1")
    # Nothing reached the server while offline. (One tab: a second tab opened or closed
    # while offline has let its POST through chromium's offline emulation and a context
    # route on a loaded machine, a gap of the emulation, not of the page.)
    assert not ScanEvent.objects.filter(event_id=event_id).exists()
    assert Bin.objects.get(pk=target.pk).on_hand == 30

    page.context.unroute(SCANS_POSTED)
    page.context.set_offline(False)
    expect(page.locator("#scan-waiting")).to_have_text("0")
    expect(page.locator(f"li[data-event-id='{event_id}'] .scan-badge")).to_have_text("Accepted")
    stored = ScanEvent.objects.get(event_id=event_id)
    assert (stored.kind, stored.quantity, stored.user_id) == ("issue", 3, cw.staff.pk)
    assert Bin.objects.get(pk=target.pk).on_hand == 27


def test_a_kanban_bin_is_a_card_and_tapping_it_sends_a_kanban_signal(open_page, a):
    """A bin with a kanban quantity is drawn as a card; tapping it (also offline) queues a
    kanban event that is sent when the connection returns; min/max bins have no card."""
    cw = a.customers[0]
    kanban = cw.bins[2]
    Bin.objects.filter(pk=kanban.pk).update(kanban_quantity=40, min_qty=0, max_qty=0)
    page = open_page(cw.staff, viewport=DESKTOP)
    page.goto(url("scan", cw))
    cards = page.locator("#scan-cards .scan-card")
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text(kanban.label)
    expect(cards.first).to_contain_text("card of 40")
    installed(page, cw)

    page.context.set_offline(True)
    page.reload()
    card = page.get_by_role("button", name=f"Send the kanban card of {kanban.label}")
    card.click()
    newest = page.locator("#scan-results li").first
    expect(newest).to_contain_text(f"Kanban card · {kanban.label}")
    expect(page.locator("#scan-waiting")).to_have_text("1")
    event_id = newest.get_attribute("data-event-id")
    assert fits_the_width(page)
    shoot(page, "scan-kanban", "desktop")

    page.context.set_offline(False)
    expect(newest.locator(".scan-badge")).to_have_text("Accepted")
    stored = ScanEvent.objects.get(event_id=event_id)
    assert (stored.kind, stored.bin_id, stored.quantity) == ("kanban", kanban.pk, None)
