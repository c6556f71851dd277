"""The engine fed from the ledger gives the same levels as the folder command fed the
same history; the weekly refresh only recomputes bins whose history moved."""

from __future__ import annotations

import csv
import datetime as dt
import random
import uuid
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.utils import timezone

from insight import services
from insight.models import DemandPolicy, Recommendation
from insight.selectors import bins_needing_recommendation, customer_today, demand_inputs
from insight.tasks import _refresh_customer
from replenishment.models import Order, OrderLine
from stocking.models import Bin
from stocking.setup import bin_create
from tests.conftest import bearer

DAYS = 150


def _history_posted(world):
    """Three new bins of customer a0 with DAYS of seeded issues posted through the scan
    API at noon local time; returns (bins, {bin: {day: (issued, end_on_hand)}}, today)."""
    a = world["a"]
    c0 = a.customers[0]
    tz = ZoneInfo(c0.customer.timezone)
    today = customer_today(c0.customer)
    bins = [
        bin_create(
            scope=a.scope,
            location_id=c0.room.pk,
            item_id=item.pk,
            min_qty=4,
            max_qty=20,
            pack_multiple=item.pack_quantity,
            lead_time_days=5,
        )
        for item in a.items
    ]
    first = today - dt.timedelta(days=DAYS)
    Bin.objects.filter(pk__in=[b.pk for b in bins]).update(
        created_at=dt.datetime.combine(first - dt.timedelta(days=1), dt.time(8), tz)
    )
    rng = random.Random(7)
    events, truth = [], {}
    for b, (rate, size) in zip(bins, [(0.6, 3), (0.15, 12), (0.3, 5)], strict=True):
        on_hand, days = 0, {}
        for offset in range(DAYS):
            day = first + dt.timedelta(days=offset)
            noon = dt.datetime.combine(day, dt.time(12), tz)
            if offset % 30 == 0:
                events.append(("receive", b.label, 40, noon - dt.timedelta(hours=2)))
                on_hand += 40
            if rng.random() < rate:
                qty = rng.randint(1, size)
                events.append(("issue", b.label, qty, noon))
                issued = min(qty, on_hand)  # the shelf cannot give more than it has
                on_hand -= issued
                days[day] = (qty, on_hand)
            elif on_hand == 0:
                days[day] = (0, 0)
        truth[b.pk] = days
    client = bearer(c0.token)
    for start in range(0, len(events), 500):
        batch = [
            {
                "event_id": str(uuid.uuid4()),
                "kind": kind,
                "code": code,
                "quantity": qty,
                "occurred_at": at.isoformat(),
            }
            for kind, code, qty, at in events[start : start + 500]
        ]
        res = client.post("/api/v1/scans", {"scans": batch}, format="json")
        assert res.status_code == 200, res.content
        assert all(r["status"] == "accepted" for r in res.json()["results"]), res.json()
    # Two received orders of the first bin: released -> received, 3 and 6 days.
    receipts = []
    for released_days_ago, took in ((100, 3), (40, 6)):
        released = dt.datetime.combine(today - dt.timedelta(days=released_days_ago), dt.time(9), tz)
        order = Order.objects.create(
            vendor=a.vendor,
            customer=c0.customer,
            site=c0.site,
            status="received",
            released_at=released,
            closed_at=released + dt.timedelta(days=took),
        )
        OrderLine.objects.create(
            vendor=a.vendor,
            customer=c0.customer,
            order=order,
            bin=bins[0],
            item=a.items[0],
            line_number=1,
            quantity_proposed=40,
            quantity_ordered=40,
            quantity_received=40,
            unit_price=a.items[0].unit_price,
        )
        receipts.append((released.date(), (released + dt.timedelta(days=took)).date()))
    truth["receipts"] = {bins[0].pk: receipts}
    return bins, truth, today


def test_selector_builds_daily_issues_and_censored_days(world):
    """Issues are summed per local day with the day's closing on-hand; days that ended
    empty are listed even without issues."""
    bins, truth, today = _history_posted(world)
    a = world["a"]
    _, as_of, facts = demand_inputs(
        vendor_id=a.vendor.pk, customer_id=a.customers[0].customer.pk, bin_ids=[b.pk for b in bins]
    )
    assert as_of == today
    receipts = truth.pop("receipts")
    for fact in facts:
        got = {day: (qty, end) for day, qty, end in fact.engine.history}
        assert got == truth[fact.bin_id]
        got = [(r.ordered, r.received) for r in fact.engine.receipts]
        assert got == receipts.get(fact.bin_id, [])


