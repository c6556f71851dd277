"""Domain events: one registry of what can happen, one way to say it happened.

A service that changes something people may want to hear about calls `emit(...)` in
its own transaction. The event row commits with the change or not at all; after
commit a task hands it to every listener named in `settings.DOMAIN_EVENT_LISTENERS`
(a tuple of dotted paths, fixed at start: no signals, no lists that modules append
to). Alerts and webhooks are listeners; they sit above every app that emits, so
the apps below never import them.

A listener takes one `DomainEvent` and must be idempotent: it keys what it writes
on `event.id`, because an event whose dispatch was interrupted is dispatched again
by the catch-up task. It should only write rows and enqueue its own tasks; slow
work (mail, HTTP) belongs in those tasks, not in the listener.

`KINDS` is the catalog: every kind, who it concerns, and the fields of its `data`.
The webhooks section of the OpenAPI schema and the README are written from it.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from cmi import rls
from cmi.models import DomainEvent

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EventKind:
    name: str
    title: str
    description: str
    # "customer": about one customer (its people and the vendor's may hear of it);
    # "vendor": about the vendor as a whole (only the vendor's people).
    scope: str
    # data field -> short description; the payload's `data` has exactly these keys.
    fields: Mapping[str, str] = field(default_factory=dict)


def _kinds(*kinds: EventKind) -> dict[str, EventKind]:
    return {k.name: k for k in kinds}


_BIN = {
    "bin_id": "the bin's id",
    "label": "the shelf label people type",
    "sku": "the item's SKU",
    "site": "the site's code",
    "on_hand": "units on hand now",
    "min_qty": "the bin's min",
    "max_qty": "the bin's max",
    "on_order": "units on open orders",
}
_ORDER = {
    "order_id": "the order's id",
    "number": "the order's number (the one visible identifier)",
    "status": "the order's status after the change",
    "lines": "number of lines",
    "total_units": "units ordered over all lines",
}

KINDS: dict[str, EventKind] = _kinds(
    EventKind("bin.at_zero", "Bin at zero", "A bin's on-hand reached zero.", "customer", _BIN),
    EventKind(
        "bin.below_min_unordered",
        "Below min with nothing on order",
        "A bin has been below its min for longer than the customer's threshold and has "
        "nothing on order.",
        "customer",
        {**_BIN, "since": "when the bin went below min"},
    ),
    EventKind(
        "order.awaiting_approval",
        "Order awaiting approval",
        "An order needs a customer manager's approval.",
        "customer",
        _ORDER,
    ),
    EventKind(
        "order.approval_overdue",
        "Order still awaiting approval",
        "An order has waited for approval longer than the threshold.",
        "customer",
        {**_ORDER, "waiting_hours": "hours since it began to wait"},
    ),
    EventKind(
        "order.released", "Order released", "An order went to the vendor.", "customer", _ORDER
    ),
    EventKind(
        "order.acknowledged",
        "Order acknowledged",
        "The vendor's ERP acknowledged an order (855).",
        "customer",
        _ORDER,
    ),
    EventKind(
        "order.changed",
        "Order changed by the vendor",
        "The vendor's acknowledgment changed quantities or refused lines.",
        "customer",
        {**_ORDER, "changes": "list of {line, sku, ordered, acknowledged}"},
    ),
    EventKind(
        "order.shipped",
        "Order shipped",
        "Goods for an order shipped (856).",
        "customer",
        {**_ORDER, "tracking": "carrier tracking numbers, if the ship notice had any"},
    ),
    EventKind(
        "order.received",
        "Order received",
        "Every line of an order was received.",
        "customer",
        _ORDER,
    ),
    EventKind(
        "scanner.silent",
        "Scanner silent",
        "A scanner has sent nothing for longer than the threshold.",
        "customer",
        {
            "device_id": "the scanner's id",
            "name": "its name",
            "site": "its site's code",
            "last_seen_at": "when it last posted",
        },
    ),
    EventKind(
        "edi.ack_overdue",
        "EDI acknowledgment overdue",
        "The ERP has not acknowledged an order's 850 in time.",
        "customer",
        {**_ORDER, "sent_at": "when the 850 was made available"},
    ),
    EventKind(
        "delivery.failed",
        "Webhook endpoint disabled",
        "Deliveries to a webhook endpoint kept failing and it was disabled.",
        "vendor",
        {"endpoint_id": "the endpoint's id", "url": "its URL", "last_error": "the last failure"},
    ),
    EventKind(
        "import.finished",
        "Import finished",
        "A bins or min/max import finished.",
        "customer",
        {"import_id": "the import's id", "rows": "rows applied", "errors": "rows refused"},
    ),
    EventKind(
        "recommendations.ready",
        "Recommendations ready",
        "New recommended min/max levels are ready to review.",
        "customer",
        {"count": "bins with a new recommendation"},
    ),
)


# Every kind's name, sorted: the one choice set for APIs that take a kind.
KIND_CHOICES: list[str] = sorted(KINDS)


class UnknownEventKind(ValueError):
    pass


def emit(
    kind: str,
    *,
    vendor_id: int,
    customer_id: int | None = None,
    site_id: int | None = None,
    subject_type: str = "",
    subject_id: Any = "",
    data: Mapping[str, Any] | None = None,
    occurred_at: dt.datetime | None = None,
) -> DomainEvent:
    """Record that `kind` happened, in the caller's transaction; listeners hear of it after commit."""
    spec = KINDS.get(kind)
    if spec is None:
        raise UnknownEventKind(kind)
    if spec.scope == "customer" and customer_id is None:
        raise ValueError(f"{kind} is about a customer: customer_id is required")
    event = DomainEvent.objects.create(
        vendor_id=vendor_id,
        customer_id=customer_id,
        site_id=site_id,
        kind=kind,
        subject_type=subject_type,
        subject_id="" if subject_id is None else str(subject_id),
        data=dict(data or {}),
        occurred_at=occurred_at or timezone.now(),
    )
    from cmi.broker import publish_on_commit
    from cmi.tasks import events_dispatch

    publish_on_commit(events_dispatch, args=(vendor_id, event.id))
    return event


