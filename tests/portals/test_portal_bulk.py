"""Bins and catalog in bulk: CSV export, import with a preview that writes nothing and a
confirm that checks again and saves the good rows set-based, and the percentage
adjustment of min/max. Who may use them, the 404 wall, bad files, and query counts."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.models import Item, ItemBarcode
from catalog.services import item_create
from cmi.csvin import whole_number
from cmi.models import Membership
from stocking.bulk import Levels, adjusted_levels
from stocking.models import Bin, BinLevelChange, Location
from stocking.setup import bin_create, bin_levels_update, location_create, site_create
from tests.factories import gtin13
from tests.portals.helpers import grow, signed_in, url

BIN_PAGES = ("bins_import", "bins_adjust", "bins_export")
HEADER = "site,location,sku,min,max,pack_multiple\n"


def read_csv(resp) -> list[list[str]]:
    body = b"".join(resp.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def preview(client, cw, text: str | None = None, *, upload: bytes | None = None, name="bins.csv"):
    data: dict = {}
    if upload is not None:
        data["file"] = SimpleUploadedFile(name, upload, content_type="text/csv")
    if text is not None:
        data["text"] = text
    return client.post(url("bins_import", cw), data)


def confirm(client, cw, text: str):
    return client.post(url("bins_import", cw), {"csv_text": text, "confirm": "1"})


def rows_by_line(resp) -> dict[int, object]:
    return {row.line: row for row in resp.context["plan"].rows}


def levels(found: Bin) -> tuple[int, int, int]:
    fresh = Bin.objects.get(pk=found.pk)
    return fresh.min_qty, fresh.max_qty, fresh.pack_multiple


# --- who may use the pages ---------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin", "rep"])
@pytest.mark.parametrize("page", BIN_PAGES)
def test_bins_pages_open_for_vendor_staff(a, who, page):
    """The admin and a rep (with no assignment: every customer) open each bins page."""
    resp = signed_in(getattr(a, who)).get(url(page, a.customers[0]))
    assert resp.status_code == 200


@pytest.mark.parametrize("who", ["manager", "staff"])
@pytest.mark.parametrize("page", BIN_PAGES)
@pytest.mark.parametrize("method", ["get", "post"])
def test_customer_users_are_refused_the_bins_pages(a, who, page, method):
    """Min/max belong to the vendor: customer users get 403, on their own customer and
    on the other one alike (so the answer says nothing about the other's existence)."""
    for cw in a.customers:
        client = signed_in(getattr(a.customers[0], who))
        resp = getattr(client, method)(url(page, cw), {"text": HEADER + "MAIN,ROOM,X,1,2,1"})
        assert resp.status_code == 403
    assert not BinLevelChange.objects.filter(source="import").exists()


@pytest.mark.parametrize("page", BIN_PAGES)
@pytest.mark.parametrize("method", ["get", "post"])
def test_another_vendors_customer_is_404(a, b, page, method):
    """Vendor A's admin gets 404 for vendor B's customer, reading or writing."""
    cw = b.customers[0]
    text = HEADER + f"MAIN,SHELF-A,{b.items[0].sku},1,2,1"
    resp = getattr(signed_in(a.admin), method)(url(page, cw), {"text": text})
    assert resp.status_code == 404
    assert not BinLevelChange.objects.filter(source="import").exists()


@pytest.mark.parametrize("page", BIN_PAGES)
def test_rep_with_assigned_customers_gets_404_for_the_others(a, page):
    """A rep assigned to customer 0 opens its pages; customer 1's are 404."""
    Membership.objects.get(user=a.rep).assigned_customers.set([a.customers[0].customer])
    client = signed_in(a.rep)
    assert client.get(url(page, a.customers[0])).status_code == 200
    assert client.get(url(page, a.customers[1])).status_code == 404
    assert client.post(url(page, a.customers[1]), {"text": HEADER}).status_code == 404


def test_catalog_import_is_for_the_vendor_admin_only(a):
    """The admin imports the catalog; a rep and customer users get 403."""
    target = reverse("portals:catalog_import")
    assert signed_in(a.admin).get(target).status_code == 200
    for user in (a.rep, a.customers[0].manager, a.customers[0].staff):
        assert signed_in(user).get(target).status_code == 403
        text = "sku,description\nNEW-1,New thing"
        assert signed_in(user).post(target, {"text": text, "confirm": "1"}).status_code == 403
    assert not Item.objects.filter(sku="NEW-1").exists()


def test_catalog_export_is_for_vendor_staff_and_holds_only_the_own_catalog(a, b):
    """Admin and rep download their vendor's items (never B's); customer users get 403."""
    target = reverse("portals:catalog_export")
    for user in (a.admin, a.rep):
        rows = read_csv(signed_in(user).get(target))
        assert rows[0] == ["sku", "description", "uom", "pack_quantity", "barcodes"]
        assert [r[0] for r in rows[1:]] == sorted(i.sku for i in a.items)
    assert signed_in(a.customers[0].manager).get(target).status_code == 403


def test_catalog_import_of_another_vendor_never_touches_ours(a, b):
    """Vendor B's admin importing A's SKU makes an item in B's catalog; A's is unchanged."""
    sku = a.items[0].sku
    text = f"sku,description,barcodes\n{sku},Renamed by B,{gtin13(a.vendor.pk * 1000)}"
    client = signed_in(b.admin)
    resp = client.post(reverse("portals:catalog_import"), {"text": text})
    assert resp.context["totals"]["create"] == 1  # A's barcode is no clash: another vendor
    client.post(reverse("portals:catalog_import"), {"csv_text": text, "confirm": "1"})
    assert Item.objects.get(pk=a.items[0].pk).description == a.items[0].description
    assert Item.objects.get(vendor=b.vendor, sku=sku).description == "Renamed by B"


def test_other_methods_are_405(a):
    """PUT or DELETE on a bulk page is 405, never a 500."""
    client = signed_in(a.admin)
    assert client.put(url("bins_import", a.customers[0])).status_code == 405
    assert client.delete(url("bins_adjust", a.customers[0])).status_code == 405
    assert client.put(reverse("portals:catalog_import")).status_code == 405


# --- export ------------------------------------------------------------------------------


def test_bins_export_has_the_import_columns_then_label_and_on_hand(a):
    """One row per bin of this customer only, in the columns the import reads."""
    cw = a.customers[0]
    rows = read_csv(signed_in(a.admin).get(url("bins_export", cw)))
    assert rows[0] == ["site", "location", "sku", "min", "max", "pack_multiple", "label", "on_hand"]
    assert len(rows) == 1 + len(cw.bins)
    first = cw.bins[0]
    assert ["MAIN", "SHELF-A", first.item.sku, "10", "50", "1", first.label, "30"] in rows
    others = {b.label for b in a.customers[1].bins}
    assert not others & {r[6] for r in rows[1:]}


def test_export_then_import_round_trips_with_no_change(a):
    """The exported file, imported as it is, changes nothing, even an SKU that a
    spreadsheet would read as a formula (exported with an apostrophe in front)."""
    cw = a.customers[0]
    odd = item_create(scope=a.scope, sku="-5MM-WASHER", description="Washer")
    bin_create(scope=a.scope, location_id=cw.shelf.pk, item_id=odd.pk, min_qty=1, max_qty=2)
    client = signed_in(a.admin)
    body = b"".join(client.get(url("bins_export", cw)).streaming_content)
    assert b"'-5MM-WASHER" in body
    resp = preview(client, cw, upload=body)
    assert resp.status_code == 200
    assert resp.context["totals"] == {"create": 0, "change": 0, "same": 4, "error": 0}
    assert resp.context["plan"].ignored == ["label", "on_hand"]


def test_exports_cost_a_fixed_number_of_queries(a):
    """The bins export of 3 bins or 60, the catalog export of 3 items or 60: the same
    queries (rows are streamed from one query; barcodes come in one more)."""
    client = signed_in(a.admin)
    counts = []
    for size in (3, 60):
        cw = a.customers[0]
        grow(a, cw, bins=size)
        Item.objects.bulk_create(
            [Item(vendor=a.vendor, sku=f"E{size}-{n}", description="x") for n in range(size - 3)]
        )
        with CaptureQueriesContext(connection) as queries:
            bins = read_csv(client.get(url("bins_export", cw)))
            items = read_csv(client.get(reverse("portals:catalog_export")))
        assert len(bins) == size + 1
        assert len(items) >= size + 1
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 11, counts


# --- import: the preview -----------------------------------------------------------------


@pytest.fixture
def second_site(a):
    """Customer 0 also has a site WEST with a location W1 (no bins)."""
    cw = a.customers[0]
    site = site_create(scope=a.scope, customer_id=cw.customer.pk, code="WEST", name="West")
    return location_create(scope=a.scope, site_id=site.pk, code="W1")


def test_preview_says_what_each_row_does_and_writes_nothing(a, second_site):
    """Every row gets its line number and either what it will do or its errors, in
    plain words; totals add up; no bin and no audit row is written."""
    cw = a.customers[0]
    s0, s1, s2 = (i.sku for i in a.items)  # s1 comes in packs of 10
    Item.objects.filter(pk=a.items[2].pk).update(active=False)
    for code in ("L1", "L2", "L3", "L4"):
        location_create(scope=a.scope, site_id=cw.site.pk, code=code, parent_id=cw.room.pk)
    text = (
        HEADER
        + f"MAIN,SHELF-A,{s0},12,60,\n"  # 2: change min and max
        + f"MAIN,SHELF-A,{s1},10,50,10\n"  # 3: no change
        + f"MAIN,ROOM,{s0},5,20,\n"  # 4: new bin (pack from the item)
        + "MAIN,SHELF-A,NOPE-1,1,2,1\n"  # 5: unknown SKU
        + f"MAIN,NOWHERE,{s0},1,2,1\n"  # 6: unknown location
        + f"MAIN,ROOM,{s1},70,60,10\n"  # 7: min above max
        + f"MAIN,L1,{s1},10,55,\n"  # 8: max not in whole packs of 10
        + f"MAIN,L2,{s1},ten,50,10\n"  # 9: not a number
        + f"WEST,L3,{s0},1,2,1\n"  # 10: location at another site
        + f"MAIN,ROOM,{s2},1,2,1\n"  # 11: inactive item, no new bin
        + f"MAIN,SHELF-A,{s2},1,2,2\n"  # 12: max 2 in packs of 2: pack change
        + f"WEST,W1,{s0},1,4,\n"  # 13: duplicate of 14
        + f"WEST,W1,{s0},1,5,\n"  # 14: duplicate of 13
        + f"MAIN,shelf-a,{s0},1,2,1\n"  # 15: wrong case, with a hint
        + f"MAIN,L4,{s0},-1,2,1\n"  # 16: negative min
    )
    before = list(Bin.objects.order_by("pk").values_list("min_qty", "max_qty", "pack_multiple"))
    resp = preview(signed_in(a.admin), cw, text)
    assert resp.status_code == 200
    rows = rows_by_line(resp)
    assert rows[2].action == "change" and (rows[2].old, rows[2].new) == (
        Levels(10, 50, 1),
        Levels(12, 60, 1),
    )
    assert rows[3].action == "same"
    assert rows[4].action == "create" and rows[4].new == Levels(5, 20, 1)
    assert rows[5].errors == ["Unknown SKU \u201cNOPE-1\u201d (it is not in the catalog)."]
    assert rows[6].errors == ["Unknown location \u201cNOWHERE\u201d."]
    assert rows[7].errors == ["min (70) is above max (60)."]
    assert rows[8].errors == ["max 55 is not a whole number of packs of 10 (50 or 60 would be)."]
    assert rows[9].errors == ["min is not a number: \u201cten\u201d."]
    assert rows[10].errors == ["Location L3 is at site MAIN, not WEST."]
    assert rows[11].errors == [f"SKU {s2} is inactive: no new bins can be made for it."]
    assert rows[12].action == "change" and rows[12].new == Levels(1, 2, 2)
    assert "Duplicate: line 14 is for the same bin" in rows[13].errors[0]
    assert "Duplicate: line 13 is for the same bin" in rows[14].errors[0]
    assert rows[15].errors == ["Unknown location \u201cshelf-a\u201d. Did you mean SHELF-A?"]
    assert rows[16].errors == ["min must be 0 or more, not -1."]
    assert resp.context["totals"] == {"create": 1, "change": 2, "same": 1, "error": 11}
    page = resp.content.decode()
    assert "min (70) is above max (60)." in page and 'name="csv_text"' in page
    assert "Confirm and save" in page
    after = list(Bin.objects.order_by("pk").values_list("min_qty", "max_qty", "pack_multiple"))
    assert after == before
    assert not BinLevelChange.objects.filter(source="import").exists()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a CSV file"),
        ("location,sku,min,max\nSHELF-A,Écrou,1,2\n".encode("latin-1"), "not UTF-8"),
        (b"", "The submitted file is empty."),
        (b"\n\n  \n", "The file is empty."),
        (b"SHELF-A,SKU-1,1,2\n", "Missing columns: location, sku, min, max."),
        (b"location,sku,min\nSHELF-A,X,1\n", "Missing column: max."),
        (b"location,sku,min,max,min\n", "names a column twice: min"),
        (b'location,sku,min,max\n"SHELF-A,X,1,2\n', "cannot be read as CSV"),
        (b"x" * 2_000_001, "larger than 2 MB"),
        (("location,sku,min,max\n" + "SHELF-A,X,1,2\n" * 10_001).encode(), "more than 10,000"),
    ],
    ids=[
        "binary",
        "latin-1",
        "empty",
        "blank",
        "no-header",
        "missing-column",
        "twice",
        "bad-quote",
        "huge",
        "too-many-rows",
    ],
)
def test_bad_files_get_a_clear_message(a, body, message):
    """Binary, a wrong encoding, empty, no header, missing columns, broken quoting, over
    2 MB or over 10,000 rows: the upload page again (400) saying why; never a 500."""
    resp = preview(signed_in(a.admin), a.customers[0], upload=body)
    assert resp.status_code == 400
    assert message in resp.content.decode()


