"""The vendor's customers and the health of each: one query for the whole page."""

from __future__ import annotations

import datetime as dt

from django.core.paginator import Paginator
from django.db.models import F, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from cmi.scoping import VENDOR_STAFF, Scope
from insight.analytics.selectors import item_search
from notify.models import ThresholdKind
from notify.thresholds import thresholds_load
from portals.views.access import portal_view
from replenishment.selectors import customer_health_list
from stocking.models import quiet_for

PAGE_SIZE = 50
STOCK_ROWS = 10
ORDERING = {
    "name": ("name", "pk"),
    "attention": ("-at_zero", "-below_min", "-awaiting", "-unacknowledged", "name", "pk"),
    "last_scan": (F("last_scan").asc(nulls_first=True), "name", "pk"),
}


@portal_view(roles=VENDOR_STAFF)
def customer_list(request: HttpRequest, scope: Scope) -> HttpResponse:
    qs = customer_health_list(scope=scope)
    text = request.GET.get("q", "").strip()[:64]
    stock, stock_count = [], 0
    if text:
        # A SKU (or description, label, part number) typed here finds the bins holding it.
        found = item_search(scope=scope, text=text)
        stock = list(found[: STOCK_ROWS + 1])
        stock_count = len(stock) if len(stock) <= STOCK_ROWS else found.count()
        stock = stock[:STOCK_ROWS]
        qs = qs.filter(
            Q(name__icontains=text) | Q(code__icontains=text) | Q(account_number__icontains=text)
        )
    sort = request.GET.get("sort", "name")
    if sort not in ORDERING:
        sort = "name"
    page = Paginator(qs.order_by(*ORDERING[sort]), PAGE_SIZE).get_page(request.GET.get("page"))
    _mark_silent(page, vendor_id=scope.vendor_id)
    return render(
        request,
        "portals/customers/list.html",
        {
            "page": page,
            "q": text,
            "sort": sort,
            "stock": stock,
            "stock_count": stock_count,
            "section": "customers",
        },
    )


def _mark_silent(page, *, vendor_id: int) -> None:
    """Each listed customer is silent when no scan came for its own scanner-silent
    threshold (one query for the vendor's thresholds, whatever the page holds)."""
    thresholds = thresholds_load(vendor_id=vendor_id)
    now = timezone.now()
    for c in page:
        after = dt.timedelta(hours=thresholds.hours(c.pk, ThresholdKind.SCANNER_SILENT))
        c.silent = c.last_scan is None or quiet_for(c.last_scan, now=now, after=after)
