"""Celery tasks of the alerts: send one mail, send the digests, run the checks.

A mail is sent at most once: the task claims its outbox row (pending -> sending)
under a row lock and commits that before talking to the mail server, so a second
task (a redelivered message, the catch-up) finds it claimed and does nothing. A
failed send puts it back to pending and retries with backoff; after the last retry
it is failed.
"""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.db import DatabaseError, transaction
from django.db.models import Model
from django.utils import timezone

from cmi import rls
from cmi.broker import publish, publish_on_commit
from cmi.models import DomainEvent, Vendor
from notify import checks
from notify.mail import digest_message, event_message
from notify.models import DeliveryStatus, Digest, EmailDelivery

log = logging.getLogger(__name__)

MAX_SEND_ATTEMPTS = 6


def _claim(model: type[Model], pk: int) -> Model | None:
    with transaction.atomic():
        row = model.objects.select_for_update().filter(pk=pk).first()
        if row is None or row.status != DeliveryStatus.PENDING:
            return None
        row.status = DeliveryStatus.SENDING
        row.attempts += 1
        row.save(update_fields=["status", "attempts"])
    return row


def _finish(model: type[Model], row: Model, error: Exception | None) -> None:
    if error is None:
        model.objects.filter(pk=row.pk).update(status=DeliveryStatus.SENT, sent_at=timezone.now())
        return
    status = DeliveryStatus.FAILED if row.attempts >= MAX_SEND_ATTEMPTS else DeliveryStatus.PENDING
    model.objects.filter(pk=row.pk).update(status=status, last_error=str(error)[:300])


def _send(task, model: type[Model], pk: int, build) -> bool:
    row = _claim(model, pk)
    if row is None:
        return False
    try:
        build(row).send()
    except Exception as exc:  # the mail server's failures are many; all are retried
        _finish(model, row, exc)
        if row.attempts >= MAX_SEND_ATTEMPTS:
            log.warning("giving up on %s %s: %s", model.__name__, pk, exc)
            return False
        raise task.retry(exc=exc, countdown=min(30 * 2**row.attempts, 3600)) from exc
    _finish(model, row, None)
    return True


@shared_task(
    bind=True,
    acks_late=True,
    max_retries=MAX_SEND_ATTEMPTS,
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    time_limit=60,
    soft_time_limit=50,
)
def email_send(self, vendor_id: int, delivery_id: int) -> bool:
    """Send one outbox mail (EmailDelivery), at most once."""

    def build(d: EmailDelivery):
        event = DomainEvent.objects.get(pk=d.event_id)
        return event_message(to=d.to, user_id=d.user_id, event=event)

    with rls.vendor(vendor_id):
        return _send(self, EmailDelivery, delivery_id, build)


@shared_task(
    bind=True,
    acks_late=True,
    max_retries=MAX_SEND_ATTEMPTS,
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    time_limit=60,
    soft_time_limit=50,
)
def digest_send(self, vendor_id: int, digest_id: int) -> bool:
    """Send one user's daily digest, at most once."""

    def build(digest: Digest):
        rows = list(
            EmailDelivery.objects.filter(digest_id=digest.pk)
            .select_related("event")
            .order_by("created_at", "pk")
        )
        to = rows[-1].to if rows else ""
        return digest_message(to=to, user_id=digest.user_id, events=[r.event for r in rows])

    with rls.vendor(vendor_id):
        return _send(self, Digest, digest_id, build)


def digests_collect(*, vendor_id: int, day: dt.date) -> list[int]:
    """Gather each user's waiting mails into the day's digest; ids of digests to send."""
    with transaction.atomic():
        waiting = list(
            EmailDelivery.objects.select_for_update()
            .filter(vendor_id=vendor_id, status=DeliveryStatus.DIGEST, digest__isnull=True)
            .values_list("pk", "user_id")
        )
        users = sorted({user_id for _, user_id in waiting})
        if not users:
            return []
        Digest.objects.bulk_create(
            [Digest(vendor_id=vendor_id, user_id=u, day=day) for u in users],
            ignore_conflicts=True,
        )
        digests = dict(
            Digest.objects.filter(
                vendor_id=vendor_id, user_id__in=users, day=day, status=DeliveryStatus.PENDING
            ).values_list("user_id", "pk")
        )
        for user_id, digest_id in digests.items():
            EmailDelivery.objects.filter(pk__in=[pk for pk, u in waiting if u == user_id]).update(
                digest_id=digest_id, status=DeliveryStatus.DIGESTED
            )
        for digest_id in digests.values():
            publish_on_commit(digest_send, args=(vendor_id, digest_id))
    return sorted(digests.values())


@shared_task(acks_late=True, time_limit=300, soft_time_limit=280)
def digests_send() -> int:
    """Daily: every vendor's waiting mails, one digest per user."""
    day = timezone.now().date()
    with rls.system():
        vendor_ids = list(Vendor.objects.order_by("pk").values_list("pk", flat=True))
    done = 0
    for vendor_id in vendor_ids:
        with rls.vendor(vendor_id):
            done += len(digests_collect(vendor_id=vendor_id, day=day))
    return done


@shared_task(acks_late=True, time_limit=120, soft_time_limit=100)
def emails_catch_up() -> int:
    """Every few minutes: mails whose task was lost (broker down) are queued again."""
    cutoff = timezone.now() - dt.timedelta(minutes=2)
    with rls.system():
        rows = list(
            EmailDelivery.objects.filter(status=DeliveryStatus.PENDING, created_at__lt=cutoff)
            .order_by("pk")
            .values_list("vendor_id", "pk")[:500]
        )
    return sum(publish(email_send, args=(vendor_id, pk)) for vendor_id, pk in rows)


@shared_task(acks_late=True, time_limit=600, soft_time_limit=570)
def checks_run() -> int:
    """Every 15 minutes: the periodic checks (notify/checks.py), vendor by vendor."""
    now = timezone.now()
    with rls.system():
        vendor_ids = list(Vendor.objects.order_by("pk").values_list("pk", flat=True))
    emitted = 0
    for vendor_id in vendor_ids:
        with rls.vendor(vendor_id):
            emitted += checks.checks_vendor(vendor_id=vendor_id, now=now)
    return emitted
