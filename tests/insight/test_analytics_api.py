"""The analytics API: series and rankings read from the aggregates, held to the caller's
scope (a customer's token sees its customer only; other tenants' ids are 404), with a
query count that does not grow with the bins."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cmi.services import api_token_create
from insight.analytics.build import usage_catch_up
from stocking.setup import bin_create, location_create
from tests.conftest import as_user, bearer, scan

API = "/api/v1/analytics/"
SUBJECT_ENDPOINTS = ["usage", "top-items", "slow-movers", "cover", "dead-stock", "stock-value"]


def ago(days: int) -> str:
    return (timezone.now() - dt.timedelta(days=days)).isoformat()


@pytest.fixture
def used(world):
    """Vendor A's customer 0 issued from bin 0 over the last weeks; customer 1 once."""
    a = world["a"]
    c0, c1 = a.customers
    events = [scan("issue", c0.bins[0].label, quantity=2, occurred_at=ago(n)) for n in (1, 2, 9)]
    events.append(scan("issue", c0.bins[1].label, quantity=5, occurred_at=ago(3)))
    assert (
        bearer(c0.token).post("/api/v1/scans", {"scans": events}, format="json").status_code == 200
    )
    one = [scan("issue", c1.bins[0].label, quantity=1, occurred_at=ago(1))]
    assert bearer(c1.token).post("/api/v1/scans", {"scans": one}, format="json").status_code == 200
    b0 = world["b"].customers[0]
    other = [scan("issue", b0.bins[0].label, quantity=9, occurred_at=ago(1))]
    assert (
        bearer(b0.token).post("/api/v1/scans", {"scans": other}, format="json").status_code == 200
    )
    usage_catch_up()
    return world


def test_usage_series_of_a_customer_by_day_week_and_month(used):
    a = used["a"]
    c0 = a.customers[0]
    body = as_user(a.rep).get(f"{API}usage", {"customer": c0.customer.pk, "days": 14}).json()
    assert body["grain"] == "day" and len(body["periods"]) == 14
    assert body["issued"] == 11
    assert {"start", "end", "issued", "received", "on_hand", "stock_value"} <= set(
        body["periods"][0]
    )
    # The bins were counted (made with 30 each) today, after the issues happened: the
    # count already holds them, so the stock is 90 (the issues still count as usage).
    assert body["periods"][-1]["on_hand"] == 90
    assert body["periods"][0]["on_hand"] == 0
    weekly = as_user(a.rep).get(
        f"{API}usage", {"customer": c0.customer.pk, "grain": "week", "days": 28}
    )
    assert sum(p["issued"] for p in weekly.json()["periods"]) == 11
    monthly = as_user(a.rep).get(f"{API}usage", {"customer": c0.customer.pk, "grain": "month"})
    assert monthly.json()["periods"][-1]["on_hand"] == 90


def test_rankings_cover_dead_stock_and_value(used):
    a = used["a"]
    c0 = a.customers[0]
    client = as_user(a.rep)
    q = {"customer": c0.customer.pk}
    top = client.get(f"{API}top-items", q).json()["results"]
    assert [(r["sku"], r["issued"]) for r in top] == [("ACME-SKU-0", 6), ("ACME-SKU-1", 5)]
    slow = client.get(f"{API}slow-movers", q).json()["results"]
    assert slow[0]["sku"] == "ACME-SKU-2" and slow[0]["issued"] == 0
    cover = client.get(f"{API}cover", {**q, "days": 28}).json()
    # bin 0: 30 on hand, 6 issued in 28 days -> 140 days; bin 1: 30 / 5 -> 168 days
    assert [(r["sku"], round(r["days_of_cover"])) for r in cover["results"]] == [
        ("ACME-SKU-0", 140),
        ("ACME-SKU-1", 168),
    ]
    buckets = {b["key"]: b["bins"] for b in cover["buckets"]}
    assert buckets["over_90"] == 2 and buckets["not_issued"] == 1
    dead = client.get(f"{API}dead-stock", {**q, "days": 30}).json()
    assert dead["count"] == 1 and dead["results"][0]["sku"] == "ACME-SKU-2"
    assert dead["results"][0]["last_issued"] is None
    value = client.get(f"{API}stock-value", q).json()
    # 30 x 0.25 + 30 x 0.50 + 30 x 0.75
    assert value["units"] == 90 and value["value"] == "45.00"


