"""Reads of the webhooks app, shared by the API and the portal."""

from __future__ import annotations

import datetime as dt

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from cmi import rls
from cmi.scoping import Scope
from webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint

# Not put on the broker again while an earlier message for it may still be waiting.
REQUEUE_AFTER = dt.timedelta(minutes=5)


def endpoint_list(*, scope: Scope) -> QuerySet[WebhookEndpoint]:
    """Endpoints in scope: a customer's people see only their customer's."""
    return WebhookEndpoint.objects.for_scope(scope).select_related("customer").order_by("id")


def endpoint_get(*, scope: Scope, endpoint_id: int) -> WebhookEndpoint:
    return get_object_or_404(endpoint_list(scope=scope), pk=endpoint_id)


def delivery_list(
    *, scope: Scope, endpoint_id: int, status: str | None = None
) -> QuerySet[WebhookDelivery]:
    """An endpoint's deliveries, newest first, each with its attempts (two queries)."""
    endpoint = endpoint_get(scope=scope, endpoint_id=endpoint_id)
    qs = WebhookDelivery.objects.filter(vendor_id=scope.vendor_id, endpoint=endpoint)
    if status:
        qs = qs.filter(status=status)
    return qs.prefetch_related(
        Prefetch("log", queryset=WebhookAttempt.objects.order_by("at", "id"))
    ).order_by("-created_at", "-id")


def deliveries_due(*, limit: int = 500) -> list[tuple[int, int]]:
    """(vendor id, delivery id) of pending deliveries whose time has come, across vendors,
    leaving out those put on the broker moments ago."""
    now = timezone.now()
    with rls.system():
        return list(
            WebhookDelivery.objects.filter(
                status=DeliveryStatus.PENDING,
                next_attempt_at__lte=now,
                endpoint__enabled=True,
            )
            .exclude(queued_at__gt=now - REQUEUE_AFTER)
            .order_by("next_attempt_at", "id")
            .values_list("vendor_id", "id")[:limit]
        )
