"""The vendor's settings: the trading partner profile, the default alert thresholds,
and per customer its release policy, cutoff times, time zone, reps and alert
thresholds. Vendor admins only.

The forms check input with the API's own serializers; the writes are the services
the API calls (edi.outbound.partner_replace, cmi.services.customer_update and
customer_reps_assign, notify.thresholds.alert_thresholds_set), so the page and the
API accept and refuse the same things.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path

from cmi.errors import ApiError
from cmi.models import Customer, Role
from cmi.scoping import Scope
from cmi.selectors import customer_list, vendor_rep_list
from cmi.services import customer_reps_assign, customer_update, vendor_update
from edi.outbound import partner_replace
from edi.selectors import partner_find
from notify.thresholds import alert_thresholds_set, effective_rows, thresholds_load
from portals.forms_setup import (
    AlertThresholdsForm,
    CustomerSettingsForm,
    PartnerForm,
    RepsForm,
    VendorSettingsForm,
)
from portals.views.access import customer_view, portal_view

ADMINS = frozenset({Role.VENDOR_ADMIN})
PAGE_SIZE = 50


def _thresholds_form(
    request: HttpRequest, scope: Scope, customer: Customer | None
) -> AlertThresholdsForm:
    """The section's form, bound to the POST when it is the one being saved."""
    customer_id = customer.pk if customer else None
    loaded = thresholds_load(
        vendor_id=scope.vendor_id, customer_id=customer_id, defaults_only=customer is None
    )
    rows = effective_rows(loaded, customer_id)
    bound = request.method == "POST" and request.POST.get("action") == "thresholds"
    return AlertThresholdsForm(
        request.POST if bound else None, rows=rows, for_customer=customer is not None
    )


def _thresholds_save(
    request: HttpRequest, scope: Scope, customer: Customer | None, form: AlertThresholdsForm
) -> bool:
    if not form.is_valid():
        return False
    try:
        alert_thresholds_set(
            scope=scope,
            customer_id=customer.pk if customer else None,
            hours=form.hours(),
            source="portal",
        )
    except ApiError as err:
        form.add_service_error(err)
        return False
    messages.success(
        request,
        f"Alert thresholds of {customer.name} saved." if customer else "Alert thresholds saved.",
    )
    return True


@portal_view(roles=ADMINS)
def settings_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    partner = partner_find(scope=scope)
    status = 200
    zone_form = VendorSettingsForm(initial={"timezone": scope.timezone})
    form = PartnerForm(initial=PartnerForm.initial_for(partner))
    thresholds_form = _thresholds_form(request, scope, None)
    if request.method == "POST" and request.POST.get("action") == "thresholds":
        if _thresholds_save(request, scope, None, thresholds_form):
            return redirect("portals:settings")
        status = 400
    elif request.method == "POST" and request.POST.get("action") == "zone":
        zone_form = VendorSettingsForm(request.POST, initial={"timezone": scope.timezone})
        if zone_form.is_valid():
            try:
                vendor_update(
                    scope=scope, source="portal", timezone=zone_form.cleaned_data["timezone"]
                )
            except ApiError as err:
                zone_form.add_service_error(err)
            else:
                messages.success(request, "Time zone saved.")
                return redirect("portals:settings")
        status = 400
    elif request.method == "POST":
        form = PartnerForm(request.POST)
        if form.is_valid():
            try:
                _, created = partner_replace(scope=scope, data=form.validated, source="portal")
            except ApiError as err:
                form.add_service_error(err)
            else:
                messages.success(
                    request,
                    "Trading partner profile created: released orders now go out as X12 850s."
                    if created
                    else "Trading partner profile saved.",
                )
                return redirect("portals:settings")
        status = 400
    customers = Paginator(customer_list(scope=scope), PAGE_SIZE)
    return render(
        request,
        "portals/setup/settings.html",
        {
            "form": form,
            "zone_form": zone_form,
            "thresholds_form": thresholds_form,
            "partner": partner,
            "customers": customers.get_page(request.GET.get("page")),
            "section": "settings",
        },
        status=status,
    )


@customer_view(roles=ADMINS)
def customer_settings(request: HttpRequest, scope: Scope, customer: Customer) -> HttpResponse:
    reps = vendor_rep_list(scope=scope)
    assigned = list(customer.assigned_reps.values_list("user_id", flat=True))
    release_form = CustomerSettingsForm(initial=CustomerSettingsForm.initial_for(customer))
    reps_form = RepsForm(initial={"reps": assigned}, reps=reps)
    thresholds_form = _thresholds_form(request, scope, customer)
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "release":
            release_form = CustomerSettingsForm(
                request.POST, initial=CustomerSettingsForm.initial_for(customer)
            )
            if release_form.is_valid():
                try:
                    customer_update(
                        scope=scope,
                        customer_id=customer.pk,
                        source="portal",
                        **release_form.validated,
                    )
                except ApiError as err:
                    release_form.add_service_error(err)
                else:
                    messages.success(request, f"Release settings of {customer.name} saved.")
                    return redirect("portals:customer_settings", customer_id=customer.pk)
        elif action == "thresholds":
            if _thresholds_save(request, scope, customer, thresholds_form):
                return redirect("portals:customer_settings", customer_id=customer.pk)
        elif action == "reps":
            reps_form = RepsForm(request.POST, reps=reps)
            if reps_form.is_valid():
                try:
                    chosen = customer_reps_assign(
                        scope=scope,
                        customer_id=customer.pk,
                        rep_user_ids=reps_form.cleaned_data["reps"],
                        source="portal",
                    )
                except ApiError as err:
                    reps_form.add_service_error(err)
                else:
                    messages.success(
                        request,
                        f"{len(chosen)} rep{'s' if len(chosen) != 1 else ''} "
                        f"assigned to {customer.name}.",
                    )
                    return redirect("portals:customer_settings", customer_id=customer.pk)
        else:
            messages.error(request, "Nothing was saved: choose which settings to save.")
        status = 400
    return render(
        request,
        "portals/setup/customer.html",
        {
            "customer": customer,
            "release_form": release_form,
            "reps_form": reps_form,
            "thresholds_form": thresholds_form,
            "has_reps": bool(reps),
            "section": "customer_settings",
        },
        status=status,
    )


urlpatterns = [
    path("settings/", settings_page, name="settings"),
    path("customers/<int:customer_id>/settings/", customer_settings, name="customer_settings"),
]