@dataclass(frozen=True)
class Occurrence:
    """One event of a batch handed to `emit_many`: what `emit` takes, less the kind."""

    customer_id: int | None
    subject_type: str = ""
    subject_id: Any = ""
    data: Mapping[str, Any] = field(default_factory=dict)
    site_id: int | None = None


def emit_many(
    kind: str,
    *,
    vendor_id: int,
    occurrences: list[Occurrence],
    occurred_at: dt.datetime | None = None,
) -> list[int]:
    """`emit` for a batch: one insert and one dispatch task, whatever the batch's size;
    nothing at all when nothing happened.

    For set-based services (a batch of scans, a sweep) whose query count must not grow
    with the rows they touch.
    """
    spec = KINDS.get(kind)
    if spec is None:
        raise UnknownEventKind(kind)
    if spec.scope == "customer" and any(o.customer_id is None for o in occurrences):
        raise ValueError(f"{kind} is about a customer: customer_id is required")
    if not occurrences:
        return []
    when = occurred_at or timezone.now()
    ids = _insert(
        [
            (
                vendor_id,
                o.customer_id,
                o.site_id,
                kind,
                o.subject_type,
                "" if o.subject_id is None else str(o.subject_id),
                json.dumps(dict(o.data), cls=DjangoJSONEncoder),
                when,
            )
            for o in occurrences
        ]
    )
    if ids:
        from cmi.broker import publish_on_commit
        from cmi.tasks import events_dispatch_many

        publish_on_commit(events_dispatch_many, args=(vendor_id, ids))
    return ids


_COLUMNS = "vendor_id, customer_id, site_id, kind, subject_type, subject_id, data, occurred_at"


def _insert(rows: list[tuple]) -> list[int]:
    """One INSERT whatever the number of rows, none included, so that a batch's query
    count does not depend on whether anything happened. Returns the new ids."""
    table = connection.ops.quote_name(DomainEvent._meta.db_table)
    columns = list(zip(*rows, strict=True)) if rows else [()] * 8
    if connection.vendor == "postgresql":
        sql = (
            f"INSERT INTO {table} ({_COLUMNS}) "  # noqa: S608 (a fixed table and columns)
            "SELECT v, c, s, k, t, i, d::jsonb, o FROM unnest(%s::bigint[], %s::bigint[], "
            "%s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[], %s::timestamptz[]) "
            "AS u(v, c, s, k, t, i, d, o) RETURNING id"
        )
        params = [list(col) for col in columns]
    else:  # SQLite: the rows as one JSON array, unpacked by json_each
        adapt = connection.ops.adapt_datetimefield_value
        payload = json.dumps([[*row[:7], adapt(row[7])] for row in rows], cls=DjangoJSONEncoder)
        sql = (
            f"INSERT INTO {table} ({_COLUMNS}) "  # noqa: S608 (a fixed table and columns)
            "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), "
            "json_extract(value, '$[2]'), json_extract(value, '$[3]'), "
            "json_extract(value, '$[4]'), json_extract(value, '$[5]'), "
            "json_extract(value, '$[6]'), json_extract(value, '$[7]') "
            "FROM json_each(%s) WHERE 1 RETURNING id"
        )
        params = [payload]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return sorted(pk for (pk,) in cursor.fetchall())


@functools.cache
def listeners() -> tuple[Callable[[DomainEvent], None], ...]:
    return tuple(import_string(path) for path in settings.DOMAIN_EVENT_LISTENERS)


def dispatch(event_id: int) -> bool:
    """Hand one event to every listener; True once it is marked dispatched.

    Runs under the event's vendor (the caller sets it). A listener that raises is
    logged and leaves the event undispatched for the catch-up task; the others' work
    commits (it is keyed on the event, so doing it again writes nothing twice).
    """
    with transaction.atomic():
        event = (
            DomainEvent.objects.select_for_update(skip_locked=True)
            .filter(pk=event_id, dispatched_at__isnull=True)
            .first()
        )
        if event is None:
            return False  # already dispatched, or another worker has it now
        failed = False
        for listener in listeners():
            try:
                with transaction.atomic():
                    listener(event)
            except Exception:  # one broken listener must not starve the others
                failed = True
                log.exception("listener %r failed on event %s", listener, event.pk)
        if failed:
            return False
        event.dispatched_at = timezone.now()
        event.save(update_fields=["dispatched_at"])
    return True


def pending_dispatch(older_than: dt.timedelta, limit: int = 500) -> list[tuple[int, int]]:
    """(vendor id, event id) of events still undispatched after `older_than`, oldest first."""
    cutoff = timezone.now() - older_than
    # Across vendors by design: the catch-up task serves every tenant.
    with rls.system():
        return list(
            DomainEvent.objects.filter(dispatched_at__isnull=True, occurred_at__lt=cutoff)
            .order_by("occurred_at", "id")
            .values_list("vendor_id", "id")[:limit]
        )
