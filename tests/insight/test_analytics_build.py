"""The usage aggregates: kept incrementally from the ledger, equal to a rebuild, and the
series read from them right on a small example computed by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from cmi import rls
from insight.analytics import selectors
from insight.analytics.build import usage_catch_up, usage_rebuild
from insight.analytics.models import UsageBinRecent, UsageDaily, UsageItemDaily, UsageSiteDaily
from stocking.models import Bin
from stocking.setup import bin_create, location_create
from tests.conftest import bearer, scan

CHICAGO = ZoneInfo("America/Chicago")


def at(day: dt.date, hour: int) -> str:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=CHICAGO).isoformat()


def post(cw, *events) -> None:
    resp = bearer(cw.token).post("/api/v1/scans", {"scans": list(events)}, format="json")
    assert resp.status_code == 200, resp.content
    assert [r["status"] for r in resp.json()["results"]] == ["accepted"] * len(events)


def snapshot(vendor_id: int) -> tuple[list, list, list, list]:
    bins = list(
        UsageDaily.objects.filter(vendor_id=vendor_id)
        .order_by("bin_id", "day")
        .values_list(
            "bin_id", "day", "issued", "received", "adjusted", "net", "on_hand", "stock_value",
            "scans", "site_id", "item_id", "customer_id",
        )
    )  # fmt: skip
    sites = list(
        UsageSiteDaily.objects.filter(vendor_id=vendor_id)
        .order_by("site_id", "day")
        .values_list(
            "site_id", "day", "issued", "received", "adjusted", "on_hand", "stock_value",
            "scans", "bins_issued",
        )
    )  # fmt: skip
    recent = list(
        UsageBinRecent.objects.filter(vendor_id=vendor_id)
        .order_by("bin_id")
        .values_list(
            "bin_id", "as_of", "issued_28", "issued_30", "issued_60", "issued_90", "last_issued",
            "site_id", "item_id", "customer_id",
        )
    )  # fmt: skip
    items = list(
        UsageItemDaily.objects.filter(vendor_id=vendor_id)
        .order_by("site_id", "item_id", "day")
        .values_list(
            "site_id", "item_id", "day", "issued", "received", "on_hand", "stock_value",
            "customer_id",
        )
    )  # fmt: skip
    return bins, sites, recent, items


@pytest.fixture
def example(world):
    """Two fresh bins (nothing on hand) of customer 0 of vendor A, and three days of scans."""
    a = world["a"]
    cw = a.customers[0]
    shelf = location_create(scope=a.scope, site_id=cw.site.pk, code="SHELF-B")
    x = bin_create(scope=a.scope, location_id=shelf.pk, item_id=a.items[0].pk)  # 0.25 each
    y = bin_create(scope=a.scope, location_id=shelf.pk, item_id=a.items[2].pk)  # 0.75 each
    today = timezone.now().astimezone(CHICAGO).date()
    d1, d2, d3 = (today - dt.timedelta(days=n) for n in (3, 2, 1))
    post(
        cw,
        scan("receive", x.label, quantity=20, occurred_at=at(d1, 9)),
        scan("issue", x.label, quantity=5, occurred_at=at(d1, 10)),
        scan("issue", x.label, quantity=3, occurred_at=at(d2, 10)),
        scan("receive", y.label, quantity=10, occurred_at=at(d2, 11)),
        scan("count", x.label, quantity=10, occurred_at=at(d3, 8)),
        scan("issue", y.label, quantity=4, occurred_at=at(d3, 9)),
    )
    return {"a": a, "cw": cw, "x": x, "y": y, "days": (d1, d2, d3)}


def test_the_daily_rows_of_a_hand_computed_example(example):
    """Receipts, issues and a count land on the customer's local day; on-hand is the
    running balance at each day's end and its value at the item's price."""
    usage_catch_up()
    x, y = example["x"], example["y"]
    d1, d2, d3 = example["days"]
    rows = {(r.bin_id, r.day): r for r in UsageDaily.objects.filter(bin_id__in=[x.pk, y.pk])}
    assert set(rows) == {(x.pk, d1), (x.pk, d2), (x.pk, d3), (y.pk, d2), (y.pk, d3)}
    r = rows[(x.pk, d1)]
    assert (r.issued, r.received, r.adjusted, r.on_hand, r.scans) == (5, 20, 0, 15, 2)
    assert r.stock_value == Decimal("3.75")
    r = rows[(x.pk, d2)]
    assert (r.issued, r.received, r.on_hand) == (3, 0, 12)
    r = rows[(x.pk, d3)]  # a count of 10 against 12: an adjustment of -2
    assert (r.issued, r.adjusted, r.net, r.on_hand) == (0, -2, -2, 10)
    assert (rows[(y.pk, d2)].on_hand, rows[(y.pk, d3)].on_hand) == (10, 6)
    assert rows[(y.pk, d3)].stock_value == Decimal("4.50")


def test_series_by_day_and_week_carry_stock_over_quiet_days(example):
    """Bin X by day over five days: issued per day, on-hand carried to days without rows;
    the item series equals the bin's (one bin stocks it); the trend compares spans."""
    usage_catch_up()
    a, x = example["a"], example["x"]
    d1, d2, d3 = example["days"]
    subject = selectors.subject_resolve(scope=a.scope, bin_id=x.pk)
    start, end = d1 - dt.timedelta(days=1), d3 + dt.timedelta(days=1)
    s = selectors.usage_series(scope=a.scope, subject=subject, grain="day", start=start, end=end)
    assert [(p.start, p.issued, p.received, p.on_hand) for p in s.periods] == [
        (start, 0, 0, 0),
        (d1, 5, 20, 15),
        (d2, 3, 0, 12),
        (d3, 0, 0, 10),
        (end, 0, 0, 10),
    ]
    assert s.periods[-1].stock_value == Decimal("2.50")
    assert s.issued == 8 and s.previous_issued == 0 and s.trend_pct is None
    # The two days from d2 against the two before: 3 against 5.
    s = selectors.usage_series(scope=a.scope, subject=subject, grain="day", start=d2, end=d3)
    assert (s.issued, s.previous_issued, s.trend_pct) == (3, 5, -40.0)
    assert s.periods[0].on_hand == 12  # the opening stock came from the row before the span
    # By week: one or two periods, the last closing at the bin's stock now.
    s = selectors.usage_series(scope=a.scope, subject=subject, grain="week", start=d1, end=d3)
    assert sum(p.issued for p in s.periods) == 8
    assert s.periods[-1].on_hand == 10
    assert all(p.start.weekday() == 0 for p in s.periods[1:])


