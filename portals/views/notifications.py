"""Alerts in the portals: the bell, the notifications page, the user's choices, and the
unsubscribe page a mail links to (no sign-in: the signed link is the proof)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from cmi import rls
from cmi.errors import ApiError
from cmi.models import Customer
from cmi.scoping import Scope
from notify import selectors, services
from notify.models import Channel
from notify.thresholds import Effective, effective_rows, thresholds_load
from portals.views.access import portal_view
from stocking.models import Site

PAGE_SIZE = 50


@portal_view()
@require_http_methods(["GET"])
def notifications(request: HttpRequest, scope: Scope) -> HttpResponse:
    only_unread = request.GET.get("unread") == "1"
    qs = selectors.notification_list(scope=scope, unread=True if only_unread else None)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "only_unread": only_unread,
        "unread": selectors.unread_count(scope=scope),
        "section": "notifications",
    }
    return render(request, "portals/notifications/list.html", context)


@portal_view()
@require_http_methods(["POST"])
def notifications_read(request: HttpRequest, scope: Scope) -> HttpResponse:
    """Mark one (`id`) or all read; another user's id is a 404."""
    raw = request.POST.get("id")
    if raw is not None and not raw.isdigit():
        raise Http404
    try:
        services.notifications_mark_read(
            scope=scope, notification_ids=[int(raw)] if raw is not None else None
        )
    except ApiError as err:
        raise Http404 from err
    return redirect("portals:notifications")


@portal_view()
@require_http_methods(["GET"])
def notifications_bell(request: HttpRequest, scope: Scope) -> HttpResponse:
    """The bell's unread count, fetched by htmx so no page pays for it."""
    count = selectors.unread_count(scope=scope)
    return render(request, "portals/notifications/_bell.html", {"unread": count})


def _scope_choices(scope: Scope) -> tuple[list, list]:
    customers = list(Customer.objects.for_scope(scope).order_by("name").values_list("pk", "name"))
    sites = list(
        Site.objects.for_scope(scope)
        .select_related("customer")
        .order_by("customer__name", "code")
        .values_list("pk", "customer__name", "code")
    )
    return customers, sites


def _own_thresholds(scope: Scope) -> list[Effective]:
    """A customer's people see the hours their alerts wait (their vendor sets them, on
    the customer's settings page); the vendor's people set them there. One query."""
    if scope.is_vendor_staff or scope.customer_id is None:
        return []
    loaded = thresholds_load(vendor_id=scope.vendor_id, customer_id=scope.customer_id)
    return effective_rows(loaded, scope.customer_id)


def _int_or_none(value: str | None) -> int | None:
    if not value:
        return None
    if not value.isdigit():
        raise ApiError("invalid", "Choose a customer or site from the list.", field="scope")
    return int(value)


@portal_view()
@require_http_methods(["GET", "POST"])
def subscription_settings(request: HttpRequest, scope: Scope) -> HttpResponse:
    rows = selectors.subscriptions_effective(scope=scope)
    status = 200
    if request.method == "POST":
        kinds = sorted({r.kind for r in rows})
        try:
            choices = []
            for kind in kinds:
                customer_id = _int_or_none(request.POST.get(f"{kind}__customer"))
                site_id = _int_or_none(request.POST.get(f"{kind}__site"))
                for channel in Channel.values:
                    choices.append(
                        services.Choice(
                            kind=kind,
                            channel=channel,
                            enabled=request.POST.get(f"{kind}__{channel}") == "on",
                            digest=request.POST.get(f"{kind}__digest") == "on",
                            customer_id=customer_id,
                            site_id=site_id,
                        )
                    )
            services.subscriptions_set(scope=scope, choices=choices)
        except ApiError as err:
            messages.error(request, str(err.detail))
            status = 404 if err.status_code == 404 else 400
        else:
            messages.success(request, "Your alert settings are saved.")
            return redirect("portals:notification_settings")
    by_kind: dict[str, dict] = {}
    for r in rows:
        entry = by_kind.setdefault(
            r.kind,
            {"kind": r.kind, "title": r.title, "description": r.description, "digest": False},
        )
        entry[r.channel] = r.enabled
        if r.channel == Channel.EMAIL:
            entry["digest"] = r.digest
        entry["customer_id"] = entry.get("customer_id") or r.customer_id
        entry["site_id"] = entry.get("site_id") or r.site_id
    customers, sites = _scope_choices(scope)
    context = {
        "kinds": list(by_kind.values()),
        "customers": customers if scope.is_vendor_staff else [],
        "sites": sites,
        "thresholds": _own_thresholds(scope),
        "section": "notification_settings",
    }
    return render(request, "portals/notifications/settings.html", context, status=status)


@csrf_exempt  # the signed token is the proof; mail clients POST here (RFC 8058 one-click)
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    with rls.system():  # whose link it is, is what is being found out
        try:
            link = services.unsubscribe_read(token)
        except ApiError as err:
            return render(
                request, "portals/notifications/unsubscribe.html", {"error": err.detail}, status=400
            )
    context = {"link": link, "done": None}
    if request.method == "POST":
        everything = request.POST.get("what") == "all" or link.kind is None
        with rls.vendor(link.vendor_id):
            context["done"] = services.unsubscribe_apply(link=link, everything=everything)
        context["everything"] = everything
    return render(request, "portals/notifications/unsubscribe.html", context)


urlpatterns = [
    path("notifications/", notifications, name="notifications"),
    path("notifications/read/", notifications_read, name="notifications_read"),
    path("notifications/bell/", notifications_bell, name="notifications_bell"),
    path("notifications/settings/", subscription_settings, name="notification_settings"),
    path("notifications/unsubscribe/<str:token>/", unsubscribe, name="unsubscribe"),
]
