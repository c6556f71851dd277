"""Usage pages: a customer's (everyone of it) and the vendor's across customers (staff).

Charts people look at (usage over time, stock value over time, top items, days of
cover), each with its numbers in a table and every table as a CSV download
(`?download=<table>`). Reads are insight.analytics.selectors, the same as the API's.
"""

from __future__ import annotations

from decimal import Decimal

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.http import urlencode

from cmi.models import Customer
from cmi.scoping import VENDOR_STAFF, Scope
from insight.analytics import selectors
from portals.csvout import csv_response
from portals.views.access import customer_view, portal_view
from portals.views.analytics_charts import hbar_chart, time_charts
from stocking.models import Site

WINDOW_DAYS = 30  # top and slow movers, usage by customer
COVER_DAYS = 28  # the rate behind days of cover
DEAD_DAYS = 90
ROWS = 10
DEAD_ROWS = 25
SEARCH_ROWS = 100
DOWNLOAD_ROWS = 5000


def _int(request: HttpRequest, name: str) -> int | None:
    value = request.GET.get(name, "")
    return int(value) if value.isdigit() and len(value) < 12 else None


def _grain(request: HttpRequest, default: str) -> str:
    grain = request.GET.get("grain", default)
    return grain if grain in selectors.GRAINS else default


def _period_label(p: selectors.Period, grain: str) -> str:
    if grain == "month":
        return p.start.strftime("%b %Y")
    return p.start.strftime("%b %-d")


def _series_charts(series: selectors.Series) -> dict:
    grain = series.grain
    usage = [
        (_period_label(p, grain), p.issued, f"{p.issued} issued, {_period_label(p, grain)}")
        for p in series.periods
    ]
    value = [
        (_period_label(p, grain), float(p.stock_value), f"${p.stock_value:,.2f}")
        for p in series.periods
    ]
    values = [p.stock_value for p in series.periods] or [Decimal(0)]
    return {
        "usage": time_charts(usage, kind="bars"),
        "value": time_charts(value, kind="line", money=True),
        "value_low": min(values),
        "value_high": max(values),
        "busiest": max(series.periods, key=lambda p: p.issued, default=None),
    }


def _series_csv(series: selectors.Series, name: str) -> HttpResponse:
    return csv_response(
        f"{name}-usage-{series.grain}.csv",
        ("Period start", "Period end", "Issued", "Received", "On hand at end", "Stock value"),
        (
            (p.start.isoformat(), p.end.isoformat(), p.issued, p.received, p.on_hand, p.stock_value)
            for p in series.periods
        ),
        text_columns=(),
    )


# The columns of selectors.BIN_CELLS, which each bin download reads as tuples.
BIN_HEADER = ("Customer", "Site", "Location", "SKU", "Description", "Label", "On hand", "Value")
CELLS = selectors.BIN_CELLS


TEXT = (0, 1, 2, 3, 4, 5)


@customer_view()
def usage(request: HttpRequest, scope: Scope, customer: Customer) -> HttpResponse:
    grain = _grain(request, "week")
    subject = selectors.subject_resolve(
        scope=scope,
        customer_id=customer.pk,
        site_id=_int(request, "site"),
        item_id=_int(request, "item"),
        bin_id=_int(request, "bin"),
    )
    start, end = selectors.span_for(subject, grain=grain)
    series = selectors.usage_series(scope=scope, subject=subject, grain=grain, start=start, end=end)
    download = request.GET.get("download")
    name = customer.code
    if download == "series":
        return _series_csv(series, name)
    if download == "dead":
        rows = selectors.dead_stock(scope=scope, subject=subject, days=DEAD_DAYS)
        return csv_response(
            f"{name}-dead-stock.csv",
            (*BIN_HEADER, "Last issued"),
            rows.values_list(*CELLS, "last_issued")[:DOWNLOAD_ROWS].iterator(chunk_size=1000),
            text_columns=TEXT,
        )
    if download == "cover":
        rows = selectors.cover_list(
            scope=scope,
            subject=subject,
            days=COVER_DAYS,
            limit=DOWNLOAD_ROWS,
            cells=(*CELLS, "issued", "cover"),
        )
        return csv_response(
            f"{name}-days-of-cover.csv",
            (*BIN_HEADER, f"Issued in {COVER_DAYS} days", "Days of cover"),
            ((*row[:-1], round(row[-1], 1)) for row in rows),
            text_columns=TEXT,
        )
    if download == "slow":
        rows = selectors.slow_movers(
            scope=scope,
            subject=subject,
            days=WINDOW_DAYS,
            limit=DOWNLOAD_ROWS,
            cells=(*CELLS, "issued"),
        )
        return csv_response(
            f"{name}-slow-movers.csv",
            (*BIN_HEADER, f"Issued in {WINDOW_DAYS} days"),
            rows,
            text_columns=TEXT,
        )
    ranked = selectors.usage_rankings(
        scope=scope,
        subject=subject,
        window_days=WINDOW_DAYS,
        cover_days=COVER_DAYS,
        dead_days=DEAD_DAYS,
        rows=ROWS,
        dead_rows=DEAD_ROWS,
    )
    top = ranked["top"]
    if download == "top":
        return csv_response(
            f"{name}-top-items.csv",
            ("SKU", "Description", f"Issued in {WINDOW_DAYS} days", "The days before"),
            ((r["item__sku"], r["item__description"], r["units"], r["previous"]) for r in top),
            text_columns=(0, 1),
        )
    context = {
        "customer": customer,
        "section": "analytics",
        "subject": subject,
        "grain": grain,
        "series": series,
        "charts": _series_charts(series),
        **ranked,
        "top_chart": hbar_chart([(r["item__sku"], r["units"]) for r in top]),
        "cover_chart": hbar_chart([(b["label"], b["bins"]) for b in ranked["buckets"]]),
        "sites": list(Site.objects.for_scope(scope).filter(customer=customer).order_by("name")),
        "window_days": WINDOW_DAYS,
        "cover_days": COVER_DAYS,
        "dead_days": DEAD_DAYS,
        "query": _query(request),
    }
    return render(request, "portals/analytics/usage.html", context)