@pytest.mark.parametrize("endpoint", ["top-items", "slow-movers", "cover", "search"])
def test_a_window_the_recent_rows_do_not_hold_is_summed_from_the_daily_rows(used, endpoint):
    """days=10 is not one of the bins' recent windows (28, 30, 60, 90): summed from the
    daily rows instead. Every issue fell in the last 10 days, so it ranks as days=30."""
    a = used["a"]
    client = as_user(a.rep)
    q = {"q": "SKU"} if endpoint == "search" else {"customer": a.customers[0].customer.pk}
    ten = client.get(f"{API}{endpoint}", {**q, "days": 10}).json()["results"]
    thirty = client.get(f"{API}{endpoint}", {**q, "days": 30}).json()["results"]
    key = "days_of_cover"
    for r in ten:
        r.pop(key, None)
    for r in thirty:
        r.pop(key, None)
    assert ten == thirty and ten


@pytest.mark.parametrize("cover_days", [28, 10])
@pytest.mark.parametrize("dead_days", [1, 5, 90])
def test_the_pages_one_pass_summary_equals_the_separate_reads(used, cover_days, dead_days):
    """Stock value, dead stock totals and the cover bands, summed in one pass over the
    bins' recent rows, equal what their own selectors say (10: a window the recent rows
    do not hold)."""
    from cmi.tenancy import scope_for_user
    from insight.analytics import selectors

    a = used["a"]
    scope = scope_for_user(a.rep)
    subject = selectors.subject_resolve(scope=scope, customer_id=a.customers[0].customer.pk)
    got = selectors.bins_summary(
        scope=scope, subject=subject, cover_days=cover_days, dead_days=dead_days
    )
    dead = selectors.dead_stock(scope=scope, subject=subject, days=dead_days)
    assert got == {
        "value_now": selectors.stock_value_now(scope=scope, subject=subject),
        "dead_totals": selectors.dead_stock_totals(dead),
        "buckets": selectors.cover_buckets(scope=scope, subject=subject, days=cover_days),
    }
    assert got["dead_totals"]["count"] == {1: 3, 5: 1, 90: 1}[dead_days]
    first = selectors.dead_stock_first(scope=scope, subject=subject, days=dead_days, limit=2)
    assert [(b.pk, b.value, b.last_issued) for b in first] == [
        (b.pk, b.value, b.last_issued) for b in dead[:2]
    ]


# UTC+14 and UTC-12: whatever the hour, at least one of them is on another date than UTC.
FAR_ZONES = ("Pacific/Kiritimati", "Etc/GMT+12")
ONE = dt.timedelta(days=1)


def _local_noon(day: dt.date, zone: str) -> str:
    return dt.datetime.combine(day, dt.time(12), ZoneInfo(zone)).isoformat()


@pytest.fixture
def zoned(world):
    """Vendor A's customers keep their days at UTC+14 and UTC-12. Each issued from bin 0
    on the first of its own last 10 days (1 unit), and from bin 1 on the second (5) and
    on the day before the 10 (1); bin 2 never. Returns each customer's local today."""
    from cmi.services import customer_update

    a = world["a"]
    now = timezone.now()
    todays = {}
    for cw, zone in zip(a.customers, FAR_ZONES, strict=True):
        customer_update(scope=a.scope, customer_id=cw.customer.pk, timezone=zone)
        today = todays[cw.customer.pk] = now.astimezone(ZoneInfo(zone)).date()
        first = today - dt.timedelta(days=9)
        events = [
            scan("issue", cw.bins[0].label, quantity=1, occurred_at=_local_noon(first, zone)),
            scan("issue", cw.bins[1].label, quantity=5, occurred_at=_local_noon(first + ONE, zone)),
            scan("issue", cw.bins[1].label, quantity=1, occurred_at=_local_noon(first - ONE, zone)),
        ]
        resp = bearer(cw.token).post("/api/v1/scans", {"scans": events}, format="json")
        assert resp.status_code == 200, resp.content
    usage_catch_up()
    assert any(d != now.astimezone(dt.UTC).date() for d in todays.values())
    return world


