"""Writes to orders: evaluation, release, approval, cancellation, receipts.

Locks are always taken in the same order, so that no two writers wait on each other:
site -> bin -> order -> line.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from django.db import DatabaseError, connection, transaction
from django.db.models import Count, F, Max, Q, Sum
from django.utils import timezone

from cmi import events as domain_events
from cmi import rls
from cmi.errors import ApiError, Conflict
from cmi.models import Customer, ReleasePolicy, Vendor, VendorSequence
from cmi.rows import rows_insert, rows_update
from cmi.scoping import Scope
from replenishment import hooks
from replenishment.models import (
    COLLECTING,
    IN_TRANSIT,
    OUTSTANDING,
    Order,
    OrderEvent,
    OrderEventKind,
    OrderLine,
    OrderStatus,
)
from replenishment.rules import shortfall
from stocking.levels import whole_packs_problem
from stocking.models import AT_REORDER_POINT, Bin, ScanEvent, Site

log = logging.getLogger(__name__)

CANCELLABLE = (
    OrderStatus.DRAFT,
    OrderStatus.AWAITING_APPROVAL,
    OrderStatus.RELEASED,
    OrderStatus.ACKNOWLEDGED,
)
# The vendor may acknowledge (and change, or refuse) an order it has not shipped yet.
ACKNOWLEDGEABLE = (OrderStatus.RELEASED, OrderStatus.ACKNOWLEDGED)
# Goods can be scanned in before the ship notice arrives, so a received order still ships.
SHIPPABLE = (*OUTSTANDING, OrderStatus.RECEIVED)


# --- domain events -------------------------------------------------------------


def order_events_emit(
    kind: str,
    *,
    vendor_id: int,
    order_ids: Iterable[int],
    extra: Mapping[int, Mapping] | None = None,
) -> None:
    """Emit `kind` for each order as it now stands (cmi/events.py _ORDER), `extra[id]`
    merged into its data: one read and one insert, whatever the number of orders."""
    ids = sorted(set(order_ids))
    if not ids:
        return
    rows = (
        Order.objects.filter(vendor_id=vendor_id, pk__in=ids)
        .annotate(n_lines=Count("lines"), units=Sum("lines__quantity_ordered"))
        .values("pk", "customer_id", "site_id", "po_number", "status", "n_lines", "units")
        .order_by("pk")
    )
    domain_events.emit_many(
        kind,
        vendor_id=vendor_id,
        occurrences=[
            domain_events.Occurrence(
                customer_id=row["customer_id"],
                site_id=row["site_id"],
                subject_type="order",
                subject_id=row["pk"],
                data={
                    "order_id": row["pk"],
                    "number": row["po_number"] or str(row["pk"]),
                    "status": row["status"],
                    "lines": row["n_lines"],
                    "total_units": row["units"] or 0,
                    **(extra or {}).get(row["pk"], {}),
                },
            )
            for row in rows
        ],
    )


# --- evaluation ---------------------------------------------------------------


def bins_evaluate(*, vendor_id: int, bin_ids: Iterable[int]) -> list[int]:
    """Order what the bins are short of; return the ids of orders that got lines.

    Safe to run any number of times at once: each bin is evaluated under its row
    lock, and what it orders goes into on-order in the same transaction, so a second
    evaluation sees the position already covered.
    """
    return _evaluate(vendor_id=vendor_id, bin_ids=bin_ids)[0]


@transaction.atomic
def _evaluate(*, vendor_id: int, bin_ids: Iterable[int]) -> tuple[list[int], int]:
    """(ids of orders that got lines, how many bins got a line)."""
    ids = sorted(set(bin_ids))
    if not ids:
        return [], 0
    if connection.vendor == "postgresql":
        return _evaluate_set_based(vendor_id=vendor_id, ids=ids)
    return _evaluate_per_bin(vendor_id=vendor_id, ids=ids)


def _evaluate_per_bin(*, vendor_id: int, ids: list[int]) -> tuple[list[int], int]:
    """The evaluation bin by bin in Python (SQLite; on PostgreSQL the reference the
    set-based one is tested against). The caller holds a transaction."""
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
        return [], 0
    by_pk = {b.pk: b for b in bins}
    orders = _collecting_orders(
        vendor_id=vendor_id, sites={by_pk[pk].site_id: by_pk[pk].customer_id for pk in needs}
    )
    _lines_add(vendor_id=vendor_id, orders=orders, needs=needs, bins=by_pk)
    done = [e for pk in needs for e in pending.get(pk, ())]
    if done:
        ScanEvent.objects.filter(pk__in=done).update(kanban_pending=False)
    rows_update(Bin, [by_pk[pk] for pk in needs], ["on_order"])
    _after_lines(vendor_id=vendor_id, orders=list(orders.values()))
    return sorted(o.pk for o in orders.values()), len(needs)


# The same evaluation as a handful of statements per call, whatever the number of bins
# (PostgreSQL): the per-bin arithmetic of ``rules.shortfall`` and the kanban rule in
# SQL, the lines, their events and the bins' on-order written from arrays. The locks
# are the same and taken in the same order: sites, then bins, by primary key.
_NEED_SQL = """
SELECT id, site_id, customer_id, item_id, unit_price, need, pending FROM (
  SELECT b.id, b.site_id, b.customer_id, b.item_id, i.unit_price, k.pending,
    CASE
      WHEN b.kanban_quantity IS NOT NULL THEN coalesce(k.n, 0) * b.kanban_quantity
      WHEN b.max_qty > 0 AND b.on_hand + b.on_order <= b.min_qty THEN
        greatest(
          ceil((b.max_qty - b.on_hand - b.on_order)::numeric / greatest(b.pack_multiple, 1))::bigint,
          1
        ) * greatest(b.pack_multiple, 1)
      ELSE 0
    END AS need
  FROM stocking_bin b
  JOIN catalog_item i ON i.id = b.item_id
  LEFT JOIN (
    SELECT bin_id, count(*) AS n, array_agg(id) AS pending FROM stocking_scanevent
    WHERE bin_id = ANY(%(ids)s) AND kanban_pending GROUP BY bin_id
  ) k ON k.bin_id = b.id AND b.kanban_quantity IS NOT NULL
  WHERE b.vendor_id = %(vendor)s AND b.id = ANY(%(ids)s) AND b.active AND i.active
) needs WHERE need > 0 ORDER BY id
"""

_WRITE_SQL = """
WITH need AS (
  SELECT * FROM unnest(
    %(bins)s::bigint[], %(orders)s::bigint[], %(customers)s::bigint[], %(items)s::bigint[],
    %(qty)s::bigint[], %(prices)s::numeric[]
  ) AS n(bin_id, order_id, customer_id, item_id, qty, unit_price)
),
bumped AS (
  UPDATE stocking_bin b SET on_order = b.on_order + n.qty FROM need n WHERE b.id = n.bin_id
  RETURNING b.id
),
grown AS (
  UPDATE replenishment_orderline l SET
    quantity_ordered = l.quantity_ordered + n.qty,
    quantity_proposed = l.quantity_proposed + n.qty,
    updated_at = %(now)s
  FROM need n WHERE l.order_id = n.order_id AND l.bin_id = n.bin_id
  RETURNING l.id, l.order_id, l.bin_id, l.quantity_ordered, n.qty
),
last AS (
  SELECT order_id, max(line_number) AS n FROM replenishment_orderline
  WHERE order_id = ANY(%(order_ids)s) GROUP BY order_id
),
fresh AS (
  SELECT n.*, coalesce(last.n, 0)
    + row_number() OVER (PARTITION BY n.order_id ORDER BY n.bin_id) AS line_number
  FROM need n LEFT JOIN last ON last.order_id = n.order_id
  WHERE NOT EXISTS (
    SELECT 1 FROM replenishment_orderline l WHERE l.order_id = n.order_id AND l.bin_id = n.bin_id
  )
),
added AS (
  INSERT INTO replenishment_orderline (
    vendor_id, customer_id, order_id, bin_id, item_id, line_number, quantity_proposed,
    quantity_ordered, quantity_shipped, quantity_received, unit_price, created_at, updated_at
  )
  SELECT %(vendor)s, customer_id, order_id, bin_id, item_id, line_number, qty, qty, 0, 0,
    unit_price, %(now)s, %(now)s
  FROM fresh ORDER BY order_id, line_number
  RETURNING id, order_id, bin_id, quantity_ordered
)
INSERT INTO replenishment_orderevent (
  vendor_id, order_id, line_id, kind, old_value, new_value, note, user_id, at
)
SELECT %(vendor)s, order_id, id, kind, old_value, new_value, '', NULL, %(now)s FROM (
  SELECT 0 AS added, order_id, bin_id, id, %(increased)s AS kind,
    (quantity_ordered - qty)::text AS old_value, quantity_ordered::text AS new_value
  FROM grown
  UNION ALL
  SELECT 1, order_id, bin_id, id, %(line_added)s, '', quantity_ordered::text FROM added
) e ORDER BY added, bin_id
"""


def _evaluate_set_based(*, vendor_id: int, ids: list[int]) -> tuple[list[int], int]:
    """``_evaluate`` in a fixed number of statements (the caller holds a transaction)."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT id FROM stocking_site WHERE id IN ("
            "SELECT site_id FROM stocking_bin WHERE vendor_id = %s AND id = ANY(%s)"
            ") ORDER BY id FOR UPDATE",
            [vendor_id, ids],
        )
        cur.execute(
            "SELECT id FROM stocking_bin WHERE vendor_id = %s AND id = ANY(%s) AND active "
            "ORDER BY id FOR UPDATE",
            [vendor_id, ids],
        )
        # A new statement, so a new snapshot: what the bins hold now that they are ours.
        cur.execute(_NEED_SQL, {"vendor": vendor_id, "ids": ids})
        needs = cur.fetchall()
    if not needs:
        return [], 0
    orders = _collecting_orders(
        vendor_id=vendor_id, sites={site: customer for _, site, customer, *_ in needs}
    )
    done = [e for *_, pending in needs if pending for e in pending]
    with connection.cursor() as cur:
        cur.execute(
            _WRITE_SQL,
            {
                "vendor": vendor_id,
                "now": timezone.now(),
                "bins": [n[0] for n in needs],
                "orders": [orders[n[1]].pk for n in needs],
                "customers": [n[2] for n in needs],
                "items": [n[3] for n in needs],
                "prices": [n[4] for n in needs],
                "qty": [n[5] for n in needs],
                "order_ids": sorted(o.pk for o in orders.values()),
                "increased": OrderEventKind.LINE_INCREASED.value,
                "line_added": OrderEventKind.LINE_ADDED.value,
            },
        )
        if done:
            cur.execute(
                "UPDATE stocking_scanevent SET kanban_pending = false WHERE id = ANY(%s)", [done]
            )
    _after_lines(vendor_id=vendor_id, orders=list(orders.values()))
    return sorted(o.pk for o in orders.values()), len(needs)


