"""Keeping the daily aggregates: from the ledger, set-based, one chunk of bins at a time.

One function does the work, `usage_refresh`: given bins and the first day of each that
may have changed, it rewrites those bins' rows from that day on, then the rows of their
sites from the earliest such day. The incremental pass (`usage_catch_up`, a beat task)
and the rebuild (`usage_rebuild`, the `rebuild_usage_daily` command) both call it; they
differ only in which bins and days they hand over. So they agree by construction, and
the test that says so proves the incremental pass finds every day that changed.

Which days changed: a ledger row is placed on the day it *happened* (`occurred_at`, in
the customer's time zone) but written when it *arrived* (`received_at`). A scanner that
uploads a week late writes rows whose day was aggregated long ago. The incremental pass
reads the rows that arrived since its watermark and redoes, per bin, every day from the
earliest day they happened on (on-hand at the end of each later day moved too).

Queries per chunk of CHUNK bins: the on-hand before the first day (one grouped read),
the ledger by bin and day (one grouped read), a delete and an insert. Per customer: the
site sums (a grouped read, the sites' previous rows, a delete and an insert).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Count, DecimalField, F, Max, Min, OuterRef, Q, Subquery, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from cmi import rls
from cmi.models import Customer, Vendor
from cmi.rows import rows_insert
from cmi.services import watermark_advance, watermark_get
from insight.analytics.models import (
    UsageBinRecent,
    UsageDaily,
    UsageItemDaily,
    UsageSiteDaily,
)
from stocking.models import Bin, LedgerEntry, MovementKind

log = logging.getLogger(__name__)

CHUNK = 500
JOB = "insight.usage_daily"
LOCK_SPACE = 0x75736167  # "usag": the advisory lock space of the per-customer passes
EARLIEST = dt.date(2000, 1, 1)  # scans before the year 2000 are refused (stocking.scans)
CENT = Decimal("0.01")
MONEY = DecimalField(max_digits=18, decimal_places=2)
COUNTED = (MovementKind.COUNT, MovementKind.WEIGHT)


def _day_start(day: dt.date, tz: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=tz)


def local_day(at: dt.datetime, tz: ZoneInfo) -> dt.date:
    return at.astimezone(tz).date()


@transaction.atomic
def usage_refresh(
    *,
    vendor_id: int,
    customer_id: int,
    from_days: dict[int, dt.date],
    now: dt.datetime | None = None,
) -> int:
    """Rewrite the rows of `from_days`' bins (bin id -> first day that may have changed)
    from that day on, their recent rows (as of the customer's day at `now`), and their
    sites' rows; returns the bin rows written."""
    if not from_days:
        return 0
    if connection.vendor == "postgresql":
        # Two passes over one customer at once (an overlapping beat run, a rebuild) wait
        # for each other here rather than both deleting and inserting the same days.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_SPACE, customer_id])
    customer = Customer.objects.only("timezone").get(vendor_id=vendor_id, pk=customer_id)
    tz = ZoneInfo(customer.timezone)
    today = local_day(now or timezone.now(), tz)
    bins = {
        b["pk"]: b
        for b in Bin.objects.filter(
            vendor_id=vendor_id, customer_id=customer_id, pk__in=list(from_days)
        ).values("pk", "site_id", "item_id", "item__unit_price")
    }
    ordered = sorted(bins, key=lambda pk: (from_days[pk], pk))
    site_from: dict[int, dt.date] = {}
    written = 0
    for i in range(0, len(ordered), CHUNK):
        chunk = ordered[i : i + CHUNK]
        start = from_days[chunk[0]]  # the chunk's earliest: its rows are redone from here
        written += _bins_refresh(vendor_id, customer_id, tz, [bins[pk] for pk in chunk], start)
        _recent_refresh(vendor_id, customer_id, today, [bins[pk] for pk in chunk])
        for pk in chunk:
            site = bins[pk]["site_id"]
            site_from[site] = min(site_from.get(site, start), start)
    _sites_refresh(vendor_id, customer_id, site_from)
    _items_refresh(vendor_id, customer_id, site_from)
    return written


def _bins_refresh(
    vendor_id: int, customer_id: int, tz: ZoneInfo, bins: list[dict], start: dt.date
) -> int:
    ids = [b["pk"] for b in bins]
    since = _day_start(start, tz)
    on_hand = dict(
        LedgerEntry.objects.filter(bin_id__in=ids, occurred_at__lt=since)
        .values("bin_id")
        .annotate(total=Sum("delta"))
        .values_list("bin_id", "total")
    )
    days = (
        LedgerEntry.objects.filter(bin_id__in=ids, occurred_at__gte=since)
        .annotate(day=TruncDate("occurred_at", tzinfo=tz))
        .values("bin_id", "day")
        .annotate(
            issued=Sum("quantity", filter=Q(kind=MovementKind.ISSUE), default=0),
            received=Sum("quantity", filter=Q(kind=MovementKind.RECEIVE), default=0),
            adjusted=Sum("delta", filter=Q(kind__in=COUNTED), default=0),
            net=Sum("delta"),
            scans=Count("pk", filter=Q(scan_event__isnull=False)),
        )
        .order_by("bin_id", "day")
    )
    by_pk = {b["pk"]: b for b in bins}
    rows = []
    for d in days:
        b = by_pk[d["bin_id"]]
        level = on_hand.get(b["pk"], 0) + d["net"]
        on_hand[b["pk"]] = level
        rows.append(
            UsageDaily(
                vendor_id=vendor_id,
                customer_id=customer_id,
                site_id=b["site_id"],
                bin_id=b["pk"],
                item_id=b["item_id"],
                day=d["day"],
                issued=d["issued"],
                received=d["received"],
                adjusted=d["adjusted"],
                net=d["net"],
                on_hand=level,
                stock_value=(level * b["item__unit_price"]).quantize(CENT),
                scans=d["scans"],
            )
        )
    UsageDaily.objects.filter(vendor_id=vendor_id, bin_id__in=ids, day__gte=start).delete()
    rows_insert(UsageDaily, rows)
    return len(rows)


def _recent_refresh(vendor_id: int, customer_id: int, today: dt.date, bins: list[dict]) -> None:
    """The recent rows of bins whose daily rows were just rewritten: their last issue
    (any day: one grouped read over the bin-day index) and their windows."""
    ids = [b["pk"] for b in bins]
    last = dict(
        UsageDaily.objects.filter(vendor_id=vendor_id, bin_id__in=ids, issued__gt=0)
        .values("bin_id")
        .annotate(last=Max("day"))
        .values_list("bin_id", "last")
    )
    known = {b["pk"]: (b["site_id"], b["item_id"], last[b["pk"]]) for b in bins if b["pk"] in last}
    _recent_write(vendor_id, customer_id, today, known, ids)


def _recent_write(
    vendor_id: int,
    customer_id: int,
    today: dt.date,
    known: dict[int, tuple[int, int, dt.date]],
    ids: list[int],
) -> None:
    """Replace the recent rows of `ids` by those of `known` (bin -> site, item, last
    issue), their windows counted back from `today`: one grouped read, a delete, an
    insert."""
    longest = max(UsageBinRecent.WINDOWS)
    windows = {
        row["bin_id"]: row
        for row in UsageDaily.objects.filter(
            vendor_id=vendor_id,
            bin_id__in=list(known),
            day__gt=today - dt.timedelta(days=longest),
            day__lte=today,
        )
        .values("bin_id")
        .annotate(
            **{
                f"w{n}": Sum("issued", filter=Q(day__gt=today - dt.timedelta(days=n)), default=0)
                for n in UsageBinRecent.WINDOWS
            }
        )
        .order_by()
    }
    rows = []
    for pk, (site_id, item_id, last_issued) in sorted(known.items()):
        w = windows.get(pk, {})
        rows.append(
            UsageBinRecent(
                vendor_id=vendor_id,
                customer_id=customer_id,
                site_id=site_id,
                item_id=item_id,
                bin_id=pk,
                as_of=today,
                last_issued=last_issued,
                **{f"issued_{n}": w.get(f"w{n}", 0) for n in UsageBinRecent.WINDOWS},
            )
        )
    UsageBinRecent.objects.filter(vendor_id=vendor_id, bin_id__in=ids).delete()
    rows_insert(UsageBinRecent, rows)


def usage_recent_roll(*, vendor_id: int, customer_id: int, today: dt.date) -> int:
    """Count every recent row of a customer back from `today` again: a new day moved
    every window, whether or not its bins moved. Returns the rows rewritten."""
    known = {
        pk: (site_id, item_id, last_issued)
        for pk, site_id, item_id, last_issued in UsageBinRecent.objects.filter(
            vendor_id=vendor_id, customer_id=customer_id
        )
        .order_by("bin_id")
        .values_list("bin_id", "site_id", "item_id", "last_issued")
    }
    ordered = list(known)
    for i in range(0, len(ordered), CHUNK):
        chunk = ordered[i : i + CHUNK]
        _recent_write(vendor_id, customer_id, today, {pk: known[pk] for pk in chunk}, chunk)
    return len(ordered)


def _sites_refresh(vendor_id: int, customer_id: int, site_from: dict[int, dt.date]) -> None:
    """Each site's rows from its first changed day, summed from its bins' rows: the site's
    stock at a day's end is its stock at the previous row plus the day's net changes."""
    if not site_from:
        return
    start = min(site_from.values())
    sums = (
        UsageDaily.objects.filter(vendor_id=vendor_id, site_id__in=list(site_from), day__gte=start)
        .values("site_id", "day")
        .annotate(
            s_issued=Sum("issued"),
            s_received=Sum("received"),
            s_adjusted=Sum("adjusted"),
            s_net=Sum("net"),
            s_value=Sum(F("net") * F("item__unit_price"), output_field=MONEY),
            s_scans=Sum("scans"),
            s_bins_issued=Count("pk", filter=Q(issued__gt=0)),
        )
        .order_by("site_id", "day")
    )
    before: dict[int, tuple[int, Decimal]] = {}
    for site_id, first in site_from.items():
        prev = (
            UsageSiteDaily.objects.filter(vendor_id=vendor_id, site_id=site_id, day__lt=first)
            .order_by("-day")
            .values_list("on_hand", "stock_value")
            .first()
        )
        before[site_id] = prev or (0, Decimal(0))
    rows = []
    for s in sums:
        if s["day"] < site_from[s["site_id"]]:
            continue
        units, value = before[s["site_id"]]
        units += s["s_net"]
        value += s["s_value"] or 0
        before[s["site_id"]] = (units, value)
        rows.append(
            UsageSiteDaily(
                vendor_id=vendor_id,
                customer_id=customer_id,
                site_id=s["site_id"],
                day=s["day"],
                issued=s["s_issued"],
                received=s["s_received"],
                adjusted=s["s_adjusted"],
                on_hand=units,
                stock_value=Decimal(value).quantize(CENT),
                scans=s["s_scans"],
                bins_issued=s["s_bins_issued"],
            )
        )
    for site_id, first in site_from.items():
        UsageSiteDaily.objects.filter(vendor_id=vendor_id, site_id=site_id, day__gte=first).delete()
    rows_insert(UsageSiteDaily, rows)


def _items_refresh(vendor_id: int, customer_id: int, site_from: dict[int, dt.date]) -> None:
    """Each item's rows at each site from the site's first changed day, summed from its
    bins' rows there, its stock carried from its row before that day. Four queries and
    a delete per site."""
    if not site_from:
        return
    start = min(site_from.values())
    sums = (
        UsageDaily.objects.filter(vendor_id=vendor_id, site_id__in=list(site_from), day__gte=start)
        .values("site_id", "item_id", "day")
        .annotate(
            s_issued=Sum("issued"),
            s_received=Sum("received"),
            s_net=Sum("net"),
            s_value=Sum(F("net") * F("item__unit_price"), output_field=MONEY),
        )
        .order_by("site_id", "item_id", "day")
    )
    earlier = Q()
    for site_id, first in site_from.items():
        earlier |= Q(site_id=site_id, day__lt=first)
    before: dict[tuple[int, int], tuple[int, Decimal]] = {
        (site_id, item_id): (on_hand, value)
        for site_id, item_id, on_hand, value in _items_latest(
            UsageItemDaily.objects.filter(earlier, vendor_id=vendor_id)
        )
    }
    rows = []
    for s in sums:
        if s["day"] < site_from[s["site_id"]]:
            continue
        key = (s["site_id"], s["item_id"])
        units, value = before.get(key, (0, Decimal(0)))
        units += s["s_net"]
        value += s["s_value"] or 0
        before[key] = (units, value)
        rows.append(
            UsageItemDaily(
                vendor_id=vendor_id,
                customer_id=customer_id,
                site_id=s["site_id"],
                item_id=s["item_id"],
                day=s["day"],
                issued=s["s_issued"],
                received=s["s_received"],
                on_hand=units,
                stock_value=Decimal(value).quantize(CENT),
            )
        )
    for site_id, first in site_from.items():
        UsageItemDaily.objects.filter(vendor_id=vendor_id, site_id=site_id, day__gte=first).delete()
    rows_insert(UsageItemDaily, rows)


def _items_latest(qs) -> list[tuple[int, int, int, Decimal]]:
    """The latest row of each (site, item) of `qs`: DISTINCT ON on PostgreSQL, a
    correlated subquery elsewhere (SQLite)."""
    fields = ("site_id", "item_id", "on_hand", "stock_value")
    if connection.vendor == "postgresql":
        return list(
            qs.order_by("site_id", "item_id", "-day")
            .distinct("site_id", "item_id")
            .values_list(*fields)
        )
    latest = (
        qs.filter(site_id=OuterRef("site_id"), item_id=OuterRef("item_id"))
        .order_by("-day")
        .values("day")[:1]
    )
    return list(qs.annotate(latest=Subquery(latest)).filter(day=F("latest")).values_list(*fields))


def usage_rebuild(*, vendor_id: int, now: dt.datetime | None = None) -> int:
    """Every row of the vendor again, exactly from the ledger (the recent rows as of the
    customers' day at `now`); returns bin rows written."""
    written = 0
    with rls.vendor(vendor_id):
        UsageSiteDaily.objects.filter(vendor_id=vendor_id).delete()
        UsageBinRecent.objects.filter(vendor_id=vendor_id).delete()
        UsageItemDaily.objects.filter(vendor_id=vendor_id).delete()
        UsageDaily.objects.filter(vendor_id=vendor_id).delete()
        customers = Customer.objects.filter(vendor_id=vendor_id).values_list("pk", flat=True)
        for customer_id in customers:
            bin_ids = Bin.objects.filter(vendor_id=vendor_id, customer_id=customer_id)
            written += usage_refresh(
                vendor_id=vendor_id,
                customer_id=customer_id,
                from_days=dict.fromkeys(bin_ids.values_list("pk", flat=True), EARLIEST),
                now=now,
            )
    return written


def usage_rebuild_all(*, vendor_code: str | None = None) -> dict[str, int]:
    with rls.system():
        vendors = Vendor.objects.order_by("pk")
        if vendor_code is not None:
            vendors = vendors.filter(code=vendor_code)
        found = list(vendors.values_list("pk", "code"))
    return {code: usage_rebuild(vendor_id=pk) for pk, code in found}


def usage_catch_up(*, now: dt.datetime | None = None, overlap_seconds: int = 60) -> int:
    """Redo the days that ledger rows written since the last run fall on.

    The watermark is the time this run started; the next run reads from a little
    before it, for rows whose transaction committed after this one read. Redoing a day
    twice writes the same row, so the overlap costs nothing but time.
    """
    started = now or timezone.now()
    since = watermark_get(name=JOB, default=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    since -= dt.timedelta(seconds=overlap_seconds)
    with rls.system():
        changed = list(
            LedgerEntry.objects.filter(received_at__gte=since)
            .values("vendor_id", "customer_id", "bin_id")
            .annotate(first=Min("occurred_at"))
            .order_by("vendor_id", "customer_id", "bin_id")
        )
        zones = dict(
            Customer.objects.filter(pk__in={c["customer_id"] for c in changed}).values_list(
                "pk", "timezone"
            )
        )
    work: dict[tuple[int, int], dict[int, dt.date]] = defaultdict(dict)
    for c in changed:
        tz = ZoneInfo(zones[c["customer_id"]])
        work[(c["vendor_id"], c["customer_id"])][c["bin_id"]] = local_day(c["first"], tz)
    written = 0
    for (vendor_id, customer_id), from_days in work.items():
        with rls.vendor(vendor_id):
            written += usage_refresh(
                vendor_id=vendor_id, customer_id=customer_id, from_days=from_days, now=started
            )
    _recent_roll_stale(now=started)
    watermark_advance(name=JOB, to=started)
    return written


def _recent_roll_stale(*, now: dt.datetime) -> None:
    """Customers whose recent rows were counted back from a day before their today (a
    day began in their zone since): counted again, every bin."""
    with rls.system():
        oldest = list(
            UsageBinRecent.objects.values("vendor_id", "customer_id")
            .annotate(as_of=Min("as_of"))
            .order_by("vendor_id", "customer_id")
        )
        zones = dict(
            Customer.objects.filter(pk__in={r["customer_id"] for r in oldest}).values_list(
                "pk", "timezone"
            )
        )
    for r in oldest:
        today = local_day(now, ZoneInfo(zones[r["customer_id"]]))
        if r["as_of"] < today:
            with rls.vendor(r["vendor_id"]), transaction.atomic():
                usage_recent_roll(
                    vendor_id=r["vendor_id"], customer_id=r["customer_id"], today=today
                )