@pytest.mark.parametrize(
    ("cell", "result"),
    [
        ("12", (12, None)),
        (" 12.0 ", (12, None)),
        ("12.5", (None, "min must be a whole number, not 12.5.")),
        ("", (None, "min is empty.")),
        ("NaN", (None, "min is not a number: \u201cNaN\u201d.")),
        ("-1", (None, "min must be 0 or more, not -1.")),
        ("1e999999999", (None, "min must be at most 10,000,000, not 1e999999999.")),
        # the plain-digits path and its edges: the same numbers and words as Decimal's
        ("007", (7, None)),
        ("10000000", (10_000_000, None)),
        ("10000001", (None, "min must be at most 10,000,000, not 10000001.")),
        ("9" * 5000, (None, f"min must be at most 10,000,000, not {'9' * 20}.")),
        ("+5", (5, None)),
        ("\u0661\u0662", (12, None)),  # Arabic-Indic digits, as Decimal reads them
    ],
)
def test_whole_number_reads_a_cell_or_says_why_not(cell, result):
    """Spreadsheet-style numbers are read; anything else gets a sentence. A huge exponent
    is refused by its bounds (never turned into a billion-digit integer)."""
    assert whole_number(cell, "min") == result


def test_pasted_text_over_the_limit_is_refused_without_a_500(a):
    """Text pasted past 2 MB is refused: with a message when the request fits Django's
    request size limit, as a plain 400 when even the request is too big."""
    row = f"MAIN,SHELF-A,{a.items[0].sku},1,2,\n"
    client = signed_in(a.admin)
    over = preview(client, a.customers[0], HEADER + row * (2_000_001 // len(row) + 1))
    assert over.status_code == 400 and "larger than 2 MB" in over.content.decode()
    huge = preview(client, a.customers[0], HEADER + row * (3_000_000 // len(row)))
    assert huge.status_code == 400
    assert not BinLevelChange.objects.filter(source="import").exists()


def test_neither_file_nor_text_asks_for_one(a):
    resp = preview(signed_in(a.admin), a.customers[0])
    assert resp.status_code == 400
    assert "Choose a CSV file or paste the CSV." in resp.content.decode()


def test_pasted_text_excel_bom_and_semicolons_are_read(a):
    """Text pasted into the box, a file with Excel's byte-order mark and CRLF, and a
    semicolon-separated file all read the same."""
    cw = a.customers[0]
    sku = a.items[0].sku
    client = signed_in(a.admin)
    pasted = preview(client, cw, f"location,sku,min,max\nSHELF-A,{sku},11,50\n")
    bom = preview(
        client, cw, upload=f"\ufefflocation,sku,min,max\r\nSHELF-A,{sku},11,50\r\n".encode()
    )
    semi = preview(client, cw, upload=f"location;sku;min;max\nSHELF-A;{sku};11;50\n".encode())
    for resp in (pasted, bom, semi):
        assert resp.status_code == 200
        (row,) = resp.context["plan"].rows
        assert (row.action, row.new) == ("change", Levels(11, 50, 1))


def test_a_row_with_more_cells_than_columns_is_an_error_of_that_row(a):
    cw = a.customers[0]
    text = f"location,sku,min,max\nSHELF-A,{a.items[0].sku},1,2,oops\n"
    (row,) = preview(signed_in(a.admin), cw, text).context["plan"].rows
    assert row.action == "error" and "the header names 4 columns" in row.errors[0]


# --- import: the confirm -----------------------------------------------------------------


def test_confirm_saves_the_good_rows_with_audit_and_skips_the_bad(a):
    """Two good rows (a change, a new bin) and a bad one: the good are saved, each with
    a BinLevelChange through "import" by the admin; the bad row changes nothing."""
    cw = a.customers[0]
    s0, s1 = a.items[0].sku, a.items[1].sku
    text = HEADER + (
        f"MAIN,SHELF-A,{s0},12,60,\nMAIN,ROOM,{s0},5,20,\nMAIN,SHELF-A,{s1},70,60,10\n"
    )
    resp = confirm(signed_in(a.admin), cw, text)
    assert resp.status_code == 200
    assert resp.context["totals"] == {"create": 1, "change": 1, "same": 0, "error": 1}
    assert "1 bin created, 1 changed, 0 unchanged, 1 row skipped." in resp.content.decode()
    assert levels(cw.bins[0]) == (12, 60, 1)
    assert levels(cw.bins[1]) == (10, 50, 10)
    made = Bin.objects.get(location=cw.room, item=a.items[0])
    assert (made.min_qty, made.max_qty, made.pack_multiple, made.on_hand) == (5, 20, 1, 0)
    assert made.label.startswith("B") and made.site_id == cw.site.pk
    audit = {c.bin_id: c for c in BinLevelChange.objects.filter(source="import")}
    assert set(audit) == {cw.bins[0].pk, made.pk}
    change = audit[cw.bins[0].pk]
    assert (change.old_min, change.new_min, change.old_max, change.new_max) == (10, 12, 50, 60)
    assert (change.old_pack_multiple, change.new_pack_multiple) == (1, 1)
    assert change.user_id == a.admin.pk and change.customer_id == cw.customer.pk
    assert (audit[made.pk].old_min, audit[made.pk].new_max) == (None, 20)


def test_confirm_checks_the_file_again(a):
    """Between preview and confirm the bin's pack became 25: max 60 is no longer whole
    packs, so the row is skipped and reported, not written."""
    cw = a.customers[0]
    text = HEADER + f"MAIN,SHELF-A,{a.items[0].sku},10,60,\n"
    client = signed_in(a.admin)
    assert preview(client, cw, text).context["totals"]["change"] == 1
    bin_levels_update(scope=a.scope, bin_id=cw.bins[0].pk, max_qty=50, pack_multiple=25)
    resp = confirm(client, cw, text)
    assert resp.context["totals"]["error"] == 1
    assert "max 60 is not a whole number of packs of 25" in resp.content.decode()
    assert levels(cw.bins[0]) == (10, 50, 25)


def test_confirm_twice_changes_nothing_the_second_time(a):
    """Posting the same confirm again (a reload) finds every row unchanged: no new
    bins, no second audit row."""
    cw = a.customers[0]
    text = HEADER + f"MAIN,SHELF-A,{a.items[0].sku},12,60,\nMAIN,ROOM,{a.items[0].sku},5,20,\n"
    client = signed_in(a.admin)
    confirm(client, cw, text)
    again = confirm(client, cw, text)
    assert again.context["totals"] == {"create": 0, "change": 0, "same": 2, "error": 0}
    assert BinLevelChange.objects.filter(source="import").count() == 2
    assert Bin.objects.filter(location=cw.room).count() == 1


@pytest.mark.parametrize(
    "data",
    [{"confirm": "1"}, {"confirm": "1", "csv_text": "\x00\x01"}, {"confirm": "1", "csv_text": ""}],
    ids=["missing", "binary", "empty"],
)
def test_garbage_confirm_is_a_clear_400(a, data):
    resp = signed_in(a.admin).post(url("bins_import", a.customers[0]), data)
    assert resp.status_code == 400
    assert 'class="notice notice--error"' in resp.content.decode()


def test_confirm_cannot_reach_another_customers_bins(a):
    """Location codes are looked up in this customer only: customer 1's shelf, named in
    customer 0's import, is customer 0's shelf (the same code), never customer 1's."""
    cw0, cw1 = a.customers
    text = HEADER + f"MAIN,SHELF-A,{a.items[0].sku},12,60,\n"
    confirm(signed_in(a.admin), cw0, text)
    assert levels(cw0.bins[0]) == (12, 60, 1)
    assert levels(cw1.bins[0]) == (10, 50, 1)


# --- import: query counts ----------------------------------------------------------------


def statements(n: int, fields) -> int:
    """How many statements Django splits a bulk write of n rows into on this database:
    one on PostgreSQL; on SQLite one per batch of as many parameters as the library
    allows (cmi's SQLite backend reads the real limit, so one there too at these sizes)."""
    return -(-n // max(connection.ops.bulk_batch_size(fields, [None] * n), 1))


def bulk_writes(changes: int, creates: int) -> int:
    bin_fields = [f for f in Bin._meta.concrete_fields if not f.primary_key]
    audit_fields = [f for f in BinLevelChange._meta.concrete_fields if not f.primary_key]
    update_fields = ["pk", "pk", "min_qty", "max_qty", "pack_multiple", "updated_at"]
    return (
        statements(creates, bin_fields)
        + statements(changes, update_fields)
        + statements(changes, audit_fields)
        + statements(creates, audit_fields)
    )


def sized_file(a, cw, rows: int) -> str:
    """`rows` rows: all but three change a bin's min; three make new bins on an empty shelf."""
    grow(a, cw, bins=rows - 3)
    empty = location_create(scope=a.scope, site_id=cw.site.pk, code=f"EMPTY{rows}")
    lines = [
        f"MAIN,{b.location.code},{b.item.sku},{b.min_qty + 1},{b.max_qty},"
        for b in Bin.objects.filter(customer=cw.customer).select_related("location", "item")
    ]
    lines += [f"MAIN,{empty.code},{item.sku},1,10," for item in a.items]
    assert len(lines) == rows
    return HEADER + "\n".join(lines)


def measure(client, target: str, data: dict) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as queries:
        resp = client.post(target, data)
    assert resp.status_code == 200, resp.content[:500]
    return len(queries), resp


def test_import_preview_and_confirm_cost_a_fixed_number_of_queries(a):
    """20 rows or 400: the preview costs the same queries; the confirm too, but for the
    batches the database makes Django split bulk statements into (none on PostgreSQL)."""
    client = signed_in(a.admin)
    counts = {}
    for rows, cw in ((20, a.customers[0]), (400, a.customers[1])):
        text = sized_file(a, cw, rows)
        target = url("bins_import", cw)
        shown, resp = measure(client, target, {"text": text})
        assert resp.context["totals"] == {"create": 3, "change": rows - 3, "same": 0, "error": 0}
        saved, resp = measure(client, target, {"csv_text": text, "confirm": "1"})
        assert resp.context["totals"]["change"] == rows - 3
        counts[rows] = (shown, saved)
        assert BinLevelChange.objects.filter(source="import", customer=cw.customer).count() == rows
    assert counts[20][0] == counts[400][0] <= 8, counts  # 4 to sign in + 4 reads
    extra = bulk_writes(397, 3) - bulk_writes(17, 3)
    assert counts[400][1] == counts[20][1] + extra, counts
    assert counts[20][1] <= 23, (
        counts
    )  # + the settings audit: labels, then an INSERT each for changes and creates,
    # and the import.finished domain event (one INSERT)
    if connection.vendor == "postgresql":
        assert extra == 0


# --- the adjustment ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "which", "percent", "new"),
    [
        (Levels(10, 50, 1), "min", 10, Levels(11, 50, 1)),
        (Levels(11, 50, 1), "min", 10, Levels(13, 50, 1)),  # 12.1 rounds up
        (Levels(10, 50, 10), "max", 10, Levels(10, 60, 10)),  # 55 up to a whole pack
        (Levels(10, 50, 10), "both", -50, Levels(5, 30, 10)),  # 25 up to 30
        (Levels(40, 50, 10), "min", 50, Levels(60, 60, 10)),  # max raised to min, in packs
        (Levels(45, 50, 10), "max", -80, Levels(45, 50, 10)),  # 10 < min 45: up to 50
        (Levels(0, 0, 1), "both", 500, Levels(0, 0, 1)),
        (Levels(9_000_000, 9_000_000, 7), "both", 500, Levels(9_999_997, 9_999_997, 7)),
    ],
)
def test_adjusted_levels_round_min_to_units_and_max_to_packs(old, which, percent, new):
    assert adjusted_levels(old, levels=which, percent=percent) == new


def adjust(client, cw, **data):
    return client.post(url("bins_adjust", cw), data)


def test_adjust_preview_shows_the_changes_and_writes_nothing(a):
    """Raise all mins by 10%: the preview counts 3 of 3 bins and shows old → new."""
    cw = a.customers[0]
    resp = adjust(signed_in(a.admin), cw, levels="min", percent=10)
    assert resp.status_code == 200
    plan = resp.context["plan"]
    assert (plan.matched, len(plan.changes)) == (3, 3)
    assert {(c.old.min, c.new.min) for c in plan.sample} == {(10, 11)}
    assert "Preview: 3 of 3 bins change" in resp.content.decode()
    assert [levels(b)[0] for b in cw.bins] == [10, 10, 10]
    assert not BinLevelChange.objects.filter(source="adjust").exists()


def test_adjust_confirm_saves_and_audits_as_adjust(a):
    """Max of the bins on SHELF-A starting with the second SKU, +10%: one bin, 50 → 60
    (whole packs of 10), audited through "adjust" by the rep; the others untouched."""
    cw = a.customers[0]
    client = signed_in(a.rep)
    data = {"levels": "max", "percent": 10, "location": "ROOM", "sku": a.items[1].sku.lower()}
    resp = adjust(client, cw, **data, confirm="1")
    assert resp.status_code == 302
    assert levels(cw.bins[1]) == (10, 60, 10)
    assert levels(cw.bins[0]) == (10, 50, 1) and levels(cw.bins[2]) == (10, 50, 1)
    (change,) = BinLevelChange.objects.filter(source="adjust")
    assert (change.bin_id, change.old_max, change.new_max, change.user_id) == (
        cw.bins[1].pk,
        50,
        60,
        a.rep.pk,
    )
    page = client.get(resp["Location"])
    assert "Max changed by +10% on 1 bin" in page.content.decode()
    assert levels(a.customers[1].bins[1]) == (10, 50, 10)


def test_adjust_filters_by_site(a, second_site):
    """Bins of another site are left alone."""
    cw = a.customers[0]
    west = bin_create(
        scope=a.scope, location_id=second_site.pk, item_id=a.items[0].pk, min_qty=10, max_qty=20
    )
    client = signed_in(a.admin)
    adjust(client, cw, levels="both", percent=100, site=west.site_id, confirm="1")
    assert levels(west) == (20, 40, 1)
    assert levels(cw.bins[0]) == (10, 50, 1)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"levels": "min", "percent": 501}, "less than or equal to 500"),
        ({"levels": "min", "percent": -91}, "greater than or equal to -90"),
        ({"levels": "min", "percent": 0}, "0% changes nothing."),
        ({"levels": "all", "percent": 10}, "Select a valid choice"),
        ({"levels": "min", "percent": "x"}, "Enter a whole number."),
        ({"levels": "min", "percent": 10, "site": "abc"}, "Select a valid choice"),
        ({"levels": "min", "percent": 10, "location": "NOWHERE"}, "No location"),
    ],
)
def test_adjust_refuses_bad_input_with_a_message(a, data, message):
    resp = adjust(signed_in(a.admin), a.customers[0], **data, confirm="1")
    assert resp.status_code == 400
    assert message in resp.content.decode()
    assert not BinLevelChange.objects.filter(source="adjust").exists()


