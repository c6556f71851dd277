"""Writes of the webhooks app: endpoints, deliveries, attempts.

Sending one delivery is three steps so that no transaction stays open while a
receiver answers: `delivery_claim` (a conditional UPDATE pending -> sending, the one
way to own a delivery), the POST (webhooks.outbound), `delivery_record` (the attempt
row and the next step: delivered, retry at the next time of the schedule, or given
up, which may disable the endpoint and emit `delivery.failed`).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.shortcuts import get_object_or_404
from django.utils import timezone

from cmi import events
from cmi.broker import publish_on_commit
from cmi.errors import ApiError, Conflict
from cmi.models import Customer, DomainEvent
from cmi.scoping import Scope
from webhooks import outbound
from webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint

TEST_KIND = "webhook.test"
# How long a worker owns a claimed delivery; past it the beat task takes it back.
LEASE = dt.timedelta(minutes=2)
# A rotated secret keeps signing (as a second signature) this long.
ROTATION_OVERLAP = dt.timedelta(hours=24)


def retry_schedule() -> tuple[dt.timedelta, ...]:
    """Delay before attempt n+1 after attempt n failed; its length is the attempts."""
    return tuple(dt.timedelta(seconds=s) for s in settings.WEBHOOKS_RETRY_SCHEDULE)


def _msg_id() -> str:
    return "msg_" + uuid.uuid4().hex


def payload_for(kind: str, occurred_at: dt.datetime, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": kind, "timestamp": occurred_at.isoformat(), "data": data}


def body_bytes(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, cls=DjangoJSONEncoder, separators=(",", ":")).encode()


# --- endpoints -------------------------------------------------------------------------


def _check_url(url: str) -> None:
    try:
        outbound.target_for(url)
    except outbound.UrlRefused as exc:
        raise ApiError(str(exc.code), exc.message, field="url") from exc


def _check_kinds(kinds: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(kinds))
    unknown = [k for k in chosen if k not in events.KINDS]
    if unknown:
        raise ApiError(
            "unknown_event_kind", f"Unknown event kind: {', '.join(unknown)}.", field="kinds"
        )
    return chosen


def _customer_for(scope: Scope, customer_id: int | None) -> int | None:
    """A customer user's endpoints are always their customer's; vendor staff choose."""
    if scope.customer_ids is not None:
        if customer_id is not None and customer_id not in scope.customer_ids:
            raise ApiError("not_found", "No such customer.", field="customer", status_code=404)
        if scope.customer_id is None:
            raise ApiError("customer_required", "Choose the customer.", field="customer")
        return scope.customer_id
    if customer_id is not None:
        get_object_or_404(Customer.objects.for_scope(scope), pk=customer_id)
    return customer_id


@transaction.atomic
def endpoint_create(
    *,
    scope: Scope,
    url: str,
    kinds: Iterable[str] = (),
    customer_id: int | None = None,
    description: str = "",
) -> WebhookEndpoint:
    _check_url(url)
    return WebhookEndpoint.objects.create(
        vendor_id=scope.vendor_id,
        customer_id=_customer_for(scope, customer_id),
        url=url,
        kinds=_check_kinds(kinds),
        description=description,
        secret=outbound.secret_new(),
        created_by_id=scope.user_id,
    )


def _endpoint_locked(scope: Scope, endpoint_id: int) -> WebhookEndpoint:
    return get_object_or_404(
        WebhookEndpoint.objects.for_scope(scope).select_for_update(), pk=endpoint_id
    )


@transaction.atomic
def endpoint_update(
    *,
    scope: Scope,
    endpoint_id: int,
    url: str | None = None,
    kinds: Iterable[str] | None = None,
    description: str | None = None,
    enabled: bool | None = None,
) -> WebhookEndpoint:
    endpoint = _endpoint_locked(scope, endpoint_id)
    if url is not None and url != endpoint.url:
        _check_url(url)
        endpoint.url = url
    if kinds is not None:
        endpoint.kinds = _check_kinds(kinds)
    if description is not None:
        endpoint.description = description
    if enabled is not None and enabled != endpoint.enabled:
        endpoint.enabled = enabled
        endpoint.disabled_reason = "" if enabled else "Disabled by a person."
        endpoint.disabled_at = None if enabled else timezone.now()
    endpoint.save()
    return endpoint


@transaction.atomic
def endpoint_delete(*, scope: Scope, endpoint_id: int) -> None:
    _endpoint_locked(scope, endpoint_id).delete()


@transaction.atomic
def endpoint_rotate_secret(*, scope: Scope, endpoint_id: int) -> WebhookEndpoint:
    """A new secret; the old one keeps signing beside it for ROTATION_OVERLAP."""
    endpoint = _endpoint_locked(scope, endpoint_id)
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_until = timezone.now() + ROTATION_OVERLAP
    endpoint.secret = outbound.secret_new()
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_until"])
    return endpoint


def _require_enabled(endpoint: WebhookEndpoint) -> None:
    if not endpoint.enabled:
        raise Conflict(
            "endpoint_disabled", "The endpoint is disabled: enable it first.", field="enabled"
        )


@transaction.atomic
def endpoint_send_test(*, scope: Scope, endpoint_id: int) -> WebhookDelivery:
    """A synthetic `webhook.test` message (not a domain event), delivered like any other."""
    endpoint = _endpoint_locked(scope, endpoint_id)
    _require_enabled(endpoint)
    now = timezone.now()
    delivery = WebhookDelivery.objects.create(
        vendor_id=endpoint.vendor_id,
        endpoint=endpoint,
        msg_id=_msg_id(),
        kind=TEST_KIND,
        payload=payload_for(
            TEST_KIND,
            now,
            {"endpoint_id": endpoint.pk, "message": "A test message from the CMI platform."},
        ),
        next_attempt_at=now,
        queued_at=now,
        round_started_at=now,
    )
    _enqueue([delivery])
    return delivery


def _replay(endpoint: WebhookEndpoint, deliveries: Q) -> int:
    now = timezone.now()
    rows = list(
        WebhookDelivery.objects.filter(deliveries, endpoint=endpoint, status=DeliveryStatus.FAILED)
        .select_for_update()
        .order_by("pk")
    )
    WebhookDelivery.objects.filter(pk__in=[d.pk for d in rows]).update(
        status=DeliveryStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        queued_at=now,
        round_started_at=now,
        finished_at=None,
    )
    _enqueue(rows)
    return len(rows)


@transaction.atomic
def delivery_replay(*, scope: Scope, endpoint_id: int, delivery_id: int) -> int:
    """Send one failed delivery again, with the same webhook-id, from a fresh schedule."""
    endpoint = _endpoint_locked(scope, endpoint_id)
    delivery = get_object_or_404(WebhookDelivery.objects.filter(endpoint=endpoint), pk=delivery_id)
    _require_enabled(endpoint)
    if delivery.status != DeliveryStatus.FAILED:
        raise Conflict(
            "delivery_not_failed", "Only a failed delivery can be replayed.", field="delivery"
        )
    return _replay(endpoint, Q(pk=delivery.pk))


@transaction.atomic
def endpoint_replay_failed(*, scope: Scope, endpoint_id: int) -> int:
    """Every failed delivery of the endpoint again; returns how many."""
    endpoint = _endpoint_locked(scope, endpoint_id)
    _require_enabled(endpoint)
    return _replay(endpoint, Q())


# --- deliveries ------------------------------------------------------------------------


def _enqueue(deliveries: Iterable[WebhookDelivery]) -> None:
    from webhooks.tasks import delivery_send

    for delivery in deliveries:
        publish_on_commit(delivery_send, args=(delivery.vendor_id, delivery.pk))


def deliveries_for_event(event: DomainEvent) -> int:
    """The listener's write: one pending delivery per enabled endpoint that hears this
    event, keyed on (endpoint, event) so a second dispatch adds nothing."""
    endpoints = [
        e
        for e in WebhookEndpoint.objects.filter(vendor_id=event.vendor_id, enabled=True).filter(
            Q(customer__isnull=True) | Q(customer_id=event.customer_id)
        )
        if e.hears(event.kind)
    ]
    if not endpoints:
        return 0
    now = timezone.now()
    payload = payload_for(event.kind, event.occurred_at, event.data)
    WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                vendor_id=event.vendor_id,
                endpoint=e,
                event=event,
                msg_id=_msg_id(),
                kind=event.kind,
                payload=payload,
                next_attempt_at=now,
                queued_at=now,
                round_started_at=now,
            )
            for e in endpoints
        ],
        ignore_conflicts=True,
    )
    fresh = list(
        WebhookDelivery.objects.filter(
            event=event, endpoint__in=endpoints, status=DeliveryStatus.PENDING, attempts=0
        ).only("pk", "vendor_id")
    )
    _enqueue(fresh)
    return len(fresh)


def delivery_claim(*, vendor_id: int, delivery_id: int) -> WebhookDelivery | None:
    """Own a due delivery until the lease ends, or None (not due, or another has it)."""
    now = timezone.now()
    # Only this table's columns in the WHERE: PostgreSQL re-checks them on the row a
    # concurrent claimer just changed (a join would make Django match on ids only).
    claimed = WebhookDelivery.objects.filter(
        vendor_id=vendor_id,
        pk=delivery_id,
        status=DeliveryStatus.PENDING,
        next_attempt_at__lte=now,
    ).update(status=DeliveryStatus.SENDING, lease_until=now + LEASE)
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    if not delivery.endpoint.enabled:  # disabled meanwhile: leave it for a replay
        WebhookDelivery.objects.filter(pk=delivery_id).update(
            status=DeliveryStatus.PENDING, lease_until=None
        )
        return None
    return delivery


def signed_headers(delivery: WebhookDelivery, body: bytes, now: dt.datetime) -> dict[str, str]:
    endpoint = delivery.endpoint
    timestamp = int(now.timestamp())
    signatures = [outbound.sign(endpoint.secret, delivery.msg_id, timestamp, body)]
    if endpoint.previous_secret and (endpoint.previous_secret_until or now) > now:
        signatures.append(outbound.sign(endpoint.previous_secret, delivery.msg_id, timestamp, body))
    return {
        "webhook-id": delivery.msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signatures),
    }


def delivery_send(*, vendor_id: int, delivery_id: int) -> WebhookAttempt | None:
    """Claim, POST, record. None when there was nothing to send."""
    delivery = delivery_claim(vendor_id=vendor_id, delivery_id=delivery_id)
    if delivery is None:
        return None
    body = body_bytes(delivery.payload)
    now = timezone.now()
    outcome = outbound.post(delivery.endpoint.url, body, signed_headers(delivery, body, now))
    return delivery_record(delivery_id=delivery.pk, at=now, outcome=outcome)


@transaction.atomic
def delivery_record(
    *, delivery_id: int, at: dt.datetime, outcome: outbound.Outcome
) -> WebhookAttempt:
    """The attempt, and what follows it: done, the next try, or giving up."""
    delivery = (
        WebhookDelivery.objects.select_for_update().select_related("endpoint").get(pk=delivery_id)
    )
    attempt = WebhookAttempt.objects.create(
        vendor_id=delivery.vendor_id,
        delivery=delivery,
        at=at,
        status_code=outcome.status_code,
        response_ms=outcome.response_ms,
        error=outcome.error[:300],
        succeeded=outcome.succeeded,
    )
    now = timezone.now()
    delivery.attempts += 1
    delivery.last_status_code = outcome.status_code
    delivery.last_error = outcome.error[:300]
    delivery.lease_until = None
    schedule = retry_schedule()
    if outcome.succeeded:
        delivery.status = DeliveryStatus.SUCCEEDED
        delivery.next_attempt_at = None
        delivery.finished_at = now
        WebhookEndpoint.objects.filter(pk=delivery.endpoint_id).update(last_success_at=at)
    elif delivery.attempts <= len(schedule):
        delivery.status = DeliveryStatus.PENDING
        delivery.next_attempt_at = at + schedule[delivery.attempts - 1]
    else:
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
        delivery.finished_at = now
    delivery.save()
    if delivery.status == DeliveryStatus.FAILED:
        _maybe_disable(delivery)
    return attempt


def _maybe_disable(delivery: WebhookDelivery) -> None:
    """A delivery that failed its whole schedule (over 24 hours) with nothing getting
    through to the endpoint since disables the endpoint, and says so once."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=delivery.endpoint_id)
    if not endpoint.enabled:
        return
    if endpoint.last_success_at and endpoint.last_success_at >= delivery.round_started_at:
        return
    now = timezone.now()
    reason = f"Every attempt failed since {delivery.round_started_at:%Y-%m-%d %H:%M} UTC; last: {delivery.last_error}"
    endpoint.enabled = False
    endpoint.disabled_at = now
    endpoint.disabled_reason = reason[:300]
    endpoint.save(update_fields=["enabled", "disabled_at", "disabled_reason"])
    # What was still waiting for it fails too (replayable once it is enabled again).
    WebhookDelivery.objects.filter(
        endpoint=endpoint, status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING]
    ).update(
        status=DeliveryStatus.FAILED,
        next_attempt_at=None,
        finished_at=now,
        last_error="endpoint disabled",
    )
    events.emit(
        "delivery.failed",
        vendor_id=endpoint.vendor_id,
        customer_id=endpoint.customer_id,
        subject_type="webhook_endpoint",
        subject_id=endpoint.pk,
        data={"endpoint_id": endpoint.pk, "url": endpoint.url, "last_error": delivery.last_error},
    )


def leases_expire() -> int:
    """Deliveries whose worker died mid-send go back to pending, due now."""
    now = timezone.now()
    return WebhookDelivery.objects.filter(
        status=DeliveryStatus.SENDING, lease_until__lt=now
    ).update(status=DeliveryStatus.PENDING, lease_until=None, next_attempt_at=now)


def deliveries_mark_queued(ids: list[int]) -> None:
    WebhookDelivery.objects.filter(pk__in=ids).update(queued_at=timezone.now())