def test_item_series_sums_every_bin_of_the_item(example):
    """An item's series (per item and site rows) is, period by period, the sum of the
    series of the bins that stock it: flows, on-hand and its value."""
    usage_catch_up()
    a, cw, x = example["a"], example["cw"], example["x"]
    d1 = example["days"][0]
    item_subject = selectors.subject_resolve(
        scope=a.scope, customer_id=cw.customer.pk, item_id=x.item_id
    )
    start, end = d1 - dt.timedelta(days=1), item_subject.today()
    got = selectors.usage_series(
        scope=a.scope, subject=item_subject, grain="day", start=start, end=end
    )
    bins = Bin.objects.filter(customer=cw.customer, item_id=x.item_id)
    assert bins.count() > 1  # the world's bin of the item, and X
    want = [[0, 0, 0, Decimal(0)] for _ in got.periods]
    for b in bins:
        one = selectors.usage_series(
            scope=a.scope,
            subject=selectors.subject_resolve(scope=a.scope, bin_id=b.pk),
            grain="day",
            start=start,
            end=end,
        )
        for total, p in zip(want, one.periods, strict=True):
            total[0] += p.issued
            total[1] += p.received
            total[2] += p.on_hand
            total[3] += p.stock_value
    assert [[p.issued, p.received, p.on_hand, p.stock_value] for p in got.periods] == want
    assert got.periods[-1].on_hand == sum(b.on_hand for b in bins)


def test_site_series_sums_every_bin_of_the_site(example):
    """The customer's series (per-site rows) is the sum of its bins: the world's three
    bins (30 each, counted today) plus X and Y."""
    usage_catch_up()
    a, cw = example["a"], example["cw"]
    d1 = example["days"][0]
    subject = selectors.subject_resolve(scope=a.scope, customer_id=cw.customer.pk)
    today = subject.today()
    s = selectors.usage_series(scope=a.scope, subject=subject, grain="day", start=d1, end=today)
    assert [p.on_hand for p in s.periods] == [15, 22, 16, 16 + 90]
    assert [p.issued for p in s.periods] == [5, 3, 4, 0]
    value_now = selectors.stock_value_now(scope=a.scope, subject=subject)
    assert s.periods[-1].stock_value == value_now["value"]
    assert s.periods[-1].on_hand == value_now["units"]


