"""Celery tasks: take ids, call a service. Safe to run twice."""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

from cmi import rls
from cmi.services import watermark_advance, watermark_get
from replenishment import services

log = logging.getLogger(__name__)

CATCH_UP_JOB = "replenishment.catch_up"


@shared_task(
    acks_late=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=5,
    time_limit=60,
    soft_time_limit=50,
)
def evaluate_bins(vendor_id: int, bin_ids: list[int]) -> list[int]:
    with rls.vendor(vendor_id):
        return services.bins_evaluate(vendor_id=vendor_id, bin_ids=bin_ids)


@shared_task(acks_late=True, time_limit=600, soft_time_limit=570)
def sweep_bins() -> int:
    """Find every bin that needs an order, whatever messages were lost, and evaluate it here."""
    return len(services.sweep_run().orders)


@shared_task(acks_late=True, time_limit=120, soft_time_limit=100)
def catch_up_bins() -> int:
    """Every minute: evaluate the bins touched since the last run that need an order.

    What a lost message (broker down, worker killed) left behind is ordered within a
    minute or so of the database being reachable again; evaluation is idempotent, so
    a bin whose own task did run is not ordered twice. The watermark moves only when
    every chunk was evaluated, and each run looks back CATCH_UP_OVERLAP_SECONDS before
    it, for scans that committed after the previous run had read.
    """
    started = timezone.now()
    since = watermark_get(
        name=CATCH_UP_JOB, default=started - dt.timedelta(minutes=settings.SWEEP_MINUTES)
    ) - dt.timedelta(seconds=settings.CATCH_UP_OVERLAP_SECONDS)
    result = services.sweep_run(touched_since=since)
    if not result.failed_chunks:
        watermark_advance(name=CATCH_UP_JOB, to=started)
    return len(result.orders)


@shared_task(acks_late=True, time_limit=300, soft_time_limit=270)
def release_due_orders() -> int:
    with rls.system():  # the cutoffs of every vendor's customers
        return len(services.orders_release_due())
