"""Benchmark: the portal pages of one customer with 10,000 bins. Prints figures, asserts
nothing but that each page answers 200.

    make bench-portals                           # SQLite file var/bench_portals.sqlite3
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cmi_bench_portals make bench-portals
    BENCH_BINS=2000 BENCH_RUNS=5 .venv/bin/python bench/portal_pages.py   # smaller, quicker

On a fresh database: one vendor (500 items, an EDI partner), one customer with 10,000
bins on 20 shelves, 20,000 scans from its handheld (through the scan service, 500 a
batch, a tenth of them on one busy bin), about 300 orders released under the auto
policy (each with its 850) and one awaiting approval with 60 lines. Then each page is
requested with Django's test Client, signed in as the customer manager or the vendor
admin: the first request warms up and is not counted, then RUNS requests are timed. A
streamed download is read to its end inside the timing. Per page: median and p95
(nearest rank) milliseconds, queries of one request, response bytes, and for a CSV
download its data rows a second (at the median). Interactive pages (not the whole
downloads) whose p95 is over 150 ms are named at the end.
"""

from __future__ import annotations

import math
import os
import random
import secrets
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cmi.settings")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{ROOT / 'var' / 'bench_portals.sqlite3'}")
os.environ.setdefault("CELERY_BROKER_URL", "memory://")
# A throwaway signing key: nothing a benchmark signs outlives its process.
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))

import django  # noqa: E402

django.setup()

import datetime as dt  # noqa: E402

from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.run import fresh_database  # noqa: E402
from catalog.models import Item  # noqa: E402
from cmi.history import history_rewrite_for_tests_and_benchmarks  # noqa: E402
from cmi.models import Customer  # noqa: E402
from cmi.scoping import Scope  # noqa: E402
from cmi.startup import objects_freeze  # noqa: E402
from edi.models import Document, TradingPartner  # noqa: E402
from portals.views.orders import PAGE_SIZE as ORDERS_PAGE  # noqa: E402
from portals.views.stock import ORDERING  # noqa: E402
from portals.views.stock import PAGE_SIZE as STOCK_PAGE  # noqa: E402
from replenishment.models import Order, OrderLine  # noqa: E402
from replenishment.services import bins_evaluate  # noqa: E402
from stocking.models import (  # noqa: E402
    Bin,
    BinLevelChange,
    LedgerEntry,
    Location,
    MovementKind,
    ScanEvent,
)
from stocking.services import scan_batch_ingest  # noqa: E402
from stocking.setup import label_new, location_create  # noqa: E402

