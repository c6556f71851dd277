"""Writes to orders: evaluation, release, approval, cancellation, receipts.

Locks are always taken in the same order, so that no two writers wait on each other:
site -> bin -> order -> line.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable

from django.db import transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from cmi.errors import ApiError, Conflict
from cmi.models import Customer, ReleasePolicy, Vendor, VendorSequence
from cmi.scoping import Scope
from replenishment.models import (
    COLLECTING,
    OUTSTANDING,
    Order,
    OrderEvent,
    OrderEventKind,
    OrderLine,
    OrderStatus,
)
from replenishment.rules import shortfall
from stocking.models import Bin, ScanEvent, Site

log = logging.getLogger(__name__)

CANCELLABLE = (
    OrderStatus.DRAFT,
    OrderStatus.AWAITING_APPROVAL,
    OrderStatus.RELEASED,
    OrderStatus.ACKNOWLEDGED,
)


# --- evaluation ---------------------------------------------------------------


@transaction.atomic
def bins_evaluate(*, vendor_id: int, bin_ids: Iterable[int]) -> list[int]:
    """Order what the bins are short of; return the ids of orders that got lines.

    Safe to run any number of times at once: each bin is evaluated under its row
    lock, and what it orders goes into on-order in the same transaction, so a second
    evaluation sees the position already covered.
    """
    ids = sorted(set(bin_ids))
    if not ids:
        return []
    site_ids = sorted(
        set(Bin.objects.filter(vendor_id=vendor_id, pk__in=ids).values_list("site_id", flat=True))
    )
    list(
        Site.objects.select_for_update()
        .filter(pk__in=site_ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    bins = list(
        Bin.objects.select_for_update(of=("self",))
        .filter(vendor_id=vendor_id, pk__in=ids, active=True)
        .select_related("item")
        .order_by("pk")
    )
    kanban_ids = [b.pk for b in bins if b.kanban_quantity]
    pending: dict[int, list[int]] = defaultdict(list)
    if kanban_ids:
        for event_pk, bin_id in ScanEvent.objects.filter(
            bin_id__in=kanban_ids, kanban_pending=True
        ).values_list("pk", "bin_id"):
            pending[bin_id].append(event_pk)

    needs: dict[int, int] = {}
    for b in bins:
        if b.kanban_quantity:
            quantity = len(pending.get(b.pk, ())) * b.kanban_quantity
        else:
            quantity = shortfall(
                on_hand=b.on_hand,
                on_order=b.on_order,
                min_qty=b.min_qty,
                max_qty=b.max_qty,
                pack_multiple=b.pack_multiple,
            )
        if quantity > 0 and b.item.active:
            needs[b.pk] = quantity
    if not needs:
        return []
    by_pk = {b.pk: b for b in bins}
    orders = _collecting_orders(vendor_id=vendor_id, bins=[by_pk[pk] for pk in needs])
    _lines_add(vendor_id=vendor_id, orders=orders, needs=needs, bins=by_pk)
    done = [e for pk in needs for e in pending.get(pk, ())]
    if done:
        ScanEvent.objects.filter(pk__in=done).update(kanban_pending=False)
    Bin.objects.bulk_update([by_pk[pk] for pk in needs], ["on_order"])
    _after_lines(vendor_id=vendor_id, orders=list(orders.values()))
    return sorted(o.pk for o in orders.values())


def _collecting_orders(*, vendor_id: int, bins: list[Bin]) -> dict[int, Order]:
    """The open order of each bin's site, made when there is none (sites are locked)."""
    site_ids = {b.site_id for b in bins}
    orders = {
        o.site_id: o
        for o in Order.objects.select_for_update(of=("self",))
        .filter(vendor_id=vendor_id, site_id__in=site_ids, status__in=COLLECTING)
        .select_related("customer")
        .order_by("pk")
    }
    missing = sorted(site_ids - orders.keys())
    if missing:
        customer_of = {b.site_id: b.customer_id for b in bins}
        customers = {c.pk: c for c in Customer.objects.filter(pk__in=set(customer_of.values()))}
        made = Order.objects.bulk_create(
            [Order(vendor_id=vendor_id, customer_id=customer_of[s], site_id=s) for s in missing]
        )
        for o in made:
            o.customer = customers[o.customer_id]
            orders[o.site_id] = o
        OrderEvent.objects.bulk_create(
            [
                OrderEvent(vendor_id=vendor_id, order_id=o.pk, kind=OrderEventKind.CREATED)
                for o in made
            ]
        )
    return orders


