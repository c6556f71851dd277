"""The vendor's customers and the health of each: one query for the whole page."""

from __future__ import annotations

import datetime as dt

from django.core.paginator import Paginator
from django.db.models import Count, F, IntegerField, Max, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from cmi.models import Customer
from cmi.scoping import VENDOR_STAFF, Scope
from portals.views.access import portal_view
from replenishment.models import Order, OrderStatus

PAGE_SIZE = 50
SILENT_AFTER = dt.timedelta(hours=24)
ORDERING = {
    "name": ("name", "pk"),
    "attention": ("-at_zero", "-below_min", "-awaiting", "name", "pk"),
    "last_scan": (F("last_scan").asc(nulls_first=True), "name", "pk"),
}


def customers_with_health(scope: Scope):
    """Each customer with its bins below min, at zero, over max, last scan and orders
    awaiting approval, as aggregates of the one query.

    Bins are aggregated over a join; orders through a subquery, because joining both
    would multiply every bin by every order of the customer before counting.
    """
    active = Q(bins__active=True)
    awaiting = (
        Order.objects.for_scope(scope)
        .filter(customer_id=OuterRef("pk"), status=OrderStatus.AWAITING_APPROVAL)
        .order_by()
        .values("customer_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Customer.objects.for_scope(scope).annotate(
        bin_count=Count("bins", filter=active),
        at_zero=Count("bins", filter=active & Q(bins__on_hand__lte=0)),
        below_min=Count("bins", filter=active & Q(bins__on_hand__lt=F("bins__min_qty"))),
        over_max=Count("bins", filter=active & Q(bins__on_hand__gt=F("bins__max_qty"))),
        last_scan=Max("bins__last_scan_at"),
        awaiting=Coalesce(Subquery(awaiting, output_field=IntegerField()), Value(0)),
    )


@portal_view(roles=VENDOR_STAFF)
def customer_list(request: HttpRequest, scope: Scope) -> HttpResponse:
    qs = customers_with_health(scope)
    text = request.GET.get("q", "").strip()[:64]
    if text:
        qs = qs.filter(
            Q(name__icontains=text) | Q(code__icontains=text) | Q(account_number__icontains=text)
        )
    sort = request.GET.get("sort", "name")
    if sort not in ORDERING:
        sort = "name"
    page = Paginator(qs.order_by(*ORDERING[sort]), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "portals/customers/list.html",
        {
            "page": page,
            "q": text,
            "sort": sort,
            "silent_before": timezone.now() - SILENT_AFTER,
            "section": "customers",
        },
    )
