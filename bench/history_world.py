"""A world with history, for the benchmarks of the analytics and scorecard pages: one
vendor with four customers (50 items); the first customer has BENCH_BINS bins (10,000)
on 200 shelves, the others 50 each; two years of ledger and of daily aggregates.

Everything is written set-based (one INSERT ... SELECT over the bins and a series of
730 days per table), so 10,000 bins with two years take about a minute or two on
PostgreSQL rather than the hours a replay of scans would:

- the ledger: on about one day in five per bin an issue (1 to 6 units), and a receipt
  of 12 on one such day in four, at noon UTC;
- the per-bin daily rows (`UsageDaily`) of those same days, the per-site and
  per-item-and-site rows summed from them, and each issued bin's recent row;
- the scorecard: the closed months of the trend stored as the snapshot task does, and
  the current month as the beat task `scorecard_current_refresh` does (both timed).

The aggregates are made to match the ledger's flows (issued, received per bin and day);
the on-hand columns are a made-up saw-tooth, not a running balance: the benchmarks
measure the reads, and `tests/insight/test_analytics_build.py` proves the build exact.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import time
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db import connection
from django.utils import timezone

BINS = int(os.environ.get("BENCH_BINS", "10000"))
DAYS = 730
ITEMS = 50
SHELVES = max(math.ceil(BINS / ITEMS), 1)
# A bin-day has history when this holds: about one day in five, spread over the bins.
HAS_ROW = "(b.id * 7 + d.n * 13) %% 5 = 0"
ISSUED = "(1 + (b.id + d.n) %% 6)"
RECEIVED = "(CASE WHEN d.n %% 4 = 0 THEN 12 ELSE 0 END)"
LEVEL = "(5 + (b.id * 3 + d.n) %% 40)"


@dataclass
class Timings:
    bins: float = 0.0
    ledger: float = 0.0
    aggregates: float = 0.0
    scorecard_months: float = 0.0
    scorecard_current: float = 0.0


def _timed(fn) -> float:
    took = time.perf_counter()
    fn()
    return time.perf_counter() - took


def world_build():
    """The vendor, its customers and the first customer's BINS bins."""
    from stocking.models import Bin, Location
    from stocking.setup import label_new
    from tests.factories import vendor_world

    world = vendor_world("benchusage", customers=4, items=ITEMS)
    cw = world.customers[0]
    Location.objects.bulk_create(
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
    first = timezone.now() - dt.timedelta(days=DAYS)
    Bin.objects.filter(vendor=world.vendor).update(created_at=first)
    return world, cw


def _series(start: dt.date) -> tuple[str, str, str, list]:
    """SQL for the series of DAYS days from `start`: (FROM item, day, noon) and its
    parameters, for PostgreSQL or SQLite."""
    if connection.vendor == "postgresql":
        return (
            "generate_series(0, %s) AS d(n)",
            "(%s::date + d.n)",
            "(%s::date + d.n + time '12:00') AT TIME ZONE 'UTC'",
            [DAYS - 1, start],
        )
    return (
        "(WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n < %s)"
        " SELECT n FROM s) AS d",
        "date(%s, '+' || d.n || ' days')",
        "datetime(%s, '+' || d.n || ' days', '+12 hours')",
        [DAYS - 1, start.isoformat()],
    )


def ledger_fill() -> None:
    """Two years of issues and receipts of every bin, in the ledger."""
    start = timezone.now().date() - dt.timedelta(days=DAYS - 1)
    days, _, noon, (last, first) = _series(start)
    columns = (
        "vendor_id, customer_id, bin_id, kind, quantity, delta, on_hand_after, applied,"
        " occurred_at, received_at"
    )
    with connection.cursor() as cur:
        for kind, quantity, extra in (
            ("issue", ISSUED, ""),
            ("receive", "12", f" AND {RECEIVED} > 0"),
        ):
            sign = "-" if kind == "issue" else ""
            cur.execute(
                f"INSERT INTO stocking_ledgerentry ({columns}) "
                f"SELECT b.vendor_id, b.customer_id, b.id, '{kind}', {quantity},"
                f" {sign}{quantity}, {LEVEL}, TRUE, {noon}, {noon} "
                f"FROM stocking_bin b CROSS JOIN {days} WHERE {HAS_ROW}{extra}",
                [first, first, last],
            )


def aggregates_fill(tz_name: str) -> None:
    """The aggregates of the same days: per bin, per item and site, per site, and each
    issued bin's recent windows (counted back from today in `tz_name`, the zone the
    world's customers share)."""
    from insight.analytics.models import UsageBinRecent

    start = timezone.now().date() - dt.timedelta(days=DAYS - 1)
    days, day, _, (last, first) = _series(start)
    columns = (
        "vendor_id, customer_id, site_id, bin_id, item_id, day, issued, received, adjusted,"
        " net, on_hand, stock_value, scans"
    )
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO insight_usagedaily ({columns}) "
            f"SELECT b.vendor_id, b.customer_id, b.site_id, b.id, b.item_id, {day}, "
            f"{ISSUED}, {RECEIVED}, 0, {RECEIVED} - {ISSUED}, "
            f"{LEVEL}, {LEVEL} * i.unit_price, 1 "
            f"FROM stocking_bin b JOIN catalog_item i ON i.id = b.item_id CROSS JOIN {days} "
            f"WHERE {HAS_ROW}",
            [first, last],
        )
        cur.execute(
            "INSERT INTO insight_usagesitedaily (vendor_id, customer_id, site_id, day, issued,"
            " received, adjusted, on_hand, stock_value, scans, bins_issued) "
            "SELECT vendor_id, customer_id, site_id, day, SUM(issued), SUM(received), 0,"
            " SUM(on_hand) * 5, SUM(stock_value) * 5, SUM(scans), COUNT(*) "
            "FROM insight_usagedaily GROUP BY vendor_id, customer_id, site_id, day"
        )
        cur.execute(
            "INSERT INTO insight_usageitemdaily (vendor_id, customer_id, site_id, item_id, day,"
            " issued, received, on_hand, stock_value) "
            "SELECT vendor_id, customer_id, site_id, item_id, day, SUM(issued), SUM(received),"
            " SUM(on_hand) * 5, SUM(stock_value) * 5 "
            "FROM insight_usagedaily GROUP BY vendor_id, customer_id, site_id, item_id, day"
        )
    _recent_fill(UsageBinRecent.WINDOWS, timezone.now().astimezone(ZoneInfo(tz_name)).date())
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            # what autovacuum does to tables this size soon after: the planner's
            # statistics (the bins too: bulk-created, they have none yet)
            cur.execute("VACUUM ANALYZE")
        else:
            cur.execute("ANALYZE")


