"""The scan page in a real browser (Debian's chromium through Playwright): typing a shelf
label and pressing Enter records the scan, the stock page shows it, and scans made
without a connection wait in the browser, survive a reload, and go out once."""

from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from stocking.models import Bin, ScanEvent
from tests.portals.browser_kit import BROWSER_MARKS, DESKTOP, PHONE, fits_the_width, shoot
from tests.portals.helpers import url

pytestmark = BROWSER_MARKS

ENDPOINT = "**/scan/events/"


def record(page, label: str, quantity: int, kind: str = "Issue") -> str:
    """Choose the kind, set the quantity, type the code and press Enter, as a handheld
    scanner acting as a keyboard does. Returns the new event's id."""
    page.locator(".scan-kind", has_text=kind).click()
    page.get_by_label(re.compile("quantity", re.I)).fill(str(quantity))  # "Counted quantity"
    code = page.get_by_label("Code", exact=True)
    code.fill(label)
    code.press("Enter")
    newest = page.locator("#scan-results li").first
    expect(newest).to_contain_text(label)
    return newest.get_attribute("data-event-id")


def stock_on_hand(page, cw, found: Bin) -> str:
    page.goto(url("stock", cw))
    return page.locator(f"#bin-{found.pk} td[data-label='On hand']").inner_text().strip()


def queued(page, cw) -> list[dict]:
    key = f"cmi-scan-queue:{cw.staff.pk}:{cw.customer.pk}"
    return json.loads(page.evaluate(f"window.localStorage.getItem({json.dumps(key)}) || '[]'"))


def test_staff_records_an_issue_on_a_phone_and_the_stock_page_shows_it(open_page, a):
    """At phone width: Issue, 3, the bin label, Enter. The result line says accepted and
    names the item and the new on-hand; the stock page shows 27 for that bin."""
    cw = a.customers[0]
    target = cw.bins[0]
    page = open_page(cw.staff, viewport=PHONE)
    page.goto(url("scan", cw))
    code = page.get_by_label("Code", exact=True)
    expect(code).to_be_focused()  # ready for the handheld's keystrokes
    camera = page.get_by_role("button", name="Camera")
    if page.evaluate("'BarcodeDetector' in window"):
        expect(camera).to_be_visible()
    else:  # chromium on Linux has no BarcodeDetector: no button that cannot work
        expect(camera).to_be_hidden()

    event_id = record(page, target.label, 3)
    newest = page.locator(f"#scan-results li[data-event-id='{event_id}']")
    expect(newest.locator(".scan-badge")).to_have_text("Accepted")
    expect(newest).to_contain_text(f"{target.item.sku}")
    expect(newest).to_contain_text("on hand now 27")
    expect(page.locator("#scan-announce")).to_contain_text("Accepted")
    expect(page.locator("#scan-waiting")).to_have_text("0")
    expect(code).to_be_focused()  # the next scan can follow at once
    expect(code).to_have_value("")
    assert fits_the_width(page)
    shoot(page, "scan", "phone")

    stored = ScanEvent.objects.get(event_id=event_id)
    assert (stored.user_id, stored.kind, stored.quantity) == (cw.staff.pk, "issue", 3)
    assert stock_on_hand(page, cw, target) == "27"


def test_a_scan_made_offline_waits_and_goes_out_once_when_the_connection_returns(open_page, a):
    """With the connection cut the issue is kept in the browser (1 waiting, nothing in the
    database); when it returns the page sends it by itself, the count drops to 0, the
    database has it once and the stock page shows it."""
    cw = a.customers[0]
    target = cw.bins[1]
    page = open_page(cw.staff, viewport=PHONE)
    page.goto(url("scan", cw))
    page.get_by_label("Code", exact=True).wait_for()

    page.context.set_offline(True)
    expect(page.locator("#scan-conn")).to_have_text("Offline")
    event_id = record(page, target.label, 4)
    expect(page.locator("#scan-waiting")).to_have_text("1")
    expect(page.locator(f"li[data-event-id='{event_id}'] .scan-badge")).to_have_text("Waiting")
    assert [e["event_id"] for e in queued(page, cw)] == [event_id]
    page.wait_for_timeout(500)  # time in which a send would have happened
    assert not ScanEvent.objects.filter(event_id=event_id).exists()
    assert Bin.objects.get(pk=target.pk).on_hand == 30

    page.context.set_offline(False)
    expect(page.locator("#scan-waiting")).to_have_text("0")
    expect(page.locator(f"li[data-event-id='{event_id}'] .scan-badge")).to_have_text("Accepted")
    assert queued(page, cw) == []
    assert ScanEvent.objects.filter(event_id=event_id).count() == 1
    assert Bin.objects.get(pk=target.pk).on_hand == 26
    assert stock_on_hand(page, cw, target) == "26"


