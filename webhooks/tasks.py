"""Celery tasks of the webhooks app: take ids, call a service. Safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.db import DatabaseError

from cmi import rls
from cmi.broker import publish
from webhooks import selectors, services


@shared_task(
    acks_late=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    max_retries=3,
    time_limit=60,
    soft_time_limit=50,
)
def delivery_send(vendor_id: int, delivery_id: int) -> bool:
    """One attempt of one delivery, if it is due and nobody else is sending it."""
    with rls.vendor(vendor_id):
        return services.delivery_send(vendor_id=vendor_id, delivery_id=delivery_id) is not None


@shared_task(acks_late=True, time_limit=120, soft_time_limit=100)
def deliveries_due() -> int:
    """Every minute: take back deliveries of dead workers, queue every due delivery.

    The database holds the schedule (next_attempt_at); this is what turns it into
    attempts, so a retry never depends on a countdown surviving in the broker."""
    with rls.system():
        services.leases_expire()
    due = selectors.deliveries_due()
    queued = [pk for vendor_id, pk in due if publish(delivery_send, args=(vendor_id, pk))]
    with rls.system():
        services.deliveries_mark_queued(queued)
    return len(queued)