def _recent_fill(windows: tuple[int, ...], today: dt.date) -> None:
    """Each issued bin's recent row, as the aggregates' pass writes it."""
    sums = ", ".join(
        "SUM(CASE WHEN day > %s AND day <= %s THEN issued ELSE 0 END)" for _ in windows
    )
    params: list = []
    for n in windows:
        params += [today - dt.timedelta(days=n), today]
    names = ", ".join(f"issued_{n}" for n in windows)
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO insight_usagebinrecent (vendor_id, customer_id, site_id, item_id,"
            f" bin_id, as_of, {names}, last_issued) "
            f"SELECT vendor_id, customer_id, site_id, item_id, bin_id, %s, {sums}, MAX(day) "
            "FROM insight_usagedaily WHERE issued > 0 AND day <= %s "
            "GROUP BY vendor_id, customer_id, site_id, item_id, bin_id",
            [today, *params, today],
        )


def scorecard_fill(vendor_id: int, timings: Timings) -> None:
    """The closed months of the trend stored (the snapshot task) and the current month
    so far (the `scorecard_current_refresh` beat task), each timed."""
    from insight.scorecard.compute import months_back
    from insight.scorecard.services import scorecard_current_store, scorecard_months_snapshot
    from insight.scorecard.tasks import last_month

    closed = months_back(last_month(timezone.now()), 6)
    timings.scorecard_months = _timed(
        lambda: scorecard_months_snapshot(vendor_id=vendor_id, months=closed)
    )
    timings.scorecard_current = _timed(lambda: scorecard_current_store(vendor_id=vendor_id))


def history_build():
    """The whole world on a fresh database; returns (world, first customer, timings)."""
    timings = Timings()
    took = time.perf_counter()
    world, cw = world_build()
    timings.bins = time.perf_counter() - took
    timings.ledger = _timed(ledger_fill)
    timings.aggregates = _timed(lambda: aggregates_fill(cw.customer.timezone))
    scorecard_fill(world.vendor.pk, timings)
    return world, cw, timings