def test_adjust_site_of_another_customer_is_refused(a):
    """A site id of customer 1 in customer 0's form is not a choice: 400, nothing changes."""
    resp = adjust(
        signed_in(a.admin),
        a.customers[0],
        levels="min",
        percent=10,
        site=a.customers[1].site.pk,
        confirm="1",
    )
    assert resp.status_code == 400
    assert levels(a.customers[1].bins[0]) == (10, 50, 1)


def test_adjust_costs_a_fixed_number_of_queries(a):
    """Preview and confirm of 20 bins and of 400: the same, but for bulk batches."""
    client = signed_in(a.admin)
    counts = {}
    for size, cw in ((20, a.customers[0]), (400, a.customers[1])):
        grow(a, cw, bins=size)
        target = url("bins_adjust", cw)
        shown, resp = measure(client, target, {"levels": "min", "percent": 10})
        assert resp.context["plan"].matched == size
        with CaptureQueriesContext(connection) as queries:
            resp = client.post(target, {"levels": "min", "percent": 10, "confirm": "1"})
        assert resp.status_code == 302
        counts[size] = (shown, len(queries))
    assert counts[20][0] == counts[400][0] <= 6, counts
    assert counts[20][1] <= 13, counts  # + the settings audit: labels, one INSERT
    audit_fields = [f for f in BinLevelChange._meta.concrete_fields if not f.primary_key]
    update_fields = ["pk", "pk", "min_qty", "max_qty", "pack_multiple", "updated_at"]
    extra = (statements(400, update_fields) - statements(20, update_fields)) + (
        statements(400, audit_fields) - statements(20, audit_fields)
    )
    assert counts[400][1] == counts[20][1] + extra, counts