def _collecting_orders(*, vendor_id: int, sites: Mapping[int, int]) -> dict[int, Order]:
    """The open order of each site ({site id: customer id}), made when there is none
    (the sites are locked)."""
    site_ids = set(sites)
    orders = {
        o.site_id: o
        for o in Order.objects.select_for_update(of=("self",))
        .filter(vendor_id=vendor_id, site_id__in=site_ids, status__in=COLLECTING)
        .select_related("customer")
        .order_by("pk")
    }
    missing = sorted(site_ids - orders.keys())
    if missing:
        customers = {c.pk: c for c in Customer.objects.filter(pk__in=set(sites.values()))}
        made = Order.objects.bulk_create(
            [Order(vendor_id=vendor_id, customer_id=sites[s], site_id=s) for s in missing]
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
            line.updated_at = now  # rows_update applies auto_now only to listed fields
        rows_update(OrderLine, grown, ["quantity_ordered", "quantity_proposed", "updated_at"])
    for line in rows_insert(OrderLine, new_lines):
        events.append(
            OrderEvent(
                vendor_id=vendor_id,
                order_id=line.order_id,
                line_id=line.pk,
                kind=OrderEventKind.LINE_ADDED,
                new_value=str(line.quantity_ordered),
            )
        )
    rows_insert(OrderEvent, events)


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
        order_events_emit(
            "order.awaiting_approval", vendor_id=vendor_id, order_ids=[o.pk for o in to_approve]
        )
    due = _consolidated_due(orders=auto, now=timezone.now()) if auto else []
    if due:
        orders_release(vendor_id=vendor_id, orders=due)
    rest = [o.pk for o in orders if o not in to_approve and o not in due]
    if rest:
        Order.objects.filter(pk__in=rest).update(updated_at=timezone.now())


def _consolidated_due(*, orders: list[Order], now: dt.datetime) -> list[Order]:
    """The auto orders that go now: their customer's window since the order was started
    has passed, or they are worth the minimum, or a bin on them is at zero (urgent).
    The rest wait for `orders_release_due` (every minute). One query."""
    waiting = [
        o
        for o in orders
        if o.customer.consolidation_minutes
        and o.created_at > now - dt.timedelta(minutes=o.customer.consolidation_minutes)
    ]
    if not waiting:
        return orders
    facts = _consolidation_facts(OrderLine.objects.filter(order_id__in=[o.pk for o in waiting]))
    held = {
        o.pk
        for o in waiting
        if not _consolidation_met(o.customer.consolidation_min_value, *facts.get(o.pk, (0, 0)))
    }
    return [o for o in orders if o.pk not in held]


def _consolidation_facts(lines) -> dict[int, tuple[Decimal, int]]:
    """Per order: its value and how many of its min/max bins are at zero."""
    return {
        row["order_id"]: (row["value"] or Decimal(0), row["urgent"])
        for row in lines.values("order_id").annotate(
            value=Sum(F("quantity_ordered") * F("unit_price")),
            urgent=Count(
                "pk",
                filter=Q(bin__on_hand=0, bin__kanban_quantity__isnull=True, bin__max_qty__gt=0),
            ),
        )
    }


def _consolidation_met(minimum: Decimal, value: Decimal, urgent: int) -> bool:
    return bool(urgent) or (minimum > 0 and value >= minimum)


# --- release ---------------------------------------------------------------------


def orders_release(*, vendor_id: int, orders: list[Order], user_id: int | None = None) -> None:
    """Give each order its PO number and send it: the caller holds the orders' locks."""
    orders = [o for o in orders if o.status in COLLECTING]
    if not orders:
        return
    now = timezone.now()
    # One upsert takes the numbers and holds the counter's row to commit (three
    # statements were a round trip each on every scan -> 850).
    first = VendorSequence.next_value(vendor_id=vendor_id, name="po", count=len(orders))
    first -= len(orders) - 1
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
    rows_update(
        Order,
        orders,
        ["po_number", "status", "released_at", "updated_at", "requested_delivery_date"],
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
    hooks.orders_released(vendor_id=vendor_id, order_ids=[o.pk for o in orders])
    order_events_emit("order.released", vendor_id=vendor_id, order_ids=[o.pk for o in orders])


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
    """Release the drafts of scheduled customers whose cutoff has come, and the held
    orders of auto customers whose consolidation is over. Idempotent."""
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
    for vendor_id, pk in _auto_held_due(now=now):
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


def _auto_held_due(*, now: dt.datetime) -> list[tuple[int, int]]:
    """(vendor id, order id) of the auto customers' held orders that may go now."""
    held = Order.objects.filter(
        status=OrderStatus.DRAFT, customer__release_policy=ReleasePolicy.AUTO
    )
    facts = _consolidation_facts(OrderLine.objects.filter(order__in=held))
    return [
        (vendor_id, pk)
        for pk, vendor_id, created_at, minutes, minimum in held.values_list(
            "pk",
            "vendor_id",
            "created_at",
            "customer__consolidation_minutes",
            "customer__consolidation_min_value",
        )
        if created_at <= now - dt.timedelta(minutes=minutes)
        or _consolidation_met(minimum, *facts.get(pk, (Decimal(0), 0)))
    ]


# --- approval and cancellation ---------------------------------------------------


def _orders_locked(
    *, scope: Scope, order_ids: Iterable[int]
) -> tuple[dict[int, Order], dict[int, list[OrderLine]], dict[int, Bin]]:
    """Take sites, bins, orders in the house lock order; only the scope's orders.

    Returns the orders found (an id outside the scope is simply absent), their lines
    by order (items loaded) and the locked bins of those lines.
    """
    ids = sorted(
        set(
            Order.objects.for_scope(scope)
            .filter(pk__in=set(order_ids))
            .values_list("pk", flat=True)
        )
    )
    if not ids:
        return {}, {}, {}
    site_ids = sorted(set(Order.objects.filter(pk__in=ids).values_list("site_id", flat=True)))
    list(
        Site.objects.select_for_update()
        .filter(pk__in=site_ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    bin_ids = sorted(
        set(OrderLine.objects.filter(order_id__in=ids).values_list("bin_id", flat=True))
    )
    bins = {b.pk: b for b in Bin.objects.select_for_update().filter(pk__in=bin_ids).order_by("pk")}
    orders = {
        o.pk: o
        for o in Order.objects.select_for_update(of=("self",))
        .select_related("customer", "vendor")
        .filter(pk__in=ids)
        .order_by("pk")
    }
    lines: dict[int, list[OrderLine]] = {pk: [] for pk in ids}
    for line in (
        OrderLine.objects.filter(order_id__in=ids)
        .select_related("item")
        .order_by("order_id", "line_number")
    ):
        lines[line.order_id].append(line)
    return orders, lines, bins


def _order_locked(*, scope: Scope, order_id: int) -> tuple[Order, list[OrderLine], dict[int, Bin]]:
    """One order and its lines and bins, locked; 404 outside the scope."""
    orders, lines, bins = _orders_locked(scope=scope, order_ids=[order_id])
    if order_id not in orders:
        raise ApiError("not_found", "Not found.", status_code=404)
    return orders[order_id], lines[order_id], bins


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
        problem = whole_packs_problem(
            quantity, bins[line.bin_id].pack_multiple, line_number=line.line_number
        )
        if problem:
            raise ApiError("not_whole_packs", problem, field="lines")
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
            line.updated_at = timezone.now()  # rows_update applies auto_now only to listed fields
        rows_update(OrderLine, changed, ["quantity_ordered", "updated_at"])
        rows_update(Bin, [bins[line.bin_id] for line in changed], ["on_order"])
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
    _order_close_cancelled(
        order=order,
        lines=lines,
        bins=bins,
        reason=reason,
        event=OrderEvent(
            vendor_id=order.vendor_id,
            order_id=order.pk,
            user_id=scope.user_id,
            kind=OrderEventKind.REJECTED if rejected else OrderEventKind.CANCELLED,
            note=reason[:200],
        ),
    )
    return order


def _order_close_cancelled(
    *, order: Order, lines: list[OrderLine], bins: dict[int, Bin], reason: str, event: OrderEvent
) -> None:
    """The one way an order ends cancelled: open quantities leave on-order, the event
    says why, and an ERP that had the order gets a cancel 850. The caller holds the locks."""
    changed = []
    for line in lines:
        found = bins[line.bin_id]
        if line.quantity_open:
            found.on_order = max(found.on_order - line.quantity_open, 0)
            changed.append(found)
    if changed:
        rows_update(Bin, changed, ["on_order"])
    order.status = OrderStatus.CANCELLED
    order.closed_at = timezone.now()
    order.cancel_reason = reason[:200]
    order.save(update_fields=["status", "closed_at", "cancel_reason", "updated_at"])
    event.save()
    if order.po_number:  # the ERP has it: tell it
        hooks.orders_cancelled(vendor_id=order.vendor_id, order_ids=[order.pk])


# --- the vendor's answers: acknowledgment, backorders, shipments, invoices -----------


class Refused(Conflict):
    """A service refused one item of a caller's request; `ref` is the caller's own
    handle for that item (an EDI segment position), so it can point at it."""

    def __init__(self, code: str, detail: str, *, ref: object = None) -> None:
        super().__init__(code, detail)
        self.ref = ref


class AnswerKind(StrEnum):
    QUANTITY = "quantity"  # the vendor changed (or cut, at 0) the ordered quantity
    PRICE = "price"  # the vendor re-priced the line
    BACKORDER = "backorder"  # some of it comes later
    SUBSTITUTE = "substitute"  # another item comes instead


@dataclass(frozen=True)
class LineAnswer:
    """What the vendor said about one line, in the order it said it.

    `note` goes with every event the answer causes (e.g. "855 IQ"); `text` is the
    backordered quantity or the substitute's id; `ref` is echoed by a Refused.
    """

    line_id: int
    kind: AnswerKind
    note: str
    quantity: int = 0
    unit_price: Decimal = Decimal(0)
    text: str = ""
    ref: object = None


def _event(order: Order, kind: str, *, line=None, old="", new="", note="") -> OrderEvent:
    return OrderEvent(
        vendor_id=order.vendor_id,
        order_id=order.pk,
        line_id=line.pk if line is not None else None,
        kind=kind,
        old_value=str(old)[:64],
        new_value=str(new)[:64],
        note=note[:200],
    )


@transaction.atomic
def order_acknowledge(
    *,
    scope: Scope,
    order_id: int,
    answers: Sequence[LineAnswer] = (),
    delivery_date: dt.date | None = None,
    source: str,
    code: str,
    refused: bool = False,
) -> Order:
    """The vendor's acknowledgment: line changes, backorders, a new delivery date.

    `source` names the document ("855") and `code` its acknowledgment type ("AC");
    the events carry them so the customer sees what caused each change.

    Every change to an ordered quantity moves the bin's on-order by the change in
    what is still open, with an order event. When the vendor refuses the order
    (`refused`) or cuts every line to zero, the order is cancelled as it stood, so
    the cancel 850 that goes back names what was refused. A 404 outside the scope;
    Refused (409) when the order is past acknowledging or a quantity is below what
    was already received, and then nothing is written.
    """
    note = f"{source} {code}"
    order, lines, bins = _order_locked(scope=scope, order_id=order_id)
    if order.status not in ACKNOWLEDGEABLE:
        raise Refused(
            "invalid_state",
            f"order {order.po_number or order.pk} is {order.status}; only a released or "
            "acknowledged order takes an acknowledgment",
        )
    by_pk = {line.pk: line for line in lines}
    unknown = [a for a in answers if a.line_id not in by_pk]
    if unknown:
        raise Refused(
            "unknown_line", f"order {order.pk} has no line {unknown[0].line_id}", ref=unknown[0].ref
        )
    wanted = {line.pk: line.quantity_ordered for line in lines}
    for answer in answers:
        if answer.kind == AnswerKind.QUANTITY:
            wanted[answer.line_id] = answer.quantity
    if refused or (lines and not any(wanted.values())):
        events = [
            _event(order, OrderEventKind.STATUS, line=by_pk[a.line_id], new=a.quantity, note=a.note)
            for a in answers
            if a.kind == AnswerKind.QUANTITY and a.quantity != by_pk[a.line_id].quantity_ordered
        ]
        OrderEvent.objects.bulk_create(events)
        _changed_emit(order, [(line, line.quantity_ordered, 0) for line in lines])
        _order_close_cancelled(
            order=order,
            lines=lines,
            bins=bins,
            reason=f"Rejected by the vendor ({note})",
            event=_event(
                order,
                OrderEventKind.CANCELLED,
                old=order.status,
                new=OrderStatus.CANCELLED,
                note=f"{note}: rejected by the vendor",
            ),
        )
        return order

    events: list[OrderEvent] = []
    changed_lines: dict[int, OrderLine] = {}
    changed_bins: dict[int, Bin] = {}
    quantity_changes: list[tuple[OrderLine, int, int]] = []
    first_ack = order.status == OrderStatus.RELEASED
    for answer in answers:
        line = by_pk[answer.line_id]
        if answer.kind == AnswerKind.QUANTITY:
            if answer.quantity == line.quantity_ordered:
                continue
            if 0 < answer.quantity < line.quantity_received:
                raise Refused(
                    "quantity_below_received",
                    f"line {line.line_number}: {answer.quantity} is less than the "
                    f"{line.quantity_received} already received",
                    ref=answer.ref,
                )
            before_open, old = line.quantity_open, line.quantity_ordered
            line.quantity_ordered = answer.quantity
            quantity_changes.append((line, old, answer.quantity))
            found = bins[line.bin_id]
            # Only the open part of a line is on order: received goods already left it.
            found.on_order = max(found.on_order + line.quantity_open - before_open, 0)
            changed_bins[found.pk] = found
            changed_lines[line.pk] = line
            events.append(
                _event(
                    order,
                    OrderEventKind.QUANTITY_CHANGED,
                    line=line,
                    old=old,
                    new=answer.quantity,
                    note=answer.note,
                )
            )
        elif answer.kind == AnswerKind.PRICE:
            price = answer.unit_price.quantize(Decimal("0.0001"))
            if price == line.unit_price:
                continue
            events.append(
                _event(
                    order,
                    OrderEventKind.STATUS,
                    line=line,
                    old=f"{line.unit_price:f}",
                    new=f"{price:f}",
                    note=answer.note,
                )
            )
            line.unit_price = price
            changed_lines[line.pk] = line
        elif answer.kind == AnswerKind.BACKORDER:
            events.append(
                _event(
                    order, OrderEventKind.BACKORDERED, line=line, new=answer.text, note=answer.note
                )
            )
        elif answer.kind == AnswerKind.SUBSTITUTE:
            events.append(
                _event(
                    order,
                    OrderEventKind.STATUS,
                    line=line,
                    old=line.item.sku,
                    new=answer.text,
                    note=answer.note,
                )
            )

    fields = ["updated_at"]
    if delivery_date and delivery_date != order.requested_delivery_date:
        old_date = order.requested_delivery_date
        events.append(
            _event(
                order,
                OrderEventKind.STATUS,
                old=old_date.isoformat() if old_date else "",
                new=delivery_date.isoformat(),
                note=f"{source} delivery date",
            )
        )
        order.requested_delivery_date = delivery_date
        fields.append("requested_delivery_date")
    if order.status == OrderStatus.RELEASED:
        events.append(
            _event(
                order,
                OrderEventKind.STATUS,
                old=order.status,
                new=OrderStatus.ACKNOWLEDGED,
                note=note,
            )
        )
        order.status = OrderStatus.ACKNOWLEDGED
        fields.append("status")
    if changed_lines:
        now = timezone.now()
        for line in changed_lines.values():
            line.updated_at = now  # rows_update applies auto_now only to listed fields
        rows_update(
            OrderLine,
            list(changed_lines.values()),
            ["quantity_ordered", "unit_price", "updated_at"],
        )
    if changed_bins:
        rows_update(Bin, [changed_bins[pk] for pk in sorted(changed_bins)], ["on_order"])
    order.save(update_fields=fields)
    OrderEvent.objects.bulk_create(events)
    if first_ack:
        order_events_emit("order.acknowledged", vendor_id=order.vendor_id, order_ids=[order.pk])
    _changed_emit(order, quantity_changes)
    return order


def _changed_emit(order: Order, changes: list[tuple[OrderLine, int, int]]) -> None:
    """order.changed when the vendor's answer changed quantities (a refusal: all to 0)."""
    if not changes:
        return
    listed = [
        {"line": line.line_number, "sku": line.item.sku, "ordered": old, "acknowledged": new}
        for line, old, new in changes
    ]
    order_events_emit(
        "order.changed",
        vendor_id=order.vendor_id,
        order_ids=[order.pk],
        extra={order.pk: {"changes": listed}},
    )


@transaction.atomic
def orders_ship(
    *,
    scope: Scope,
    shipped: Mapping[int, Mapping[int, int]],
    note: str,
    tracking: Sequence[str] = (),
) -> dict[int, Order]:
    """Goods left the vendor: {order id: {line id: quantity}} grow the lines' shipped
    quantities. An order with every line shipped (or already received) is shipped;
    one with something still to come is partially shipped. A received order stays
    received: goods may be scanned in before the notice arrives. Each order that
    became (partially) shipped is an order.shipped event carrying `tracking`.

    Refused (409, `ref` = the order id) when an order cannot ship or a line is not
    the order's; a 404 for an order outside the scope. Nothing is written then.
    """
    orders, lines_of, _ = _orders_locked(scope=scope, order_ids=list(shipped))
    missing = sorted(set(shipped) - orders.keys())
    if missing:
        raise ApiError("not_found", "Not found.", status_code=404)
    now = timezone.now()
    changed: list[OrderLine] = []
    events: list[OrderEvent] = []
    now_shipped: list[int] = []
    for order_id in sorted(shipped):
        order = orders[order_id]
        if order.status not in SHIPPABLE:
            raise Refused(
                "invalid_state",
                f"order {order.po_number or order.pk} is {order.status}; it cannot ship",
                ref=order_id,
            )
        by_pk = {line.pk: line for line in lines_of[order_id]}
        for line_id, quantity in shipped[order_id].items():
            line = by_pk.get(line_id)
            if line is None:
                raise Refused(
                    "unknown_line", f"order {order.pk} has no line {line_id}", ref=order_id
                )
            if quantity:
                line.quantity_shipped += quantity
                line.updated_at = now
                changed.append(line)
        if order.status in (*ACKNOWLEDGEABLE, *IN_TRANSIT):
            complete = all(
                max(line.quantity_shipped, line.quantity_received) >= line.quantity_ordered
                for line in lines_of[order_id]
            )
            status = OrderStatus.SHIPPED if complete else OrderStatus.PARTIALLY_SHIPPED
            if status != order.status:
                events.append(
                    _event(order, OrderEventKind.STATUS, old=order.status, new=status, note=note)
                )
                order.status = status
                now_shipped.append(order_id)
        order.updated_at = now
    if changed:
        rows_update(OrderLine, changed, ["quantity_shipped", "updated_at"])
    rows_update(Order, list(orders.values()), ["status", "updated_at"])
    OrderEvent.objects.bulk_create(events)
    order_events_emit(
        "order.shipped",
        vendor_id=scope.vendor_id,
        order_ids=now_shipped,
        extra={pk: {"tracking": [t for t in tracking if t]} for pk in now_shipped},
    )
    return orders


@transaction.atomic
def order_invoice(*, scope: Scope, order_id: int, number: str, note: str) -> Order:
    """The vendor invoiced the order: an event in its history (the invoice's own rows
    belong to whoever received it). Quantities and on-order do not change."""
    order = (
        Order.objects.for_scope(scope).select_for_update(of=("self",)).filter(pk=order_id).first()
    )
    if order is None:
        raise ApiError("not_found", "Not found.", status_code=404)
    if order.status in COLLECTING:
        raise Refused("invalid_state", f"order {order.pk} is {order.status}; it was never sent")
    order.save(update_fields=["updated_at"])
    _event(order, OrderEventKind.INVOICED, new=number, note=note).save()
    return order


# --- receipts (called by stocking inside the scan transaction) -------------------


def receipts_allocate(*, vendor_id: int, receipts: dict[int, int]) -> dict[int, int]:
    """Lower open quantities on the bins' oldest outstanding lines; close full orders.

    Returns {bin_id: quantity taken off on-order}; the caller holds the bins' locks and
    writes their on_order.
    """
    lines = _receipt_lines(vendor_id=vendor_id, bin_ids=list(receipts))
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
    rows_update(OrderLine, changed, ["quantity_received", "updated_at"])
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
        order_events_emit("order.received", vendor_id=vendor_id, order_ids=full)
    Order.objects.filter(pk__in=sorted(order_ids & open_left)).update(updated_at=now)
    return dict(taken)


def _receipt_lines(*, vendor_id: int, bin_ids: list[int]) -> list[OrderLine]:
    """The bins' outstanding lines, oldest release first: what the queryset
    ``OrderLine.objects.filter(vendor_id=…, bin_id__in=…, order__status__in=OUTSTANDING)
    .order_by("order__released_at", "order_id", "line_number")`` reads, written out
    because every receiving scan runs it and compiling that join cost ~0.5 ms of CPU,
    more than the database takes to answer it. Only the columns allocation reads."""
    qn = connection.ops.quote_name
    line, order = OrderLine._meta, Order._meta
    sql = (
        f"SELECT l.{qn('id')}, l.{qn('order_id')}, l.{qn('bin_id')}, "  # noqa: S608 (model names)
        f"l.{qn('quantity_ordered')}, l.{qn('quantity_received')} "
        f"FROM {qn(line.db_table)} l INNER JOIN {qn(order.db_table)} o "
        f"ON o.{qn('id')} = l.{qn('order_id')} "
        f"WHERE l.{qn('vendor_id')} = %s AND l.{qn('bin_id')} IN ({', '.join(['%s'] * len(bin_ids))}) "
        f"AND o.{qn('status')} IN ({', '.join(['%s'] * len(OUTSTANDING))}) "
        f"ORDER BY o.{qn('released_at')} ASC, l.{qn('order_id')} ASC, l.{qn('line_number')} ASC"
    )
    return list(OrderLine.objects.raw(sql, [vendor_id, *bin_ids, *OUTSTANDING]))


# --- after commit ------------------------------------------------------------------


def bins_evaluate_enqueue(*, vendor_id: int, bin_ids: list[int]) -> None:
    """Queue an evaluation once the scans have committed. A broker outage must not
    fail or slow the scans: the catch-up pass will find these bins."""
    from cmi.broker import publish_on_commit
    from replenishment.tasks import evaluate_bins

    publish_on_commit(evaluate_bins, args=(vendor_id, bin_ids))


# Bins per sweep transaction. The set-based evaluation costs about the same handful of
# statements and one commit whatever the chunk, so larger chunks go faster; the bound is
# how long a chunk holds its bins' locks against scans (tens of ms at 1,000 bins).
SWEEP_CHUNK = 1000


@dataclass
class SweepResult:
    candidates: int = 0
    bins_ordered: int = 0
    orders: set[int] = field(default_factory=set)
    failed_chunks: int = 0


def sweep_run(
    *,
    vendor_id: int | None = None,
    touched_since: dt.datetime | None = None,
    chunk: int = SWEEP_CHUNK,
) -> SweepResult:
    """The sweep: every bin that needs an order, whatever messages were lost, evaluated
    here in chunks (one transaction each, so one failure costs one chunk, retried by the
    next run). The beat sweep, the catch-up pass (``touched_since``) and
    ``manage.py replenish_sweep`` all run this."""
    result = SweepResult()
    with rls.system():  # finding the candidates spans vendors; each is evaluated as itself
        candidates = sweep_candidates(vendor_id=vendor_id, touched_since=touched_since)
    for vendor, bin_ids in candidates.items():
        result.candidates += len(bin_ids)
        for start in range(0, len(bin_ids), chunk):
            try:
                with rls.vendor(vendor):
                    order_ids, ordered = _evaluate(
                        vendor_id=vendor, bin_ids=bin_ids[start : start + chunk]
                    )
            except DatabaseError:
                result.failed_chunks += 1
                log.exception(
                    "sweep of vendor %s failed at chunk %s; the next sweep retries", vendor, start
                )
                continue
            result.orders.update(order_ids)
            result.bins_ordered += ordered
    return result


def sweep_candidates(
    *, vendor_id: int | None = None, touched_since: dt.datetime | None = None
) -> dict[int, list[int]]:
    """Bins at or below their reorder point, or with kanban cards waiting: {vendor: [bin ids]}.

    Two queries, each served by a partial index (``bin_at_reorder`` and
    ``scan_kanban_pending``), so the cost follows the candidates, not the bins. With
    ``touched_since``, only bins updated since then (the catch-up pass; indexed).
    """
    at_min = Bin.objects.filter(AT_REORDER_POINT, active=True)
    carded = Bin.objects.filter(
        active=True,
        kanban_quantity__isnull=False,
        pk__in=ScanEvent.objects.filter(kanban_pending=True).values("bin_id"),
    )
    if vendor_id is not None:
        at_min = at_min.filter(vendor_id=vendor_id)
        carded = carded.filter(vendor_id=vendor_id)
    if touched_since is not None:
        at_min = at_min.filter(updated_at__gte=touched_since)
        carded = carded.filter(updated_at__gte=touched_since)
    out: dict[int, set[int]] = defaultdict(set)
    for qs in (at_min, carded):
        for vendor, pk in qs.order_by().values_list("vendor_id", "pk"):
            out[vendor].add(pk)
    return {vendor: sorted(out[vendor]) for vendor in sorted(out)}