def test_vendor_wide_top_items_count_each_customers_own_days(zoned):
    """All customers (no customer named), over a window the recent rows do not hold: each
    customer's issues fall in its own last 10 days, or the 10 before, as its own dates
    say (a UTC window moves one of the two far zones' issues to the other window)."""
    a = zoned["a"]
    body = as_user(a.rep).get(f"{API}top-items", {"days": 10}).json()
    assert [(r["sku"], r["issued"], r["previous"]) for r in body["results"]] == [
        ("ACME-SKU-1", 10, 2),
        ("ACME-SKU-0", 2, 0),
    ]


@pytest.mark.parametrize("cover_days", [28, 10])
def test_vendor_wide_dead_stock_starts_on_each_customers_own_day(zoned, cover_days):
    """All customers, the last 9 days: bin 1 (last issued on each customer's own first day
    of them) is not dead; bin 0 (the day before) and bin 2 (never) are. The API's list and
    totals, and the page's one-pass summary, agree (a UTC start moves one far zone's day)."""
    from cmi.tenancy import scope_for_user
    from insight.analytics import selectors

    a = zoned["a"]
    dead = {cw.bins[n].pk for cw in a.customers for n in (0, 2)}
    body = as_user(a.rep).get(f"{API}dead-stock", {"days": 9, "limit": 10}).json()
    scope = scope_for_user(a.rep)
    subject = selectors.subject_resolve(scope=scope)
    summary = selectors.bins_summary(
        scope=scope, subject=subject, cover_days=cover_days, dead_days=9
    )
    assert {
        "listed": {r["bin"] for r in body["results"]},
        "counted": body["count"],
        "summary": summary["dead_totals"]["count"],
        "dead_stock": {b.pk for b in selectors.dead_stock(scope=scope, subject=subject, days=9)},
    } == {"listed": dead, "counted": 4, "summary": 4, "dead_stock": dead}


def test_customers_and_search_across_customers(used):
    a = used["a"]
    rows = as_user(a.admin).get(f"{API}customers").json()["results"]
    assert [(r["name"], r["issued"]) for r in rows] == [
        ("Customer 0 of acme", 11),
        ("Customer 1 of acme", 1),
    ]
    found = as_user(a.rep).get(f"{API}search", {"q": "sku-0"}).json()
    assert found["count"] == 2
    assert {r["customer_name"] for r in found["results"]} == {
        "Customer 0 of acme",
        "Customer 1 of acme",
    }
    # the customer's own part number finds the bin too
    by_cpn = as_user(a.rep).get(f"{API}search", {"q": "CPN-0001"}).json()
    assert by_cpn["count"] == 2
    # A customer's user finds only its own bins; the customers view is vendor staff only.
    c1 = a.customers[1]
    mine = as_user(c1.manager).get(f"{API}search", {"q": "sku-0"}).json()
    assert [r["customer"] for r in mine["results"]] == [c1.customer.pk]
    assert as_user(c1.manager).get(f"{API}customers").status_code == 403


@pytest.mark.parametrize("endpoint", SUBJECT_ENDPOINTS)
def test_another_tenants_ids_are_404(used, endpoint):
    """Per endpoint: another vendor's customer, site, item and bin, and another customer's
    (for a customer's token) are 404 with the stable code; bad input is a 400."""
    a, b = used["a"], used["b"]
    b0, a0, a1 = b.customers[0], a.customers[0], a.customers[1]
    rep = as_user(a.rep)
    for params in (
        {"customer": b0.customer.pk},
        {"site": b0.site.pk},
        {"item": b.items[0].pk},
        {"bin": b0.bins[0].pk},
        {"customer": a0.customer.pk, "bin": a1.bins[0].pk},
    ):
        resp = rep.get(f"{API}{endpoint}", params)
        assert resp.status_code == 404, (params, resp.content)
        assert resp.json()["error"]["code"] == "not_found"
    _, token = api_token_create(user=a1.manager)
    mine = bearer(token)
    assert mine.get(f"{API}{endpoint}").status_code == 200  # held to its own customer
    for params in (
        {"customer": a0.customer.pk},
        {"site": a0.site.pk},
        {"bin": a0.bins[0].pk},
    ):
        assert mine.get(f"{API}{endpoint}", params).status_code == 404, params
    assert rep.get(f"{API}{endpoint}", {"customer": "x"}).json()["error"]["field"] == "customer"
    # A device's key reads no analytics.
    assert bearer(a0.token).get(f"{API}{endpoint}").status_code in (401, 403)


