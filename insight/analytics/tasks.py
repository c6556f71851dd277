"""The beat task that keeps the daily aggregates: a few minutes behind the ledger."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from insight.analytics.build import usage_catch_up


@shared_task(
    name="insight.usage_daily_catch_up", acks_late=True, time_limit=1800, soft_time_limit=1750
)
def usage_daily_catch_up() -> int:
    """Redo the days of the ledger rows written since the last run (today's row too)."""
    return usage_catch_up(overlap_seconds=settings.CATCH_UP_OVERLAP_SECONDS)