# --- catalog import ----------------------------------------------------------------------


def catalog_post(client, text: str, *, confirm_it: bool = False):
    data = {"csv_text": text, "confirm": "1"} if confirm_it else {"text": text}
    return client.post(reverse("portals:catalog_import"), data)


def test_catalog_preview_then_confirm(a):
    """New items and updates by SKU; a barcode of another item, a bad check digit and a
    duplicate SKU are row errors; the preview writes nothing; the confirm saves the
    good rows and their barcodes."""
    i0, i1, i2 = a.items
    own = gtin13(a.vendor.pk * 1000)  # i0's barcode
    other = gtin13(a.vendor.pk * 1000 + 1)  # i1's barcode
    fresh, fresh2 = gtin13(900_001), gtin13(900_002)
    text = (
        "sku,description,uom,pack_quantity,barcodes\n"
        f"{i0.sku},Hex bolt renamed,,12,{own}|{fresh}\n"  # 2: change
        f"{i1.sku},,,,\n"  # 3: no change (blank cells keep)
        f"NEW-1,Wing nut,bx,25,{fresh2}\n"  # 4: create
        f"NEW-2,Stolen barcode,,,{other}\n"  # 5: barcode of i1
        "NEW-3,Bad digit,,,4000000000001\n"  # 6: wrong check digit
        "NEW-4,,,,\n"  # 7: new without description
        f"{i2.sku},Twice,,,\n"  # 8: duplicate
        f"{i2.sku},Twice again,,,\n"  # 9: duplicate
        f"NEW-5,Bad pack,,0,\n"  # 10: pack 0
        f"{i0.sku[:0]},No sku,,,\n"  # 11: empty sku
    )
    client = signed_in(a.admin)
    resp = catalog_post(client, text)
    assert resp.status_code == 200
    rows = rows_by_line(resp)
    assert rows[2].action == "change"
    assert rows[2].changes == [
        "description Hex bolt M6 x 30 zinc \u2192 Hex bolt renamed",
        "pack 1 \u2192 12",
        f"barcodes + {fresh}",
    ]
    assert rows[3].action == "same"
    assert rows[4].action == "create"
    assert rows[5].errors == [f"Barcode {other} belongs to another item, {i1.sku}."]
    assert rows[6].errors == ["Barcode 4000000000001 has a wrong check digit."]
    assert rows[7].errors == ["description is empty (a new item needs one)."]
    assert "Duplicate: line 9" in rows[8].errors[0] and "Duplicate: line 8" in rows[9].errors[0]
    assert rows[10].errors == ["pack_quantity must be 1 or more, not 0."]
    assert rows[11].errors == ["sku is empty."]
    assert not Item.objects.filter(sku="NEW-1").exists()
    assert Item.objects.get(pk=i0.pk).description == i0.description

    done = catalog_post(client, text, confirm_it=True)
    assert done.context["totals"] == {"create": 1, "change": 1, "same": 1, "error": 7}
    changed = Item.objects.get(pk=i0.pk)
    assert (changed.description, changed.pack_quantity) == ("Hex bolt renamed", 12)
    assert set(changed.barcodes.values_list("code", flat=True)) == {own, fresh}
    made = Item.objects.get(vendor=a.vendor, sku="NEW-1")
    assert (made.unit_of_measure, made.pack_quantity) == ("BX", 25)
    assert list(made.barcodes.values_list("code", "kind")) == [(fresh2, "ean")]
    assert not Item.objects.filter(sku__in=["NEW-2", "NEW-3", "NEW-4", "NEW-5"]).exists()
    assert Item.objects.get(pk=i2.pk).description == i2.description


