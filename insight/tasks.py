"""Celery tasks: take ids, call a service. Safe to run twice."""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.db import DatabaseError
from django.utils import timezone

from cmi.models import Customer
from insight import services
from insight.models import Backtest, BacktestStatus
from insight.selectors import bins_needing_recommendation

log = logging.getLogger(__name__)

CHUNK = 2000  # bins per engine call: memory stays bounded for very large customers
LOST_AFTER = dt.timedelta(minutes=15)


@shared_task(
    acks_late=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    max_retries=3,
    time_limit=1800,
    soft_time_limit=1750,
)
def recommendations_compute_customer(vendor_id: int, customer_id: int) -> int:
    """Every active bin of one customer, now (the on-demand recompute)."""
    return services.recommendations_compute(vendor_id=vendor_id, customer_id=customer_id)


def _refresh_customer(vendor_id: int, customer_id: int) -> int:
    stale = bins_needing_recommendation(vendor_id=vendor_id, customer_id=customer_id)
    written = 0
    for start in range(0, len(stale), CHUNK):
        written += services.recommendations_compute(
            vendor_id=vendor_id, customer_id=customer_id, bin_ids=stale[start : start + CHUNK]
        )
    return written


@shared_task(acks_late=True, time_limit=6 * 3600, soft_time_limit=6 * 3600 - 60)
def recommendations_refresh() -> int:
    """The weekly recompute, incremental: only bins whose ledger moved since their
    recommendation, or whose recommendation is old or missing. Also re-queues backtests
    whose message was lost (the database is the record of what is pending)."""
    written = 0
    for vendor_id, customer_id in Customer.objects.order_by("pk").values_list("vendor_id", "pk"):
        try:
            written += _refresh_customer(vendor_id, customer_id)
        except DatabaseError:
            log.exception("recommendations of customer %s failed; next run retries", customer_id)
    lost = Backtest.objects.filter(
        status=BacktestStatus.QUEUED, created_at__lt=timezone.now() - LOST_AFTER
    ).values_list("pk", flat=True)
    for backtest_id in lost:
        backtest_run.delay(backtest_id)
    return written


@shared_task(acks_late=True, time_limit=1800, soft_time_limit=1750)
def backtest_run(backtest_id: int) -> None:
    services.backtest_run(backtest_id=backtest_id)