def test_ledger_and_folder_give_the_same_levels(world, tmp_path):
    """History posted through the scan API, recomputed from the ledger, gives the levels
    `recommend_levels --from-folder` gives for the same history written as a folder
    (bins named by their shelf label, the key the ledger side gives the engine)."""
    bins, truth, today = _history_posted(world)
    a = world["a"]
    c0 = a.customers[0]
    receipts = truth.pop("receipts")
    (tmp_path / "as_of.txt").write_text(today.isoformat())
    by_pk = {
        b.pk: b for b in Bin.objects.filter(pk__in=[b.pk for b in bins]).select_related("item")
    }
    tz = ZoneInfo(c0.customer.timezone)
    with (tmp_path / "items.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "sku",
                "site",
                "release_policy",
                "pack_multiple",
                "lead_time_days",
                "unit_price",
                "created",
            ]
        )
        for b in by_pk.values():
            w.writerow(
                [
                    b.label,
                    "MAIN",
                    c0.customer.release_policy,
                    b.pack_multiple,
                    b.lead_time_days,
                    b.item.unit_price,
                    b.created_at.astimezone(tz).date().isoformat(),
                ]
            )
    with (tmp_path / "history.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["sku", "date", "quantity", "on_hand_after"])
        for pk, days in truth.items():
            for day, (qty, end) in sorted(days.items()):
                w.writerow([by_pk[pk].label, day.isoformat(), qty, end])
    (tmp_path / "receipts.csv").write_text(
        "sku,ordered,received,quantity\n"
        + "".join(
            f"{by_pk[pk].label},{ordered},{received},40\n"
            for pk, rows in receipts.items()
            for ordered, received in rows
        )
    )
    call_command("recommend_levels", from_folder=str(tmp_path))
    with (tmp_path / "recommendations.csv").open() as fh:
        folder = {row["sku"]: (int(row["min"]), int(row["max"])) for row in csv.DictReader(fh)}

    services.recommendations_compute(
        vendor_id=a.vendor.pk, customer_id=c0.customer.pk, bin_ids=list(by_pk)
    )
    ledger = {
        r.bin.label: (r.min_qty, r.max_qty)
        for r in Recommendation.objects.filter(bin_id__in=list(by_pk)).select_related("bin")
    }
    assert ledger == folder
    assert any(low > 0 for low, _ in ledger.values())


def test_recommendation_stores_its_explanation(world):
    bins, _, _ = _history_posted(world)
    a = world["a"]
    services.recommendations_compute(
        vendor_id=a.vendor.pk, customer_id=a.customers[0].customer.pk, bin_ids=[bins[0].pk]
    )
    rec = Recommendation.objects.get(bin_id=bins[0].pk)
    for key in ("class", "level", "lead_time", "expected", "recent_daily"):
        assert key in rec.explanation
    assert rec.demand_class == rec.explanation["class"]
    assert rec.fill_recommended == rec.explanation["expected"]["recommended"]["fill"]
    assert (rec.current_min, rec.current_max) == (4, 20)
    assert rec.changed == ((rec.min_qty, rec.max_qty) != (4, 20))
    assert rec.min_qty <= rec.max_qty and rec.max_qty % bins[0].pack_multiple == 0


def test_policy_floor_and_opt_out(world):
    """A floor pins min from below; an opted-out bin gets no recommendation."""
    bins, _, _ = _history_posted(world)
    a = world["a"]
    c0 = a.customers[0]
    services.policy_set(scope=a.scope, customer_id=c0.customer.pk, bin_id=bins[0].pk, floor_min=77)
    services.policy_set(scope=a.scope, customer_id=c0.customer.pk, bin_id=bins[1].pk, opt_out=True)
    services.recommendations_compute(
        vendor_id=a.vendor.pk, customer_id=c0.customer.pk, bin_ids=[b.pk for b in bins]
    )
    assert Recommendation.objects.get(bin_id=bins[0].pk).min_qty >= 77
    assert not Recommendation.objects.filter(bin_id=bins[1].pk).exists()
    assert DemandPolicy.objects.filter(customer_id=c0.customer.pk).count() == 2


def test_refresh_is_incremental(world):
    """After a refresh no bin is stale and a second refresh computes nothing; a new scan
    makes only its bin stale again (and then the customer is recomputed whole)."""
    bins, _, _ = _history_posted(world)
    a = world["a"]
    c0 = a.customers[0]
    assert _refresh_customer(a.vendor.pk, c0.customer.pk) > 0
    assert bins_needing_recommendation(vendor_id=a.vendor.pk, customer_id=c0.customer.pk) == []
    assert _refresh_customer(a.vendor.pk, c0.customer.pk) == 0
    res = bearer(c0.token).post(
        "/api/v1/scans",
        {
            "scans": [
                {
                    "event_id": str(uuid.uuid4()),
                    "kind": "issue",
                    "code": bins[2].label,
                    "quantity": 1,
                    "occurred_at": timezone.now().isoformat(),
                }
            ]
        },
        format="json",
    )
    assert res.status_code == 200
    assert bins_needing_recommendation(vendor_id=a.vendor.pk, customer_id=c0.customer.pk) == [
        bins[2].pk
    ]


@pytest.mark.parametrize("extra", [0, 20])
def test_demand_inputs_query_count_is_fixed(world, extra, django_assert_num_queries):
    """Five queries however many bins and ledger rows."""
    a = world["a"]
    c0 = a.customers[0]
    client = bearer(c0.token)
    now = timezone.now()
    batch = [
        {
            "event_id": str(uuid.uuid4()),
            "kind": "issue",
            "code": c0.bins[n % 3].label,
            "quantity": 1,
            "occurred_at": (now - dt.timedelta(days=n + 1)).isoformat(),
        }
        for n in range(extra)
    ]
    if batch:
        client.post("/api/v1/scans", {"scans": batch}, format="json")
    with django_assert_num_queries(5):
        demand_inputs(vendor_id=a.vendor.pk, customer_id=c0.customer.pk)