def test_a_queued_scan_survives_a_reload(open_page, a):
    """The scan endpoint cannot be reached (the page itself can still load: without a
    service worker no page loads with no network at all). The recorded count waits,
    is still waiting after a reload, and is sent once the endpoint answers again."""
    cw = a.customers[0]
    target = cw.bins[2]
    page = open_page(cw.staff, viewport=PHONE)
    page.context.route(ENDPOINT, lambda route: route.abort("internetdisconnected"))
    page.goto(url("scan", cw))
    event_id = record(page, target.label, 11, kind="Count")
    expect(page.locator("#scan-waiting")).to_have_text("1")
    expect(page.locator(f"li[data-event-id='{event_id}'] .scan-result__detail")).to_contain_text(
        "No connection"
    )

    page.reload()
    expect(page.locator("#scan-waiting")).to_have_text("1")
    row = page.locator(f"li[data-event-id='{event_id}']")
    expect(row).to_contain_text(f"Count 11 · {target.label}")
    assert not ScanEvent.objects.filter(event_id=event_id).exists()

    page.context.unroute(ENDPOINT)
    page.get_by_role("button", name="Send now").click()
    expect(page.locator("#scan-waiting")).to_have_text("0")
    expect(row.locator(".scan-badge")).to_have_text("Accepted")
    assert ScanEvent.objects.filter(event_id=event_id).count() == 1
    assert Bin.objects.get(pk=target.pk).on_hand == 11


def test_a_lost_answer_is_resent_and_counted_once(open_page, a):
    """The server stores the scan but its answer is lost on the way (a proxy in between
    times out with a 504): the event stays queued, the resend comes back as already
    recorded, and stock moved once."""
    cw = a.customers[0]
    target = cw.bins[0]
    page = open_page(cw.staff, viewport=DESKTOP)

    def answer_lost(route):
        route.fetch()  # the request reaches the server ...
        route.fulfill(status=504, body="Gateway Timeout")  # ... its answer does not come back

    page.context.route(ENDPOINT, answer_lost)
    page.goto(url("scan", cw))
    event_id = record(page, target.label, 5)
    row = page.locator(f"li[data-event-id='{event_id}']")
    expect(row).to_contain_text("The server had a problem")  # the attempt is over
    expect(row.locator(".scan-badge")).to_have_text("Waiting")
    expect(page.locator("#scan-waiting")).to_have_text("1")
    assert ScanEvent.objects.filter(event_id=event_id).count() == 1

    page.context.unroute(ENDPOINT)
    page.get_by_role("button", name="Send now").click()
    expect(page.locator("#scan-waiting")).to_have_text("0")
    expect(row.locator(".scan-badge")).to_have_text("Already recorded")
    assert ScanEvent.objects.filter(event_id=event_id).count() == 1
    assert Bin.objects.get(pk=target.pk).on_hand == 25