def _lines_add(
    *, vendor_id: int, orders: dict[int, Order], needs: dict[int, int], bins: dict[int, Bin]
) -> None:
    order_ids = [o.pk for o in orders.values()]
    existing = {
        (line.order_id, line.bin_id): line
        for line in OrderLine.objects.filter(order_id__in=order_ids, bin_id__in=list(needs))
    }
    last_number = dict(
        OrderLine.objects.filter(order_id__in=order_ids)
        .values("order_id")
        .annotate(n=Max("line_number"))
        .values_list("order_id", "n")
    )
    new_lines, grown, events = [], [], []
    for bin_pk, quantity in needs.items():
        b = bins[bin_pk]
        order = orders[b.site_id]
        b.on_order += quantity
        line = existing.get((order.pk, bin_pk))
        if line is not None:
            events.append(
                OrderEvent(
                    vendor_id=vendor_id,
                    order_id=order.pk,
                    line_id=line.pk,
                    kind=OrderEventKind.LINE_INCREASED,
                    old_value=str(line.quantity_ordered),
                    new_value=str(line.quantity_ordered + quantity),
                )
            )
            line.quantity_ordered += quantity
            line.quantity_proposed += quantity
            grown.append(line)
            continue
        last_number[order.pk] = last_number.get(order.pk) or 0
        last_number[order.pk] += 1
        new_lines.append(
            OrderLine(
                vendor_id=vendor_id,
                customer_id=b.customer_id,
                order_id=order.pk,
                bin_id=bin_pk,
                item_id=b.item_id,
                line_number=last_number[order.pk],
                quantity_proposed=quantity,
                quantity_ordered=quantity,
                unit_price=b.item.unit_price,
            )
        )
    if grown:
        now = timezone.now()
        for line in grown:
            line.updated_at = now  # bulk_update does not apply auto_now
        OrderLine.objects.bulk_update(
            grown, ["quantity_ordered", "quantity_proposed", "updated_at"]
        )
    for line in OrderLine.objects.bulk_create(new_lines):
        events.append(
            OrderEvent(
                vendor_id=vendor_id,
                order_id=line.order_id,
                line_id=line.pk,
                kind=OrderEventKind.LINE_ADDED,
                new_value=str(line.quantity_ordered),
            )
        )
    OrderEvent.objects.bulk_create(events)


def _after_lines(*, vendor_id: int, orders: list[Order]) -> None:
    """Apply each customer's release policy to orders that just got lines."""
    auto = [o for o in orders if o.customer.release_policy == ReleasePolicy.AUTO]
    to_approve = [
        o
        for o in orders
        if o.customer.release_policy == ReleasePolicy.APPROVAL and o.status == OrderStatus.DRAFT
    ]
    if to_approve:
        Order.objects.filter(pk__in=[o.pk for o in to_approve]).update(
            status=OrderStatus.AWAITING_APPROVAL, updated_at=timezone.now()
        )
        OrderEvent.objects.bulk_create(
            [
                OrderEvent(vendor_id=vendor_id, order_id=o.pk, kind=OrderEventKind.SUBMITTED)
                for o in to_approve
            ]
        )
    if auto:
        orders_release(vendor_id=vendor_id, orders=auto)
    else:
        Order.objects.filter(pk__in=[o.pk for o in orders if o not in to_approve]).update(
            updated_at=timezone.now()
        )


# --- release ---------------------------------------------------------------------

# Called inside the transaction with (vendor_id=..., order_ids=[...]); EDI registers here.
RELEASE_HOOKS: list = []
CANCEL_HOOKS: list = []


