"""Celery tasks of EDI: take ids, call a service. Safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.db import DatabaseError

from cmi import rls
from edi import overdue


@shared_task(
    acks_late=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=3,
    time_limit=600,
    soft_time_limit=570,
)
def flag_overdue() -> int:
    """Set and clear overdue flags from what the database holds; returns states changed.

    It recomputes everything each run, so a lost or doubled run costs nothing.
    """
    with rls.system():  # every vendor's orders
        return overdue.overdue_flag_all()
