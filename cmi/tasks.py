"""Celery tasks of the tenancy layer: handing domain events to their listeners."""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.db import DatabaseError

from cmi import events, rls


@shared_task(
    acks_late=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=5,
    time_limit=60,
    soft_time_limit=50,
)
def events_dispatch(vendor_id: int, event_id: int) -> bool:
    with rls.vendor(vendor_id):
        return events.dispatch(event_id)


@shared_task(
    acks_late=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=5,
    time_limit=120,
    soft_time_limit=100,
)
def events_dispatch_many(vendor_id: int, event_ids: list[int]) -> int:
    """A batch's events (`events.emit_many`): one message for the lot."""
    with rls.vendor(vendor_id):
        return sum(events.dispatch(event_id) for event_id in event_ids)


@shared_task(acks_late=True, time_limit=120, soft_time_limit=100)
def events_catch_up() -> int:
    """Every minute: dispatch events whose own task was lost (broker down, worker killed)."""
    done = 0
    for vendor_id, event_id in events.pending_dispatch(older_than=dt.timedelta(seconds=30)):
        with rls.vendor(vendor_id):
            done += events.dispatch(event_id)
    return done
