"""Celery tasks: take ids, call a service. Safe to run twice."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import DatabaseError

from cmi import rls
from replenishment import services

log = logging.getLogger(__name__)

SWEEP_CHUNK = 200


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
    orders = 0
    with rls.system():  # finding the candidates spans vendors; each is evaluated as itself
        candidates = services.sweep_candidates()
    for vendor_id, bin_ids in candidates.items():
        for start in range(0, len(bin_ids), SWEEP_CHUNK):
            try:
                with rls.vendor(vendor_id):
                    orders += len(
                        services.bins_evaluate(
                            vendor_id=vendor_id, bin_ids=bin_ids[start : start + SWEEP_CHUNK]
                        )
                    )
            except DatabaseError:
                log.exception(
                    "sweep of vendor %s failed at chunk %s; the next sweep retries",
                    vendor_id,
                    start,
                )
    return orders


@shared_task(acks_late=True, time_limit=300, soft_time_limit=270)
def release_due_orders() -> int:
    with rls.system():  # the cutoffs of every vendor's customers
        return len(services.orders_release_due())