def test_customer_token_series_is_its_own_customer(used):
    a = used["a"]
    c1 = a.customers[1]
    _, token = api_token_create(user=c1.staff)
    body = bearer(token).get(f"{API}usage", {"days": 7}).json()
    assert body["subject"] == c1.customer.name and body["issued"] == 1


def test_search_and_customers_hide_other_vendors(used):
    a, b = used["a"], used["b"]
    found = as_user(a.rep).get(f"{API}search", {"q": "BOLT-SKU"}).json()
    assert found["count"] == 0
    names = {r["name"] for r in as_user(b.admin).get(f"{API}customers").json()["results"]}
    assert names == {"Customer 0 of bolt", "Customer 1 of bolt"}
    assert as_user(a.rep).get(f"{API}search").json()["error"]["field"] == "q"


def _grow(vw, bins: int) -> None:
    """More bins of customer 0 with a few issues each, aggregated."""
    cw = vw.customers[0]
    shelf = location_create(scope=vw.scope, site_id=cw.site.pk, code=f"GROW-{bins}")
    made = [
        bin_create(scope=vw.scope, location_id=shelf.pk, item_id=item.pk, on_hand=40)
        for item in vw.items
    ]
    for n in range(bins - len(made)):
        loc = location_create(scope=vw.scope, site_id=cw.site.pk, code=f"G{bins}-{n}")
        made.append(bin_create(scope=vw.scope, location_id=loc.pk, item_id=vw.items[0].pk))
    events = [scan("issue", b.label, quantity=1, occurred_at=ago(d)) for b in made for d in (1, 5)]
    assert (
        bearer(cw.token).post("/api/v1/scans", {"scans": events}, format="json").status_code == 200
    )
    usage_catch_up()


@pytest.mark.parametrize("endpoint", [*SUBJECT_ENDPOINTS, "customers", "search"])
def test_query_count_does_not_grow_with_bins(world, endpoint):
    a = world["a"]
    params = {"q": "SKU"} if endpoint == "search" else {}
    if endpoint not in ("customers", "search"):
        params["customer"] = a.customers[0].customer.pk
    client = as_user(a.rep)
    counts = []
    for size in (3, 30):
        _grow(a, size)
        with CaptureQueriesContext(connection) as queries:
            resp = client.get(f"{API}{endpoint}", params)
        assert resp.status_code == 200, resp.content
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
    budget = {"usage": 5, "cover": 4, "dead-stock": 4, "customers": 4, "search": 2}
    assert counts[1] <= budget.get(endpoint, 3), counts


@pytest.mark.parametrize("endpoint", ["top-items", "slow-movers", "cover", "dead-stock"])
def test_vendor_wide_query_count_does_not_grow_with_bins_customers_or_zones(world, endpoint):
    """All customers, over a window the recent rows do not hold (10 days): as many queries
    with 3 bins, two customers and one zone as with 30 bins, three customers and two."""
    from cmi.models import Customer

    a = world["a"]
    client = as_user(a.rep)
    counts = []
    for size in (3, 30):
        if counts:
            Customer.objects.create(vendor=a.vendor, code="t", name="Tokyo", timezone="Asia/Tokyo")
        _grow(a, size)
        with CaptureQueriesContext(connection) as queries:
            resp = client.get(f"{API}{endpoint}", {"days": 10})
        assert resp.status_code == 200, resp.content
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
    # One query each time a selector needs the window's first days: the zones of the
    # customers in scope (window_starts). Cover (bands and list) and dead stock (totals
    # and list) are two selectors each, so they ask twice.
    budget = {"top-items": 3, "slow-movers": 4, "cover": 6, "dead-stock": 5}
    assert counts[1] <= budget[endpoint], counts
