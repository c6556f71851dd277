"""Writes to stock. Every change of on-hand writes its ledger row in the same transaction."""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from catalog.models import Item
from cmi import events as domain_events
from cmi.rows import rows_converted, rows_insert_new, rows_insert_values, rows_update_values
from cmi.scoping import Scope
from stocking import hooks
from stocking.models import (
    Bin,
    LedgerEntry,
    MovementKind,
    RfidCard,
    ScanEvent,
    ScannerDevice,
    Site,
)
from stocking.resolve import PlacedBin, resolver_build
from stocking.scans import ScanInput, ScanRejected, raw_event_id, scan_parse

log = logging.getLogger(__name__)

ACCEPTED, DUPLICATE, REJECTED = "accepted", "duplicate", "rejected"
LAST_SEEN_EVERY = dt.timedelta(minutes=1)
# What applying events reads and writes of a locked bin, and bin_event_data's fields;
# the item's and site's few values come as columns of the bin's row (no model
# instances for them: at a thousand bins those cost more than the statement).
LOCKED_BIN_COLUMNS = (
    "customer_id",
    "site_id",
    "label",
    "min_qty",
    "max_qty",
    "on_hand",
    "on_order",
    "kanban_quantity",
    "tare_grams",
    "last_count_at",
    "last_scan_at",
    "updated_at",
)


@dataclass
class ScanResult:
    event_id: str | None
    status: str
    error: dict | None = None

    def as_dict(self) -> dict:
        return {"event_id": self.event_id, "status": self.status, "error": self.error}


@dataclass
class ScanBatchResult:
    results: list[ScanResult]
    touched_bin_ids: set[int] = field(default_factory=set)

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    def as_dict(self) -> dict:
        return {
            "results": [r.as_dict() for r in self.results],
            "accepted": self.count(ACCEPTED),
            "duplicates": self.count(DUPLICATE),
            "rejected": self.count(REJECTED),
        }


def weight_to_count(
    *, gross_grams: Decimal, tare_grams: Decimal, unit_weight_grams: Decimal
) -> int:
    """quantity = round((gross - tare) / unit weight), never below zero."""
    pieces = ((gross_grams - tare_grams) / unit_weight_grams).quantize(
        Decimal(1), rounding=ROUND_HALF_UP
    )
    return max(int(pieces), 0)


def _reject(results: list[ScanResult], index: int, err: ScanRejected) -> None:
    results[index].status = REJECTED
    results[index].error = {"code": err.code, "detail": err.detail}


def scan_batch_ingest(
    *, scope: Scope, events: list[Any], now: dt.datetime | None = None
) -> ScanBatchResult:
    """Judge each event alone, store the good ones, apply them per bin in time order.

    The query count does not depend on the number of events. Idempotent per customer:
    an event id stored for the bin's customer before (or earlier in the batch) is a duplicate and changes
    nothing, also when the same batch is posted twice at the same moment.
    """
    now = now or timezone.now()
    results = [ScanResult(event_id=raw_event_id(raw), status=ACCEPTED) for raw in events]
    parsed: list[ScanInput] = []
    seen: set = set()
    for index, raw in enumerate(events):
        try:
            scan = scan_parse(raw, index=index, now=now)
        except ScanRejected as err:
            _reject(results, index, err)
            continue
        results[index].event_id = str(scan.event_id)
        if scan.event_id in seen:
            results[index].status = DUPLICATE
            continue
        seen.add(scan.event_id)
        parsed.append(scan)

    resolver = resolver_build(scope=scope, scans=parsed)
    placed: list[tuple[ScanInput, Bin | PlacedBin]] = []
    for scan in parsed:
        try:
            found = resolver.bin_for(scan)
            _check_kind(scan, found)
            read = resolver.gs1_for(scan)
            if read is not None:
                scan.lot, scan.expiry = read.lot or None, read.expiry
        except ScanRejected as err:
            _reject(results, scan.index, err)
            continue
        placed.append((scan, found))

    for attempt in range(3):
        try:
            touched = _store(scope=scope, placed=placed, results=results, now=now)
            break
        except IntegrityError:
            # A concurrent post of the same events won the race: read again, they
            # are duplicates now. The database's unique constraint decided.
            if attempt == 2:
                raise
            for scan, _ in placed:
                results[scan.index].status = ACCEPTED
    return ScanBatchResult(results=results, touched_bin_ids=touched)


def _seen_lately(scope: Scope, now: dt.datetime) -> bool:
    """The device's last_seen_at, as its token lookup read it, is under a minute old:
    no statement at all (the conditional UPDATE below would change nothing)."""
    seen = scope.device_seen_at
    return seen is not None and seen >= now - LAST_SEEN_EVERY


