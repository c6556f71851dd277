"""Benchmark: the usage and scorecard pages and every analytics and scorecard API
endpoint at 10,000 bins and two years of history. Prints figures, asserts nothing but
that each page answers 200.

    make bench-portals                           # (after bench/portal_pages.py) SQLite file
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cmi_bench_analytics \
        .venv/bin/python bench/portals_analytics.py
    BENCH_BINS=2000 BENCH_RUNS=5 .venv/bin/python bench/portals_analytics.py   # quicker
    BENCH_REUSE=1 ...                            # the world of the last run, if there is one

The world (bench/history_world.py): one vendor with four customers, the first with
BENCH_BINS bins; two years of ledger and daily aggregates written set-based; the
scorecard's closed months and current month stored as the beat tasks store them (their
times are printed: that is what a pass costs, off the request path).

Each page is measured cold: the cache is cleared before every request (the pages cache
nothing; this keeps it so), so every request reads the aggregates and the bins. One
untimed request a page first loads its code (the first use of a view, its template and
serializers in a process: once per worker). BENCH_RUNS (20) timed requests a page:
median and p95 ms (nearest rank: with 20, the 19th, so one stray pause of a shared
machine is not the figure; with 10 it is the slowest), then the queries of one
request, and bytes. Interactive pages whose
p95 is over 150 ms are named.
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

from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.history_world import BINS, Timings, history_build  # noqa: E402
from bench.run import fresh_database  # noqa: E402
from insight.analytics.models import (  # noqa: E402
    UsageBinRecent,
    UsageDaily,
    UsageItemDaily,
    UsageSiteDaily,
)
from stocking.models import Bin, LedgerEntry  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "20"))
INTERACTIVE_P95_MS = 150


def measure(client: Client, target: str) -> tuple[int, float, float, int, int]:
    # One untimed request first: the process's first use of a view, its template and its
    # serializers costs 50 to 100 ms once per worker, not per request. The data stays
    # cold: the cache is cleared before every request (and the pages keep nothing).
    cache.clear()
    client.get(target)
    times = []
    for _ in range(RUNS):
        cache.clear()
        started = time.perf_counter()
        resp = client.get(target)
        body = b"".join(resp.streaming_content) if resp.streaming else resp.content
        times.append((time.perf_counter() - started) * 1000)
    cache.clear()
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
    if vendor is None or not UsageBinRecent.objects.exists():
        return None
    members = Membership.objects.filter(vendor=vendor).select_related("user", "customer")
    admin = next(m.user for m in members if m.role == "vendor_admin")
    manager = min((m for m in members if m.role == "customer_manager"), key=lambda m: m.customer_id)
    cw = SimpleNamespace(customer=manager.customer, manager=manager.user)
    world = SimpleNamespace(
        vendor=vendor, admin=admin, items=list(Item.objects.filter(vendor=vendor).order_by("pk"))
    )
    return world, cw


def main() -> None:
    (ROOT / "var").mkdir(exist_ok=True)
    reused = _reused() if os.environ.get("BENCH_REUSE") else None
    if reused is not None:
        world, cw = reused
        timings = Timings()
    else:
        fresh_database()
        world, cw, timings = history_build()
    print(
        f"database: {connection.vendor}; {RUNS} timed requests a page, cache cleared before each; CPUs: {os.cpu_count()}"
    )
    print(
        f"  built (set-based): bins {timings.bins:.1f} s, ledger {timings.ledger:.1f} s,"
        f" aggregates {timings.aggregates:.1f} s"
    )
    print(
        f"  beat tasks: scorecard closed months (6) {timings.scorecard_months:.1f} s,"
        f" scorecard current month {timings.scorecard_current:.1f} s"
    )
    print(f"  bins of the customer      {Bin.objects.filter(customer=cw.customer).count():>9}")
    print(f"  ledger rows               {LedgerEntry.objects.count():>9}")
    print(f"  bin-day rows              {UsageDaily.objects.count():>9}")
    print(f"  item-site-day rows        {UsageItemDaily.objects.count():>9}")
    print(f"  site-day rows             {UsageSiteDaily.objects.count():>9}")
    print(f"  bins' recent rows         {UsageBinRecent.objects.count():>9}")

    admin = Client()
    admin.force_login(world.admin)
    manager = Client()
    manager.force_login(cw.manager)
    usage = reverse("portals:analytics", kwargs={"customer_id": cw.customer.pk})
    vendor = reverse("portals:vendor_usage")
    card = reverse("portals:scorecard", kwargs={"customer_id": cw.customer.pk})
    card_print = reverse("portals:scorecard_print", kwargs={"customer_id": cw.customer.pk})
    cards = reverse("portals:scorecards")
    before = (timezone.now().date().replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
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
        ("scorecard (this month)", manager, card),
        ("scorecard (last month)", manager, f"{card}?month={before}"),
        ("scorecard print", manager, card_print),
        ("vendor scorecards", admin, cards),
        ("vendor scorecards (last)", admin, f"{cards}?month={before}"),
        ("api usage month", admin, f"/api/v1/analytics/usage?customer={c}&grain=month"),
        ("api usage day", admin, f"/api/v1/analytics/usage?customer={c}"),
        ("api usage item month", admin, f"/api/v1/analytics/usage?item={item.pk}&grain=month"),
        ("api top-items", admin, f"/api/v1/analytics/top-items?customer={c}"),
        ("api top-items (days=7)", admin, f"/api/v1/analytics/top-items?customer={c}&days=7"),
        ("api slow-movers", admin, f"/api/v1/analytics/slow-movers?customer={c}"),
        ("api slow-movers days=90", admin, f"/api/v1/analytics/slow-movers?customer={c}&days=90"),
        ("api cover", admin, f"/api/v1/analytics/cover?customer={c}"),
        ("api dead-stock (90)", admin, f"/api/v1/analytics/dead-stock?customer={c}"),
        ("api dead-stock (days=3)", admin, f"/api/v1/analytics/dead-stock?customer={c}&days=3"),
        ("api stock-value", admin, f"/api/v1/analytics/stock-value?customer={c}"),
        ("api customers", admin, "/api/v1/analytics/customers"),
        ("api search", admin, f"/api/v1/analytics/search?q={item.sku}"),
        ("api scorecard", manager, f"/api/v1/scorecard?customer={c}"),
        ("api scorecard last month", manager, f"/api/v1/scorecard?customer={c}&month={before}"),
        ("api scorecard vendor", admin, "/api/v1/scorecard/vendor"),
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
