"""The stock list, a bin's page, and the vendor's in-place min/max edit.

Customers and vendor staff see the same pages; only vendor staff get the edit.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from catalog.models import ItemBarcode
from cmi.errors import ApiError
from cmi.models import Customer
from cmi.scoping import VENDOR_STAFF, Scope
from portals.forms import LevelsForm, StockFilterForm
from portals.keyset import keyset_page
from portals.views.access import can_edit_levels, customer_view
from portals.views.charts import NARROW, WIDE, on_hand_chart
from replenishment.models import OPEN, OrderLine
from stocking.models import Bin, Location, ScanEvent, Site
from stocking.selectors import (
    bin_search,
    bin_status_q,
    customer_bin_list,
    ledger_list,
    level_change_list,
    location_list,
    location_subtree_q,
    site_list,
)
from stocking.setup import bin_levels_update

PAGE_SIZE = 50
CHART_POINTS = 200
LOG_ROWS = 50
ORDERING = {
    "sku": ("item__sku", "site__code", "location__sort_key", "pk"),
    "on_hand": ("on_hand", "item__sku", "pk"),
    "location": ("site__code", "location__sort_key", "item__sku", "pk"),
}


def customer_bins(scope: Scope, customer: Customer) -> QuerySet[Bin]:
    return customer_bin_list(scope=scope, customer_id=customer.pk)


@dataclass
class StockQuery:
    """The stock page's filters as read from the query string, and the bins they keep,
    sorted. The page and its CSV export read the same query string the same way."""

    form: StockFilterForm
    sites: list[Site]
    text: str
    filters: dict
    sort: str
    order: tuple[str, ...]
    bins: QuerySet[Bin]

    @property
    def filtered(self) -> bool:
        return bool(
            self.text
            or self.filters.get("status")
            or self.filters.get("site")
            or self.filters.get("location")
        )


def stock_query(request: HttpRequest, scope: Scope, customer: Customer) -> StockQuery:
    sites = list(site_list(scope=scope).filter(customer_id=customer.pk))
    locations = list(location_list(scope=scope).filter(customer_id=customer.pk))
    form = StockFilterForm(request.GET or None, sites=sites, locations=locations)
    filters = form.cleaned_or_defaults() if request.GET else form.initial
    qs = customer_bins(scope, customer)
    text = (filters.get("q") or "").strip()
    if text:
        qs = bin_search(scope=scope, bins=qs, text=text)
    if filters.get("status"):
        qs = qs.filter(bin_status_q(filters["status"]))
    if filters.get("site"):
        qs = qs.filter(site_id=filters["site"])
    chosen = next((loc for loc in locations if loc.pk == filters.get("location")), None)
    if chosen is not None:
        qs = qs.filter(location_subtree_q(chosen))
    sort = filters.get("sort") or "location"
    fields = ORDERING[sort.lstrip("-")]
    if sort.startswith("-"):
        fields = tuple(f"-{name}" for name in fields)
    return StockQuery(
        form=form,
        sites=sites,
        text=text,
        filters=filters,
        sort=sort,
        order=fields,
        bins=qs.order_by(*fields),
    )


@customer_view()
def stock_list(request: HttpRequest, scope: Scope, customer: Customer) -> HttpResponse:
    query = stock_query(request, scope, customer)
    # Keyset paging (?after=/?before= a bin id): a deep page costs what the first does.
    page = keyset_page(request, query.bins, query.order, PAGE_SIZE, count=True)
    context = {
        "customer": customer,
        "form": query.form,
        "page": page,
        "sort": query.sort,
        "filtered": query.filtered,
        "show_sites": len(query.sites) > 1,
        "can_edit": can_edit_levels(scope),
        "section": "stock",
        "hx_target": "stock-view",  # sorting and paging swap the filters too, so they follow
    }
    if request.htmx and request.htmx.target == "stock-results":
        return render(request, "portals/stock/_results.html", {**context, "results_only": True})
    if request.htmx and request.htmx.target == "stock-view":
        return render(request, "portals/stock/_view.html", context)
    return render(request, "portals/stock/list.html", context)


def _location_trail(scope: Scope, location: Location) -> list[Location]:
    """The location and its ancestors, outermost first (the path holds their ids)."""
    ids = [int(part) for part in location.path.strip("/").split("/") if part]
    found = {loc.pk: loc for loc in Location.objects.for_scope(scope).filter(pk__in=ids)}
    return [found[pk] for pk in ids if pk in found] or [location]


@customer_view()
def bin_detail(request: HttpRequest, scope: Scope, customer: Customer, bin_id: int) -> HttpResponse:
    found = get_object_or_404(customer_bins(scope, customer), pk=bin_id)
    return _bin_page(request, scope, customer, found, None)


def _bin_page(
    request: HttpRequest,
    scope: Scope,
    customer: Customer,
    found: Bin,
    levels_form: LevelsForm | None,
    *,
    status: int = 200,
) -> HttpResponse:
    moves = list(ledger_list(scope=scope, bin_id=found.pk).filter(applied=True)[:CHART_POINTS])
    moves.reverse()
    points = [(m.occurred_at, m.on_hand_after) for m in moves]
    now = timezone.now()
    scans = list(
        ScanEvent.objects.for_scope(scope)
        .filter(bin_id=found.pk)
        .select_related("device", "user", "ledger_entry")
        .order_by("-occurred_at", "-id")[:LOG_ROWS]
    )
    open_lines = list(
        OrderLine.objects.for_scope(scope)
        .filter(bin_id=found.pk, order__status__in=OPEN)
        .select_related("order")
        .order_by("order__created_at", "order_id")
    )
    if levels_form is None and can_edit_levels(scope):
        levels_form = LevelsForm(
            initial={"min_qty": found.min_qty, "max_qty": found.max_qty},
            pack_multiple=found.pack_multiple,
        )
    context = {
        "customer": customer,
        "bin": found,
        "trail": _location_trail(scope, found.location),
        "barcodes": [b.code for b in ItemBarcode.objects.for_scope(scope).filter(item=found.item)],
        "charts": [
            (
                name,
                on_hand_chart(
                    points, min_qty=found.min_qty, max_qty=found.max_qty, now=now, size=size
                ),
            )
            for name, size in (("wide", WIDE), ("narrow", NARROW))
        ],
        "moves_shown": len(moves),
        "scans": scans,
        "open_lines": open_lines,
        "level_changes": list(level_change_list(scope=scope, bin_id=found.pk)[:LOG_ROWS]),
        "levels_form": levels_form,
        "can_edit": can_edit_levels(scope),
        "section": "stock",
    }
    return render(request, "portals/stock/bin.html", context, status=status)


@customer_view(roles=VENDOR_STAFF)
def bin_levels(request: HttpRequest, scope: Scope, customer: Customer, bin_id: int) -> HttpResponse:
    """The min/max edit. With htmx it swaps one stock row in place (form, then the row
    again with the new levels); without JavaScript it is an ordinary form on the bin page."""
    if not can_edit_levels(scope):  # the role list above already says so; kept beside the write
        raise PermissionDenied
    bins = customer_bins(scope, customer)
    found = get_object_or_404(bins, pk=bin_id)
    row = {"customer": customer, "can_edit": True}
    if request.method == "GET":
        if not request.htmx:
            return redirect("portals:bin", customer_id=customer.pk, bin_id=found.pk)
        if request.GET.get("display"):
            return render(request, "portals/stock/_row.html", {**row, "b": found})
        form = LevelsForm(
            initial={"min_qty": found.min_qty, "max_qty": found.max_qty},
            pack_multiple=found.pack_multiple,
        )
        return render(request, "portals/stock/_row.html", {**row, "b": found, "levels_form": form})
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})

    form = LevelsForm(request.POST, pack_multiple=found.pack_multiple)
    if form.is_valid():
        try:
            bin_levels_update(
                scope=scope,
                bin_id=found.pk,
                min_qty=form.cleaned_data["min_qty"],
                max_qty=form.cleaned_data["max_qty"],
                user_id=scope.user_id,
                source="portal",
            )
        except ApiError as err:
            form.add_service_error(err)
    if form.is_valid():
        if request.htmx:
            fresh = bins.get(pk=found.pk)  # status follows the new levels
            return render(request, "portals/stock/_row.html", {**row, "b": fresh, "saved": True})
        messages.success(request, f"Min/max of {found.item.sku} saved.")
        return redirect("portals:bin", customer_id=customer.pk, bin_id=found.pk)
    if request.htmx:
        # 200 so that htmx swaps the form with its errors in (it ignores 4xx bodies).
        return render(request, "portals/stock/_row.html", {**row, "b": found, "levels_form": form})
    return _bin_page(request, scope, customer, found, form, status=400)