def _device_seen(device_id: int, now: dt.datetime) -> None:
    """Write the device's last_seen_at, at most once a minute and never waiting.

    The row is shared by every post of the device. When a minute has passed, every post
    in flight reads it as old; a plain UPDATE would queue all but the first behind the
    first's row lock until its whole ingest commits (a convoy of the device's posts once
    a minute). The others skip the locked row instead: the one holding it writes the
    time. NO KEY UPDATE, like the UPDATE itself, so the key-share locks of the scan
    events' foreign keys do not make it skip."""
    stale = (
        ScannerDevice.objects.filter(pk=device_id)
        .filter(Q(last_seen_at__isnull=True) | Q(last_seen_at__lt=now - LAST_SEEN_EVERY))
        .select_for_update(no_key=True, skip_locked=True)
        .order_by()
        .values("pk")
    )
    ScannerDevice.objects.filter(pk__in=stale).update(last_seen_at=now)


# The columns the ingest writes, in the order of its row tuples.
EVENT_FIELDS = (
    "vendor_id",
    "customer_id",
    "event_id",
    "bin_id",
    "kind",
    "code",
    "location_code",
    "quantity",
    "gross_grams",
    "occurred_at",
    "received_at",
    "device_id",
    "user_id",
    "kanban_pending",
)
LEDGER_FIELDS = (
    "vendor_id",
    "customer_id",
    "bin_id",
    "kind",
    "quantity",
    "delta",
    "on_hand_after",
    "applied",
    "scan_event_id",
    "device_id",
    "user_id",
    "occurred_at",
    "received_at",
    "lot",
    "expiry",
)


# What applying events changes of a bin, written back in one statement.
BIN_WRITTEN = ("on_hand", "on_order", "last_count_at", "last_scan_at", "updated_at")


def _bin_written(b: LockedBin) -> tuple:
    return (b.pk, b.on_hand, b.on_order, b.last_count_at, b.last_scan_at, b.updated_at)


def _check_kind(scan: ScanInput, found: Bin | PlacedBin) -> None:
    if scan.kind == MovementKind.WEIGHT and (
        found.tare_grams is None or not found.unit_weight_grams
    ):
        raise ScanRejected(
            "missing_weight_setup", f"Bin {found.label} has no tare or its item no unit weight."
        )
    if scan.kind == MovementKind.KANBAN and not found.kanban_quantity:
        raise ScanRejected("not_kanban_bin", f"Bin {found.label} has no kanban quantity.")


@transaction.atomic
def _store(
    *,
    scope: Scope,
    placed: list[tuple[ScanInput, Bin | PlacedBin]],
    results: list[ScanResult],
    now: dt.datetime,
) -> set[int]:
    if scope.device_id is not None and not _seen_lately(scope, now):
        _device_seen(scope.device_id, now)
    if not placed:
        return set()
    bin_ids = sorted({b.pk for _, b in placed})
    # Lock in primary-key order, then store the events: a concurrent post of the same
    # batch waits here, and its insert then skips the events the other one stored.
    bins = _bins_lock(bin_ids)
    # An event id is one event per customer (another customer's scanner may reuse it):
    # the unique (vendor, customer, event id) skips the ones stored before, in one
    # statement that is also the duplicate lookup.
    kanban = MovementKind.KANBAN
    stored = rows_insert_new(
        ScanEvent,
        EVENT_FIELDS,
        [
            (
                scope.vendor_id,
                b.customer_id,
                s.event_id,
                b.pk,
                s.kind,
                s.code,
                s.location,
                s.quantity,
                s.gross_grams,
                s.occurred_at,
                now,
                scope.device_id,
                scope.user_id,
                s.kind == kanban,
            )
            for s, b in placed
        ],
        returning=("id", "customer_id", "event_id"),
    )
    event_pk = {(customer_id, event_id): pk for pk, customer_id, event_id in stored}
    fresh, taken = [], set()
    for scan, found in placed:
        key = (found.customer_id, scan.event_id)
        if key not in event_pk or key in taken:  # stored before, or earlier in `placed`
            results[scan.index].status = DUPLICATE
        else:
            taken.add(key)
            fresh.append((scan, bins[found.pk]))
    if not fresh:
        return set()
    had_stock = {b.pk for _, b in fresh if b.on_hand > 0}
    ledger, receipts = _apply(scope=scope, fresh=fresh, event_pk=event_pk, now=now)
    rows_insert_values(LedgerEntry, LEDGER_FIELDS, ledger)
    if receipts:
        for bin_id, quantity in hooks.receipts_allocate(
            vendor_id=scope.vendor_id, receipts=receipts
        ).items():
            bins[bin_id].on_order = max(bins[bin_id].on_order - quantity, 0)
        # The refill is here: the bin's RFID kanban cards that ordered it may order again.
        # Cards belong to kanban bins only, so a min/max receipt costs no query here.
        carded_receipts = sorted(pk for pk in receipts if bins[pk].kanban_quantity)
        if carded_receipts:
            RfidCard.objects.filter(bin_id__in=carded_receipts, armed=False).update(
                armed=True, armed_at=now
            )
    touched = {b.pk for _, b in fresh}
    written = timezone.now()  # what the field's auto_now would write
    for pk in touched:
        bins[pk].last_scan_at = max(bins[pk].last_scan_at or now, now)
        bins[pk].updated_at = written
    rows_update_values(Bin, BIN_WRITTEN, [_bin_written(bins[pk]) for pk in sorted(touched)])
    _at_zero_emit(scope, [bins[pk] for pk in sorted(had_stock) if bins[pk].on_hand == 0])
    # Only bins the rule may order for are handed over: a min/max bin at its reorder
    # point, or a kanban bin that got a card. The rest cost no evaluation at all.
    carded = {b.pk for s, b in fresh if s.kind == MovementKind.KANBAN}
    hooks.bins_touched(
        vendor_id=scope.vendor_id,
        bin_ids=[
            pk
            for pk in touched
            if pk in carded or (not bins[pk].kanban_quantity and bins[pk].at_reorder_point)
        ],
    )
    return touched


