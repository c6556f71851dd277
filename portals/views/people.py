"""A customer's scanners and users: add and revoke scanners, invite and switch off people.

Scanners: the customer's managers and the vendor's staff. Users: the customer's managers
and the vendor's admins. A scanner's token is shown once, in the response to the form
that made it (never stored in plain, never put in a redirect or the session), and that
response must not be cached.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from cmi.errors import ApiError
from cmi.models import Customer, Membership
from cmi.scoping import Scope
from cmi.users import (
    customer_member_get,
    customer_user_deactivate,
    customer_user_invite,
    customer_user_invite_resend,
    customer_user_list,
    customer_user_reactivate,
)
from notify.thresholds import scanner_silent_after
from portals.forms_people import InviteForm, ScannerForm
from portals.views.access import customer_view
from stocking.selectors import customer_device_list, site_list
from stocking.setup import device_create, device_revoke

SCANNER_ROLES = frozenset({"customer_manager", "vendor_admin", "vendor_rep"})
USER_ROLES = frozenset({"customer_manager", "vendor_admin"})
PAGE_SIZE = 50


# --- scanners --------------------------------------------------------------------------


def _scanners_page(
    request: HttpRequest,
    scope: Scope,
    customer: Customer,
    *,
    sites: list,
    form: ScannerForm | None = None,
    created: tuple | None = None,
    status: int = 200,
) -> HttpResponse:
    devices = customer_device_list(scope=scope, customer_id=customer.pk)
    page = Paginator(devices, PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    silent_after = scanner_silent_after(vendor_id=scope.vendor_id, customer_id=customer.pk)
    for device in page:
        device.silent = device.is_silent(now, silent_after)
    context = {
        "customer": customer,
        "page": page,
        "form": form or ScannerForm(sites=sites),
        "show_sites": bool(sites),
        "created": created,
        "section": "scanners",
        "silent_hours": int(silent_after.total_seconds() // 3600),
    }
    return render(request, "portals/people/scanners.html", context, status=status)


@customer_view(SCANNER_ROLES)
@require_http_methods(["GET"])
def scanners(request: HttpRequest, scope: Scope, customer: Customer) -> HttpResponse:
    sites = list(site_list(scope=scope).filter(customer_id=customer.pk))
    return _scanners_page(request, scope, customer, sites=sites)


@customer_view(SCANNER_ROLES)
@require_POST
def scanner_add(request: HttpRequest, scope: Scope, customer: Customer) -> HttpResponse:
    sites = list(site_list(scope=scope).filter(customer_id=customer.pk))
    form = ScannerForm(request.POST, sites=sites)
    if form.is_valid():
        try:
            device, plain = device_create(
                scope=scope,
                customer_id=customer.pk,
                name=form.cleaned_data["name"],
                site_id=form.cleaned_data["site"],
            )
        except ApiError as err:
            form.add_service_error(err)
        else:
            # The only time the token exists in plain: in this response, which no cache keeps.
            response = _scanners_page(
                request, scope, customer, sites=sites, created=(device, plain), status=201
            )
            response["Cache-Control"] = "no-store"
            return response
    return _scanners_page(request, scope, customer, sites=sites, form=form, status=400)


@customer_view(SCANNER_ROLES)
@require_http_methods(["GET", "POST"])
def scanner_revoke(
    request: HttpRequest, scope: Scope, customer: Customer, device_id: int
) -> HttpResponse:
    """GET asks for confirmation; POST revokes (the API refuses the token from then on)."""
    device = get_object_or_404(
        customer_device_list(scope=scope, customer_id=customer.pk), pk=device_id
    )
    if request.method == "POST":
        if device.is_active:
            device_revoke(scope=scope, device_id=device.pk)
            messages.success(request, f"{device.name} is revoked: its token no longer works.")
        return redirect("portals:scanners", customer_id=customer.pk)
    if not device.is_active:
        messages.info(request, f"{device.name} was revoked already.")
        return redirect("portals:scanners", customer_id=customer.pk)
    return render(
        request,
        "portals/people/scanner_revoke.html",
        {"customer": customer, "device": device, "section": "scanners"},
    )


# --- users -----------------------------------------------------------------------------


def _users_page(
    request: HttpRequest,
    scope: Scope,
    customer: Customer,
    *,
    form: InviteForm | None = None,
    status: int = 200,
) -> HttpResponse:
    members = customer_user_list(scope=scope, customer_id=customer.pk)
    page = Paginator(members, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "customer": customer,
        "page": page,
        "form": form or InviteForm(),
        "me": scope.user_id,
        "section": "users",
    }
    return render(request, "portals/people/users.html", context, status=status)


@customer_view(USER_ROLES)
@require_http_methods(["GET"])
def users(request: HttpRequest, scope: Scope, customer: Customer) -> HttpResponse:
    return _users_page(request, scope, customer)


@customer_view(USER_ROLES)
@require_POST
def user_invite(request: HttpRequest, scope: Scope, customer: Customer) -> HttpResponse:
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            user = customer_user_invite(
                scope=scope,
                customer_id=customer.pk,
                email=form.cleaned_data["email"],
                name=form.cleaned_data["name"],
                role=form.cleaned_data["role"],
                base_url=f"{request.scheme}://{request.get_host()}",
            )
        except ApiError as err:
            form.add_service_error(err)
        else:
            messages.success(
                request,
                f"Invitation sent to {user.email}. They sign in as {user.username} "
                "once they have chosen a password.",
            )
            return redirect("portals:users", customer_id=customer.pk)
    return _users_page(request, scope, customer, form=form, status=400)


def _member(scope: Scope, customer: Customer, user_id: int) -> Membership:
    """One of the customer's users; any other id (another customer's, none) is a 404."""
    member = customer_member_get(scope=scope, customer_id=customer.pk, user_id=user_id)
    if member is None:
        raise Http404("No such user of this customer.")
    return member


@customer_view(USER_ROLES)
@require_http_methods(["GET", "POST"])
def user_deactivate(
    request: HttpRequest, scope: Scope, customer: Customer, user_id: int
) -> HttpResponse:
    """GET asks for confirmation; POST switches the user off."""
    member = _member(scope, customer, user_id)
    error = None
    if request.method == "POST":
        try:
            customer_user_deactivate(scope=scope, customer_id=customer.pk, user_id=user_id)
        except ApiError as err:
            error = str(err.detail)
        else:
            messages.success(request, f"{member.user.username} is deactivated.")
            return redirect("portals:users", customer_id=customer.pk)
    elif not member.user.is_active:
        messages.info(request, f"{member.user.username} is deactivated already.")
        return redirect("portals:users", customer_id=customer.pk)
    context = {
        "customer": customer,
        "member": member,
        "own": user_id == scope.user_id,
        "error": error,
        "section": "users",
    }
    return render(
        request, "portals/people/user_deactivate.html", context, status=400 if error else 200
    )


@customer_view(USER_ROLES)
@require_POST
def user_reactivate(
    request: HttpRequest, scope: Scope, customer: Customer, user_id: int
) -> HttpResponse:
    member = _member(scope, customer, user_id)
    customer_user_reactivate(scope=scope, customer_id=customer.pk, user_id=user_id)
    messages.success(request, f"{member.user.username} can sign in again.")
    return redirect("portals:users", customer_id=customer.pk)


@customer_view(USER_ROLES)
@require_POST
def user_invite_resend(
    request: HttpRequest, scope: Scope, customer: Customer, user_id: int
) -> HttpResponse:
    member = _member(scope, customer, user_id)
    try:
        customer_user_invite_resend(
            scope=scope,
            customer_id=customer.pk,
            user_id=user_id,
            base_url=f"{request.scheme}://{request.get_host()}",
        )
    except ApiError as err:
        messages.error(request, str(err.detail))
    else:
        messages.success(request, f"Invitation sent again to {member.user.email}.")
    return redirect("portals:users", customer_id=customer.pk)


customer = "customers/<int:customer_id>/"

urlpatterns = [
    path(f"{customer}scanners/", scanners, name="scanners"),
    path(f"{customer}scanners/new/", scanner_add, name="scanner_add"),
    path(
        f"{customer}scanners/<int:device_id>/revoke/",
        scanner_revoke,
        name="scanner_revoke",
    ),
    path(f"{customer}users/", users, name="users"),
    path(f"{customer}users/invite/", user_invite, name="user_invite"),
    path(
        f"{customer}users/<int:user_id>/deactivate/",
        user_deactivate,
        name="user_deactivate",
    ),
    path(
        f"{customer}users/<int:user_id>/resend/",
        user_invite_resend,
        name="user_invite_resend",
    ),
    path(
        f"{customer}users/<int:user_id>/reactivate/",
        user_reactivate,
        name="user_reactivate",
    ),
]
