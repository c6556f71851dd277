"""A customer's dashboard: what needs attention in its stock rooms today."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from cmi.models import Customer
from cmi.scoping import Scope
from portals.views.access import customer_view
from replenishment.models import OPEN, Order, OrderStatus
from replenishment.selectors import order_list
from stocking.models import ScanEvent
from stocking.selectors import bin_list, bin_status_q, device_list

SILENT_AFTER = dt.timedelta(hours=24)  # CMI works only while people scan: a day of quiet is news
RECENT_SCANS = 10
AWAITING_SHOWN = 10


@customer_view()
def dashboard(request: HttpRequest, scope: Scope, customer: Customer) -> HttpResponse:
    now = timezone.now()
    counts = (
        bin_list(scope=scope)
        .filter(customer_id=customer.pk, active=True)
        .aggregate(
            total=Count("pk"),
            at_zero=Count("pk", filter=bin_status_q("at_zero")),
            below_min=Count("pk", filter=bin_status_q("below_min")),
            over_max=Count("pk", filter=bin_status_q("over_max")),
        )
    )
    by_status = dict(
        Order.objects.for_scope(scope)
        .filter(customer_id=customer.pk, status__in=OPEN)
        .order_by()
        .values("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    open_orders = [(OrderStatus(s), by_status.get(s, 0)) for s in OPEN]
    awaiting = list(
        order_list(scope=scope)
        .filter(customer_id=customer.pk, status=OrderStatus.AWAITING_APPROVAL)
        .order_by("created_at", "pk")[:AWAITING_SHOWN]
    )
    scans = list(
        ScanEvent.objects.for_scope(scope)
        .filter(customer_id=customer.pk)
        .select_related("bin__item", "bin__location", "device", "user")
        .order_by("-occurred_at", "-id")[:RECENT_SCANS]
    )
    devices = list(
        device_list(scope=scope)
        .filter(customer_id=customer.pk, revoked_at__isnull=True)
        .select_related("site")
    )
    silent = [d for d in devices if d.last_seen_at is None or d.last_seen_at < now - SILENT_AFTER]
    return render(
        request,
        "portals/customers/dashboard.html",
        {
            "customer": customer,
            "counts": counts,
            "open_orders": open_orders,
            "open_total": sum(n for _, n in open_orders),
            "awaiting": awaiting,
            "awaiting_total": by_status.get(OrderStatus.AWAITING_APPROVAL, 0),
            "scans": scans,
            "devices": devices,
            "silent": silent,
            "section": "dashboard",
        },
    )