class LockedBin:
    """A bin as the ingest reads it under its lock: LOCKED_BIN_COLUMNS, the item's unit
    weight and SKU and the site's code, as plain attributes.

    Not a model instance: building a thousand of those (``Model.__init__`` per row) cost
    the ingest more CPU than the database spends locking the rows. What the ingest asks
    of a bin (``pk``, ``at_reorder_point``) reads the same here.
    """

    __slots__ = ("pk", *LOCKED_BIN_COLUMNS, "unit_weight_grams", "item_sku", "site_code")
    at_reorder_point = Bin.at_reorder_point

    def __init__(self, values: tuple) -> None:
        for name, value in zip(self.__slots__, values, strict=True):
            setattr(self, name, value)


def _bins_lock(bin_ids: list[int]) -> dict[int, LockedBin]:
    """Lock the bins in primary-key order and read them (LockedBin).

    It is what ``Bin.objects.select_for_update(of=("self",)).filter(pk__in=…)
    .only(*LOCKED_BIN_COLUMNS).annotate(…).order_by("pk")`` reads, written out because
    every scan post runs it and compiling that queryset cost more CPU than the database
    takes to answer it. Each column gets the converters the ORM would apply (none on
    PostgreSQL); on PostgreSQL the ids go as one array, so the statement's text is the
    same for every batch.
    """
    qn = connection.ops.quote_name
    meta = Bin._meta
    item, site = Item._meta, Site._meta
    fields = [
        (meta.pk, "b"),
        *((meta.get_field(name), "b") for name in LOCKED_BIN_COLUMNS),
        (item.get_field("unit_weight_grams"), "i"),
        (item.get_field("sku"), "i"),
        (site.get_field("code"), "s"),
    ]
    if connection.vendor == "postgresql":
        where, params = f"b.{qn('id')} = ANY(%s)", [bin_ids]
    else:
        where, params = f"b.{qn('id')} IN ({', '.join(['%s'] * len(bin_ids))})", bin_ids
    lock = " FOR UPDATE OF b" if connection.features.has_select_for_update else ""
    sql = (
        f"SELECT {', '.join(f'{alias}.{qn(f.column)}' for f, alias in fields)} "  # noqa: S608 (model names)
        f"FROM {qn(meta.db_table)} b "
        f"INNER JOIN {qn(item.db_table)} i ON i.{qn('id')} = b.{qn('item_id')} "
        f"INNER JOIN {qn(site.db_table)} s ON s.{qn('id')} = b.{qn('site_id')} "
        f"WHERE {where} ORDER BY b.{qn('id')} ASC{lock}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = rows_converted(cursor.fetchall(), [f for f, _ in fields])
    return {row[0]: LockedBin(row) for row in rows}


def _at_zero_emit(scope: Scope, emptied: list[LockedBin]) -> None:
    """bin.at_zero once per bin per batch that took it from stock to zero: one insert."""
    domain_events.emit_many(
        "bin.at_zero",
        vendor_id=scope.vendor_id,
        occurrences=[
            domain_events.Occurrence(
                customer_id=b.customer_id,
                site_id=b.site_id,
                subject_type="bin",
                subject_id=b.pk,
                data=bin_event_data(b, sku=b.item_sku, site=b.site_code),
            )
            for b in emptied
        ],
    )


def bin_event_data(b: Bin, *, sku: str | None = None, site: str | None = None) -> dict:
    """The `data` of a bin's domain events (cmi/events.py _BIN): the item's SKU and the
    site's code as given, else read from the bin's item and site (loaded)."""
    return {
        "bin_id": b.pk,
        "label": b.label,
        "sku": sku if sku is not None else b.item.sku,
        "site": site if site is not None else b.site.code,
        "on_hand": b.on_hand,
        "min_qty": b.min_qty,
        "max_qty": b.max_qty,
        "on_order": b.on_order,
    }


def scan_events_store(
    *,
    scope: Scope,
    placed: list[tuple[ScanInput, Bin | PlacedBin]],
    results: list[ScanResult],
    now: dt.datetime,
) -> set[int]:
    """The ingest's writer for events already placed on their bins (RFID reads are such
    events): stored once per customer and event id, applied per bin in time order."""
    return _store(scope=scope, placed=placed, results=results, now=now)


def _later_deltas(
    fresh: list[tuple[ScanInput, LockedBin]],
) -> dict[int, list[tuple[dt.datetime, int]]]:
    """Applied issues and receipts stored before a count that happened before them.

    A count that arrives late replaces on-hand as of its time; what happened after it
    (and was already applied) is added back on top.
    """
    counted = {
        b.pk: s.occurred_at for s, b in fresh if s.kind in (MovementKind.COUNT, MovementKind.WEIGHT)
    }
    out: dict[int, list[tuple[dt.datetime, int]]] = defaultdict(list)
    if not counted:
        return out
    rows = LedgerEntry.objects.filter(
        bin_id__in=list(counted),
        occurred_at__gt=min(counted.values()),
        applied=True,
        kind__in=[MovementKind.RECEIVE, MovementKind.ISSUE],
    ).values_list("bin_id", "occurred_at", "delta")
    for bin_id, occurred_at, delta in rows:
        out[bin_id].append((occurred_at, delta))
    return out


def _apply(
    *, scope: Scope, fresh: list[tuple[ScanInput, LockedBin]], event_pk: dict, now: dt.datetime
) -> tuple[list[tuple], dict[int, int]]:
    """Walk each bin's new events in the order they happened; bins are changed in memory."""
    later = _later_deltas(fresh)
    ledger: list[tuple] = []  # rows of LEDGER_FIELDS
    receipts: dict[int, int] = defaultdict(int)
    for scan, found in sorted(fresh, key=lambda sb: (sb[1].pk, sb[0].occurred_at, sb[0].index)):
        if scan.kind == MovementKind.KANBAN:
            continue
        before_count = found.last_count_at is not None and scan.occurred_at < found.last_count_at
        applied = not before_count
        if scan.kind == MovementKind.RECEIVE:
            quantity = scan.quantity or 0
            receipts[found.pk] += quantity  # arrived goods leave on-order even when late
            new = found.on_hand + quantity if applied else found.on_hand
        elif scan.kind == MovementKind.ISSUE:
            quantity = scan.quantity or 0
            new = max(found.on_hand - quantity, 0) if applied else found.on_hand
        else:
            if scan.kind == MovementKind.WEIGHT:
                quantity = weight_to_count(
                    gross_grams=scan.gross_grams or Decimal(0),
                    tare_grams=found.tare_grams or Decimal(0),
                    unit_weight_grams=found.unit_weight_grams or Decimal(1),
                )
            else:
                quantity = scan.quantity or 0
            if applied:
                after = sum(d for when, d in later.get(found.pk, []) if when > scan.occurred_at)
                new = max(quantity + after, 0)
                found.last_count_at = scan.occurred_at
            else:
                new = found.on_hand
        ledger.append(
            (
                scope.vendor_id,
                found.customer_id,
                found.pk,
                scan.kind,
                quantity,
                new - found.on_hand,
                new,
                applied,
                event_pk[(found.customer_id, scan.event_id)],
                scope.device_id,
                scope.user_id,
                scan.occurred_at,
                now,
                scan.lot,
                scan.expiry,
            )
        )
        found.on_hand = new
    return ledger, dict(receipts)


def on_hand_rebuild(*, bin_id: int) -> int:
    """On-hand as the ledger tells it: the sum of every applied change."""
    from django.db.models import Sum

    return LedgerEntry.objects.filter(bin_id=bin_id).aggregate(total=Sum("delta"))["total"] or 0
