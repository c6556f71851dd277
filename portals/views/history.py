"""A customer's history of settings: every audited change of what decides its orders
(release policy, cutoffs, time zone, reps, and its bins' min/max and other settings),
the same rows as GET /api/v1/customers/{id}/history."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_http_methods

from cmi.errors import ApiError
from cmi.models import Customer, SettingSource
from cmi.scoping import Scope
from cmi.selectors import OBJECT_TYPES, customer_history
from portals.views.access import customer_view

PAGE_SIZE = 50
FILTERS = ("object_type", "source")


@customer_view()
@require_http_methods(["GET"])
def history(request: HttpRequest, scope: Scope, customer: Customer) -> HttpResponse:
    chosen = {name: request.GET.get(name, "") for name in FILTERS}
    problem, status = None, 200
    try:
        changes = customer_history(
            scope=scope,
            customer_id=customer.pk,
            filters={k: v for k, v in chosen.items() if v},
        )
    except ApiError as err:
        problem, status = str(err.detail), 400
        changes = customer_history(scope=scope, customer_id=customer.pk)
    page = Paginator(changes, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "customer": customer,
        "page": page,
        "chosen": chosen,
        "problem": problem,
        "object_types": OBJECT_TYPES[:2],  # a customer's history holds its own and its bins'
        "sources": SettingSource.choices,
        "section": "history",
    }
    return render(request, "portals/history/list.html", context, status=status)


urlpatterns = [path("customers/<int:customer_id>/history/", history, name="history")]
