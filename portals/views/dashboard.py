"""A customer's dashboard: what needs attention in its stock rooms today."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from cmi.models import Customer
from cmi.scoping import Scope
from notify.thresholds import scanner_silent_after
from portals.views.access import customer_view
from replenishment.models import OrderStatus
from replenishment.selectors import open_order_counts, order_list
from stocking.selectors import bin_health_counts, device_list, scan_recent

RECENT_SCANS = 10
AWAITING_SHOWN = 10


@customer_view()
def dashboard(request: HttpRequest, scope: Scope, customer: Customer) -> HttpResponse:
    now = timezone.now()
    counts = bin_health_counts(scope=scope, customer_id=customer.pk)
    open_orders = open_order_counts(scope=scope, customer_id=customer.pk)
    awaiting = list(
        order_list(scope=scope)
        .filter(customer_id=customer.pk, status=OrderStatus.AWAITING_APPROVAL)
        .order_by("created_at", "pk")[:AWAITING_SHOWN]
    )
    scans = list(scan_recent(scope=scope, customer_id=customer.pk)[:RECENT_SCANS])
    devices = list(
        device_list(scope=scope)
        .filter(customer_id=customer.pk, revoked_at__isnull=True)
        .select_related("site")
    )
    silent_after = scanner_silent_after(vendor_id=scope.vendor_id, customer_id=customer.pk)
    silent = [d for d in devices if d.is_silent(now, silent_after)]
    return render(
        request,
        "portals/customers/dashboard.html",
        {
            "customer": customer,
            "counts": counts,
            "open_orders": open_orders,
            "open_total": sum(n for _, n in open_orders),
            "awaiting": awaiting,
            "awaiting_total": dict(open_orders)[OrderStatus.AWAITING_APPROVAL],
            "scans": scans,
            "devices": devices,
            "silent": silent,
            "silent_hours": int(silent_after.total_seconds() // 3600),
            "section": "dashboard",
        },
    )
