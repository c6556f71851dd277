"""RFID for one customer: readers (a token shown once), kanban cards (an encoding list to
download, re-arming), and the unknown tags a rep assigns to an item.

The customer's managers and the vendor's staff. A reader's token is shown only in the
response to the form that made it, which no cache keeps (as a scanner's).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from cmi.errors import ApiError
from cmi.models import Customer
from cmi.scoping import Scope
from portals.csvout import csv_response
from portals.forms_rfid import AssignForm, CardForm, ReaderForm
from portals.nav import MANAGER_OR_VENDOR
from portals.views.access import customer_view
from stocking import rfid
from stocking.selectors import location_list, site_list

PAGE_SIZE = 50


def _forms_context(scope: Scope, customer: Customer) -> dict:
    sites = list(site_list(scope=scope).filter(customer_id=customer.pk))
    locations = list(location_list(scope=scope).filter(customer_id=customer.pk))
    return {"sites": sites, "locations": locations}


def _page(
    request: HttpRequest,
    scope: Scope,
    customer: Customer,
    *,
    reader_form: ReaderForm | None = None,
    card_form: CardForm | None = None,
    assign_form: AssignForm | None = None,
    created: tuple | None = None,
    status: int = 200,
) -> HttpResponse:
    choices = _forms_context(scope, customer)
    readers = list(rfid.reader_list(scope=scope, customer_id=customer.pk)[:200])
    cards = Paginator(rfid.card_list(scope=scope, customer_id=customer.pk), PAGE_SIZE).get_page(
        request.GET.get("cards")
    )
    unknown = Paginator(
        rfid.unknown_tag_list(scope=scope, customer_id=customer.pk), PAGE_SIZE
    ).get_page(request.GET.get("unknown"))
    cycles = list(rfid.cycle_recent(scope=scope, customer_id=customer.pk)[:10])
    context = {
        "customer": customer,
        "readers": readers,
        "cards": cards,
        "unknown": unknown,
        "cycles": cycles,
        "reader_form": reader_form or ReaderForm(**choices),
        "card_form": card_form or CardForm(),
        "assign_form": assign_form or AssignForm(),
        "created": created,
        "section": "rfid",
        "now": timezone.now(),
    }
    return render(request, "portals/rfid/rfid.html", context, status=status)


@customer_view(MANAGER_OR_VENDOR)
@require_GET
def rfid_page(request: HttpRequest, scope: Scope, customer: Customer) -> HttpResponse:
    return _page(request, scope, customer)


@customer_view(MANAGER_OR_VENDOR)
@require_POST
def reader_add(request: HttpRequest, scope: Scope, customer: Customer) -> HttpResponse:
    form = ReaderForm(request.POST, **_forms_context(scope, customer))
    if form.is_valid():
        d = form.cleaned_data
        try:
            reader, plain = rfid.rfid_reader_create(
                scope=scope,
                customer_id=customer.pk,
                name=d["name"],
                site_id=d["site"],
                mode=d["mode"],
                antenna_count=d["antenna_count"],
                location_id=d["location"],
            )
        except ApiError as err:
            form.add_service_error(err)
        else:
            response = _page(request, scope, customer, created=(reader, plain), status=201)
            response["Cache-Control"] = "no-store"
            return response
    return _page(request, scope, customer, reader_form=form, status=400)


@customer_view(MANAGER_OR_VENDOR)
@require_POST
def card_add(request: HttpRequest, scope: Scope, customer: Customer) -> HttpResponse:
    form = CardForm(request.POST)
    if form.is_valid():
        try:
            card = rfid.rfid_card_create(
                scope=scope,
                customer_id=customer.pk,
                bin_label=form.cleaned_data["bin"],
                epc=form.cleaned_data["epc"] or rfid.rfid_card_epc_new(scope=scope),
            )
        except ApiError as err:
            form.add_service_error(err)
        else:
            messages.success(request, f"Card {card.epc} orders bin {card.bin.label}.")
            return redirect("portals:rfid", customer_id=customer.pk)
    return _page(request, scope, customer, card_form=form, status=400)


@customer_view(MANAGER_OR_VENDOR)
@require_POST
def card_rearm(
    request: HttpRequest, scope: Scope, customer: Customer, card_id: int
) -> HttpResponse:
    found = get_object_or_404(rfid.card_list(scope=scope, customer_id=customer.pk), pk=card_id)
    card = rfid.rfid_card_rearm(scope=scope, customer_id=customer.pk, card_id=found.pk)
    messages.success(request, f"Card {card.epc} is armed: its next drop orders again.")
    return redirect("portals:rfid", customer_id=customer.pk)


@customer_view(MANAGER_OR_VENDOR)
@require_GET
def cards_export(request: HttpRequest, scope: Scope, customer: Customer) -> HttpResponse:
    rows = rfid.card_export_rows(scope=scope, customer_id=customer.pk)
    return csv_response(
        f"{customer.code}-rfid-cards.csv",
        ("epc_hex", "bin_label", "item_sku", "item_description", "location", "armed"),
        rows.iterator(chunk_size=1000),
    )


@customer_view(MANAGER_OR_VENDOR)
@require_POST
def unknown_assign(request: HttpRequest, scope: Scope, customer: Customer) -> HttpResponse:
    ids = [int(v) for v in request.POST.getlist("tags") if v.isdigit()][:PAGE_SIZE]
    form = AssignForm(request.POST, tag_ids=ids)
    if form.is_valid():
        try:
            n = rfid.rfid_unknown_assign(
                scope=scope,
                customer_id=customer.pk,
                tag_ids=form.cleaned_data["tags"],
                item_sku=form.cleaned_data["item"],
            )
        except ApiError as err:
            form.add_service_error(err)
        else:
            messages.success(request, f"{n} tag{'s' if n != 1 else ''} assigned and counted.")
            return redirect("portals:rfid", customer_id=customer.pk)
    return _page(request, scope, customer, assign_form=form, status=400)


customer = "customers/<int:customer_id>/"
urlpatterns = [
    path(f"{customer}rfid/", rfid_page, name="rfid"),
    path(f"{customer}rfid/readers/new/", reader_add, name="rfid_reader_add"),
    path(f"{customer}rfid/cards/new/", card_add, name="rfid_card_add"),
    path(f"{customer}rfid/cards/<int:card_id>/rearm/", card_rearm, name="rfid_card_rearm"),
    path(f"{customer}rfid/cards.csv", cards_export, name="rfid_cards_csv"),
    path(f"{customer}rfid/unknown/assign/", unknown_assign, name="rfid_unknown_assign"),
]
