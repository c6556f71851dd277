"""The scorecard's figures, computed from the source tables in a fixed number of queries.

`parts_compute` reads, for any number of customers and months at once, seven narrow
result sets (bins with their opening on hand, ledger rows, kanban scans, released
orders with their first acknowledgments, received orders, released lines with their
changes) and folds them in one pass into *parts*: sums and lists that add up across
customers. `metrics_of` turns parts into the figures people read; `parts_pool` adds
the parts of several customers, so the vendor-wide figure is the pooled one (not an
average of averages).

Months are calendar months in each customer's own time zone; the current month runs
to now. Bins that are inactive now are left out; min and max are the bins' current
levels (their history is in the level changes).
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import statistics
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Exists, OuterRef, Subquery

from edi.models import Document
from insight.scorecard.metrics import COVERAGE_DAYS
from replenishment.models import Order, OrderEvent, OrderEventKind, OrderLine, OrderStatus
from stocking.models import Bin, LedgerEntry, MovementKind, ScanEvent

DAY = 86400.0
COVERAGE = dt.timedelta(days=COVERAGE_DAYS)
SUMS = (
    "asked",
    "got",
    "issues",
    "issues_short",
    "issues_at_zero",
    "zero_secs",
    "alive_secs",
    "bins_minmax",
    "below_min",
    "over_max",
    "bins",
    "covered",
    "issued_value",
    "avg_value",
    "period_days",
    "orders_released",
    "orders_unacknowledged",
    "orders_received",
    "on_time",
    "lines",
    "lines_changed",
    "lines_short",
    "lines_bad",
)
LISTS = ("hours_997", "hours_855")
CHANGES = (OrderEventKind.QUANTITY_CHANGED, OrderEventKind.BACKORDERED)
SHIPPED = (OrderStatus.SHIPPED, OrderStatus.RECEIVED)


@dataclass(frozen=True)
class CustomerRef:
    """What the computation needs of a customer: its id and time zone."""

    pk: int
    timezone: str


def month_first(day: dt.date) -> dt.date:
    return day.replace(day=1)


def month_next(first: dt.date) -> dt.date:
    return (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def months_back(last: dt.date, count: int) -> list[dt.date]:
    """`count` months ending with `last` (a 1st), oldest first."""
    months = [month_first(last)]
    while len(months) < count:
        months.append(month_first(months[-1] - dt.timedelta(days=1)))
    return months[::-1]


def month_window(first: dt.date, tz_name: str, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of the month in the zone, the end cut at now."""
    tz = zoneinfo.ZoneInfo(tz_name)
    start = dt.datetime.combine(first, dt.time(), tzinfo=tz)
    end = dt.datetime.combine(month_next(first), dt.time(), tzinfo=tz)
    return start, min(end, now)


def empty_parts() -> dict[str, Any]:
    return {**dict.fromkeys(SUMS, 0), **{name: [] for name in LISTS}}