BINS = int(os.environ.get("BENCH_BINS", "10000"))
RUNS = int(os.environ.get("BENCH_RUNS", "10"))  # timed requests per page, after one warm-up
HEAVY_RUNS = max(RUNS // 3, 2)  # whole-customer downloads and the 10,000-row preview
ITEMS = 500
SHELVES = max(BINS // ITEMS, 1)
SCANS = 2 * BINS
BATCH = 500
RELEASED_ORDERS = 300 * BINS // 10_000
LINES_PER_RELEASED = 3
AWAITING_LINES = 60
SCAN_DAYS = 60
COUNTED_DAYS_AGO = 90
SLOW_MS = 300
INTERACTIVE_P95_MS = 150


@dataclass
class Built:
    world: object
    cw: object
    busy: Bin
    awaiting: Order
    released: Order
    seconds: dict[str, float] = field(default_factory=dict)


def _bins_bulk(world, cw, shelves: list[Location], counted_at: dt.datetime) -> None:
    """The bins the factory did not make, set-based: the same rows bin_create writes (the
    bin, its level audit, its starting count in the ledger), without a query per bin."""
    have = {(b.location_id, b.item_id) for b in Bin.objects.filter(customer=cw.customer)}
    labels = set(Bin.objects.filter(vendor=world.vendor).values_list("label", flat=True))
    rows = []
    n = len(have)
    for shelf in shelves:
        for item in world.items:
            if n >= BINS:
                break
            if (shelf.pk, item.pk) in have:
                continue
            label = label_new()
            while label in labels:
                label = label_new()
            labels.add(label)
            rows.append(
                Bin(
                    vendor=world.vendor,
                    customer=cw.customer,
                    site=cw.site,
                    location=shelf,
                    item=item,
                    label=label,
                    min_qty=10,
                    max_qty=50,
                    pack_multiple=item.pack_quantity,
                    on_hand=(n * 7) % 70,  # every status occurs: zero, below min, ok, over max
                    last_count_at=counted_at,
                )
            )
            n += 1
    made = Bin.objects.bulk_create(rows, batch_size=2000)
    made = list(Bin.objects.filter(customer=cw.customer, label__in=[b.label for b in made]))
    BinLevelChange.objects.bulk_create(
        [
            BinLevelChange(
                vendor=world.vendor,
                customer=cw.customer,
                bin=b,
                source="create",
                new_min=b.min_qty,
                new_max=b.max_qty,
                new_pack_multiple=b.pack_multiple,
            )
            for b in made
        ],
        batch_size=2000,
    )
    LedgerEntry.objects.bulk_create(
        [
            LedgerEntry(
                vendor=world.vendor,
                customer=cw.customer,
                bin=b,
                kind=MovementKind.COUNT,
                quantity=b.on_hand,
                delta=b.on_hand,
                on_hand_after=b.on_hand,
                occurred_at=counted_at,
                received_at=counted_at,
            )
            for b in made
            if b.on_hand
        ],
        batch_size=2000,
    )
    # The factory's own bins were counted "now": move their count back with the others,
    # so the scans of the last weeks apply to every bin.
    Bin.objects.filter(customer=cw.customer).update(last_count_at=counted_at)
    with history_rewrite_for_tests_and_benchmarks():
        LedgerEntry.objects.filter(customer=cw.customer, kind=MovementKind.COUNT).update(
            occurred_at=counted_at, received_at=counted_at
        )


def _scans(world, cw, busy: Bin, now: dt.datetime) -> None:
    """SCANS events from the handheld through the scan service, oldest first, in batches."""
    rng = random.Random(4)
    labels = list(Bin.objects.filter(customer=cw.customer).values_list("label", flat=True))
    device = Scope(
        vendor_id=world.vendor.pk,
        role="device",
        customer_ids=frozenset({cw.customer.pk}),
        device_id=cw.device.pk,
    )
    start = now - dt.timedelta(days=SCAN_DAYS)
    step = dt.timedelta(days=SCAN_DAYS) / SCANS
    for first in range(0, SCANS, BATCH):
        events = []
        for i in range(first, min(first + BATCH, SCANS)):
            roll = rng.random()
            kind, quantity = (
                ("issue", rng.randint(1, 3))
                if roll < 0.7
                else ("receive", rng.randint(5, 20))
                if roll < 0.95
                else ("count", rng.randint(10, 60))
            )
            events.append(
                {
                    "event_id": str(uuid.uuid4()),
                    "kind": kind,
                    "code": busy.label if i % 10 == 0 else rng.choice(labels),
                    "quantity": quantity,
                    "occurred_at": (start + step * i).isoformat(),
                }
            )
        result = scan_batch_ingest(scope=device, events=events)
        assert result.count("accepted") == len(events), result.as_dict()


def _orders(world, cw, busy: Bin) -> tuple[Order, Order]:
    """Released orders (auto policy), then one awaiting approval (approval policy)."""
    rng = random.Random(7)
    ids = list(
        Bin.objects.filter(customer=cw.customer).exclude(pk=busy.pk).values_list("pk", flat=True)
    )
    rng.shuffle(ids)
    take = iter(ids)
    Customer.objects.filter(pk=cw.customer.pk).update(release_policy="auto")
    released = None
    for _ in range(RELEASED_ORDERS):
        group = [next(take) for _ in range(LINES_PER_RELEASED)]
        Bin.objects.filter(pk__in=group).update(on_hand=0)
        (order_id,) = bins_evaluate(vendor_id=world.vendor.pk, bin_ids=group)
        released = released or order_id
    Customer.objects.filter(pk=cw.customer.pk).update(release_policy="approval")
    group = [busy.pk, *(next(take) for _ in range(AWAITING_LINES - 1))]
    Bin.objects.filter(pk__in=group).update(on_hand=0)
    (awaiting_id,) = bins_evaluate(vendor_id=world.vendor.pk, bin_ids=group)
    return Order.objects.get(pk=awaiting_id), Order.objects.get(pk=released)


def build() -> Built:
    from tests.factories import vendor_world

    seconds = {}
    start = time.perf_counter()
    world = vendor_world(f"bp{uuid.uuid4().hex[:4]}", customers=1, items=ITEMS)
    TradingPartner.objects.create(
        vendor=world.vendor,
        isa_sender_id="CMIPLATFORM",
        isa_receiver_id="ERPRECEIVER",
        gs_sender="CMIPLAT",
        gs_receiver="ERPRCV",
    )
    cw = world.customers[0]
    seconds["vendor, 500 items (services)"] = time.perf_counter() - start

    start = time.perf_counter()
    now = timezone.now()
    # Shelves under four aisles of the stock room; the factory's SHELF-A is the first.
    aisles = [
        location_create(
            scope=world.scope, site_id=cw.site.pk, code=f"AISLE-{a}", parent_id=cw.room.pk
        )
        for a in range(1, 5)
    ]
    shelves = [cw.shelf] + [
        location_create(
            scope=world.scope,
            site_id=cw.site.pk,
            code=f"S{s:03d}",
            parent_id=aisles[s % len(aisles)].pk,
        )
        for s in range(1, SHELVES)
    ]
    _bins_bulk(world, cw, shelves, counted_at=now - dt.timedelta(days=COUNTED_DAYS_AGO))
    seconds[f"{BINS} bins (bulk)"] = time.perf_counter() - start

    busy = Bin.objects.filter(customer=cw.customer).order_by("pk")[BINS // 2]
    start = time.perf_counter()
    _scans(world, cw, busy, now)
    seconds[f"{SCANS} scans (service, {BATCH} a batch)"] = time.perf_counter() - start

    start = time.perf_counter()
    awaiting, released = _orders(world, cw, busy)
    seconds[f"{RELEASED_ORDERS + 1} orders (bins_evaluate)"] = time.perf_counter() - start
    if connection.vendor == "postgresql":
        # What autovacuum does soon after a bulk load: without statistics the planner
        # takes 10,000 bins for one row and picks nested loops everywhere.
        start = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        seconds["VACUUM ANALYZE"] = time.perf_counter() - start
    return Built(
        world=world, cw=cw, busy=busy, awaiting=awaiting, released=released, seconds=seconds
    )


# --- measuring -------------------------------------------------------------------------


@dataclass
class Page:
    name: str
    who: str  # "manager" or "admin"
    path: str
    query: dict = field(default_factory=dict)
    upload: bytes | None = None  # a POSTed CSV file (the import preview)
    runs: int = RUNS


@dataclass
class Figures:
    page: Page
    times: list[float]
    queries: int
    size: int
    status: int
    rows: int = 0  # the data rows of a streamed CSV (lines less the header)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.times) * 1000

    @property
    def rows_per_s(self) -> float:
        return self.rows / statistics.median(self.times) if self.rows else 0.0

    @property
    def p95_ms(self) -> float:
        ordered = sorted(self.times)
        return ordered[max(math.ceil(0.95 * len(ordered)) - 1, 0)] * 1000


def _request(client: Client, page: Page):
    if page.upload is not None:
        upload = SimpleUploadedFile("bins.csv", page.upload, content_type="text/csv")
        return client.post(page.path, {"file": upload})
    return client.get(page.path, page.query)


def measure(client: Client, page: Page) -> Figures:
    times: list[float] = []
    queries = size = status = lines = 0
    for run in range(page.runs + 1):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            response = _request(client, page)
            if response.streaming:
                size = lines = 0
                for chunk in response.streaming_content:
                    size += len(chunk)
                    lines += chunk.count(b"\n")
            else:
                size = len(response.content)
            took = time.perf_counter() - start
        status = response.status_code
        queries = len(captured.captured_queries)
        if run:  # the first request warms caches up and is not counted
            times.append(took)
    return Figures(
        page=page, times=times, queries=queries, size=size, status=status, rows=max(lines - 1, 0)
    )


def deep_cursor(built: Built, page: int, sort: str = "location") -> int:
    """The id of the last bin on page `page - 1`: what that page's Next link carries."""
    order = ORDERING[sort]
    bins = Bin.objects.filter(customer=built.cw.customer).order_by(*order)
    return bins.values_list("pk", flat=True)[(page - 1) * STOCK_PAGE - 1]


def orders_cursor(built: Built, page: int) -> int:
    orders = Order.objects.filter(customer=built.cw.customer).order_by("-created_at", "-pk")
    return orders.values_list("pk", flat=True)[(page - 1) * ORDERS_PAGE - 1]


def pages(built: Built, bins_csv: bytes) -> list[Page]:
    cw = built.cw
    customer = {"customer_id": cw.customer.pk}
    sku = built.world.items[123].sku

    def at(name: str, **kwargs) -> str:
        return reverse(f"portals:{name}", kwargs={**customer, **kwargs})

    heavy = HEAVY_RUNS
    return [
        Page("dashboard", "manager", at("dashboard")),
        Page("stock", "manager", at("stock")),
        Page("stock ?q=<sku>", "manager", at("stock"), {"q": sku}),
        Page("stock ?status=below_min", "manager", at("stock"), {"status": "below_min"}),
        Page("stock ?sort=on_hand", "manager", at("stock"), {"sort": "on_hand"}),
        # Page 150 of the default sort, reached as its Next link does: a keyset cursor.
        Page("stock page 150 (cursor)", "manager", at("stock"), {"after": deep_cursor(built, 150)}),
        Page(
            "stock page 150 by on hand",
            "manager",
            at("stock"),
            {"sort": "on_hand", "after": deep_cursor(built, 150, "on_hand")},
        ),
        Page("stock (vendor, editable)", "admin", at("stock")),
        Page("bin (busy)", "manager", at("bin", bin_id=built.busy.pk)),
        Page("orders", "manager", at("orders")),
        Page("orders ?show=all", "manager", at("orders"), {"show": "all"}),
        Page(
            "orders ?show=all page 6",
            "manager",
            at("orders"),
            {"show": "all", "after": orders_cursor(built, 6)},
        ),
        Page(f"order ({AWAITING_LINES} lines)", "manager", at("order", order_id=built.awaiting.pk)),
        Page("scan", "manager", at("scan")),
        Page("scanners", "manager", at("scanners")),
        Page("users", "manager", at("users")),
        Page("stock.csv (all)", "manager", at("stock_csv"), runs=heavy),
        Page("scans.csv (90 days)", "manager", at("scans_csv"), runs=heavy),
        Page(
            "labels (first sheet)",
            "manager",
            at("labels"),
            {"site": cw.site.pk, "format": "code128"},
        ),
        Page("customers", "admin", reverse("portals:customers")),
        Page("vendor orders", "admin", reverse("portals:vendor_orders")),
        Page(
            "vendor order (850)",
            "admin",
            reverse("portals:vendor_order", kwargs={"order_id": built.released.pk}),
        ),
        Page("catalog", "admin", reverse("portals:catalog")),
        Page("catalog export.csv", "admin", reverse("portals:catalog_export"), runs=heavy),
        Page("bins export.csv", "admin", at("bins_export"), runs=heavy),
        Page("bins import preview", "admin", at("bins_import"), upload=bins_csv, runs=heavy),
    ]


def counts(built: Built) -> list[tuple[str, int]]:
    customer = built.cw.customer
    by_status = dict(
        Order.objects.filter(customer=customer)
        .order_by()
        .values("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    return [
        ("items", Item.objects.filter(vendor=built.world.vendor).count()),
        ("locations", Location.objects.filter(customer=customer).count()),
        ("bins", Bin.objects.filter(customer=customer).count()),
        ("scan events", ScanEvent.objects.filter(customer=customer).count()),
        ("ledger entries", LedgerEntry.objects.filter(customer=customer).count()),
        ("  of the busy bin", LedgerEntry.objects.filter(bin=built.busy).count()),
        ("orders", sum(by_status.values())),
        *((f"  {status}", n) for status, n in sorted(by_status.items())),
        ("order lines", OrderLine.objects.filter(customer=customer).count()),
        ("EDI documents", Document.objects.filter(vendor=built.world.vendor).count()),
    ]


def main() -> None:
    (ROOT / "var").mkdir(exist_ok=True)
    fresh_database()
    built = build()
    connection.ensure_connection()
    if connection.vendor == "sqlite":
        import sqlite3

        version = sqlite3.sqlite_version
    else:
        version = str(connection.connection.info.server_version)
    print(
        f"database: {connection.vendor} {version}; {RUNS} timed requests a page after one"
        f" warm-up ({HEAVY_RUNS} for whole downloads); CPUs: {os.cpu_count()}"
    )
    for what, took in built.seconds.items():
        print(f"  built {what}: {took:.1f} s")
    for what, n in counts(built):
        print(f"  {what:<22} {n:>8}")

    # A web worker freezes what its start left alive (cmi/startup.py), so a collection
    # in a request walks only what requests made. This process also holds the world it
    # just built, which no web worker does: frozen the same way, a page's figure is the
    # page's, not the collector walking the bench's own objects (the 10,000-row import
    # preview: ~155 ms with them, ~105 ms frozen).
    objects_freeze(load_urls=True)
    manager = Client()
    manager.force_login(built.cw.manager)
    admin = Client()
    admin.force_login(built.world.admin)
    bins_csv = b"".join(
        admin.get(
            reverse("portals:bins_export", kwargs={"customer_id": built.cw.customer.pk})
        ).streaming_content
    )
    print()
    print(
        f"{'page':<28} {'as':<8} {'median ms':>10} {'p95 ms':>8} {'queries':>8} {'bytes':>10}"
        f" {'rows/s':>9}"
    )
    slow = []
    slow_p95 = []
    for page in pages(built, bins_csv):
        figures = measure(manager if page.who == "manager" else admin, page)
        flag = "" if figures.status == 200 else f"  HTTP {figures.status}"
        if figures.median_ms > SLOW_MS:
            slow.append(page.name)
        if page.runs == RUNS and figures.p95_ms > INTERACTIVE_P95_MS:
            slow_p95.append(page.name)
        print(
            f"{page.name:<28} {page.who:<8} {figures.median_ms:>10.1f} {figures.p95_ms:>8.1f}"
            f" {figures.queries:>8} {figures.size:>10}"
            f" {f'{figures.rows_per_s:,.0f}' if figures.rows else '':>9}{flag}"
        )
    if slow:
        print(f"over {SLOW_MS} ms median: {', '.join(slow)}")
    if slow_p95:
        print(f"interactive, over {INTERACTIVE_P95_MS} ms p95: {', '.join(slow_p95)}")


if __name__ == "__main__":
    from cmi import rls

    with rls.system():  # the bench builds and checks data of many vendors
        main()
