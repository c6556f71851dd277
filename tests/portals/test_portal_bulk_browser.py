"""The bins CSV import in a real browser: one bad row is shown in the preview with its
error, nothing is saved until the admin confirms, then only the good rows are.
Screenshots of the preview at desktop and phone width go to test-artifacts/screenshots/.
"""

from __future__ import annotations

from stocking.models import Bin, BinLevelChange
from tests.portals.browser_kit import BROWSER_MARKS, DESKTOP, PHONE, fits_the_width, shoot
from tests.portals.helpers import url

pytestmark = BROWSER_MARKS


def three_rows(a) -> bytes:
    s0, s1, s2 = (item.sku for item in a.items)  # the second comes in packs of 10
    return (
        "site,location,sku,min,max,pack_multiple\n"
        f"MAIN,SHELF-A,{s0},12,60,\n"
        f"MAIN,SHELF-A,{s1},70,60,10\n"
        f"MAIN,SHELF-A,{s2},5,40,\n"
    ).encode()


def levels(found: Bin) -> tuple[int, int]:
    fresh = Bin.objects.get(pk=found.pk)
    return fresh.min_qty, fresh.max_qty


def upload(page, cw, body: bytes) -> None:
    page.goto(url("bins_import", cw))
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "bins.csv", "mimeType": "text/csv", "buffer": body}]
    )
    page.get_by_role("button", name="Preview the import").click()
    page.get_by_role("heading", name="Check the import").wait_for()


def test_bins_import_previews_a_bad_row_then_saves_only_the_good_ones(open_page, a):
    """Three rows, the second with min above max: the preview lists that row's error and
    the other two as changes, and the database is untouched; after Confirm the two good
    rows are saved with their audit rows and the bad one is not."""
    cw = a.customers[0]
    page = open_page(a.admin)
    upload(page, cw, three_rows(a))

    errors = page.locator("#rows-error")
    assert "min (70) is above max (60)." in errors.locator("#line-3").inner_text()
    good = page.locator("#rows-good")
    assert "10 → 12" in good.locator("#line-2").inner_text()
    assert "50 → 40" in good.locator("#line-4").inner_text()
    assert good.locator("tbody tr").count() == 2
    assert [levels(b) for b in cw.bins] == [(10, 50), (10, 50), (10, 50)]
    assert not BinLevelChange.objects.filter(source="import").exists()
    assert fits_the_width(page)
    shoot(page, "bins-import-preview", "desktop")

    page.get_by_role("button", name="Confirm and save").click()
    page.get_by_role("heading", name="Import saved").wait_for()
    assert "1 row skipped" in page.get_by_role("status").first.inner_text()
    assert [levels(b) for b in cw.bins] == [(12, 60), (10, 50), (5, 40)]
    audit = BinLevelChange.objects.filter(source="import").order_by("bin_id")
    assert [(c.bin_id, c.new_min, c.new_max, c.user_id) for c in audit] == [
        (cw.bins[0].pk, 12, 60, a.admin.pk),
        (cw.bins[2].pk, 5, 40, a.admin.pk),
    ]
    shoot(page, "bins-import-saved", "desktop")


def test_bins_import_preview_fits_a_phone(open_page, a):
    """At 390 px the preview's rows stack into cards and nothing scrolls sideways."""
    cw = a.customers[0]
    page = open_page(a.admin, viewport=PHONE)
    page.goto(url("bins_import", cw))
    assert fits_the_width(page)
    shoot(page, "bins-import", "phone")
    upload(page, cw, three_rows(a))
    assert page.locator("#rows-error").get_by_text("min (70) is above max (60).").is_visible()
    assert fits_the_width(page)
    shoot(page, "bins-import-preview", "phone")


def test_bins_adjust_preview_at_desktop_and_phone(open_page, a):
    """The adjustment's preview (raise all mins by 10%) at both widths, for people to see."""
    cw = a.customers[0]
    for viewport, width in ((DESKTOP, "desktop"), (PHONE, "phone")):
        page = open_page(a.admin, viewport=viewport)
        page.goto(url("bins_adjust", cw))
        page.get_by_label("By percent").fill("10")
        page.get_by_role("button", name="Preview").click()
        page.get_by_role("heading", name="Preview: 3 of 3 bins change").wait_for()
        assert fits_the_width(page)
        shoot(page, "bins-adjust-preview", width)
    assert [levels(b)[0] for b in cw.bins] == [10, 10, 10]