def orders_release(*, vendor_id: int, orders: list[Order], user_id: int | None = None) -> None:
    """Give each order its PO number and send it: the caller holds the orders' locks."""
    orders = [o for o in orders if o.status in COLLECTING]
    if not orders:
        return
    now = timezone.now()
    VendorSequence.objects.get_or_create(vendor_id=vendor_id, name="po")
    seq = VendorSequence.objects.select_for_update().get(vendor_id=vendor_id, name="po")
    first = seq.value + 1
    seq.value += len(orders)
    seq.save(update_fields=["value"])
    prefix = Vendor.objects.values_list("po_prefix", flat=True).get(pk=vendor_id)
    lead_times = dict(
        OrderLine.objects.filter(order_id__in=[o.pk for o in orders])
        .values("order_id")
        .annotate(days=Max("bin__lead_time_days"))
        .values_list("order_id", "days")
    )
    for offset, order in enumerate(sorted(orders, key=lambda o: o.pk)):
        order.po_number = f"{prefix}{first + offset:07d}"
        order.status = OrderStatus.RELEASED
        order.released_at = now
        order.updated_at = now
        local_today = now.astimezone(zoneinfo.ZoneInfo(order.customer.timezone)).date()
        order.requested_delivery_date = local_today + dt.timedelta(
            days=lead_times.get(order.pk) or 0
        )
    Order.objects.bulk_update(
        orders, ["po_number", "status", "released_at", "updated_at", "requested_delivery_date"]
    )
    OrderEvent.objects.bulk_create(
        [
            OrderEvent(
                vendor_id=vendor_id,
                order_id=o.pk,
                kind=OrderEventKind.RELEASED,
                new_value=o.po_number,
                user_id=user_id,
            )
            for o in orders
        ]
    )
    for hook in RELEASE_HOOKS:
        hook(vendor_id=vendor_id, order_ids=[o.pk for o in orders])


def cutoff_passed(
    *, created_at: dt.datetime, now: dt.datetime, cutoff_times: list[str], tz_name: str
) -> bool:
    """True when a cutoff (local wall-clock time in the customer's zone) fell in (created_at, now]."""
    tz = zoneinfo.ZoneInfo(tz_name)
    local_now = now.astimezone(tz)
    for days_back in range(0, 8):
        day = local_now.date() - dt.timedelta(days=days_back)
        for text in cutoff_times:
            hour, minute = (int(p) for p in text.split(":"))
            moment = dt.datetime.combine(day, dt.time(hour, minute), tzinfo=tz)
            if created_at < moment <= now:
                return True
    return False


def orders_release_due(*, now: dt.datetime | None = None) -> list[int]:
    """Release the drafts of scheduled customers whose cutoff has come. Idempotent."""
    now = now or timezone.now()
    released: list[int] = []
    candidates = (
        Order.objects.filter(
            status=OrderStatus.DRAFT, customer__release_policy=ReleasePolicy.SCHEDULED
        )
        .select_related("customer")
        .values_list(
            "pk", "vendor_id", "created_at", "customer__cutoff_times", "customer__timezone"
        )
    )
    due: dict[int, list[int]] = defaultdict(list)
    for pk, vendor_id, created_at, cutoffs, tz_name in candidates:
        if cutoffs and cutoff_passed(
            created_at=created_at, now=now, cutoff_times=cutoffs, tz_name=tz_name
        ):
            due[vendor_id].append(pk)
    for vendor_id, pks in due.items():
        with transaction.atomic():
            orders = list(
                Order.objects.select_for_update(of=("self",))
                .filter(pk__in=pks, status=OrderStatus.DRAFT)
                .select_related("customer", "vendor")
                .order_by("pk")
            )
            orders_release(vendor_id=vendor_id, orders=orders)
            released += [o.pk for o in orders]
    return released


# --- approval and cancellation ---------------------------------------------------