def parts_pool(many: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The parts of several customers (or a customer's snapshot and nothing) as one."""
    total = empty_parts()
    count = 0
    for parts in many:
        count += 1
        for name in SUMS:
            total[name] += parts.get(name) or 0
        for name in LISTS:
            total[name] = total[name] + list(parts.get(name) or [])
    if count:
        total["period_days"] = total["period_days"] / count
    return total


def _share(part: float, whole: float) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _p90(values: Sequence[float]) -> float | None:
    """Nearest rank: the smallest value at or above 90% of them."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[math.ceil(0.9 * len(ordered)) - 1], 1)


def _median(values: Sequence[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def metrics_of(parts: dict[str, Any]) -> dict[str, Any]:
    """The figures (None where the month gave nothing to measure) and their counts.
    A part missing (a snapshot stored before it existed) counts as nothing."""
    parts = {**empty_parts(), **parts}
    turns = None
    if parts["avg_value"] and parts["period_days"]:
        turns = round(parts["issued_value"] / parts["avg_value"] * 365 / parts["period_days"], 1)
    return {
        "fill_rate": _share(parts["got"], parts["asked"]),
        "issues_short": parts["issues_short"],
        "stockout_share": _share(parts["zero_secs"], parts["alive_secs"]),
        "stockout_bin_days": round(parts["zero_secs"] / DAY, 1),
        "below_min_share": _share(parts["below_min"], parts["bins_minmax"]),
        "over_max_share": _share(parts["over_max"], parts["bins_minmax"]),
        "ack_997_median_hours": _median(parts["hours_997"]),
        "ack_997_p90_hours": _p90(parts["hours_997"]),
        "ack_855_median_hours": _median(parts["hours_855"]),
        "ack_855_p90_hours": _p90(parts["hours_855"]),
        "on_time_share": _share(parts["on_time"], parts["orders_received"]),
        "order_accuracy": _share(parts["lines"] - parts["lines_bad"], parts["lines"]),
        "scan_coverage": _share(parts["covered"], parts["bins"]),
        "inventory_turns": turns,
        "issues": parts["issues"],
        "bins": parts["bins"],
        "orders_released": parts["orders_released"],
        "orders_unacknowledged": parts["orders_unacknowledged"],
        "orders_received": parts["orders_received"],
        "lines": parts["lines"],
        "lines_changed": parts["lines_changed"],
        "lines_short": parts["lines_short"],
    }


# --- the reads ----------------------------------------------------------------------


def parts_compute(
    *,
    vendor_id: int,
    customers: Sequence[CustomerRef],
    months: Sequence[dt.date],
    now: dt.datetime,
) -> dict[tuple[int, dt.date], dict[str, Any]]:
    """Parts per (customer id, month) for every customer and month asked (months that
    have not begun get empty parts). Seven queries whatever the sizes."""
    windows = {(c.pk, m): month_window(m, c.timezone, now) for c in customers for m in months}
    result = {key: empty_parts() for key in windows}
    live = {key: w for key, w in windows.items() if w[0] < w[1]}
    if not live:
        return result
    ids = sorted({c.pk for c in customers})
    first = min(w[0] for w in live.values())
    load_start = first - COVERAGE
    load_end = max(w[1] for w in live.values())
    by_customer: dict[int, list[tuple[dt.date, dt.datetime, dt.datetime]]] = defaultdict(list)
    for (cid, m), (s, e) in live.items():
        by_customer[cid].append((m, s, e))

    _stock_parts(vendor_id, ids, by_customer, load_start, load_end, result)
    _order_parts(vendor_id, ids, by_customer, first, load_end, result)
    return result


def _month_of(spans: list[tuple[dt.date, dt.datetime, dt.datetime]], at: dt.datetime):
    for m, s, e in spans:
        if s <= at < e:
            return m
    return None


def _stock_parts(vendor_id, ids, by_customer, load_start, load_end, result) -> None:
    opening = (
        LedgerEntry.objects.filter(bin_id=OuterRef("pk"), occurred_at__lt=load_start)
        .order_by("-occurred_at", "-id")
        .values("on_hand_after")[:1]
    )
    bins = list(
        Bin.objects.filter(vendor_id=vendor_id, customer_id__in=ids, active=True)
        .annotate(opening=Subquery(opening))
        .values_list(
            "pk",
            "customer_id",
            "min_qty",
            "max_qty",
            "kanban_quantity",
            "created_at",
            "on_hand",
            "item__unit_price",
            "opening",
        )
    )
    rows: dict[int, list[tuple]] = defaultdict(list)
    for row in (
        LedgerEntry.objects.filter(
            vendor_id=vendor_id,
            customer_id__in=ids,
            occurred_at__gte=load_start,
            occurred_at__lt=load_end,
        )
        .order_by("bin_id", "occurred_at", "id")
        .values_list(
            "bin_id", "kind", "quantity", "delta", "on_hand_after", "applied", "occurred_at"
        )
    ):
        rows[row[0]].append(row)
    kanban_scans: dict[int, list[dt.datetime]] = defaultdict(list)
    for bin_id, at in (
        ScanEvent.objects.filter(
            vendor_id=vendor_id,
            customer_id__in=ids,
            kind=MovementKind.KANBAN,
            occurred_at__gte=load_start,
            occurred_at__lt=load_end,
        )
        .order_by("occurred_at")
        .values_list("bin_id", "occurred_at")
    ):
        kanban_scans[bin_id].append(at)

    for pk, cid, min_qty, max_qty, kanban, created_at, on_hand, price, before in bins:
        spans = by_customer.get(cid)
        if not spans:
            continue
        price = float(price or Decimal(0))
        mine = rows.get(pk, [])
        if before is not None:
            start_value = before
        elif mine:
            start_value = mine[0][4] - mine[0][3]  # on hand before the first movement
        else:
            start_value = on_hand
        times = [load_start] + [r[6] for r in mine]
        values = [start_value] + [r[4] for r in mine]
        seen = sorted([r[6] for r in mine] + kanban_scans.get(pk, []))
        minmax = not kanban and max_qty > 0
        for r in mine:
            _, kind, quantity, delta, after, applied, at = r
            if kind != MovementKind.ISSUE or not applied:
                continue
            m = _month_of(spans, at)
            if m is None:
                continue
            p = result[(cid, m)]
            p["issues"] += 1
            p["asked"] += quantity
            p["got"] += -delta
            p["issued_value"] += -delta * price
            if quantity > -delta:
                p["issues_short"] += 1
                if after - delta == 0:
                    p["issues_at_zero"] += 1
        for m, s, e in spans:
            a = max(s, created_at)
            if a >= e:
                continue
            p = result[(cid, m)]
            zero, weighted, alive = _integrate(times, values, a, e)
            p["avg_value"] += weighted / (e - s).total_seconds() * price
            at_end = values[bisect.bisect_left(times, e) - 1]
            p["bins"] += 1
            i = bisect.bisect_left(seen, e - COVERAGE)
            if i < len(seen) and seen[i] < e:
                p["covered"] += 1
            if minmax:
                p["zero_secs"] += zero
                p["alive_secs"] += alive
                p["bins_minmax"] += 1
                p["below_min"] += at_end < min_qty
                p["over_max"] += at_end > max_qty
    for (cid, m), p in result.items():
        spans = by_customer.get(cid) or []
        for mm, s, e in spans:
            if mm == m:
                p["period_days"] = (e - s).total_seconds() / DAY
        p["issued_value"] = round(p["issued_value"], 2)
        p["avg_value"] = round(p["avg_value"], 2)


def _integrate(times, values, a: dt.datetime, e: dt.datetime) -> tuple[float, float, float]:
    """Seconds at zero, on-hand x seconds, and seconds, of the step line over [a, e).

    `values[i]` holds from `times[i]` until `times[i + 1]` (the last until `e`)."""
    i = max(bisect.bisect_right(times, a) - 1, 0)
    zero = weighted = 0.0
    t = a
    while t < e and i < len(times):
        stop = min(times[i + 1] if i + 1 < len(times) else e, e)
        if stop > t:
            secs = (stop - t).total_seconds()
            weighted += values[i] * secs
            if values[i] == 0:
                zero += secs
            t = stop
        i += 1
    return zero, weighted, (e - a).total_seconds()


def _order_parts(vendor_id, ids, by_customer, first, load_end, result) -> None:
    def _first_doc(field: str, direction: str, transaction_set: str):
        return Subquery(
            Document.objects.filter(
                order_id=OuterRef("pk"), direction=direction, transaction_set=transaction_set
            )
            .exclude(**{f"{field}__isnull": True})
            .order_by(field)
            .values(field)[:1]
        )

    first_ack = Subquery(
        OrderEvent.objects.filter(
            order_id=OuterRef("pk"), kind=OrderEventKind.STATUS, new_value=OrderStatus.ACKNOWLEDGED
        )
        .order_by("at")
        .values("at")[:1]
    )
    released = Order.objects.filter(
        vendor_id=vendor_id,
        customer_id__in=ids,
        released_at__gte=first,
        released_at__lt=load_end,
    )
    for cid, released_at, sent_850, acked_997, acked in released.annotate(
        sent_850=_first_doc("created_at", "out", "850"),
        acked_997=_first_doc("acked_at", "out", "850"),
        acked=first_ack,
    ).values_list("customer_id", "released_at", "sent_850", "acked_997", "acked"):
        m = _month_of(by_customer[cid], released_at)
        if m is None:
            continue
        p = result[(cid, m)]
        p["orders_released"] += 1
        if sent_850 and acked_997:
            p["hours_997"].append(round((acked_997 - sent_850).total_seconds() / 3600, 2))
        if acked:
            p["hours_855"].append(round((acked - released_at).total_seconds() / 3600, 2))
        else:
            p["orders_unacknowledged"] += 1

    zones = {}
    for cid, closed_at, requested, tz_name in Order.objects.filter(
        vendor_id=vendor_id,
        customer_id__in=ids,
        status=OrderStatus.RECEIVED,
        closed_at__gte=first,
        closed_at__lt=load_end,
    ).values_list("customer_id", "closed_at", "requested_delivery_date", "customer__timezone"):
        m = _month_of(by_customer[cid], closed_at)
        if m is None:
            continue
        p = result[(cid, m)]
        p["orders_received"] += 1
        tz = zones.setdefault(tz_name, zoneinfo.ZoneInfo(tz_name))
        if requested is None or closed_at.astimezone(tz).date() <= requested:
            p["on_time"] += 1

    changed = OrderEvent.objects.filter(
        line_id=OuterRef("pk"), kind__in=CHANGES, at__gte=OuterRef("order__released_at")
    )
    for cid, released_at, status, ordered, shipped, was_changed in (
        OrderLine.objects.filter(
            vendor_id=vendor_id,
            customer_id__in=ids,
            order__released_at__gte=first,
            order__released_at__lt=load_end,
        )
        .exclude(order__status=OrderStatus.CANCELLED)
        .annotate(was_changed=Exists(changed))
        .values_list(
            "customer_id",
            "order__released_at",
            "order__status",
            "quantity_ordered",
            "quantity_shipped",
            "was_changed",
        )
    ):
        m = _month_of(by_customer[cid], released_at)
        if m is None:
            continue
        p = result[(cid, m)]
        p["lines"] += 1
        short = status in SHIPPED and 0 < shipped < ordered
        p["lines_changed"] += bool(was_changed)
        p["lines_short"] += short
        p["lines_bad"] += bool(was_changed) or short
