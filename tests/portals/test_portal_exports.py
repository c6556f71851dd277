"""CSV downloads of stock and scan history: what they hold, the stock page's filters,
times in the customer's zone, safe cells, the 404 wall and a fixed number of queries."""

from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.services import cross_reference_create
from cmi import rls
from portals.csvout import CHUNK_ROWS, csv_lines
from stocking.models import Bin, ScanEvent
from stocking.models import ScannerDevice as Device
from tests.portals.helpers import grow, scans_post, signed_in, url

CHICAGO = ZoneInfo("America/Chicago")  # the factories' customers' zone


def download(client, address: str, **params) -> tuple[object, list[dict]]:
    resp = client.get(address, params)
    assert resp.status_code == 200, resp
    assert resp["Content-Type"] == "text/csv; charset=utf-8"
    text = b"".join(resp.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return resp, list(csv.DictReader(io.StringIO(text[1:])))


# --- stock -------------------------------------------------------------------------------


def test_stock_csv_has_every_bin_with_its_columns(a):
    """One row per bin of the customer (none of the other customer's), with site, location,
    SKU, description, part number, label, levels, on hand/order, status and last scan in
    the customer's zone with its offset."""
    cw = a.customers[0]
    Bin.objects.filter(pk=cw.bins[2].pk).update(on_hand=0)
    scans_post(a, cw, [(cw.bins[0], "issue", 25)])
    resp, rows = download(signed_in(cw.staff), url("stock_csv", cw))
    assert resp["Content-Disposition"].startswith(
        f'attachment; filename="{cw.customer.code}-stock-'
    )
    assert resp["Cache-Control"] == "no-store"
    assert list(rows[0]) == [
        "Site", "Location", "SKU", "Description", "Customer part number", "Label", "Min",
        "Max", "Pack multiple", "On hand", "On order", "Status", "Last scan",
    ]  # fmt: skip
    by_label = {r["Label"]: r for r in rows}
    assert set(by_label) == {b.label for b in cw.bins}
    first = by_label[cw.bins[0].label]
    item = a.items[0]
    assert {k: first[k] for k in ("Site", "Location", "SKU", "Description")} == {
        "Site": "Main plant",
        "Location": "SHELF-A",
        "SKU": item.sku,
        "Description": item.description,
    }
    assert (first["Customer part number"], first["Min"], first["Max"], first["On hand"]) == (
        "CPN-0001",
        "10",
        "50",
        "5",
    )
    assert first["Status"] == "Below min"
    assert by_label[cw.bins[2].label]["Status"] == "At zero"
    assert by_label[cw.bins[1].label]["Pack multiple"] == "10"
    last = dt.datetime.fromisoformat(first["Last scan"])
    bin_scan = Bin.objects.get(pk=cw.bins[0].pk).last_scan_at
    assert last == bin_scan.replace(microsecond=0)
    assert last.utcoffset() == bin_scan.astimezone(CHICAGO).utcoffset()
    assert by_label[cw.bins[1].label]["Last scan"] == ""


def test_stock_csv_neutralises_formula_like_cells(a):
    """A part number typed as a formula comes out as text (an apostrophe in front), so a
    spreadsheet does not run it."""
    cw = a.customers[0]
    evil = '=HYPERLINK("http://evil.test","click")'
    cross_reference_create(
        scope=a.scope,
        customer_id=cw.customer.pk,
        item_id=a.items[1].pk,
        kind="part_number",
        code=evil,
    )
    _, rows = download(signed_in(cw.manager), url("stock_csv", cw))
    row = next(r for r in rows if r["Label"] == cw.bins[1].label)
    assert row["Customer part number"] == "'" + evil


def test_stock_csv_follows_the_stock_pages_filters(a):
    """The same query string as the stock page: status, search (part number too), sort."""
    cw = a.customers[0]
    for found, on_hand in zip(cw.bins, (20, 45, 0), strict=True):
        Bin.objects.filter(pk=found.pk).update(on_hand=on_hand)
    client = signed_in(cw.manager)
    _, rows = download(client, url("stock_csv", cw), status="at_zero")
    assert [r["Label"] for r in rows] == [cw.bins[2].label]
    _, rows = download(client, url("stock_csv", cw), q="CPN-0001")
    assert [r["Label"] for r in rows] == [cw.bins[0].label]
    _, rows = download(client, url("stock_csv", cw), sort="-on_hand")
    assert [int(r["On hand"]) for r in rows] == [45, 20, 0]


@pytest.mark.parametrize(
    "params",
    [
        {"status": "bogus"},
        {"site": "abc"},
        {"site": "999999"},
        {"sort": "drop table"},
        {"q": "x" * 500},
    ],
)
def test_stock_csv_with_a_bad_query_string_is_still_a_csv(a, params):
    """A bad filter value falls back to its default: a download, never an error page."""
    cw = a.customers[0]
    _, rows = download(signed_in(cw.manager), url("stock_csv", cw), **params)
    if "q" not in params:
        assert len(rows) == len(cw.bins)


# --- scans -------------------------------------------------------------------------------


def test_scans_csv_lists_the_history_in_the_customers_zone(a):
    """Each scan: when (customer's zone, with offset), kind, code, SKU, location, quantity,
    the delta it applied, on hand after, the device, the event id; oldest first."""
    cw = a.customers[0]
    earlier = timezone.now() - dt.timedelta(days=2)
    scans_post(a, cw, [(cw.bins[0], "receive", 7, earlier), (cw.bins[0], "issue", 3)])
    scans_post(a, a.customers[1], [(a.customers[1].bins[0], "issue", 1)])  # not in 0's file
    resp, rows = download(signed_in(cw.staff), url("scans_csv", cw))
    assert resp["Content-Disposition"].startswith(
        f'attachment; filename="{cw.customer.code}-scans-'
    )
    assert list(rows[0]) == [
        "Occurred at", "Kind", "Code", "SKU", "Location", "Quantity", "Applied delta",
        "On hand after", "By", "Event id",
    ]  # fmt: skip
    assert [(r["Kind"], r["Quantity"], r["Applied delta"], r["On hand after"]) for r in rows] == [
        # The receive happened before the bin's opening count: kept, but it applied nothing.
        ("Receive", "7", "0", "30"),
        ("Issue", "3", "-3", "27"),
    ]
    first = rows[0]
    assert (first["Code"], first["SKU"], first["Location"], first["By"]) == (
        cw.bins[0].label,
        a.items[0].sku,
        "SHELF-A",
        "Handheld 1",
    )
    when = dt.datetime.fromisoformat(first["Occurred at"])
    assert when == earlier.replace(microsecond=0)
    assert when.utcoffset() == earlier.astimezone(CHICAGO).utcoffset()
    stored = ScanEvent.objects.get(customer_id=cw.customer.pk, kind="receive")
    assert first["Event id"] == str(stored.event_id)


def test_scans_csv_default_is_the_last_90_days_and_from_to_choose_others(a):
    """Without dates: the last 90 days. from/to (inclusive, in the customer's zone) pick
    another range; a scan 120 days ago shows only when asked for."""
    cw = a.customers[0]
    old = timezone.now() - dt.timedelta(days=120)
    scans_post(a, cw, [(cw.bins[1], "count", 40, old), (cw.bins[0], "issue", 1)])
    client = signed_in(cw.manager)
    _, rows = download(client, url("scans_csv", cw))
    assert [r["Kind"] for r in rows] == ["Issue"]
    day = old.astimezone(CHICAGO).date()
    _, rows = download(
        client, url("scans_csv", cw), **{"from": day.isoformat(), "to": day.isoformat()}
    )
    assert [r["Kind"] for r in rows] == ["Count"]
    _, rows = download(
        client, url("scans_csv", cw), **{"from": (day - dt.timedelta(days=1)).isoformat()}
    )
    assert [r["Kind"] for r in rows] == ["Count", "Issue"]


@pytest.mark.parametrize(
    "params",
    [
        {"from": "yesterday"},
        {"to": "2024-02-30"},
        {"from": "2025-05-01", "to": "2025-04-01"},
        {"from": "0001-01-01", "to": "9999-12-31"},
        {"from": "9999-12-31"},
        {"to": "<script>"},
    ],
)
def test_scans_csv_with_bad_dates_falls_back_and_never_errors(a, params):
    """Malformed, impossible, backwards or extreme dates: still a CSV (200), never a 500."""
    cw = a.customers[0]
    scans_post(a, cw, [(cw.bins[0], "issue", 1)])
    _, rows = download(signed_in(cw.manager), url("scans_csv", cw), **params)
    if params.get("from") != "9999-12-31":
        assert [r["Kind"] for r in rows] == ["Issue"]


# --- who may download --------------------------------------------------------------------


@pytest.mark.parametrize("who", ["manager", "staff", "admin", "rep"])
def test_every_role_that_sees_the_stock_may_download(a, who):
    cw = a.customers[0]
    user = getattr(cw, who) if who in ("manager", "staff") else getattr(a, who)
    client = signed_in(user)
    for name in ("stock_csv", "scans_csv"):
        download(client, url(name, cw))


@pytest.mark.parametrize("name", ["stock_csv", "scans_csv"])
def test_another_vendors_or_customers_download_is_404(a, b, name):
    """Vendor B's admin, and customer 1's staff, get 404 for customer 0's downloads; the
    anonymous are sent to sign in."""
    cw = a.customers[0]
    assert signed_in(b.admin).get(url(name, cw)).status_code == 404
    assert signed_in(a.customers[1].staff).get(url(name, cw)).status_code == 404
    a.rep.membership.assigned_customers.add(a.customers[1].customer)
    assert signed_in(a.rep).get(url(name, cw)).status_code == 404
    assert Client().get(url(name, cw)).status_code == 302


# --- queries -----------------------------------------------------------------------------


def queries_of(client, address: str, rows: int) -> int:
    """Queries of a whole download, the streamed rows included."""
    with CaptureQueriesContext(connection) as ctx:
        resp = client.get(address)
        text = b"".join(resp.streaming_content).decode("utf-8")
    assert len(list(csv.reader(io.StringIO(text[1:])))) == rows + 1
    return len(ctx.captured_queries)


def test_stock_csv_queries_do_not_grow_with_bins(a, django_assert_max_num_queries):
    """session, user, membership, customer, sites, locations (the stock page's filters),
    bins: 7 for 3 bins and for 80."""
    cw = a.customers[0]
    client = signed_in(cw.manager)
    small = queries_of(client, url("stock_csv", cw), 3)
    grow(a, cw, bins=80)
    with django_assert_max_num_queries(7):
        large = queries_of(client, url("stock_csv", cw), 80)
    assert small == large


def test_scans_csv_queries_do_not_grow_with_scans(a, django_assert_max_num_queries):
    """session, user, membership, customer, scans: 5 for 3 scans and for 80."""
    cw = a.customers[0]
    client = signed_in(cw.manager)
    scans_post(a, cw, [(b, "issue", 1) for b in cw.bins])
    small = queries_of(client, url("scans_csv", cw), 3)
    bins = grow(a, cw, bins=80)
    scans_post(a, cw, [(b, "issue", 1) for b in bins[:77]])
    with django_assert_max_num_queries(5):
        large = queries_of(client, url("scans_csv", cw), 80)
    assert small == large


def test_scans_csv_neutralises_formula_like_names(a):
    """Names people type (here the handheld's) that look like a formula come out as text,
    on the fast path that guards only the text columns."""
    cw = a.customers[0]
    Device.objects.filter(customer_id=cw.customer.pk).update(name='@SUM(1+1)*cmd|"/c calc"!A0')
    scans_post(a, cw, [(cw.bins[0], "issue", 1)])
    _, rows = download(signed_in(cw.manager), url("scans_csv", cw))
    assert rows[0]["By"] == '\'@SUM(1+1)*cmd|"/c calc"!A0'
    assert rows[0]["Quantity"] == "1" and rows[0]["Applied delta"] == "-1"


# --- the writer ----------------------------------------------------------------------------


def test_csv_lines_in_chunks_write_what_cell_by_cell_writes():
    """Rows go out CHUNK_ROWS at a time; guarding only the text columns gives the same
    bytes as guarding every cell, over several chunks and a last partial one."""
    rows = [
        (n, f"=x{n}" if n % 7 == 0 else f"sku-{n}", None, n * 1.5, "-" if n % 11 == 0 else "")
        for n in range(2 * CHUNK_ROWS + 17)
    ]
    header = ("n", "sku", "none", "qty", "note")
    everywhere = list(csv_lines(header, iter(rows), rls.SYSTEM))
    guarded = list(csv_lines(header, iter(rows), rls.SYSTEM, text_columns=(1, 2, 4)))
    assert "".join(guarded) == "".join(everywhere)
    assert len(guarded) == 3  # one piece a chunk, the header with the first
    text = "".join(guarded)
    assert text.startswith("\ufeffn,sku,none,qty,note\r\n0,'=x0,,0.0,'-\r\n1,sku-1,,1.5,\r\n")
    assert text.count("\r\n") == len(rows) + 1


def test_csv_lines_of_no_rows_is_the_header():
    assert (
        "".join(csv_lines(("a", "b"), iter(()), rls.SYSTEM, text_columns=(0,))) == "\ufeffa,b\r\n"
    )
