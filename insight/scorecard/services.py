"""Writes of the scorecard: targets (vendor staff), the monthly snapshots and the
current month so far."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from cmi.errors import ApiError
from cmi.models import Customer
from cmi.scoping import Scope
from insight.scorecard.compute import CustomerRef, month_first, month_window, parts_compute
from insight.scorecard.metrics import BY_KEY
from insight.scorecard.models import ScorecardCurrent, ScorecardMonth, ScorecardTarget


@transaction.atomic
def scorecard_target_set(
    *,
    scope: Scope,
    customer_id: int,
    metric: str,
    target: Decimal | None,
) -> ScorecardTarget | None:
    """Set (or with None, clear) one target of a customer; vendor admins and reps only.

    A percentage is at most 100; no target is negative. Another vendor's or customer's
    id is a 404.
    """
    if not scope.is_vendor_staff:
        raise ApiError("permission_denied", "Only the vendor's staff set targets.", status_code=403)
    customer = Customer.objects.for_scope(scope).filter(pk=customer_id).first()
    if customer is None:
        raise ApiError("not_found", "Not found.", status_code=404)
    found = BY_KEY.get(metric)
    if found is None or not found.targetable:
        raise ApiError("unknown_metric", f"{metric!r} is not a scorecard metric.", field="metric")
    if target is None:
        ScorecardTarget.objects.filter(customer_id=customer.pk, metric=metric).delete()
        return None
    if target < 0 or (found.unit == "%" and target > 100):
        raise ApiError(
            "bad_target",
            "A target is 0 or more, and a percentage at most 100.",
            field="target",
        )
    row, _ = ScorecardTarget.objects.update_or_create(
        customer_id=customer.pk,
        metric=metric,
        defaults={
            "vendor_id": customer.vendor_id,
            "target": target,
            "updated_by_id": scope.user_id,
        },
    )
    return row


@transaction.atomic
def scorecard_months_snapshot(
    *,
    vendor_id: int,
    months: list[dt.date],
    customer_ids: list[int] | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Compute the closed months of the vendor's customers from the source tables and
    store them (replacing what was there). A month not over yet in a customer's zone is
    skipped. Returns how many rows were written. Safe to run twice."""
    now = now or timezone.now()
    qs = Customer.objects.filter(vendor_id=vendor_id)
    if customer_ids is not None:
        qs = qs.filter(pk__in=customer_ids)
    refs = [CustomerRef(pk=pk, timezone=tz) for pk, tz in qs.values_list("pk", "timezone")]
    if not refs or not months:
        return 0
    parts = parts_compute(vendor_id=vendor_id, customers=refs, months=months, now=now)
    rows = [
        ScorecardMonth(
            vendor_id=vendor_id, customer_id=c.pk, month=m, values=parts[(c.pk, m)], computed_at=now
        )
        for c in refs
        for m in months
        if month_window(m, c.timezone, now)[1] < now
    ]
    ScorecardMonth.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["customer", "month"],
        update_fields=["values", "computed_at"],
    )
    return len(rows)


def current_month(tz_name: str, now: dt.datetime) -> dt.date:
    """The month `now` falls in, in the zone (its 1st)."""
    return month_first(now.astimezone(ZoneInfo(tz_name)).date())


@transaction.atomic
def scorecard_current_store(
    *, vendor_id: int, customer_ids: list[int] | None = None, now: dt.datetime | None = None
) -> int:
    """Compute every customer's current month (in its zone) so far from the source
    tables, and store it (replacing the customer's row). Returns rows written."""
    now = now or timezone.now()
    qs = Customer.objects.filter(vendor_id=vendor_id)
    if customer_ids is not None:
        qs = qs.filter(pk__in=customer_ids)
    by_month: dict[dt.date, list[CustomerRef]] = {}
    for pk, tz in qs.order_by("pk").values_list("pk", "timezone"):
        by_month.setdefault(current_month(tz, now), []).append(CustomerRef(pk=pk, timezone=tz))
    rows = []
    for month, refs in sorted(by_month.items()):  # one compute per month (zones differ)
        parts = parts_compute(vendor_id=vendor_id, customers=refs, months=[month], now=now)
        rows += [
            ScorecardCurrent(
                vendor_id=vendor_id,
                customer_id=c.pk,
                month=month,
                values=parts[(c.pk, month)],
                computed_at=now,
            )
            for c in refs
        ]
    ScorecardCurrent.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["customer"],
        update_fields=["month", "values", "computed_at"],
    )
    return len(rows)