def _order_locked(*, scope: Scope, order_id: int) -> tuple[Order, list[OrderLine], dict[int, Bin]]:
    """Take site, bins, order in the house lock order; 404 outside the scope."""
    found = (
        Order.objects.for_scope(scope).filter(pk=order_id).values_list("site_id", flat=True).first()
    )
    if found is None:
        raise ApiError("not_found", "Not found.", status_code=404)
    Site.objects.select_for_update().filter(pk=found).values_list("pk", flat=True).first()
    bin_ids = list(OrderLine.objects.filter(order_id=order_id).values_list("bin_id", flat=True))
    bins = {b.pk: b for b in Bin.objects.select_for_update().filter(pk__in=bin_ids).order_by("pk")}
    order = (
        Order.objects.select_for_update(of=("self",))
        .select_related("customer", "vendor")
        .get(pk=order_id)
    )
    lines = list(OrderLine.objects.filter(order_id=order_id).order_by("line_number"))
    return order, lines, bins


@transaction.atomic
def order_approve(
    *, scope: Scope, order_id: int, quantities: dict[int, int] | None = None
) -> Order:
    """A customer manager approves, optionally with edited line quantities (whole packs)."""
    order, lines, bins = _order_locked(scope=scope, order_id=order_id)
    if order.status != OrderStatus.AWAITING_APPROVAL:
        raise Conflict(
            "invalid_state",
            f"Only an order awaiting approval can be approved; this one is {order.status}.",
        )
    quantities = quantities or {}
    by_pk = {line.pk: line for line in lines}
    unknown = sorted(set(quantities) - by_pk.keys())
    if unknown:
        raise ApiError("unknown_line", f"Order {order.pk} has no line {unknown[0]}.", field="lines")
    events, changed = [], []
    for line_pk, quantity in quantities.items():
        line = by_pk[line_pk]
        pack = bins[line.bin_id].pack_multiple
        if quantity % pack:
            raise ApiError(
                "not_whole_packs",
                f"Line {line.line_number}: {quantity} is not a whole number of packs of {pack}.",
                field="lines",
            )
        if quantity == line.quantity_ordered:
            continue
        bins[line.bin_id].on_order += quantity - line.quantity_ordered
        events.append(
            OrderEvent(
                vendor_id=order.vendor_id,
                order_id=order.pk,
                line_id=line.pk,
                kind=OrderEventKind.QUANTITY_CHANGED,
                old_value=str(line.quantity_ordered),
                new_value=str(quantity),
                user_id=scope.user_id,
                note="edited at approval",
            )
        )
        line.quantity_ordered = quantity
        changed.append(line)
    if lines and all(line.quantity_ordered == 0 for line in lines):
        raise ApiError(
            "empty_order", "Every line would be zero: reject the order instead.", field="lines"
        )
    if changed:
        for line in changed:
            line.updated_at = timezone.now()  # bulk_update does not apply auto_now
        OrderLine.objects.bulk_update(changed, ["quantity_ordered", "updated_at"])
        Bin.objects.bulk_update([bins[line.bin_id] for line in changed], ["on_order"])
    now = timezone.now()
    order.approved_at = now
    order.approved_by_id = scope.user_id
    order.save(update_fields=["approved_at", "approved_by", "updated_at"])
    events.append(
        OrderEvent(
            vendor_id=order.vendor_id,
            order_id=order.pk,
            kind=OrderEventKind.APPROVED,
            user_id=scope.user_id,
        )
    )
    OrderEvent.objects.bulk_create(events)
    orders_release(vendor_id=order.vendor_id, orders=[order], user_id=scope.user_id)
    return order


@transaction.atomic
def order_cancel(*, scope: Scope, order_id: int, reason: str = "", rejected: bool = False) -> Order:
    """Cancel (or, at approval, reject) an order; its open quantities leave on-order."""
    order, lines, bins = _order_locked(scope=scope, order_id=order_id)
    allowed = (OrderStatus.AWAITING_APPROVAL,) if rejected else CANCELLABLE
    if order.status not in allowed:
        raise Conflict(
            "invalid_state",
            f"An order that is {order.status} cannot be {'rejected' if rejected else 'cancelled'}.",
        )
    for line in lines:
        bins[line.bin_id].on_order = max(bins[line.bin_id].on_order - line.quantity_open, 0)
    Bin.objects.bulk_update(list(bins.values()), ["on_order"])
    order.status = OrderStatus.CANCELLED
    order.closed_at = timezone.now()
    order.cancel_reason = reason[:200]
    order.save(update_fields=["status", "closed_at", "cancel_reason", "updated_at"])
    OrderEvent.objects.create(
        vendor_id=order.vendor_id,
        order_id=order.pk,
        user_id=scope.user_id,
        kind=OrderEventKind.REJECTED if rejected else OrderEventKind.CANCELLED,
        note=reason[:200],
    )
    if order.po_number:  # the ERP has it: tell it
        for hook in CANCEL_HOOKS:
            hook(vendor_id=order.vendor_id, order_ids=[order.pk])
    return order