def test_late_scans_redo_the_days_they_happened_on_and_rebuild_agrees(example):
    """Scans uploaded late (occurred days ago, recorded now) change days that were
    aggregated already; the incremental pass redoes them and every later day, and the
    rows equal a rebuild from the ledger, row for row."""
    usage_catch_up()
    a, cw, x, y = example["a"], example["cw"], example["x"], example["y"]
    d1, d2, d3 = example["days"]
    before = snapshot(a.vendor.pk)
    post(
        cw,
        # Before X's count on d3: already inside that count, so on-hand does not move,
        # but the units were issued on d1.
        scan("issue", x.label, quantity=2, occurred_at=at(d1, 15)),
        # Y was never counted: on-hand falls by 1 from d2 on.
        scan("issue", y.label, quantity=1, occurred_at=at(d2, 12)),
    )
    usage_catch_up()
    after = snapshot(a.vendor.pk)
    assert after != before
    rows = {(r.bin_id, r.day): r for r in UsageDaily.objects.filter(bin_id__in=[x.pk, y.pk])}
    assert (rows[(x.pk, d1)].issued, rows[(x.pk, d1)].on_hand) == (7, 15)
    assert (rows[(y.pk, d2)].issued, rows[(y.pk, d2)].on_hand) == (1, 9)
    assert rows[(y.pk, d3)].on_hand == 5  # the later day moved too
    assert Bin.objects.get(pk=y.pk).on_hand == 5
    usage_rebuild(vendor_id=a.vendor.pk)
    assert snapshot(a.vendor.pk) == after


def test_the_recent_rows_of_a_hand_computed_example(example):
    """Each issued bin has one recent row: units issued in the windows the rankings read,
    counted back from the customer's today, and the day it was last issued from."""
    usage_catch_up()
    x, y = example["x"], example["y"]
    _, d2, d3 = example["days"]
    rows = {r.bin_id: r for r in UsageBinRecent.objects.filter(bin_id__in=[x.pk, y.pk])}
    assert (rows[x.pk].issued_28, rows[x.pk].issued_90, rows[x.pk].last_issued) == (8, 8, d2)
    assert (rows[y.pk].issued_30, rows[y.pk].issued_60, rows[y.pk].last_issued) == (4, 4, d3)
    assert rows[x.pk].as_of == d3 + dt.timedelta(days=1)


def test_a_new_day_recounts_the_recent_windows_as_a_rebuild_would(example):
    """A pass on a later day, with no new ledger rows, counts every recent row back from
    that day (issues fall out of the windows, the last issue stays); a rebuild that day
    writes the same rows."""
    usage_catch_up()
    a, x = example["a"], example["x"]
    later = timezone.now() + dt.timedelta(days=29)
    usage_catch_up(now=later)
    row = UsageBinRecent.objects.get(bin_id=x.pk)
    # 29 days on: d1 (3 days ago) is 32 days back, d2 31: out of 28 and 30, inside 60
    assert (row.issued_28, row.issued_30, row.issued_60) == (0, 0, 8)
    assert row.last_issued == example["days"][1]
    rolled = snapshot(a.vendor.pk)
    usage_rebuild(vendor_id=a.vendor.pk, now=later)
    assert snapshot(a.vendor.pk) == rolled


def test_the_watermark_skips_what_was_done_and_a_second_pass_writes_nothing(example):
    """A pass with no new ledger rows (past the overlap) rewrites nothing."""
    usage_catch_up(overlap_seconds=0)
    assert usage_catch_up(overlap_seconds=0) == 0


def test_rebuild_command_for_one_vendor_leaves_the_other_alone(world, example):
    """`rebuild_usage_daily --vendor CODE` rebuilds that vendor only; an unknown code is
    a clear error."""
    usage_catch_up()
    b = world["b"]
    b_rows = snapshot(b.vendor.pk)
    assert b_rows[0]  # vendor B's bins were counted when made
    with rls.system():
        UsageDaily.objects.filter(vendor_id=example["a"].vendor.pk).delete()
    out = StringIO()
    call_command("rebuild_usage_daily", "--vendor", "acme", stdout=out)
    assert "acme:" in out.getvalue() and "bolt" not in out.getvalue()
    assert UsageDaily.objects.filter(vendor_id=example["a"].vendor.pk).exists()
    assert snapshot(b.vendor.pk) == b_rows
    with pytest.raises(CommandError, match="unknown_vendor"):
        call_command("rebuild_usage_daily", "--vendor", "nope")
