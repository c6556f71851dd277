"""The scorecard's beat tasks: on the 1st, store the month just ended of every customer;
every SCORECARD_CURRENT_MINUTES, store the current month so far."""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.utils import timezone

from cmi import rls
from cmi.models import Vendor
from insight.scorecard.compute import month_first
from insight.scorecard.services import scorecard_current_store, scorecard_months_snapshot


def last_month(now: dt.datetime) -> dt.date:
    return month_first(month_first(now.date()) - dt.timedelta(days=1))


@shared_task(acks_late=True, time_limit=1800, soft_time_limit=1750)
def scorecard_snapshot_last_month() -> int:
    """Every vendor's customers, last month (a month not over in a customer's zone yet
    is skipped, and the next run (hourly on the 1st) takes it). Safe to run twice."""
    now = timezone.now()
    month = last_month(now)
    written = 0
    with rls.system():  # the list of vendors spans tenants
        vendor_ids = list(Vendor.objects.order_by("pk").values_list("pk", flat=True))
    for vendor_id in vendor_ids:
        with rls.vendor(vendor_id):
            written += scorecard_months_snapshot(vendor_id=vendor_id, months=[month], now=now)
    return written


@shared_task(acks_late=True, time_limit=1800, soft_time_limit=1750)
def scorecard_current_refresh() -> int:
    """Every vendor's customers, the current month so far: what the pages read (with its
    age) instead of computing it per request. Safe to run twice (rows are replaced)."""
    now = timezone.now()
    written = 0
    with rls.system():  # the list of vendors spans tenants
        vendor_ids = list(Vendor.objects.order_by("pk").values_list("pk", flat=True))
    for vendor_id in vendor_ids:
        with rls.vendor(vendor_id):
            written += scorecard_current_store(vendor_id=vendor_id, now=now)
    return written
