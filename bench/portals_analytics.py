"""Benchmark: the usage pages and the analytics API at 10,000 bins and two years of daily
aggregates. Prints figures, asserts nothing but that each page answers 200.

    make bench-portals                           # (after bench/portal_pages.py) SQLite file
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cmi_bench_analytics \
        .venv/bin/python bench/portals_analytics.py
    BENCH_BINS=2000 BENCH_RUNS=5 .venv/bin/python bench/portals_analytics.py   # quicker

On a fresh database: one vendor with four customers (50 items); the first customer has
BENCH_BINS bins (10,000) on 200 shelves, the others 50 each. The aggregates are written
set-based (one INSERT ... SELECT over the bins and a series of 730 days): each bin has a
row on about one day in five (issued, received, on-hand, value), and each site a row per
day summed from them. Then the aggregates are checked against nothing (they are made
up, not built from a ledger: this measures the reads) and each page is requested with
Django's test Client, the first request a warm-up, then RUNS timed: median and p95 ms,
queries of one request, bytes. Interactive pages whose p95 is over 150 ms are named.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cmi.settings")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{ROOT / 'var' / 'bench_analytics.sqlite3'}")
os.environ.setdefault("CELERY_BROKER_URL", "memory://")
# A throwaway signing key: nothing a benchmark signs outlives its process.
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.run import fresh_database  # noqa: E402
from insight.analytics.models import UsageDaily, UsageSiteDaily  # noqa: E402
from stocking.models import Bin, Location  # noqa: E402
from stocking.setup import label_new  # noqa: E402

BINS = int(os.environ.get("BENCH_BINS", "10000"))
RUNS = int(os.environ.get("BENCH_RUNS", "10"))
DAYS = 730
ITEMS = 50
SHELVES = max(math.ceil(BINS / ITEMS), 1)
INTERACTIVE_P95_MS = 150


def build():
    from tests.factories import vendor_world

    world = vendor_world("benchusage", customers=4, items=ITEMS)
    cw = world.customers[0]
    shelves = Location.objects.bulk_create(
        [
            Location(
                vendor=world.vendor,
                customer=cw.customer,
                site=cw.site,
                parent=cw.room,
                code=f"S{n:04d}",
                path=f"{cw.room.path}",
                depth=2,
            )
            for n in range(SHELVES)
        ]
    )
    shelves = list(Location.objects.filter(customer=cw.customer, code__startswith="S0"))
    have = Bin.objects.filter(customer=cw.customer).count()
    rows = []
    for shelf in shelves:
        for item in world.items:
            if have + len(rows) >= BINS:
                break
            rows.append(
                Bin(
                    vendor=world.vendor,
                    customer=cw.customer,
                    site=cw.site,
                    location=shelf,
                    item=item,
                    label=label_new(),
                    min_qty=10,
                    max_qty=50,
                    on_hand=(len(rows) * 7) % 70,
                )
            )
    Bin.objects.bulk_create(rows, batch_size=2000)
    return world, cw


def aggregates() -> None:
    """Two years of rows, set-based: every bin, a row on about one day in five."""
    start = timezone.now().date() - dt.timedelta(days=DAYS - 1)
    columns = (
        "vendor_id, customer_id, site_id, bin_id, item_id, day, issued, received, adjusted,"
        " net, on_hand, stock_value, scans"
    )
    if connection.vendor == "postgresql":
        days = "generate_series(0, %s) AS d(n)"
        day = "(%s::date + d.n)"
        params = [DAYS - 1, start]
    else:
        days = (
            "(WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n < %s)"
            " SELECT n FROM s) AS d"
        )
        day = "date(%s, '+' || d.n || ' days')"
        params = [DAYS - 1, start.isoformat()]
    level = "(5 + (b.id * 3 + d.n) %% 40)"
    sql = (
        f"INSERT INTO insight_usagedaily ({columns}) "
        f"SELECT b.vendor_id, b.customer_id, b.site_id, b.id, b.item_id, {day}, "
        f"1 + (b.id + d.n) %% 6, CASE WHEN d.n %% 4 = 0 THEN 12 ELSE 0 END, 0, 0, "
        f"{level}, {level} * i.unit_price, 1 "
        f"FROM stocking_bin b JOIN catalog_item i ON i.id = b.item_id CROSS JOIN {days} "
        f"WHERE (b.id * 7 + d.n * 13) %% 5 = 0"
    )
    # the day expression comes before the series in the text: its parameter first
    with connection.cursor() as cur:
        cur.execute(sql, [params[1], params[0]])
        cur.execute(
            "INSERT INTO insight_usagesitedaily (vendor_id, customer_id, site_id, day, issued,"
            " received, adjusted, on_hand, stock_value, scans, bins_issued) "
            "SELECT vendor_id, customer_id, site_id, day, SUM(issued), SUM(received), 0,"
            " SUM(on_hand) * 5, SUM(stock_value) * 5, SUM(scans), COUNT(*) "
            "FROM insight_usagedaily GROUP BY vendor_id, customer_id, site_id, day"
        )
        if connection.vendor == "postgresql":
            cur.execute("ANALYZE insight_usagedaily; ANALYZE insight_usagesitedaily;")
        else:
            cur.execute("ANALYZE")


def measure(client: Client, target: str) -> tuple[int, float, float, int, int]:
    client.get(target)  # warm-up
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        resp = client.get(target)
        body = b"".join(resp.streaming_content) if resp.streaming else resp.content
        times.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as queries:
        client.get(target)
    times.sort()
    p95 = times[max(math.ceil(0.95 * len(times)) - 1, 0)]
    return resp.status_code, statistics.median(times), p95, len(queries), len(body)


def _reused():
    """BENCH_REUSE=1: the database of the last run, if it has one (building takes minutes)."""
    from types import SimpleNamespace

    from catalog.models import Item
    from cmi.models import Membership, Vendor

    vendor = Vendor.objects.filter(code="benchusage").first()
    if vendor is None or not UsageDaily.objects.exists():
        return None
    members = Membership.objects.filter(vendor=vendor).select_related("user", "customer")
    admin = next(m.user for m in members if m.role == "vendor_admin")
    manager = min((m for m in members if m.role == "customer_manager"), key=lambda m: m.customer_id)
    cw = SimpleNamespace(customer=manager.customer, manager=manager.user)
    world = SimpleNamespace(
        admin=admin, items=list(Item.objects.filter(vendor=vendor).order_by("pk"))
    )
    return world, cw


def main() -> None:
    (ROOT / "var").mkdir(exist_ok=True)
    if os.environ.get("BENCH_REUSE") and _reused() is not None:
        world, cw = _reused()
        built = filled = 0.0
    else:
        fresh_database()
        took = time.perf_counter()
        world, cw = build()
        built = time.perf_counter() - took
        took = time.perf_counter()
        aggregates()
        filled = time.perf_counter() - took
    print(
        f"database: {connection.vendor}; {RUNS} timed requests a page after one warm-up;"
        f" CPUs: {os.cpu_count()}"
    )
    print(f"  built bins: {built:.1f} s; aggregates (set-based): {filled:.1f} s")
    print(f"  bins of the customer      {Bin.objects.filter(customer=cw.customer).count():>9}")
    print(f"  bin-day rows              {UsageDaily.objects.count():>9}")
    print(f"  site-day rows             {UsageSiteDaily.objects.count():>9}")

    admin = Client()
    admin.force_login(world.admin)
    manager = Client()
    manager.force_login(cw.manager)
    usage = reverse("portals:analytics", kwargs={"customer_id": cw.customer.pk})
    vendor = reverse("portals:vendor_usage")
    some_bin = Bin.objects.filter(customer=cw.customer).order_by("pk")[BINS // 2]
    item = world.items[7]
    c = cw.customer.pk
    pages = [
        ("usage (week)", manager, usage),
        ("usage (day)", manager, f"{usage}?grain=day"),
        ("usage (month, 2 years)", manager, f"{usage}?grain=month"),
        ("usage item (month)", manager, f"{usage}?grain=month&item={item.pk}"),
        ("usage bin (day)", manager, f"{usage}?grain=day&bin={some_bin.pk}"),
        ("vendor usage (month)", admin, vendor),
        ("vendor usage + search", admin, f"{vendor}?q={item.sku}"),
        ("customers + SKU search", admin, f"{reverse('portals:customers')}?q={item.sku}"),
        ("api usage month", admin, f"/api/v1/analytics/usage?customer={c}&grain=month"),
        ("api usage day", admin, f"/api/v1/analytics/usage?customer={c}"),
        ("api top-items", admin, f"/api/v1/analytics/top-items?customer={c}"),
        ("api slow-movers", admin, f"/api/v1/analytics/slow-movers?customer={c}"),
        ("api cover", admin, f"/api/v1/analytics/cover?customer={c}"),
        ("api dead-stock", admin, f"/api/v1/analytics/dead-stock?customer={c}&days=3"),
        ("api customers", admin, "/api/v1/analytics/customers"),
        ("api search", admin, f"/api/v1/analytics/search?q={item.sku}"),
        ("csv dead stock (days=90)", manager, f"{usage}?download=dead"),
        ("csv days of cover", manager, f"{usage}?download=cover"),
    ]
    print()
    print(f"{'page':<28} {'median ms':>10} {'p95 ms':>8} {'queries':>8} {'bytes':>10}")
    slow = []
    for name, client, target in pages:
        status, median, p95, queries, size = measure(client, target)
        flag = "" if status == 200 else f"  HTTP {status}"
        if p95 > INTERACTIVE_P95_MS and not name.startswith("csv"):
            slow.append(name)
        print(f"{name:<28} {median:>10.1f} {p95:>8.1f} {queries:>8} {size:>10}{flag}")
    if slow:
        print(f"interactive, over {INTERACTIVE_P95_MS} ms p95: {', '.join(slow)}")


if __name__ == "__main__":
    from cmi import rls

    with rls.system():
        main()
