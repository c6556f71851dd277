"""Printable shelf labels: one per bin of a location's subtree, carrying the bin's label
code, which the scan API takes on its own (see stocking/resolve.py), as a barcode.

The barcodes are drawn on the server as SVG (no JavaScript, no images to fetch), so the
sheet prints the same from any browser.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from cmi.models import Customer
from cmi.scoping import VENDOR_STAFF, Scope
from portals.barcodes import CODE128, NotEncodable, Symbol, symbol_svg
from portals.forms_catalog import LabelSheetForm
from portals.views.access import MANAGERS, customer_view
from stocking.models import Bin, Location
from stocking.selectors import bin_list, location_list, location_subtree_q, site_list

SHEET_SIZE = 300  # labels per sheet: a bigger sheet is slow to draw and to print
LABEL_ROLES = VENDOR_STAFF | MANAGERS


@dataclass(frozen=True)
class Label:
    bin: Bin
    symbol: Symbol | None  # None: the code cannot be drawn in this format
    location_path: str


def location_path(location: Location, by_id: dict[int, Location]) -> str:
    """Outermost location first, by code: what a person reads on the shelf."""
    ids = [int(part) for part in location.path.strip("/").split("/") if part]
    return " › ".join(by_id[pk].code for pk in ids if pk in by_id) or location.code


def _label(found: Bin, kind: str, by_id: dict[int, Location]) -> Label:
    try:
        symbol = symbol_svg(kind, found.label)
    except NotEncodable:
        symbol = None
    return Label(bin=found, symbol=symbol, location_path=location_path(found.location, by_id))


def _sheet(
    request: HttpRequest, scope: Scope, customer: Customer, data: dict, by_id: dict
) -> tuple[Page, list[Label]]:
    bins = bin_list(scope=scope).filter(customer_id=customer.pk, site_id=data["site"], active=True)
    location = by_id.get(data.get("location") or 0)
    if location is not None:
        bins = bins.filter(location_subtree_q(location))
    bins = bins.order_by("location__sort_key", "item__sku", "pk")
    page = Paginator(bins, SHEET_SIZE).get_page(request.GET.get("page"))
    return page, [_label(found, data["format"], by_id) for found in page]


@customer_view(roles=LABEL_ROLES)
def label_sheet(request: HttpRequest, scope: Scope, customer: Customer) -> HttpResponse:
    sites = list(site_list(scope=scope).filter(customer_id=customer.pk))
    locations = list(location_list(scope=scope).filter(customer_id=customer.pk))
    by_id = {loc.pk: loc for loc in locations}
    chosen = "site" in request.GET
    form = LabelSheetForm(
        request.GET if chosen else None,
        sites=sites,
        locations=locations,
        initial={"site": sites[0].pk if sites else None, "format": CODE128},
    )
    page, labels = None, []
    if chosen and form.is_valid():
        page, labels = _sheet(request, scope, customer, form.cleaned_data, by_id)
    context = {
        "customer": customer,
        "form": form,
        "sites": sites,
        "page": page,
        "labels": labels,
        "format": form.cleaned_data["format"] if page is not None else CODE128,
        "where": by_id.get(form.cleaned_data.get("location") or 0) if page is not None else None,
        "site": form.sites.get(form.cleaned_data["site"]) if page is not None else None,
        "sheet_size": SHEET_SIZE,
        "section": "labels",
    }
    return render(request, "portals/labels/sheet.html", context)


urlpatterns = [
    path("customers/<int:customer_id>/labels/", label_sheet, name="labels"),
]