def test_catalog_barcodes_cell_is_the_whole_list(a):
    """Listing one barcode of two removes the other; the export shows the result."""
    item = item_create(
        scope=a.scope, sku="TWO-CODES", description="x", barcodes=[gtin13(5), gtin13(6)]
    )
    client = signed_in(a.admin)
    text = f"sku,description,barcodes\nTWO-CODES,x,{gtin13(6)}\n"
    (row,) = catalog_post(client, text).context["plan"].rows
    assert row.changes == [f"barcodes \u2212 {gtin13(5)}"]
    catalog_post(client, text, confirm_it=True)
    assert list(ItemBarcode.objects.filter(item=item).values_list("code", flat=True)) == [gtin13(6)]
    rows = read_csv(client.get(reverse("portals:catalog_export")))
    assert ["TWO-CODES", "x", "EA", "1", gtin13(6)] in rows


def test_catalog_export_round_trips(a):
    client = signed_in(a.admin)
    body = b"".join(client.get(reverse("portals:catalog_export")).streaming_content)
    resp = client.post(
        reverse("portals:catalog_import"), {"file": SimpleUploadedFile("c.csv", body)}
    )
    assert resp.context["totals"] == {"create": 0, "change": 0, "same": 3, "error": 0}


def test_catalog_bad_file_is_a_clear_400(a):
    resp = signed_in(a.admin).post(
        reverse("portals:catalog_import"),
        {"file": SimpleUploadedFile("c.csv", b"\xff\xfe\x00s\x00k\x00u")},
    )
    assert resp.status_code == 400
    assert "not a CSV file" in resp.content.decode()


