"""Reads for recommended levels: the engine's input from the ledger, and the results.

`demand_inputs` is the one place the ledger becomes engine input. It is set-based:
five queries (customer, bins, ledger, receipts, policies) however many bins and days.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db.models import F, Max, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from cmi.models import Customer
from cmi.scoping import Scope
from insight.engine import BinInput, Receipt
from insight.models import Backtest, DemandPolicy, Recommendation
from replenishment.models import OrderLine, OrderStatus
from stocking.models import Bin, LedgerEntry, MovementKind

DEFAULT_TARGET_FILL = 0.98
WINDOW_DAYS = 365
STALE_AFTER = dt.timedelta(days=28)  # a recommendation older than this is recomputed


@dataclass
class BinFacts:
    """What the engine is given for a bin, and the bin's own fields the results need."""

    bin_id: int
    site_id: int
    label: str
    sku: str
    unit_price: float
    opt_out: bool
    history_mark: int
    engine: BinInput


@dataclass(frozen=True)
class EffectivePolicy:
    target_fill: float = DEFAULT_TARGET_FILL
    floor_min: int = 0
    opt_out: bool = False


def customer_today(customer: Customer) -> dt.date:
    return timezone.now().astimezone(ZoneInfo(customer.timezone)).date()


def _policies(vendor_id: int, customer_id: int) -> dict[tuple[str, int | None], DemandPolicy]:
    return {
        ("bin", p.bin_id)
        if p.bin_id
        else ("item", p.item_id)
        if p.item_id
        else ("customer", None): p
        for p in DemandPolicy.objects.filter(vendor_id=vendor_id, customer_id=customer_id)
    }


def policy_for(
    policies: dict[tuple[str, int | None], DemandPolicy], *, bin_id: int, item_id: int
) -> EffectivePolicy:
    """The most specific row that sets a field wins: bin, then item, then customer."""
    chain = [
        policies.get(("bin", bin_id)),
        policies.get(("item", item_id)),
        policies.get(("customer", None)),
    ]
    target, floor = DEFAULT_TARGET_FILL, 0
    for p in reversed([p for p in chain if p is not None]):
        if p.target_fill is not None:
            target = p.target_fill
        if p.floor_min is not None:
            floor = p.floor_min
    opt_out = any(p.opt_out for p in chain if p is not None)
    return EffectivePolicy(target_fill=target, floor_min=floor, opt_out=opt_out)


def _daily_history(
    rows: Iterable[tuple], as_of: dt.date
) -> tuple[dict[int, list[tuple[dt.date, int, int]]], dict[int, int]]:
    """Ledger rows (ordered by bin, time) as the engine's bin-days: units issued and the
    on-hand the day ended with, for every day with issues or that ended empty. A bin that
    ended a day empty and saw nothing until its next movement was empty on each day
    between: those days are listed too (censored, zero issued)."""
    days: dict[int, dict[dt.date, list[int]]] = defaultdict(dict)
    marks: dict[int, int] = {}
    for pk, bin_id, kind, quantity, on_hand_after, day in rows:
        marks[bin_id] = max(marks.get(bin_id, 0), pk)
        if day >= as_of:
            continue
        entry = days[bin_id].setdefault(day, [0, on_hand_after])
        if kind == MovementKind.ISSUE:
            entry[0] += quantity
        entry[1] = on_hand_after
    out: dict[int, list[tuple[dt.date, int, int]]] = {}
    for bin_id, by_day in days.items():
        ordered = sorted(by_day.items())
        listed: list[tuple[dt.date, int, int]] = []
        for index, (day, (issued, end)) in enumerate(ordered):
            if issued > 0 or end == 0:
                listed.append((day, issued, end))
            if end == 0:
                until = ordered[index + 1][0] if index + 1 < len(ordered) else as_of
                gap = day + dt.timedelta(days=1)
                while gap < until:
                    listed.append((gap, 0, 0))
                    gap += dt.timedelta(days=1)
        out[bin_id] = listed
    return out, marks


