"""The usage pages: charts with text alternatives and their numbers in tables, a CSV of
every table, another tenant's ids a 404, and a query count that does not grow."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from insight.analytics.build import usage_catch_up
from stocking.setup import bin_create, location_create
from tests.conftest import bearer, scan
from tests.portals.helpers import signed_in, url

CUSTOMER_TABLES = ("series", "top", "cover", "slow", "dead")


def ago(days: int) -> str:
    return (timezone.now() - dt.timedelta(days=days)).isoformat()


def issue(cw, bins, days=(1, 3, 10)) -> None:
    events = [scan("issue", b.label, quantity=2, occurred_at=ago(d)) for b in bins for d in days]
    resp = bearer(cw.token).post("/api/v1/scans", {"scans": events}, format="json")
    assert resp.status_code == 200


@pytest.fixture
def used(world):
    a = world["a"]
    issue(a.customers[0], a.customers[0].bins[:2])
    issue(a.customers[1], a.customers[1].bins[:1])
    usage_catch_up()
    return world


def read_csv(resp) -> list[list[str]]:
    body = b"".join(resp.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


@pytest.mark.parametrize("who", ["rep", "manager", "staff"])
def test_customer_usage_page_draws_charts_with_text_alternatives(used, who):
    a = used["a"]
    cw = a.customers[0]
    user = {"rep": a.rep, "manager": cw.manager, "staff": cw.staff}[who]
    resp = signed_in(user).get(url("analytics", cw))
    assert resp.status_code == 200
    html = resp.content.decode()
    assert html.count("<svg") >= 6  # usage and value (two geometries each), top, cover
    assert 'role="img"' in html and "<title id=" in html and "<desc id=" in html
    assert "Units issued per week" in html
    assert "ACME-SKU-0" in html  # top items table
    assert resp.context["series"].issued == 12
    assert resp.context["dead_totals"]["count"] == 1  # the third bin was never issued


@pytest.mark.parametrize("table", CUSTOMER_TABLES)
def test_every_customer_table_downloads_as_csv(used, table):
    a = used["a"]
    cw = a.customers[0]
    resp = signed_in(cw.manager).get(url("analytics", cw), {"download": table, "grain": "day"})
    assert resp.status_code == 200
    assert resp["Content-Type"].startswith("text/csv")
    rows = read_csv(resp)
    assert len(rows) >= 2, rows
    if table == "series":
        assert rows[0][2] == "Issued"
        assert sum(int(r[2]) for r in rows[1:]) == 12
    if table == "top":
        assert [r[0] for r in rows[1:]] == ["ACME-SKU-0", "ACME-SKU-1"]


def _cells(b) -> list:
    """A bin's eight columns as the downloads write them, read from the bin itself (the
    value as a number: its text may carry the price's decimals)."""
    b.refresh_from_db()
    return [
        b.customer.name, b.site.name, b.location.code, b.item.sku, b.item.description,
        b.label, str(b.on_hand), b.on_hand * b.item.unit_price,
    ]  # fmt: skip


def _read(row: list[str]) -> list:
    return [*row[:7], Decimal(row[7])]


def test_bin_downloads_write_each_bins_own_cells(used):
    """Dead stock, days of cover and slow movers: each row is its bin's customer, site,
    location, SKU, description, label, on hand and value, then the table's own figures
    (the rows are read as tuples, not bins: the same cells must come out)."""
    cw = used["a"].customers[0]
    client = signed_in(cw.manager)
    issued, idle = cw.bins[:2], cw.bins[2]
    dead = read_csv(client.get(url("analytics", cw), {"download": "dead"}))
    assert [_read(row) for row in dead[1:]] == [_cells(idle)]
    assert dead[1][8] == ""  # never issued
    cover = read_csv(client.get(url("analytics", cw), {"download": "cover"}))
    assert sorted(_read(row) for row in cover[1:]) == sorted(_cells(b) for b in issued)
    assert {row[8] for row in cover[1:]} == {"6"}  # 3 issues of 2 each in 28 days
    for row, b in ((r, next(b for b in issued if b.label == r[5])) for r in cover[1:]):
        assert float(row[9]) == round(b.on_hand * 28 / 6, 1)
    slow = read_csv(client.get(url("analytics", cw), {"download": "slow"}))
    assert sorted(_read(row) for row in slow[1:]) == sorted(_cells(b) for b in cw.bins[:3])
    assert sorted(row[8] for row in slow[1:]) == ["0", "6", "6"]


def test_item_and_site_and_bin_filters(used):
    a = used["a"]
    cw = a.customers[0]
    client = signed_in(cw.staff)
    resp = client.get(url("analytics", cw), {"item": a.items[1].pk, "grain": "day"})
    assert resp.context["series"].issued == 6
    resp = client.get(url("analytics", cw), {"bin": cw.bins[0].pk})
    assert resp.context["series"].issued == 6
    resp = client.get(url("analytics", cw), {"site": cw.site.pk, "grain": "month"})
    assert resp.context["series"].issued == 12


