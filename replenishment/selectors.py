"""Reads of orders."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from cmi.scoping import Scope
from replenishment.models import OUTSTANDING, Order, OrderEvent, OrderLine, OrderStatus

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
