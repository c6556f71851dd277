"""Webhook endpoints: list and add (the vendor's, or one customer's), and one endpoint's
page with its settings, secret, delivery log, replay and test buttons.

Vendor admins see every endpoint of the vendor; a customer manager only their own
customer's (another's is a 404, as in the API). Reads are webhooks' selectors, writes
its services.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path

from cmi.errors import ApiError
from cmi.models import Customer
from cmi.scoping import Scope
from portals.forms_webhooks import EndpointEditForm, EndpointForm
from portals.views.access import customer_view, portal_view
from webhooks import selectors, services
from webhooks.models import WebhookEndpoint

MANAGERS = frozenset({"vendor_admin", "customer_manager"})
PAGE_SIZE = 25


def _not_allowed() -> HttpResponse:
    return HttpResponse(status=405, headers={"Allow": "POST"})


def _create(request: HttpRequest, scope: Scope, form: EndpointForm, customer_id: int | None):
    if not form.is_valid():
        return None
    try:
        endpoint = services.endpoint_create(
            scope=scope,
            url=form.cleaned_data["url"],
            kinds=form.cleaned_data["kinds"],
            customer_id=customer_id,
            description=form.cleaned_data["description"],
        )
    except ApiError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, str(exc.detail))
        return None
    messages.success(request, "Endpoint added. Copy its signing secret below.")
    return redirect("portals:webhook", endpoint.pk)


@portal_view(roles={"vendor_admin"})
def vendor_webhooks(request: HttpRequest, scope: Scope) -> HttpResponse:
    customers = list(Customer.objects.for_scope(scope).order_by("name"))
    form = EndpointForm(request.POST or None, customers=customers)
    if request.method == "POST":
        chosen = form.cleaned_data.get("customer") if form.is_valid() else None
        done = _create(request, scope, form, chosen)
        if done:
            return done
    return render(
        request,
        "portals/webhooks/list.html",
        {
            "endpoints": selectors.endpoint_list(scope=scope),
            "form": form,
            "section": "webhooks",
        },
    )


@customer_view(roles=MANAGERS)
def customer_webhooks(request: HttpRequest, scope: Scope, customer: Customer) -> HttpResponse:
    form = EndpointForm(request.POST or None)
    if request.method == "POST":
        done = _create(request, scope, form, customer.pk)
        if done:
            return done
    return render(
        request,
        "portals/webhooks/list.html",
        {
            "customer": customer,
            "endpoints": selectors.endpoint_list(scope=scope).filter(customer=customer),
            "form": form,
            "section": "customer_webhooks",
        },
    )


def _back(endpoint: WebhookEndpoint, scope: Scope) -> tuple[str, tuple]:
    if endpoint.customer_id and scope.is_customer_user:
        return "portals:customer_webhooks", (endpoint.customer_id,)
    return "portals:webhooks", ()


@portal_view(roles=MANAGERS)
def webhook_detail(request: HttpRequest, scope: Scope, endpoint_id: int) -> HttpResponse:
    endpoint = selectors.endpoint_get(scope=scope, endpoint_id=endpoint_id)
    initial = {
        "url": endpoint.url,
        "description": endpoint.description,
        "kinds": endpoint.kinds,
        "enabled": endpoint.enabled,
    }
    form = EndpointEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.endpoint_update(
                scope=scope,
                endpoint_id=endpoint.pk,
                url=form.cleaned_data["url"],
                kinds=form.cleaned_data["kinds"],
                description=form.cleaned_data["description"],
                enabled=form.cleaned_data["enabled"],
            )
        except ApiError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc.detail))
        else:
            messages.success(request, "Endpoint saved.")
            return redirect("portals:webhook", endpoint.pk)
    status = request.GET.get("status") or None
    if status not in (None, "pending", "sending", "succeeded", "failed"):
        status = None
    deliveries = selectors.delivery_list(scope=scope, endpoint_id=endpoint.pk, status=status)
    page = Paginator(deliveries, PAGE_SIZE).get_page(request.GET.get("page"))
    back_name, back_args = _back(endpoint, scope)
    return render(
        request,
        "portals/webhooks/detail.html",
        {
            "endpoint": endpoint,
            "form": form,
            "page": page,
            "status": status or "",
            "back_name": back_name,
            "back_customer": back_args[0] if back_args else None,
            "section": "webhooks" if scope.is_vendor_staff else "customer_webhooks",
        },
    )


def _action(request: HttpRequest, scope: Scope, endpoint_id: int, work, done: str) -> HttpResponse:
    if request.method != "POST":
        return _not_allowed()
    endpoint = selectors.endpoint_get(scope=scope, endpoint_id=endpoint_id)
    try:
        result = work(endpoint)
    except ApiError as exc:
        messages.error(request, str(exc.detail))
    else:
        messages.success(request, done.format(result=result))
    return redirect("portals:webhook", endpoint.pk)


@portal_view(roles=MANAGERS)
def webhook_test(request: HttpRequest, scope: Scope, endpoint_id: int) -> HttpResponse:
    return _action(
        request,
        scope,
        endpoint_id,
        lambda e: services.endpoint_send_test(scope=scope, endpoint_id=e.pk),
        "Test message queued; it appears in the log below once sent.",
    )


@portal_view(roles=MANAGERS)
def webhook_replay_failed(request: HttpRequest, scope: Scope, endpoint_id: int) -> HttpResponse:
    return _action(
        request,
        scope,
        endpoint_id,
        lambda e: services.endpoint_replay_failed(scope=scope, endpoint_id=e.pk),
        "{result} failed deliveries queued again.",
    )


@portal_view(roles=MANAGERS)
def webhook_rotate(request: HttpRequest, scope: Scope, endpoint_id: int) -> HttpResponse:
    return _action(
        request,
        scope,
        endpoint_id,
        lambda e: services.endpoint_rotate_secret(scope=scope, endpoint_id=e.pk),
        "New secret made; the old one also signs for 24 hours.",
    )


@portal_view(roles=MANAGERS)
def webhook_delivery_replay(
    request: HttpRequest, scope: Scope, endpoint_id: int, delivery_id: int
) -> HttpResponse:
    return _action(
        request,
        scope,
        endpoint_id,
        lambda e: services.delivery_replay(scope=scope, endpoint_id=e.pk, delivery_id=delivery_id),
        "Delivery queued again.",
    )


@portal_view(roles=MANAGERS)
def webhook_delete(request: HttpRequest, scope: Scope, endpoint_id: int) -> HttpResponse:
    if request.method != "POST":
        return _not_allowed()
    endpoint = selectors.endpoint_get(scope=scope, endpoint_id=endpoint_id)
    back_name, back_args = _back(endpoint, scope)
    services.endpoint_delete(scope=scope, endpoint_id=endpoint.pk)
    messages.success(request, "Endpoint deleted.")
    return redirect(back_name, *back_args)


urlpatterns = [
    path("webhooks/", vendor_webhooks, name="webhooks"),
    path("customers/<int:customer_id>/webhooks/", customer_webhooks, name="customer_webhooks"),
    path("webhooks/<int:endpoint_id>/", webhook_detail, name="webhook"),
    path("webhooks/<int:endpoint_id>/test/", webhook_test, name="webhook_test"),
    path("webhooks/<int:endpoint_id>/replay/", webhook_replay_failed, name="webhook_replay"),
    path("webhooks/<int:endpoint_id>/rotate/", webhook_rotate, name="webhook_rotate"),
    path("webhooks/<int:endpoint_id>/delete/", webhook_delete, name="webhook_delete"),
    path(
        "webhooks/<int:endpoint_id>/deliveries/<int:delivery_id>/replay/",
        webhook_delivery_replay,
        name="webhook_delivery_replay",
    ),
]