# --- receipts (called by stocking inside the scan transaction) -------------------


def receipts_allocate(*, vendor_id: int, receipts: dict[int, int]) -> dict[int, int]:
    """Lower open quantities on the bins' oldest outstanding lines; close full orders.

    Returns {bin_id: quantity taken off on-order}; the caller holds the bins' locks and
    writes their on_order.
    """
    lines = list(
        OrderLine.objects.filter(
            vendor_id=vendor_id, bin_id__in=list(receipts), order__status__in=OUTSTANDING
        )
        .select_related("order")
        .order_by("order__released_at", "order_id", "line_number")
    )
    left = dict(receipts)
    taken: dict[int, int] = defaultdict(int)
    changed: list[OrderLine] = []
    for line in lines:
        want = min(line.quantity_open, left.get(line.bin_id, 0))
        if want <= 0:
            continue
        line.quantity_received += want
        left[line.bin_id] -= want
        taken[line.bin_id] += want
        changed.append(line)
    if not changed:
        return {}
    now = timezone.now()
    order_ids = {line.order_id for line in changed}
    # Lock the orders before writing their lines: two receipts for different lines
    # of one order then take turns, and the second sees the first's lines committed
    # when it checks whether anything is still open.
    list(
        Order.objects.select_for_update()
        .filter(pk__in=order_ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for line in changed:
        line.updated_at = now
    OrderLine.objects.bulk_update(changed, ["quantity_received", "updated_at"])
    open_left = set(
        OrderLine.objects.filter(
            order_id__in=order_ids, quantity_received__lt=F("quantity_ordered")
        ).values_list("order_id", flat=True)
    )
    full = sorted(order_ids - open_left)
    if full:
        Order.objects.filter(pk__in=full).update(
            status=OrderStatus.RECEIVED, closed_at=now, updated_at=now
        )
        OrderEvent.objects.bulk_create(
            [
                OrderEvent(vendor_id=vendor_id, order_id=pk, kind=OrderEventKind.RECEIVED)
                for pk in full
            ]
        )
    Order.objects.filter(pk__in=sorted(order_ids & open_left)).update(updated_at=now)
    return dict(taken)


# --- after commit ------------------------------------------------------------------


def bins_evaluate_enqueue(*, vendor_id: int, bin_ids: list[int]) -> None:
    """Queue an evaluation once the scans have committed. A broker outage must not
    fail or slow the scans: the catch-up pass will find these bins."""
    from cmi.broker import publish_on_commit
    from replenishment.tasks import evaluate_bins

    publish_on_commit(evaluate_bins, args=(vendor_id, bin_ids))


def sweep_candidates(
    *, vendor_id: int | None = None, touched_since: dt.datetime | None = None
) -> dict[int, list[int]]:
    """Bins at or below their reorder point, or with kanban cards waiting: {vendor: [bin ids]}.

    With `touched_since`, only bins updated since then (the catch-up pass; indexed).
    """
    qs = Bin.objects.filter(active=True)
    if touched_since is not None:
        qs = qs.filter(updated_at__gte=touched_since)
    qs = qs.filter(
        Q(kanban_quantity__isnull=True, max_qty__gt=0, on_hand__lte=F("min_qty") - F("on_order"))
        | Q(kanban_quantity__isnull=False, scan_events__kanban_pending=True)
    )
    if vendor_id is not None:
        qs = qs.filter(vendor_id=vendor_id)
    out: dict[int, list[int]] = defaultdict(list)
    for vendor, pk in qs.values_list("vendor_id", "pk").distinct().order_by("vendor_id", "pk"):
        out[vendor].append(pk)
    return dict(out)
