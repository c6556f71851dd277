"""The periodic checks: conditions that are news only after they have lasted.

A bin below min for N hours with nothing on order, an order still waiting for
approval after N hours, a scanner silent for N hours. Each condition seen is a Watch
row (since when, whether its event went out): the event is emitted once while the
condition lasts, and again only after it cleared and came back. The EDI
acknowledgment that is overdue is emitted by edi's own overdue sweep, which already
flags it. A fixed number of queries per vendor and kind.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.conf import settings
from django.db import transaction
from django.db.models import F

from cmi import events
from notify.models import Watch
from replenishment.models import Order, OrderStatus
from replenishment.services import order_events_emit
from stocking.models import Bin, ScannerDevice
from stocking.services import bin_event_data

Emit = Callable[[list[int], dict[int, dt.datetime]], None]


@transaction.atomic
def _watch(
    kind: str,
    *,
    vendor_id: int,
    now: dt.datetime,
    current: dict[int, dt.datetime | None],
    after: dt.timedelta,
    emit: Emit,
) -> int:
    """Keep the kind's watches in step with `current` ({subject id: since, or None for
    'from now'}); emit for those due and not yet told. Returns events emitted."""
    watches = {
        w.subject_id: w
        for w in Watch.objects.select_for_update().filter(vendor_id=vendor_id, kind=kind)
    }
    gone = [w.pk for sid, w in watches.items() if sid not in current]
    if gone:
        Watch.objects.filter(pk__in=gone).delete()
    new = [
        Watch(vendor_id=vendor_id, kind=kind, subject_id=sid, since=since or now)
        for sid, since in current.items()
        if sid not in watches
    ]
    Watch.objects.bulk_create(new)
    since = {
        **{w.subject_id: w.since for w in new},
        **{sid: w.since for sid, w in watches.items() if sid in current},
    }
    told = {sid for sid, w in watches.items() if w.emitted_at is not None and sid in current}
    due = sorted(sid for sid, t in since.items() if t <= now - after and sid not in told)
    if not due:
        return 0
    emit(due, since)
    Watch.objects.filter(vendor_id=vendor_id, kind=kind, subject_id__in=due).update(emitted_at=now)
    return len(due)


def bins_below_min(*, vendor_id: int, now: dt.datetime) -> int:
    """Active min/max bins below min with nothing on order, for NOTIFY_BELOW_MIN_HOURS."""
    current: dict[int, dt.datetime | None] = dict.fromkeys(
        Bin.objects.filter(
            vendor_id=vendor_id,
            active=True,
            kanban_quantity__isnull=True,
            max_qty__gt=0,
            on_order=0,
            on_hand__lt=F("min_qty"),
        ).values_list("pk", flat=True)
    )

    def emit(due: list[int], since: dict[int, dt.datetime]) -> None:
        found = Bin.objects.filter(pk__in=due).select_related("item", "site").order_by("pk")
        events.emit_many(
            "bin.below_min_unordered",
            vendor_id=vendor_id,
            occurrences=[
                events.Occurrence(
                    customer_id=b.customer_id,
                    site_id=b.site_id,
                    subject_type="bin",
                    subject_id=b.pk,
                    data={**bin_event_data(b), "since": since[b.pk].isoformat()},
                )
                for b in found
            ],
        )

    return _watch(
        "bin.below_min_unordered",
        vendor_id=vendor_id,
        now=now,
        current=current,
        after=dt.timedelta(hours=settings.NOTIFY_BELOW_MIN_HOURS),
        emit=emit,
    )


def approvals_overdue(*, vendor_id: int, now: dt.datetime) -> int:
    """Orders awaiting approval for longer than NOTIFY_APPROVAL_HOURS."""
    current: dict[int, dt.datetime | None] = dict(
        Order.objects.filter(vendor_id=vendor_id, status=OrderStatus.AWAITING_APPROVAL).values_list(
            "pk", "created_at"
        )
    )

    def emit(due: list[int], since: dict[int, dt.datetime]) -> None:
        order_events_emit(
            "order.approval_overdue",
            vendor_id=vendor_id,
            order_ids=due,
            extra={
                pk: {"waiting_hours": int((now - since[pk]).total_seconds() // 3600)} for pk in due
            },
        )

    return _watch(
        "order.approval_overdue",
        vendor_id=vendor_id,
        now=now,
        current=current,
        after=dt.timedelta(hours=settings.NOTIFY_APPROVAL_HOURS),
        emit=emit,
    )


def scanners_silent(*, vendor_id: int, now: dt.datetime) -> int:
    """Active scanners that posted nothing for NOTIFY_SCANNER_SILENT_HOURS (counted from
    their adding when they never posted)."""
    current: dict[int, dt.datetime | None] = {
        pk: last_seen or created
        for pk, last_seen, created in ScannerDevice.objects.filter(
            vendor_id=vendor_id, revoked_at__isnull=True
        ).values_list("pk", "last_seen_at", "created_at")
    }
    # A scanner heard again clears its watch (its `since` is no longer the same quiet).
    watched = dict(
        Watch.objects.filter(vendor_id=vendor_id, kind="scanner.silent").values_list(
            "subject_id", "since"
        )
    )
    quiet_after = dt.timedelta(hours=settings.NOTIFY_SCANNER_SILENT_HOURS)
    current = {
        pk: heard
        for pk, heard in current.items()
        if heard is not None
        and heard <= now - quiet_after
        and (pk not in watched or watched[pk] == heard)
    }

    def emit(due: list[int], since: dict[int, dt.datetime]) -> None:
        found = ScannerDevice.objects.filter(pk__in=due).select_related("site").order_by("pk")
        events.emit_many(
            "scanner.silent",
            vendor_id=vendor_id,
            occurrences=[
                events.Occurrence(
                    customer_id=d.customer_id,
                    site_id=d.site_id,
                    subject_type="device",
                    subject_id=d.pk,
                    data={
                        "device_id": d.pk,
                        "name": d.name,
                        "site": d.site.code if d.site else "",
                        "last_seen_at": d.last_seen_at,
                    },
                )
                for d in found
            ],
        )

    return _watch(
        "scanner.silent",
        vendor_id=vendor_id,
        now=now,
        current=current,
        after=dt.timedelta(0),
        emit=emit,
    )


def checks_vendor(*, vendor_id: int, now: dt.datetime) -> int:
    return (
        bins_below_min(vendor_id=vendor_id, now=now)
        + approvals_overdue(vendor_id=vendor_id, now=now)
        + scanners_silent(vendor_id=vendor_id, now=now)
    )
