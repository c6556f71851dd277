"""A customer's orders, each with its lines and every change made to it; approval."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from cmi.errors import ApiError
from cmi.models import Customer
from cmi.scoping import Scope
from edi.selectors import order_shipments
from portals.forms import ApproveForm, RejectForm
from portals.keyset import keyset_page
from portals.views.access import MANAGERS, can_approve, customer_view
from replenishment.models import OPEN, Order, OrderStatus
from replenishment.selectors import order_counts_by_status, order_event_list, order_list
from replenishment.services import order_approve, order_cancel

PAGE_SIZE = 50
SHOW = {
    "open": ("Open", OPEN),
    "awaiting": ("Awaiting approval", (OrderStatus.AWAITING_APPROVAL,)),
    "closed": ("Closed", (OrderStatus.RECEIVED, OrderStatus.CANCELLED)),
    "all": ("All", tuple(OrderStatus)),
}


@customer_view()
def orders(request: HttpRequest, scope: Scope, customer: Customer) -> HttpResponse:
    show = request.GET.get("show", "open")
    if show not in SHOW:
        show = "open"
    by_status = order_counts_by_status(scope=scope, customer_id=customer.pk)
    tabs = [
        (key, label, sum(by_status.get(s, 0) for s in statuses))
        for key, (label, statuses) in SHOW.items()
    ]
    qs = order_list(scope=scope).filter(customer_id=customer.pk, status__in=SHOW[show][1])
    # Keyset paging, newest first: served by the (vendor, customer, status, created_at, id) index.
    total = next(count for key, _, count in tabs if key == show)
    page = keyset_page(request, qs, ("-created_at", "-pk"), PAGE_SIZE, total=total)
    return render(
        request,
        "portals/orders/list.html",
        {"customer": customer, "page": page, "show": show, "tabs": tabs, "section": "orders"},
    )


def _order(scope: Scope, customer: Customer, order_id: int) -> Order:
    return get_object_or_404(order_list(scope=scope).filter(customer_id=customer.pk), pk=order_id)


def _order_page(
    request: HttpRequest,
    scope: Scope,
    customer: Customer,
    order: Order,
    *,
    approve_form: ApproveForm | None = None,
    reject_form: RejectForm | None = None,
    status: int = 200,
) -> HttpResponse:
    lines = list(order.lines.all())
    for line in lines:
        line.amount = line.unit_price * line.quantity_ordered
    # The order is in scope, so its events are.
    events = order_event_list(scope=scope, order_id=order.pk)
    awaiting = order.status == OrderStatus.AWAITING_APPROVAL
    may_approve = awaiting and can_approve(scope)
    total = sum((line.amount for line in lines), Decimal(0))
    approve_rows = None
    if may_approve:
        approve_form = approve_form or ApproveForm(lines=lines)
        reject_form = reject_form or RejectForm()
        # The total at the quantities on the form (what the manager typed, on a refusal).
        approve_rows, total = approve_form.amounts()
    return render(
        request,
        "portals/orders/detail.html",
        {
            "customer": customer,
            "order": order,
            "lines": lines,
            "total": total,
            "approve_rows": approve_rows,
            "events": events,
            "shipments": order_shipments(scope=scope, order_id=order.pk),
            "may_approve": may_approve,
            "approve_form": approve_form,
            "reject_form": reject_form,
            "section": "orders",
        },
        status=status,
    )


@customer_view()
def order_detail(request: HttpRequest, scope: Scope, customer: Customer, order_id: int):
    return _order_page(request, scope, customer, _order(scope, customer, order_id))


@require_POST
@customer_view(roles=MANAGERS)
def order_approve_view(request: HttpRequest, scope: Scope, customer: Customer, order_id: int):
    order = _order(scope, customer, order_id)
    form = ApproveForm(request.POST, lines=list(order.lines.all()))
    if form.is_valid():
        try:
            order_approve(scope=scope, order_id=order.pk, quantities=form.quantities())
        except ApiError as err:
            form.add_error(None, str(err.detail))
        else:
            done = Order.objects.for_scope(scope).get(pk=order.pk)
            messages.success(request, f"Order approved and sent to the vendor as {done}.")
            return redirect("portals:order", customer_id=customer.pk, order_id=order.pk)
    order = _order(scope, customer, order_id)  # as it is now: another user may have acted
    return _order_page(request, scope, customer, order, approve_form=form, status=400)


@require_POST
@customer_view(roles=MANAGERS)
def order_reject_view(request: HttpRequest, scope: Scope, customer: Customer, order_id: int):
    order = _order(scope, customer, order_id)
    form = RejectForm(request.POST)
    if form.is_valid():
        try:
            order_cancel(
                scope=scope, order_id=order.pk, reason=form.cleaned_data["reason"], rejected=True
            )
        except ApiError as err:
            form.add_error(None, str(err.detail))
        else:
            messages.success(request, "Order rejected: nothing was sent to the vendor.")
            return redirect("portals:order", customer_id=customer.pk, order_id=order.pk)
    order = _order(scope, customer, order_id)
    return _order_page(request, scope, customer, order, reject_form=form, status=400)
