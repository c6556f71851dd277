"""Celery tasks: take ids, call a service. Safe to run twice."""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.db import DatabaseError
from django.utils import timezone

from cmi import rls
from cmi.models import Customer
from insight import services
from insight.models import Backtest, BacktestStatus
from insight.selectors import bins_needing_recommendation

log = logging.getLogger(__name__)

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
    with rls.vendor(vendor_id):
        return services.recommendations_compute(vendor_id=vendor_id, customer_id=customer_id)


def _refresh_customer(vendor_id: int, customer_id: int) -> int:
    """A customer with any stale bin is recomputed whole: the engine shares service
    across the bins it is given, so a bin's levels are those of a full recompute."""
    with rls.vendor(vendor_id):
        if not bins_needing_recommendation(vendor_id=vendor_id, customer_id=customer_id):
            return 0
        return services.recommendations_compute(vendor_id=vendor_id, customer_id=customer_id)


@shared_task(acks_late=True, time_limit=6 * 3600, soft_time_limit=6 * 3600 - 60)
def recommendations_refresh() -> int:
    """The weekly recompute, incremental: only bins whose ledger moved since their
    recommendation, or whose recommendation is old or missing. Also re-queues backtests
    whose message was lost (the database is the record of what is pending)."""
    written = 0
    with rls.system():  # every vendor's customers; each is computed as its vendor
        customers = list(Customer.objects.order_by("pk").values_list("vendor_id", "pk"))
        lost = list(
            Backtest.objects.filter(
                status=BacktestStatus.QUEUED, created_at__lt=timezone.now() - LOST_AFTER
            ).values_list("pk", flat=True)
        )
    for vendor_id, customer_id in customers:
        try:
            written += _refresh_customer(vendor_id, customer_id)
        except DatabaseError:
            log.exception("recommendations of customer %s failed; next run retries", customer_id)
    for backtest_id in lost:
        backtest_run.delay(backtest_id)
    return written


@shared_task(acks_late=True, time_limit=1800, soft_time_limit=1750)
def backtest_run(backtest_id: int) -> None:
    with rls.system():  # whose backtest it is decides the vendor it runs as
        vendor_id = (
            Backtest.objects.filter(pk=backtest_id).values_list("vendor_id", flat=True).first()
        )
    if vendor_id is None:
        return
    with rls.vendor(vendor_id):
        services.backtest_run(backtest_id=backtest_id)


# The scorecard keeps its task in its own module; imported here so the worker finds it.
from insight.scorecard.tasks import scorecard_snapshot_last_month  # noqa: E402, F401
