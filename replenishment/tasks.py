"""Celery tasks: take ids, call a service. Safe to run twice."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import DatabaseError

from cmi import rls
from replenishment import services

log = logging.getLogger(__name__)


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


@shared_task(acks_late=True, time_limit=300, soft_time_limit=270)
def release_due_orders() -> int:
    with rls.system():  # the cutoffs of every vendor's customers
        return len(services.orders_release_due())