def test_catalog_import_costs_a_fixed_number_of_queries(a):
    """20 rows or 400 (half new, half updates with a new barcode each): the preview
    costs the same; the confirm the same but for bulk batches."""
    client = signed_in(a.admin)
    counts = {}
    for size in (20, 400):
        existing = [
            Item(vendor=a.vendor, sku=f"S{size}-{n}", description="old") for n in range(size // 2)
        ]
        Item.objects.bulk_create(existing)
        lines = [f"S{size}-{n},new,,,{gtin13(size * 10_000 + n)}" for n in range(size // 2)]
        lines += [f"N{size}-{n},made,,," for n in range(size // 2)]
        text = "sku,description,uom,pack_quantity,barcodes\n" + "\n".join(lines)
        target = reverse("portals:catalog_import")
        shown, resp = measure(client, target, {"text": text})
        assert resp.context["totals"]["error"] == 0
        saved, resp = measure(client, target, {"csv_text": text, "confirm": "1"})
        assert resp.context["totals"] == {
            "create": size // 2,
            "change": size // 2,
            "same": 0,
            "error": 0,
        }
        counts[size] = (shown, saved)
    assert counts[20][0] == counts[400][0] <= 6, counts
    assert counts[20][1] <= 14, counts  # + the settings audit: one INSERT
    item_fields = [f for f in Item._meta.concrete_fields if not f.primary_key]
    code_fields = [f for f in ItemBarcode._meta.concrete_fields if not f.primary_key]
    update_fields = ["pk", "pk", "description", "unit_of_measure", "pack_quantity", "updated_at"]
    extra = sum(
        statements(200, fields) - statements(10, fields)
        for fields in (item_fields, code_fields, update_fields)
    )
    assert counts[400][1] == counts[20][1] + extra, counts


def test_location_codes_are_this_customers(a):
    """Sanity of the fixture the wall tests lean on: both customers have a SHELF-A."""
    codes = set(
        Location.objects.filter(vendor=a.vendor, code="SHELF-A").values_list(
            "customer_id", flat=True
        )
    )
    assert codes == {cw.customer.pk for cw in a.customers}


def test_preview_lists_changes_and_errors_up_to_a_cap_and_counts_unchanged_rows(a, monkeypatch):
    """Rows that change nothing are counted, not listed; beyond the cap of listed rows per
    kind the page says how many more there are (all of them are still saved on confirm)."""
    from portals.views import bulk

    monkeypatch.setattr(bulk, "PREVIEW_ROWS", 1)
    cw = a.customers[0]
    s0, s1, s2 = (b.item.sku for b in cw.bins[:3])
    text = (
        "site,location,sku,min,max,pack_multiple\n"
        f"MAIN,SHELF-A,{s0},12,60,1\n"  # change
        f"MAIN,SHELF-A,{s1},10,50,10\n"  # the same as now
        f"MAIN,SHELF-A,{s2},5,40,1\n"  # change
        "MAIN,SHELF-A,NOPE-1,1,2,1\n"  # error
        "MAIN,SHELF-A,NOPE-2,1,2,1\n"  # error
    )
    resp = preview(signed_in(a.admin), cw, text)
    assert resp.context["totals"] == {"create": 0, "change": 2, "same": 1, "error": 2}
    assert [row.line for row in resp.context["good_rows"]] == [2]
    assert [row.line for row in resp.context["error_rows"]] == [5]
    page = resp.content.decode()
    assert "1 more will be saved too" in page and "1 more have errors too" in page
    assert "1 row changes nothing and is not listed" in page
