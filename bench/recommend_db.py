"""Benchmark: recommended levels of one customer's 1,000 bins computed from the ledger.
Prints figures; asserts nothing but that every bin got a recommendation.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cmi_bench_recommend \
        .venv/bin/python bench/recommend_db.py
    BENCH_BINS=300 .venv/bin/python bench/recommend_db.py      # SQLite file, smaller

On a fresh database: one vendor, one customer with BENCH_BINS bins (default 1,000) and a
year of seeded daily issues (smooth, erratic, intermittent and lumpy bins, some running
empty), written straight into the ledger, plus received orders for the lead times. Then
times: the ledger selector (`demand_inputs`, queries counted), the engine, and the whole
`recommendations_compute` (selector + engine + upsert), twice (the second is an update of
every row); then the incremental refresh with nothing changed.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import secrets
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cmi.settings")
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))  # a throwaway key
os.environ.setdefault("DATABASE_URL", f"sqlite:///{ROOT / 'var' / 'bench_recommend.sqlite3'}")
os.environ.setdefault("CELERY_BROKER_URL", "memory://")

import django  # noqa: E402

django.setup()

from decimal import Decimal  # noqa: E402

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.run import fresh_database  # noqa: E402
from catalog.models import Item  # noqa: E402
from cmi.models import Customer, Vendor  # noqa: E402
from insight import engine, services  # noqa: E402
from insight.models import Recommendation  # noqa: E402
from insight.selectors import demand_inputs  # noqa: E402
from insight.tasks import _refresh_customer  # noqa: E402
from replenishment.models import Order, OrderLine  # noqa: E402
from stocking.models import Bin, LedgerEntry, Location, Site  # noqa: E402

BINS = int(os.environ.get("BENCH_BINS", "1000"))
DAYS = 365


def build() -> tuple[int, int]:
    rng = random.Random(11)
    vendor = Vendor.objects.create(code="bench", name="Bench")
    customer = Customer.objects.create(vendor=vendor, code="c", name="C", timezone="UTC")
    site = Site.objects.create(vendor=vendor, customer=customer, code="MAIN", name="Main")
    shelf = Location.objects.create(vendor=vendor, customer=customer, site=site, code="S")
    packs = [1, 1, 5, 10, 25, 100]
    items = Item.objects.bulk_create(
        [
            Item(
                vendor=vendor,
                sku=f"SKU-{n:05d}",
                description="Bench item",
                pack_quantity=packs[n % len(packs)],
                unit_price=Decimal(rng.choice(["0.05", "0.40", "2.50", "12.00"])),
            )
            for n in range(BINS)
        ]
    )
    start = timezone.now() - dt.timedelta(days=DAYS + 1)
    bins = Bin.objects.bulk_create(
        [
            Bin(
                vendor=vendor,
                customer=customer,
                site=site,
                location=shelf,
                item=item,
                label=f"BN{n:08d}",
                min_qty=10,
                max_qty=10 * item.pack_quantity * 4,
                pack_multiple=item.pack_quantity,
                lead_time_days=rng.randint(1, 14),
            )
            for n, item in enumerate(items)
        ]
    )
    Bin.objects.update(created_at=start)
    ledger, lines = [], []
    for b in bins:
        rate = rng.choice([0.7, 0.4, 0.1, 0.05])
        size = rng.choice([2, 5, 20, 60])
        on_hand = b.max_qty
        for day in range(DAYS):
            at = start + dt.timedelta(days=day, hours=12)
            if rng.random() < rate:
                qty = rng.randint(1, size)
                new = max(on_hand - qty, 0)
                ledger.append(
                    LedgerEntry(
                        vendor=vendor,
                        customer=customer,
                        bin=b,
                        kind="issue",
                        quantity=qty,
                        delta=new - on_hand,
                        on_hand_after=new,
                        occurred_at=at,
                        received_at=at,
                    )
                )
                on_hand = new
            if on_hand <= b.min_qty and day % 7 == 0:
                add = b.max_qty - on_hand
                ledger.append(
                    LedgerEntry(
                        vendor=vendor,
                        customer=customer,
                        bin=b,
                        kind="receive",
                        quantity=add,
                        delta=add,
                        on_hand_after=b.max_qty,
                        occurred_at=at + dt.timedelta(hours=1),
                        received_at=at + dt.timedelta(hours=1),
                    )
                )
                on_hand = b.max_qty
                lines.append(
                    (b, at - dt.timedelta(days=b.lead_time_days + rng.randint(0, 3)), at, add)
                )
    LedgerEntry.objects.bulk_create(ledger, batch_size=5000)
    for n in range(0, len(lines), 50):
        chunk = lines[n : n + 50]
        order = Order.objects.create(
            vendor=vendor,
            customer=customer,
            site=site,
            status="received",
            released_at=chunk[0][1],
            closed_at=chunk[0][2],
        )
        OrderLine.objects.bulk_create(
            [
                OrderLine(
                    vendor=vendor,
                    customer=customer,
                    order=order,
                    bin=b,
                    item_id=b.item_id,
                    line_number=i + 1,
                    quantity_proposed=q,
                    quantity_ordered=q,
                    quantity_received=q,
                    unit_price=Decimal("1"),
                )
                for i, (b, _, _, q) in enumerate({x[0].pk: x for x in chunk}.values())
            ]
        )
    return vendor.pk, customer.pk


def main() -> None:
    (ROOT / "var").mkdir(exist_ok=True)
    fresh_database()
    t0 = time.perf_counter()
    vendor_id, customer_id = build()
    print(
        f"built {BINS} bins, {LedgerEntry.objects.count()} ledger rows, "
        f"{OrderLine.objects.count()} receipt lines in {time.perf_counter() - t0:.1f} s "
        f"({connection.vendor})"
    )
    with CaptureQueriesContext(connection) as q:
        t0 = time.perf_counter()
        _, as_of, facts = demand_inputs(vendor_id=vendor_id, customer_id=customer_id)
        selector_s = time.perf_counter() - t0
    print(f"selector: {selector_s:.2f} s, {len(q)} queries, {len(facts)} bins")
    t0 = time.perf_counter()
    engine.recommend([f.engine for f in facts], as_of)
    print(f"engine alone: {time.perf_counter() - t0:.2f} s")
    for attempt in ("first", "again"):
        t0 = time.perf_counter()
        written = services.recommendations_compute(vendor_id=vendor_id, customer_id=customer_id)
        print(
            f"recommendations_compute ({attempt}): {time.perf_counter() - t0:.2f} s, {written} rows"
        )
    t0 = time.perf_counter()
    redone = _refresh_customer(vendor_id, customer_id)
    print(
        f"incremental refresh with nothing changed: {time.perf_counter() - t0:.2f} s, "
        f"{redone} bins recomputed"
    )
    assert Recommendation.objects.filter(customer_id=customer_id).count() == BINS
    changed = Recommendation.objects.filter(customer_id=customer_id, changed=True).count()
    print(f"{changed} of {BINS} bins would change")


if __name__ == "__main__":
    main()