def test_a_rejected_scan_leaves_the_queue_with_its_reason(open_page, a):
    """An unknown code is shown as rejected with the server's reason and is not retried;
    the screenshots are taken at desktop width with both outcomes on screen."""
    cw = a.customers[0]
    page = open_page(cw.staff, viewport=DESKTOP)
    page.goto(url("scan", cw))
    good = record(page, cw.bins[0].label, 2, kind="Receive")
    expect(page.locator(f"li[data-event-id='{good}'] .scan-badge")).to_have_text("Accepted")
    bad = record(page, "NO-SUCH-SHELF", 1)
    row = page.locator(f"li[data-event-id='{bad}']")
    expect(row.locator(".scan-badge")).to_have_text("Rejected")
    expect(row).to_contain_text("No bin label, item or part number 'NO-SUCH-SHELF'.")
    expect(page.locator("#scan-waiting")).to_have_text("0")
    assert queued(page, cw) == []
    assert fits_the_width(page)
    shoot(page, "scan", "desktop")


def test_a_server_error_is_retried_with_growing_pauses_and_the_same_event_id(open_page, a):
    """Two 500s, then the server answers: the scan is sent three times, each time with
    the same event id, the second pause longer than the first (backoff, not a tight
    loop), and it is stored once."""
    import time

    cw = a.customers[0]
    target = cw.bins[1]
    page = open_page(cw.staff, viewport=DESKTOP)
    attempts: list[tuple[float, list[str]]] = []

    def flaky(route):
        ids = [e["event_id"] for e in route.request.post_data_json["scans"]]
        attempts.append((time.monotonic(), ids))
        if len(attempts) <= 2:
            route.fulfill(status=500, content_type="application/json", body='{"error": {}}')
        else:
            route.continue_()

    page.context.route(ENDPOINT, flaky)
    page.goto(url("scan", cw))
    event_id = record(page, target.label, 2)
    row = page.locator(f"li[data-event-id='{event_id}']")
    expect(row.locator(".scan-badge")).to_have_text("Accepted", timeout=15000)
    assert [ids for _, ids in attempts] == [[event_id]] * 3
    first_pause = attempts[1][0] - attempts[0][0]
    second_pause = attempts[2][0] - attempts[1][0]
    assert 1.0 < first_pause < second_pause, (first_pause, second_pause)
    assert ScanEvent.objects.filter(event_id=event_id).count() == 1
    assert Bin.objects.get(pk=target.pk).on_hand == 28


def test_a_batch_refused_whole_is_split_and_only_the_bad_scan_is_dropped(open_page, a):
    """Three scans wait offline; the server refuses any batch holding the middle one
    with a 400. The page splits the batch until that scan is alone, drops it and shows
    it as rejected with the server's reason; the other two are stored, the queue is
    empty and no further request is made."""
    cw = a.customers[0]
    page = open_page(cw.staff, viewport=DESKTOP)
    sent: list[list[str]] = []

    def refuse_bad(route):
        codes = [e["code"] for e in route.request.post_data_json["scans"]]
        sent.append(codes)
        if "BAD-ONE" in codes:
            body = {"error": {"code": "text_invalid", "detail": "Refused here.", "field": None}}
            route.fulfill(status=400, content_type="application/json", body=json.dumps(body))
        else:
            route.continue_()

    page.context.route(ENDPOINT, refuse_bad)
    page.goto(url("scan", cw))
    page.get_by_label("Code", exact=True).wait_for()
    page.context.set_offline(True)
    first = record(page, cw.bins[0].label, 1)
    bad = record(page, "BAD-ONE", 1)
    last = record(page, cw.bins[2].label, 1)
    expect(page.locator("#scan-waiting")).to_have_text("3")
    page.context.set_offline(False)

    expect(page.locator("#scan-waiting")).to_have_text("0")
    row = page.locator(f"li[data-event-id='{bad}']")
    expect(row.locator(".scan-badge")).to_have_text("Rejected")
    expect(row).to_contain_text("Refused here. (text_invalid)")
    for good in (first, last):
        expect(page.locator(f"li[data-event-id='{good}'] .scan-badge")).to_have_text("Accepted")
    assert queued(page, cw) == []
    requests = len(sent)
    page.wait_for_timeout(1000)
    assert len(sent) == requests <= 6, sent  # halving: at most twice the scans
    assert set(ScanEvent.objects.values_list("code", flat=True)) == {
        cw.bins[0].label,
        cw.bins[2].label,
    }