def test_other_tenants_ids_are_404_on_the_usage_pages(used):
    a, b = used["a"], used["b"]
    a0, a1, b0 = a.customers[0], a.customers[1], b.customers[0]
    rep = signed_in(a.rep)
    assert rep.get(url("analytics", b0)).status_code == 404
    for params in (
        {"site": b0.site.pk},
        {"bin": b0.bins[0].pk},
        {"item": b.items[0].pk},
        {"bin": a1.bins[0].pk},
        {"site": a1.site.pk},
    ):
        assert rep.get(url("analytics", a0), params).status_code == 404, params
    # A customer's manager: another customer of the same vendor is a 404, and the
    # vendor-wide page is not theirs.
    manager = signed_in(a1.manager)
    assert manager.get(url("analytics", a0)).status_code == 404
    assert manager.get(url("analytics", a1), {"bin": a0.bins[0].pk}).status_code == 404
    assert manager.get(reverse("portals:vendor_usage")).status_code == 403


def test_vendor_usage_page_and_search_across_customers(used):
    a = used["a"]
    client = signed_in(a.admin)
    resp = client.get(reverse("portals:vendor_usage"), {"q": "SKU-0"})
    assert resp.status_code == 200
    assert resp.context["found_count"] == 2
    assert {b.customer.name for b in resp.context["found"]} == {
        "Customer 0 of acme",
        "Customer 1 of acme",
    }
    assert [c["issued"] for c in resp.context["customers"]] == [12, 6]
    html = resp.content.decode()
    assert "Stock value held at each customer" in html and html.count("<svg") >= 6
    # Vendor B's SKU is not found by vendor A.
    assert (
        client.get(reverse("portals:vendor_usage"), {"q": "BOLT-SKU"}).context["found_count"] == 0
    )
    for table in ("customers", "series", "search"):
        got = client.get(reverse("portals:vendor_usage"), {"download": table, "q": "SKU-0"})
        rows = read_csv(got)
        assert len(rows) >= 3, (table, rows)
    search = read_csv(
        client.get(reverse("portals:vendor_usage"), {"download": "search", "q": "SKU-0"})
    )
    assert {r[0] for r in search[1:]} == {"Customer 0 of acme", "Customer 1 of acme"}


def test_customers_page_search_finds_a_sku_in_customers_bins(used):
    """Before: a SKU typed on the customers page found nothing. Now the customers whose
    bins hold it are listed, with a link to the search with usage."""
    a = used["a"]
    resp = signed_in(a.rep).get(reverse("portals:customers"), {"q": "ACME-SKU-2"})
    assert resp.status_code == 200
    assert resp.context["stock_count"] == 2
    html = resp.content.decode()
    assert "Stock matching" in html and reverse("portals:vendor_usage") in html
    other = signed_in(used["b"].rep).get(reverse("portals:customers"), {"q": "ACME-SKU-2"})
    assert other.context["stock_count"] == 0


def _grow(vw, n: int) -> None:
    cw = vw.customers[0]
    made = []
    for i in range(n):
        loc = location_create(scope=vw.scope, site_id=cw.site.pk, code=f"Q{n}-{i}")
        made += [
            bin_create(scope=vw.scope, location_id=loc.pk, item_id=item.pk, on_hand=5)
            for item in vw.items
        ]
    issue(cw, made, days=(2, 20, 100))
    usage_catch_up()


@pytest.mark.parametrize("page", ["customer", "vendor", "vendor_search"])
def test_usage_pages_query_count_does_not_grow(world, page):
    a = world["a"]
    cw = a.customers[0]
    client = signed_in(a.admin)
    target = url("analytics", cw) if page == "customer" else reverse("portals:vendor_usage")
    params = {"q": "SKU"} if page == "vendor_search" else {}
    counts = []
    for size in (1, 12):
        _grow(a, size)
        with CaptureQueriesContext(connection) as queries:
            resp = client.get(target, params)
        assert resp.status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
    assert counts[1] <= {"customer": 14, "vendor": 9, "vendor_search": 10}[page], counts


def test_the_rankings_follow_the_next_pass_of_the_aggregates(used):
    """The rankings read the aggregates cold on every view (no cache): they move when
    the aggregates' next pass has counted the new issues, not before."""
    a = used["a"]
    cw = a.customers[0]
    client = signed_in(cw.manager)
    first = client.get(url("analytics", cw)).context["top"]
    assert (first[0]["item__sku"], first[0]["units"]) == ("ACME-SKU-0", 6)
    issue(cw, [cw.bins[1]], days=(2,))
    # Not yet aggregated: the page still shows what the aggregates say.
    assert client.get(url("analytics", cw)).context["top"] == first
    usage_catch_up()
    top = client.get(url("analytics", cw)).context["top"]
    assert (top[0]["item__sku"], top[0]["units"]) == ("ACME-SKU-1", 8)
