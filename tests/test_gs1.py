"""GS1 barcodes at the shelf: what a handheld sends is read with biip (catalog/gs1.py),
the GTIN finds the item and its bin here, lot and expiry land on the ledger entry, and
a GS1 code that matches nothing says which GTIN was read."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.gs1 import GS, gs1_read, gtin_forms
from catalog.gtin import gtin_check_digit
from catalog.services import item_create
from stocking.models import Bin, LedgerEntry, ScanEvent, ScannerDevice
from stocking.setup import bin_create, device_create, location_create, site_create
from tests.conftest import bearer, scan

URL = "/api/v1/scans"
GTIN13 = "4006381333931"  # a real EAN-13 with its check digit
GTIN14 = "0" + GTIN13


def _with_check(body: str) -> str:
    return body + str(gtin_check_digit(body))


UPC_A = _with_check("03600029145")  # 036000291452
EAN_8 = _with_check("9638507")  # 96385074


# --- parsing vectors (no database) -------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "gtins", "lot", "expiry"),
    [
        # GS1-128 with its symbology identifier; GS (FNC1) ends the variable-length lot
        (f"]C101{GTIN14}10ABC123{GS}17250131", (GTIN14,), "ABC123", dt.date(2025, 1, 31)),
        # GS1 DataMatrix, lot last (no GS needed after the last field)
        (f"]d201{GTIN14}17261115" + "10L-7/X", (GTIN14,), "L-7/X", dt.date(2026, 11, 15)),
        # no symbology identifier, as many scanners are set up
        (f"01{GTIN14}10LOT9{GS}17250600", (GTIN14,), "LOT9", dt.date(2025, 6, 30)),
        # the human-readable form, as printed under the bars and typed by people
        (f"(01){GTIN14}(10)ABC123(17)250131", (GTIN14,), "ABC123", dt.date(2025, 1, 31)),
        (f"(01) {GTIN14} (17) 271200", (GTIN14,), "", dt.date(2027, 12, 31)),
        # expiry day 00: the last day of that month (February of a leap year)
        (f"01{GTIN14}17280200", (GTIN14,), "", dt.date(2028, 2, 29)),
        # bare GTINs of every length, to GTIN-14
        (GTIN13, (GTIN14,), "", None),
        (GTIN14, (GTIN14,), "", None),
        (EAN_8, ("000000" + EAN_8,), "", None),
        # a 12-digit code with a right check digit is a UPC-A (or, just possibly, an
        # EAN-13 without its check digit: both are looked for)
        (UPC_A, ("00" + UPC_A, "0" + _with_check(UPC_A)), "", None),
        # check digits left off: UPC-A (11), EAN-13 (12 with a wrong UPC check), EAN-8 (7)
        (UPC_A[:-1], ("00" + UPC_A,), "", None),
        (GTIN13[:-1], (GTIN14,), "", None),
        (EAN_8[:-1], ("000000" + EAN_8,), "", None),
        # an EAN-13 behind the EAN symbology identifier
        (f"]E0{GTIN13}", (GTIN14,), "", None),
    ],
)
def test_gs1_codes_read_to_gtin14_lot_and_expiry(code, gtins, lot, expiry):
    read = gs1_read(code)
    assert read is not None and not read.error, read
    assert (read.gtins, read.lot, read.expiry) == (gtins, lot, expiry)


@pytest.mark.parametrize(
    "code",
    [
        GTIN13[:-1] + "2",  # EAN-13, check digit should be 1
        "0" + GTIN13[:-1] + "5",  # GTIN-14
        EAN_8[:-1] + "0",  # EAN-8
        f"]C101{GTIN14[:-1]}9{GS}17250131",  # inside an element string
        f"(01){GTIN14[:-1]}9(10)X",  # in the human-readable form
    ],
)
def test_a_wrong_check_digit_is_an_error_naming_the_gtin(code):
    read = gs1_read(code)
    assert read is not None and read.error == "gtin_check_digit" and not read.gtins
    assert "wrong check digit" in read.detail and read.shown in read.detail


@pytest.mark.parametrize(
    "code",
    [
        "BIN-0001",  # a bin label
        "A-SKU-1",  # a SKU
        "CPN-0001",  # a customer part number
        "1002",  # digits that biip reads as AI (10) alone: no GTIN, so not GS1 here
        "12345",
        f"10LOT{GS}17250131",  # an element string without a GTIN
        f"01{GTIN14}17251399",  # month 13: not a valid element string
        "(01)0987",  # a GTIN too short
        f"x{GS}y",
        "]C0BIN-0001",  # a Code 128 label behind its symbology identifier
        "",
    ],
)
def test_codes_that_are_not_gs1_read_as_none(code):
    assert gs1_read(code) is None


def test_a_gtin14_is_looked_for_in_every_shorter_form():
    assert gtin_forms("00012345678905") == ["00012345678905", "0012345678905", "012345678905"]
    assert gtin_forms("00000096385074")[-1] == "96385074"
    assert gtin_forms("14006381333938") == ["14006381333938"]  # a case: only its own GTIN


# --- the scan API --------------------------------------------------------------------------


def post(token, events):
    resp = bearer(token).post(URL, {"scans": events}, format="json")
    assert resp.status_code == 200, resp.content
    return resp.json()


@pytest.fixture
def cw(world):
    return world["a"].customers[0]


def gtin_of(item) -> str:
    return item.barcodes.first().code  # an EAN-13, as the factories make them


def test_gs1_128_with_lot_and_expiry_finds_the_bin_and_keeps_lot_and_expiry(cw, world):
    """A GS1-128 element string without a location: the GTIN finds the item, the item's
    one bin at the scanner's site is the bin, and the ledger entry has lot and expiry."""
    item = world["a"].items[1]
    target = cw.bins[1]
    code = f"]C101{'0' + gtin_of(item)}10LOT-42{GS}17270300"
    body = post(cw.token, [scan("receive", code, quantity=5)])
    assert body["accepted"] == 1, body
    entry = LedgerEntry.objects.get(bin=target, kind="receive")
    assert (entry.lot, entry.expiry, entry.delta) == ("LOT-42", dt.date(2027, 3, 31), 5)
    assert ScanEvent.objects.get(bin=target).code == code  # what the scanner sent
    assert Bin.objects.get(pk=target.pk).on_hand == 35


