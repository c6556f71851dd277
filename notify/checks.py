"""The periodic checks: conditions that are news only after they have lasted.

A bin below min for N hours with nothing on order, an order still waiting for
approval after N hours, a scanner silent for N hours. Each condition seen is a Watch
row (since when, whether its event went out): the event is emitted once while the
condition lasts, and again only after it cleared and came back. The EDI
acknowledgment that is overdue is emitted by edi's own overdue sweep, which already
flags it. N is per customer (notify/thresholds.py: the customer's, else the vendor's
default, else the NOTIFY_* setting), read once per vendor. A fixed number of queries
per vendor and kind.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.db import transaction
from django.db.models import F

from cmi import events
from notify.models import ThresholdKind, Watch
from notify.thresholds import Thresholds, thresholds_load
from replenishment.models import Order, OrderStatus
from replenishment.services import order_events_emit
from stocking.models import Bin, ScannerDevice, quiet_for
from stocking.services import bin_event_data

Emit = Callable[[list[int], dict[int, dt.datetime]], None]


@transaction.atomic
def _watch(
    kind: str,
    *,
    vendor_id: int,
    now: dt.datetime,
    current: dict[int, dt.datetime | None],
    after: dict[int, dt.timedelta],
    emit: Emit,
) -> int:
    """Keep the kind's watches in step with `current` ({subject id: since, or None for
    'from now'}); emit for those due (`after` each subject's own wait) and not yet told.
    Returns events emitted."""
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
    due = sorted(sid for sid, t in since.items() if t <= now - after[sid] and sid not in told)
    if not due:
        return 0
    emit(due, since)
    Watch.objects.filter(vendor_id=vendor_id, kind=kind, subject_id__in=due).update(emitted_at=now)
    return len(due)


def _waits(
    kind: str, customer_of: dict[int, int], thresholds: Thresholds
) -> dict[int, dt.timedelta]:
    """Each subject's wait: its customer's hours for the kind."""
    hours = {c: thresholds.hours(c, kind) for c in set(customer_of.values())}
    return {sid: dt.timedelta(hours=hours[c]) for sid, c in customer_of.items()}


def bins_below_min(
    *, vendor_id: int, now: dt.datetime, thresholds: Thresholds | None = None
) -> int:
    """Active min/max bins below min with nothing on order, for their customer's hours."""
    thresholds = thresholds or thresholds_load(vendor_id=vendor_id)
    customer_of = dict(
        Bin.objects.filter(
            vendor_id=vendor_id,
            active=True,
            kanban_quantity__isnull=True,
            max_qty__gt=0,
            on_order=0,
            on_hand__lt=F("min_qty"),
        ).values_list("pk", "customer_id")
    )
    current: dict[int, dt.datetime | None] = dict.fromkeys(customer_of)

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
        after=_waits(ThresholdKind.BELOW_MIN, customer_of, thresholds),
        emit=emit,
    )


def approvals_overdue(
    *, vendor_id: int, now: dt.datetime, thresholds: Thresholds | None = None
) -> int:
    """Orders awaiting approval for longer than their customer's hours."""
    thresholds = thresholds or thresholds_load(vendor_id=vendor_id)
    waiting = list(
        Order.objects.filter(vendor_id=vendor_id, status=OrderStatus.AWAITING_APPROVAL).values_list(
            "pk", "created_at", "customer_id"
        )
    )
    current: dict[int, dt.datetime | None] = {pk: created for pk, created, _ in waiting}
    customer_of = {pk: customer_id for pk, _, customer_id in waiting}

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
        after=_waits(ThresholdKind.APPROVAL_WAITING, customer_of, thresholds),
        emit=emit,
    )


def scanners_silent(
    *, vendor_id: int, now: dt.datetime, thresholds: Thresholds | None = None
) -> int:
    """Active scanners that posted nothing for their customer's hours (counted from
    their adding when they never posted)."""
    thresholds = thresholds or thresholds_load(vendor_id=vendor_id)
    devices = ScannerDevice.objects.filter(vendor_id=vendor_id, revoked_at__isnull=True)
    rows = list(devices.values_list("pk", "last_seen_at", "created_at", "customer_id"))
    current: dict[int, dt.datetime | None] = {
        pk: last_seen or created for pk, last_seen, created, _ in rows
    }
    quiet_after = _waits(ThresholdKind.SCANNER_SILENT, {pk: c for pk, _, _, c in rows}, thresholds)
    # A scanner heard again clears its watch (its `since` is no longer the same quiet).
    watched = dict(
        Watch.objects.filter(vendor_id=vendor_id, kind="scanner.silent").values_list(
            "subject_id", "since"
        )
    )
    current = {
        pk: heard
        for pk, heard in current.items()
        if quiet_for(heard, now=now, after=quiet_after[pk])
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
        after=dict.fromkeys(current, dt.timedelta(0)),
        emit=emit,
    )


def checks_vendor(*, vendor_id: int, now: dt.datetime) -> int:
    """Every check of one vendor, its thresholds read once."""
    thresholds = thresholds_load(vendor_id=vendor_id)
    return (
        bins_below_min(vendor_id=vendor_id, now=now, thresholds=thresholds)
        + approvals_overdue(vendor_id=vendor_id, now=now, thresholds=thresholds)
        + scanners_silent(vendor_id=vendor_id, now=now, thresholds=thresholds)
    )