def _query(request: HttpRequest) -> str:
    """The page's own filters, for the download links."""
    keep = {
        k: v for k, v in request.GET.items() if k in ("grain", "site", "item", "bin", "q") and v
    }
    return f"&{urlencode(keep)}" if keep else ""


@portal_view(roles=VENDOR_STAFF)
def vendor_usage(request: HttpRequest, scope: Scope) -> HttpResponse:
    grain = _grain(request, "month")
    text = request.GET.get("q", "").strip()[:64]
    download = request.GET.get("download")
    if download == "search" and text:
        rows = selectors.item_search(scope=scope, text=text, days=WINDOW_DAYS)
        return csv_response(
            "stock-search.csv",
            (*BIN_HEADER, f"Issued in {WINDOW_DAYS} days"),
            rows.values_list(*CELLS, "issued")[:DOWNLOAD_ROWS].iterator(chunk_size=1000),
            text_columns=TEXT,
        )
    customers = selectors.customers_usage(scope=scope, days=WINDOW_DAYS)
    if download == "customers":
        return csv_response(
            "usage-by-customer.csv",
            (
                "Customer",
                "Code",
                f"Issued in {WINDOW_DAYS} days",
                "The days before",
                "Units held",
                "Stock value",
            ),
            (
                (c["name"], c["code"], c["issued"], c["previous"], c["units"], c["value"])
                for c in customers
            ),
            text_columns=(0, 1),
        )
    subject = selectors.subject_resolve(scope=scope)
    start, end = selectors.span_for(subject, grain=grain)
    series = selectors.usage_series(scope=scope, subject=subject, grain=grain, start=start, end=end)
    if download == "series":
        return _series_csv(series, "all-customers")
    found, found_count = [], 0
    if text:
        qs = selectors.item_search(scope=scope, text=text, days=WINDOW_DAYS)
        found = list(qs[: SEARCH_ROWS + 1])
        found_count = len(found) if len(found) <= SEARCH_ROWS else qs.count()
        found = found[:SEARCH_ROWS]
    ranked = sorted(customers, key=lambda c: -c["issued"])[:ROWS]
    held = sorted(customers, key=lambda c: -c["value"])[:ROWS]
    return render(
        request,
        "portals/analytics/vendor.html",
        {
            "section": "vendor_usage",
            "grain": grain,
            "series": series,
            "charts": _series_charts(series),
            "customers": customers,
            "usage_chart": hbar_chart([(c["name"], c["issued"]) for c in ranked]),
            "value_chart": hbar_chart([(c["name"], c["value"]) for c in held], money=True),
            "q": text,
            "found": found,
            "found_count": found_count,
            "window_days": WINDOW_DAYS,
            "total_value": sum((c["value"] for c in customers), Decimal(0)),
            "query": _query(request),
        },
    )


customer = "customers/<int:customer_id>/"
urlpatterns = [
    path(f"{customer}usage/", usage, name="analytics"),
    path("usage/", vendor_usage, name="vendor_usage"),
]