@pytest.mark.parametrize(
    "form",
    ["ean13", "gtin14", "hri", "datamatrix", "without_check_digit", "with_location"],
)
def test_every_form_of_the_gtin_finds_the_same_bin(cw, world, form):
    item = world["a"].items[0]
    ean = gtin_of(item)
    code, extra = {
        "ean13": (ean, {}),
        "gtin14": ("0" + ean, {}),
        "hri": (f"(01)0{ean}(10)B7", {}),
        "datamatrix": (f"]d2010{ean}10B7", {}),
        "without_check_digit": (ean[:-1], {}),
        "with_location": (ean, {"location": "SHELF-A"}),
    }[form]
    body = post(cw.token, [scan("issue", code, quantity=2, **extra)])
    assert body["results"][0]["status"] == "accepted", body
    assert Bin.objects.get(pk=cw.bins[0].pk).on_hand == 28
    entry = LedgerEntry.objects.get(bin=cw.bins[0], kind="issue")
    assert entry.lot == ("B7" if form in ("hri", "datamatrix") else None)
    assert entry.expiry is None


def test_a_upc_a_and_an_ean8_barcode_are_found_by_their_gtin14(cw, world):
    """Items keep barcodes as entered (UPC-A 12 digits, EAN-8); scanners send them in
    any GTIN form, with or without the check digit."""
    a = world["a"]
    upc_item = item_create(scope=a.scope, sku="UPC-1", description="Glove", barcodes=[UPC_A])
    ean8_item = item_create(scope=a.scope, sku="EAN8-1", description="Tape", barcodes=[EAN_8])
    bins = [
        bin_create(scope=a.scope, location_id=cw.shelf.pk, item_id=i.pk, min_qty=1, max_qty=9)
        for i in (upc_item, ean8_item)
    ]
    body = post(
        cw.token,
        [
            scan("count", "00" + UPC_A, quantity=4),
            scan("count", UPC_A[:-1], quantity=5, occurred_at=timezone.now().isoformat()),
            scan("count", f"01000000{EAN_8}17301231", quantity=6),
        ],
    )
    assert [r["status"] for r in body["results"]] == ["accepted"] * 3, body
    assert [Bin.objects.get(pk=b.pk).on_hand for b in bins] == [5, 6]


def test_a_gs1_code_that_matches_nothing_says_which_gtin_was_read(cw):
    unknown = _with_check("400999999999")
    body = post(
        cw.token,
        [
            scan("issue", f"]C1010{unknown}10X{GS}17250131", quantity=1),
            scan("issue", unknown, quantity=1),
        ],
    )
    for result in body["results"]:
        assert result["error"]["code"] == "gtin_unknown", result
    assert unknown in body["results"][0]["error"]["detail"]
    assert ScanEvent.objects.count() == 0


def test_a_wrong_check_digit_is_rejected_with_its_code(cw, world):
    ean = gtin_of(world["a"].items[0])
    wrong = ean[:-1] + str((int(ean[-1]) + 1) % 10)
    body = post(cw.token, [scan("issue", wrong, quantity=1)])
    error = body["results"][0]["error"]
    assert error["code"] == "gtin_check_digit" and wrong in error["detail"]


def test_a_gtin_stocked_in_two_bins_here_is_ambiguous_unless_the_location_is_given(cw, world):
    a = world["a"]
    item = a.items[0]
    other_shelf = location_create(scope=a.scope, site_id=cw.site.pk, code="SHELF-B")
    second = bin_create(
        scope=a.scope, location_id=other_shelf.pk, item_id=item.pk, min_qty=1, max_qty=9
    )
    body = post(cw.token, [scan("issue", gtin_of(item), quantity=1)])
    error = body["results"][0]["error"]
    assert error["code"] == "ambiguous_bin", error
    assert cw.bins[0].label in error["detail"] and second.label in error["detail"]
    body = post(cw.token, [scan("receive", gtin_of(item), quantity=3, location="SHELF-B")])
    assert body["accepted"] == 1 and Bin.objects.get(pk=second.pk).on_hand == 3


