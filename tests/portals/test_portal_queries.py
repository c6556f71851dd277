"""Each page costs a fixed number of queries, however many bins, scans and orders.

Every page is measured in a small vendor (one customer, 5 bins, one released order, an
order awaiting approval with 2 lines) and a large one (four customers, 60 bins at the
first, 12 released orders, 10 lines awaiting approval, 60 scans): the counts must be
equal, and within a budget.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from replenishment.models import Order
from stocking.models import Bin
from tests.factories import VendorWorld, vendor_world
from tests.portals.helpers import (
    awaiting_order,
    grow,
    released_order,
    scans_post,
    signed_in,
    url,
)

# Every page: session, user, membership (and for pages under a customer, the customer).
# Then its own reads, named here so that a new query is a decision, not an accident.
BUDGET = {
    "stock": 8,  # + sites and locations for the filters, count, page
    "stock_results": 8,  # the same, answering htmx
    "stock_after": 9,  # a later page (keyset): + the row at the page's edge
    # + bin counts, orders by state, awaiting (+ their lines), scans, scanners, the
    # customer's scanner-silent threshold
    "dashboard": 11,
    "orders": 8,  # + counts by state, count, page, lines
    "orders_after": 8,  # a later page (keyset): + the edge row, no count (the tabs have it)
    # + count, page (bins aggregated, orders as a subquery), the vendor's thresholds
    "customers": 6,
    "bin": 11,  # + ledger, scans, open lines, location trail, barcodes, level changes
    "order": 8,  # + lines, events, shipments (their lines are one more when there are any)
}


@dataclass
class Sized:
    vw: VendorWorld
    order: Order
    busy_bin: Bin


def sized_vendor(code: str, *, customers: int, bins: int, orders: int, lines: int) -> Sized:
    vw = vendor_world(code, customers=customers)
    cw = vw.customers[0]
    grow(vw, cw, bins=bins)
    every = list(Bin.objects.filter(customer_id=cw.customer.pk).order_by("pk"))
    assert len(every) == bins
    scans_post(vw, cw, [(b, "issue", 1) for b in every])
    busy = every[-1]
    scans_post(vw, cw, [(busy, "receive", 2)] * (bins // 2))
    for n in range(orders):
        released_order(vw, cw, [every[n]])
    order = awaiting_order(vw, cw, bins=every[orders : orders + lines])
    assert order.lines.count() == lines
    return Sized(vw=vw, order=order, busy_bin=busy)


@pytest.fixture
def small(db) -> Sized:
    return sized_vendor("small", customers=1, bins=5, orders=1, lines=2)


@pytest.fixture
def large(db) -> Sized:
    return sized_vendor("large", customers=4, bins=60, orders=12, lines=10)


def page_queries(sized: Sized, page: str) -> int:
    cw = sized.vw.customers[0]
    user = sized.vw.admin if page == "customers" else cw.manager
    client = signed_in(user)
    extra: dict = {}
    if page == "customers":
        target = reverse("portals:customers")
    elif page == "bin":
        target = url("bin", cw, bin_id=sized.busy_bin.pk)
    elif page == "order":
        target = url("order", cw, order_id=sized.order.pk)
    elif page == "stock_results":
        target = url("stock", cw) + "?q=SKU&status=below_min&sort=-on_hand"
        extra = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "stock-results"}
    elif page == "stock_after":
        first = Bin.objects.filter(customer_id=cw.customer.pk).order_by("pk").first()
        target = url("stock", cw) + f"?sort=on_hand&after={first.pk}"
    elif page == "orders_after":
        newest = Order.objects.filter(customer_id=cw.customer.pk).order_by("-pk").first()
        target = url("orders", cw) + f"?show=all&after={newest.pk}"
    else:
        target = url(page, cw)
    with CaptureQueriesContext(connection) as queries:
        resp = client.get(target, **extra)
    assert resp.status_code == 200
    return len(queries)


@pytest.mark.parametrize("page", list(BUDGET))
def test_page_query_count_does_not_grow_with_rows(small, large, page):
    """5 bins or 60, one order or twelve, 2 lines or 10: the same number of queries."""
    counts = (page_queries(small, page), page_queries(large, page))
    assert counts[0] == counts[1], (
        f"{page}: {counts[0]} queries at the small size, {counts[1]} at the large"
    )
    assert counts[0] <= BUDGET[page], f"{page}: {counts[0]} queries, budget {BUDGET[page]}"


def test_the_large_vendor_really_is_large(large):
    """The comparison means something only if the pages have the rows on them."""
    cw = large.vw.customers[0]
    client = signed_in(cw.manager)
    assert client.get(url("stock", cw)).context["page"].paginator.count == 60
    assert client.get(url("orders", cw), {"show": "all"}).context["page"].paginator.count == 13
    assert len(client.get(url("dashboard", cw)).context["scans"]) == 10
    listed = signed_in(large.vw.admin).get(reverse("portals:customers")).context["page"]
    assert len(listed) == 4
