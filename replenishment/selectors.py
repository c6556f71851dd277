"""Reads of orders."""

from __future__ import annotations

from django.db.models import (
    Count,
    F,
    Func,
    IntegerField,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)

from cmi.models import Customer
from cmi.scoping import Scope
from replenishment.models import OPEN, OUTSTANDING, Order, OrderEvent, OrderLine, OrderStatus
from stocking.selectors import bin_status_q

ERP_VISIBLE = (*OUTSTANDING, OrderStatus.RECEIVED, OrderStatus.CANCELLED)


def order_list(*, scope: Scope) -> QuerySet[Order]:
    qs = Order.objects.for_scope(scope)
    if scope.role == "erp":
        # The ERP sees what was sent to it, never drafts or orders awaiting approval.
        qs = qs.filter(status__in=ERP_VISIBLE, po_number__isnull=False)
    return qs.select_related("customer", "site").prefetch_related(
        Prefetch(
            "lines",
            queryset=OrderLine.objects.select_related("item", "bin").order_by("line_number"),
        )
    )


def order_detail(*, scope: Scope) -> QuerySet[Order]:
    return order_list(scope=scope).prefetch_related(
        Prefetch("events", queryset=OrderEvent.objects.select_related("user").order_by("at", "id"))
    )


def order_event_list(*, scope: Scope, order_id: int) -> list[OrderEvent]:
    """An order's history, oldest first, with each author's membership (the pages say
    whether a change came from the customer or the vendor). The caller has checked the
    order is in scope."""
    return list(
        OrderEvent.objects.filter(vendor_id=scope.vendor_id, order_id=order_id)
        .select_related("user__membership", "line")
        .order_by("at", "id")
    )


def order_counts_by_status(*, scope: Scope, customer_id: int) -> dict[str, int]:
    """How many of the customer's orders are in each status (open or not), one query."""
    return dict(
        Order.objects.for_scope(scope)
        .filter(customer_id=customer_id)
        .order_by()
        .values("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )


def open_order_counts(*, scope: Scope, customer_id: int) -> list[tuple[OrderStatus, int]]:
    """Every open status in the order of an order's life, with its count (0 included)."""
    by_status = order_counts_by_status(scope=scope, customer_id=customer_id)
    return [(OrderStatus(s), by_status.get(s, 0)) for s in OPEN]


def customer_health_list(*, scope: Scope) -> QuerySet[Customer]:
    """Each customer with its bins below min, at zero, over max, last scan, orders
    awaiting approval and orders awaiting the vendor's acknowledgment, in one query.

    Bins are aggregated over a join; orders through a subquery, because joining both
    would multiply every bin by every order of the customer before counting.
    """
    active = Q(bins__active=True)

    def orders_in(status: OrderStatus) -> Subquery:
        # COUNT without GROUP BY: always one row (0 when none), so no Coalesce around it.
        # A Coalesce is not an aggregate, so Django grouped by the whole expression and
        # the database ran both subqueries once per joined bin (0.5 s at 10,000 bins).
        counted = (
            Order.objects.for_scope(scope)
            .filter(customer_id=OuterRef("pk"), status=status)
            .order_by()
            .annotate(n=Func(F("pk"), function="COUNT"))
            .values("n")
        )
        return Subquery(counted, output_field=IntegerField())

    return Customer.objects.for_scope(scope).annotate(
        bin_count=Count("bins", filter=active),
        at_zero=Count("bins", filter=active & bin_status_q("at_zero", "bins__")),
        below_min=Count("bins", filter=active & bin_status_q("below_min", "bins__")),
        over_max=Count("bins", filter=active & bin_status_q("over_max", "bins__")),
        last_scan=Max("bins__last_scan_at"),
        awaiting=orders_in(OrderStatus.AWAITING_APPROVAL),
        # Sent to the vendor and not acknowledged yet (no 855 applied).
        unacknowledged=orders_in(OrderStatus.RELEASED),
    )


def order_lines_by_order(*, scope: Scope, order_ids: list[int]) -> dict[int, list[OrderLine]]:
    """The scope's orders' lines with their items, by order, in line order (every id
    asked for is a key). Unlocked: for matching a partner's document to lines before
    a service takes the locks."""
    out: dict[int, list[OrderLine]] = {pk: [] for pk in order_ids}
    for line in (
        OrderLine.objects.for_scope(scope)
        .filter(order_id__in=order_ids)
        .select_related("item")
        .order_by("order_id", "line_number")
    ):
        out[line.order_id].append(line)
    return out