def test_a_site_bound_scanner_finds_the_bin_at_its_own_site_only(cw, world):
    """The same item stocked at two sites of the customer: a scanner bound to the second
    site gets that site's bin, never the first site's."""
    a = world["a"]
    item = a.items[2]
    plant = site_create(scope=a.scope, customer_id=cw.customer.pk, code="P2", name="Plant 2")
    shelf = location_create(scope=a.scope, site_id=plant.pk, code="P2-S1")
    there = bin_create(scope=a.scope, location_id=shelf.pk, item_id=item.pk, min_qty=1, max_qty=9)
    _, token = device_create(
        scope=a.scope, customer_id=cw.customer.pk, name="P2 gun", site_id=plant.pk
    )
    body = post(token, [scan("receive", gtin_of(item), quantity=7)])
    assert body["accepted"] == 1, body
    assert Bin.objects.get(pk=there.pk).on_hand == 7
    assert Bin.objects.get(pk=cw.bins[2].pk).on_hand == 30
    # the customer-wide scanner sees both bins: ambiguous
    body = post(cw.token, [scan("receive", gtin_of(item), quantity=1)])
    assert body["results"][0]["error"]["code"] == "ambiguous_bin"


def test_another_vendors_gtin_is_unknown_here(cw, world):
    foreign = gtin_of(world["b"].items[0])
    body = post(cw.token, [scan("issue", foreign, quantity=1)])
    assert body["results"][0]["error"]["code"] == "gtin_unknown"
    assert Bin.objects.get(pk=world["b"].customers[0].bins[0].pk).on_hand == 30


def test_a_numeric_customer_part_number_that_looks_like_a_gtin_still_works(cw, world):
    """A part number made of digits with a valid check digit matches no barcode as a
    GTIN: it is found as the customer's part number, as before."""
    from catalog.services import cross_reference_create

    part = _with_check("7777777")
    cross_reference_create(
        scope=world["a"].scope,
        customer_id=cw.customer.pk,
        item_id=world["a"].items[0].pk,
        kind="part_number",
        code=part,
    )
    body = post(cw.token, [scan("issue", part, quantity=1, location="SHELF-A")])
    assert body["accepted"] == 1, body


def test_a_bin_label_behind_a_symbology_identifier_is_the_bin(cw):
    body = post(cw.token, [scan("issue", f"]C0{cw.bins[0].label}", quantity=1)])
    assert body["accepted"] == 1, body


def test_gs_is_allowed_in_a_code_but_other_controls_are_not(cw):
    body = post(cw.token, [scan("issue", f"{cw.bins[0].label}\x1e", quantity=1)])
    assert body["results"][0]["error"]["code"] == "text_invalid"
    body = post(cw.token, [scan("issue", f"NOT{GS}GS1", quantity=1)])
    assert body["results"][0]["error"]["code"] == "unknown_code"


def test_the_ledger_api_shows_lot_and_expiry(cw, world):
    code = f"(01)0{gtin_of(world['a'].items[0])}(10)Q1(17)260700"
    post(cw.token, [scan("receive", code, quantity=1)])
    resp = bearer(cw.token).get(f"/api/v1/bins/{cw.bins[0].pk}/ledger")
    if resp.status_code == 403:  # scanners post only; the customer's manager reads
        from tests.conftest import as_user

        resp = as_user(cw.manager).get(f"/api/v1/bins/{cw.bins[0].pk}/ledger")
    rows = [r for r in resp.json()["results"] if r["kind"] == "receive"]
    assert (rows[0]["lot"], rows[0]["expiry"]) == ("Q1", "2026-07-31")


def test_gs1_codes_cost_a_fixed_number_of_queries(cw, world):
    """A batch of GS1 codes (with lots, without locations) resolves in the same number
    of queries at 3 and at 30 events."""
    eans = [gtin_of(i) for i in world["a"].items]
    client = bearer(cw.token)
    # a scanner that posts often: seen under a minute ago, no write of its last_seen_at
    ScannerDevice.objects.filter(pk=cw.device.pk).update(last_seen_at=timezone.now())
    counts = []
    for size in (3, 30):
        events = [
            {
                "event_id": str(uuid.uuid4()),
                "kind": "receive",
                "code": f"]C1010{eans[n % len(eans)]}10L{n}{GS}17300101",
                "quantity": 1,
                "occurred_at": timezone.now().isoformat(),
            }
            for n in range(size)
        ]
        with CaptureQueriesContext(connection) as queries:
            resp = client.post(URL, {"scans": events}, format="json")
        assert resp.json()["accepted"] == size
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
    assert LedgerEntry.objects.filter(lot__startswith="L").count() == 33
