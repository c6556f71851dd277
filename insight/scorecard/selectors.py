"""Reads of the scorecard: one customer's month with its targets and trend, and the
vendor's month across its customers. The API and both portals call these, so the
customer's manager and the vendor's rep see the same numbers.

Closed months come from the snapshots where there is one; the current month from the
row a beat task stores every SCORECARD_CURRENT_MINUTES (`as_of` says how old); a month
with neither is computed from the source tables. Either way a page is a fixed number
of queries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from cmi.errors import ApiError
from cmi.models import Customer
from cmi.scoping import Scope
from insight.scorecard.compute import (
    CustomerRef,
    metrics_of,
    month_window,
    months_back,
    parts_compute,
    parts_pool,
)
from insight.scorecard.metrics import METRICS, Metric
from insight.scorecard.models import ScorecardCurrent, ScorecardMonth, ScorecardTarget

TREND_MONTHS = 6


@dataclass(frozen=True)
class ScoreRow:
    metric: Metric
    actual: float | None
    target: float | None
    met: bool | None


@dataclass(frozen=True)
class CustomerScorecard:
    customer: Customer
    month: dt.date
    values: dict[str, Any]
    rows: list[ScoreRow]
    trend: list[tuple[dt.date, dict[str, Any]]]
    live: bool  # computed now (no stored row for the month yet)
    complete: bool  # the month is over in the customer's time zone
    as_of: dt.datetime  # when the month's figures were computed


@dataclass(frozen=True)
class VendorScorecardRow:
    customer: Customer
    values: dict[str, Any]
    met: int
    missed: int


@dataclass(frozen=True)
class VendorScorecard:
    month: dt.date
    rows: list[VendorScorecardRow]
    totals: dict[str, Any]
    as_of: dt.datetime  # the oldest of the customers' figures


def month_parse(text: str | None, *, today: dt.date) -> dt.date:
    """'2026-11' as its 1st; empty means this month. A malformed or future month is a
    400 with code `bad_month`."""
    if not text:
        return today.replace(day=1)
    try:
        month = dt.datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        raise ApiError("bad_month", "month must be YYYY-MM, e.g. 2026-11.", field="month") from None
    if month > today or month.year < 2000:
        raise ApiError("bad_month", "month must be from 2000 up to this month.", field="month")
    return month


Parts = dict[tuple[int, dt.date], dict[str, Any]]


def _parts(
    *, vendor_id: int, customers: Sequence[Customer], months: Sequence[dt.date], now: dt.datetime
) -> tuple[Parts, set[tuple[int, dt.date]], dict[tuple[int, dt.date], dt.datetime]]:
    """Snapshots for closed months, the stored rows for current ones, computed parts for
    the rest (one compute pass); which (customer, month) were computed now; and when
    each was computed."""
    refs = [CustomerRef(pk=c.pk, timezone=c.timezone) for c in customers]
    closed, current = set(), set()
    for c in refs:
        for m in months:
            start, end = month_window(m, c.timezone, now)  # the end cut at now
            if end < now:
                closed.add((c.pk, m))
            elif start < now:
                current.add((c.pk, m))
    found: Parts = {}
    as_of: dict[tuple[int, dt.date], dt.datetime] = {}
    stored = []
    if closed:
        stored += ScorecardMonth.objects.filter(
            vendor_id=vendor_id,
            customer_id__in=sorted({c for c, _ in closed}),
            month__in=sorted({m for _, m in closed}),
        ).values_list("customer_id", "month", "values", "computed_at")
    if current:
        stored += ScorecardCurrent.objects.filter(
            vendor_id=vendor_id, customer_id__in=sorted({c for c, _ in current})
        ).values_list("customer_id", "month", "values", "computed_at")
    for cid, month, values, computed_at in stored:
        if (cid, month) in closed or (cid, month) in current:
            found[(cid, month)] = values
            as_of[(cid, month)] = computed_at
    missing = [(c, m) for c in refs for m in months if (c.pk, m) not in found]
    if missing:
        computed = parts_compute(
            vendor_id=vendor_id,
            customers=sorted({c for c, _ in missing}, key=lambda c: c.pk),
            months=sorted({m for _, m in missing}),
            now=now,
        )
        for c, m in missing:
            found[(c.pk, m)] = computed[(c.pk, m)]
            as_of[(c.pk, m)] = now
    return found, {(c.pk, m) for c, m in missing}, as_of


def _targets(*, vendor_id: int, customer_ids: Sequence[int]) -> dict[int, dict[str, float]]:
    targets: dict[int, dict[str, float]] = {}
    for cid, metric, value in ScorecardTarget.objects.filter(
        vendor_id=vendor_id, customer_id__in=customer_ids
    ).values_list("customer_id", "metric", "target"):
        targets.setdefault(cid, {})[metric] = float(value)
    return targets


def _rows(values: dict[str, Any], targets: dict[str, float]) -> list[ScoreRow]:
    return [
        ScoreRow(
            metric=m,
            actual=values.get(m.key),
            target=targets.get(m.key),
            met=m.met(values.get(m.key), targets.get(m.key)),
        )
        for m in METRICS
    ]


def scorecard_customer(
    *,
    scope: Scope,
    customer_id: int,
    month: dt.date,
    trend_months: int = TREND_MONTHS,
    now: dt.datetime | None = None,
) -> CustomerScorecard:
    """One customer's month: every metric against its target, and the months before it.
    Another vendor's or customer's id is a 404."""
    now = now or timezone.now()
    customer = Customer.objects.for_scope(scope).filter(pk=customer_id).first()
    if customer is None:
        raise ApiError("not_found", "Not found.", status_code=404)
    months = months_back(month, trend_months)
    parts, live, as_of = _parts(
        vendor_id=scope.vendor_id, customers=[customer], months=months, now=now
    )
    trend = [(m, metrics_of(parts[(customer.pk, m)])) for m in months]
    values = trend[-1][1]
    targets = _targets(vendor_id=scope.vendor_id, customer_ids=[customer.pk]).get(customer.pk, {})
    return CustomerScorecard(
        customer=customer,
        month=month,
        values=values,
        rows=_rows(values, targets),
        trend=trend,
        live=(customer.pk, month) in live,
        complete=month_window(month, customer.timezone, now)[1] < now,
        as_of=as_of[(customer.pk, month)],
    )


def scorecard_vendor(
    *, scope: Scope, month: dt.date, now: dt.datetime | None = None
) -> VendorScorecard:
    """The month of every customer the scope sees, with targets met and missed, and the
    figures pooled over all of them (sums and all the ack times, not an average of
    averages)."""
    now = now or timezone.now()
    customers = list(Customer.objects.for_scope(scope).order_by("name", "pk"))
    parts, _, as_of = _parts(
        vendor_id=scope.vendor_id, customers=customers, months=[month], now=now
    )
    targets = _targets(vendor_id=scope.vendor_id, customer_ids=[c.pk for c in customers])
    rows = []
    for c in customers:
        values = metrics_of(parts[(c.pk, month)])
        judged = [r.met for r in _rows(values, targets.get(c.pk, {})) if r.met is not None]
        rows.append(
            VendorScorecardRow(
                customer=c, values=values, met=judged.count(True), missed=judged.count(False)
            )
        )
    totals = metrics_of(parts_pool(parts[(c.pk, month)] for c in customers))
    return VendorScorecard(
        month=month, rows=rows, totals=totals, as_of=min(as_of.values(), default=now)
    )


def target_list(*, scope: Scope, customer_id: int) -> list[ScorecardTarget]:
    return list(
        ScorecardTarget.objects.for_scope(scope).filter(customer_id=customer_id).order_by("metric")
    )