def demand_inputs(
    *,
    vendor_id: int,
    customer_id: int,
    as_of: dt.date | None = None,
    bin_ids: Iterable[int] | None = None,
    window_days: int = WINDOW_DAYS,
) -> tuple[Customer, dt.date, list[BinFacts]]:
    """The engine's input for a customer's active bins (or some of them), from the ledger.

    Days are the customer's own calendar days; levels are for use from `as_of` (default
    today there) on, from the `window_days` before it. Receipts are the received order
    lines: released → the order's closing receipt.
    """
    customer = Customer.objects.get(vendor_id=vendor_id, pk=customer_id)
    tz = ZoneInfo(customer.timezone)
    as_of = as_of or customer_today(customer)
    start = dt.datetime.combine(as_of - dt.timedelta(days=window_days), dt.time(), tz)
    bins_qs = Bin.objects.filter(vendor_id=vendor_id, customer_id=customer_id, active=True)
    if bin_ids is not None:
        bins_qs = bins_qs.filter(pk__in=sorted(set(bin_ids)))
    bins = list(
        bins_qs.order_by("pk").values(
            "pk",
            "site_id",
            "label",
            "item_id",
            "item__sku",
            "item__unit_price",
            "pack_multiple",
            "lead_time_days",
            "min_qty",
            "max_qty",
            "created_at",
        )
    )
    ids = [b["pk"] for b in bins]
    ledger = LedgerEntry.objects.filter(
        vendor_id=vendor_id, customer_id=customer_id, occurred_at__gte=start
    )
    if bin_ids is not None:
        ledger = ledger.filter(bin_id__in=ids)
    history, marks = _daily_history(
        # The local day is computed by the database: parsing 100,000s of aware
        # datetimes in Python costs more than the rest of the selector.
        ledger.annotate(day=TruncDate("occurred_at", tzinfo=tz))
        .order_by("bin_id", "occurred_at", "pk")
        .values_list("pk", "bin_id", "kind", "quantity", "on_hand_after", "day")
        .iterator(chunk_size=5000),
        as_of,
    )
    receipts: dict[int, list[Receipt]] = defaultdict(list)
    lines = OrderLine.objects.filter(
        vendor_id=vendor_id,
        customer_id=customer_id,
        order__status=OrderStatus.RECEIVED,
        order__released_at__isnull=False,
        order__closed_at__gte=start,
        quantity_received__gt=0,
    )
    if bin_ids is not None:
        lines = lines.filter(bin_id__in=ids)
    for bin_id, released, closed, quantity in lines.values_list(
        "bin_id", "order__released_at", "order__closed_at", "quantity_received"
    ):
        received = closed.astimezone(tz).date()
        if received < as_of:
            receipts[bin_id].append(Receipt(released.astimezone(tz).date(), received, quantity))
    policies = _policies(vendor_id, customer_id)
    facts = []
    for b in bins:
        policy = policy_for(policies, bin_id=b["pk"], item_id=b["item_id"])
        rows = history.get(b["pk"], [])
        price = float(b["item__unit_price"] or 0)
        facts.append(
            BinFacts(
                bin_id=b["pk"],
                site_id=b["site_id"],
                label=b["label"],
                sku=b["item__sku"],
                unit_price=price,
                opt_out=policy.opt_out,
                history_mark=marks.get(b["pk"], 0),
                engine=BinInput(
                    # The shelf label: unique and stable, and the engine seeds each bin's
                    # scenarios from its key, so the same bin gets the same draws however
                    # it is fed (a folder naming bins by label gives the same levels).
                    key=b["label"],
                    pack_multiple=b["pack_multiple"],
                    lead_time_days=b["lead_time_days"],
                    release_policy=customer.release_policy,
                    unit_price=price,
                    created=b["created_at"].astimezone(tz).date(),
                    history=tuple(rows),
                    receipts=tuple(
                        sorted(receipts.get(b["pk"], []), key=lambda r: (r.ordered, r.received))
                    ),
                    current_min=b["min_qty"],
                    current_max=b["max_qty"],
                    target_fill=policy.target_fill,
                    floor_min=policy.floor_min,
                ),
            )
        )
    return customer, as_of, facts


def bins_needing_recommendation(*, vendor_id: int, customer_id: int) -> list[int]:
    """Active bins whose ledger moved since their recommendation, or with none recent."""
    now = timezone.now()
    return list(
        Bin.objects.filter(vendor_id=vendor_id, customer_id=customer_id, active=True)
        .annotate(mark=Max("ledger__id"))
        .filter(
            Q(recommendation__isnull=True)
            | Q(recommendation__computed_at__lt=now - STALE_AFTER)
            | Q(mark__gt=F("recommendation__history_mark"))
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def recommendation_list(
    *,
    scope: Scope,
    customer_id: int | None = None,
    site_id: int | None = None,
    changed_only: bool = False,
) -> QuerySet[Recommendation]:
    qs = Recommendation.objects.for_scope(scope).select_related("bin", "bin__item", "site")
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    if site_id is not None:
        qs = qs.filter(site_id=site_id)
    if changed_only:
        qs = qs.filter(changed=True)
    return qs


def recommendation_totals(*, scope: Scope, customer_id: int) -> dict:
    """The customer's expected totals at current and recommended levels (changed bins only
    differ): fill weighted by demand, stock value, orders per month. One query."""
    rows = Recommendation.objects.for_scope(scope).filter(customer_id=customer_id)
    totals = {
        "bins": 0,
        "changed": 0,
        "stock_value_current": 0.0,
        "stock_value_recommended": 0.0,
        "orders_per_month_current": 0.0,
        "orders_per_month_recommended": 0.0,
        "fill_current": None,
        "fill_recommended": None,
    }
    demand_sum = fill_cur = fill_rec = 0.0
    for r in rows.values_list(
        "changed",
        "stock_value_current",
        "stock_value_recommended",
        "orders_per_month_current",
        "orders_per_month_recommended",
        "fill_current",
        "fill_recommended",
        "explanation__level",
    ):
        changed, sv_cur, sv_rec, op_cur, op_rec, f_cur, f_rec, level = r
        totals["bins"] += 1
        totals["changed"] += int(changed)
        totals["stock_value_current"] += float(sv_cur)
        totals["stock_value_recommended"] += float(sv_rec)
        totals["orders_per_month_current"] += op_cur
        totals["orders_per_month_recommended"] += op_rec
        weight = float(level or 0)
        if weight > 0 and f_cur is not None and f_rec is not None:
            demand_sum += weight
            fill_cur += weight * f_cur
            fill_rec += weight * f_rec
    if demand_sum:
        totals["fill_current"] = fill_cur / demand_sum
        totals["fill_recommended"] = fill_rec / demand_sum
    return totals


def policy_list(*, scope: Scope, customer_id: int | None = None) -> QuerySet[DemandPolicy]:
    qs = DemandPolicy.objects.for_scope(scope).select_related("item", "bin")
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    return qs


def backtest_list(*, scope: Scope, customer_id: int | None = None) -> QuerySet[Backtest]:
    qs = Backtest.objects.for_scope(scope)
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    return qs
