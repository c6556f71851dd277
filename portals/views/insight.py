"""Recommended levels and backtests of one customer.

Everyone of the customer may read; only vendor staff see and use the buttons (apply,
recompute, policies, new backtest). Reads are insight's selectors, writes its services.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path

from cmi.errors import ApiError
from cmi.models import Customer
from cmi.scoping import VENDOR_STAFF, Scope
from insight import selectors, services
from insight.models import BacktestStatus
from portals.forms_insight import BacktestForm, BinPolicyForm, CustomerPolicyForm
from portals.views.access import customer_view
from portals.views.insight_charts import demand_chart, tradeoff_chart
from stocking.models import Bin

PAGE_SIZE = 50
SORTS = {
    "money": ("-value_freed", "-fill_gained", "bin_id"),
    "service": ("-fill_gained", "-value_freed", "bin_id"),
}
BIN_DETAIL_ROWS = 200


def _not_allowed() -> HttpResponse:
    return HttpResponse(status=405, headers={"Allow": "POST"})


@customer_view()
def recommendations(request: HttpRequest, scope: Scope, customer: Customer) -> HttpResponse:
    sort = request.GET.get("sort", "money")
    if sort not in SORTS:
        sort = "money"
    qs = selectors.recommendation_list(
        scope=scope, customer_id=customer.pk, changed_only=True
    ).filter(status="pending")
    page = Paginator(qs.order_by(*SORTS[sort]), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {
            "rec": rec,
            "chart": demand_chart(
                rec.explanation.get("recent_daily") or [],
                current=(rec.current_min, rec.current_max),
                recommended=(rec.min_qty, rec.max_qty),
            ),
            "lead": rec.explanation.get("lead_time") or {},
        }
        for rec in page
    ]
    return render(
        request,
        "portals/insight/recommendations.html",
        {
            "customer": customer,
            "page": page,
            "rows": rows,
            "sort": sort,
            "totals": selectors.recommendation_totals(scope=scope, customer_id=customer.pk),
            "can_apply": scope.is_vendor_staff,
            "section": "recommendations",
        },
    )


@customer_view(roles=VENDOR_STAFF)
def recommendations_apply(request: HttpRequest, scope: Scope, customer: Customer) -> HttpResponse:
    if request.method != "POST":
        return _not_allowed()
    apply_all = request.POST.get("all") == "1"
    # A row's own button names one bin, whatever else is ticked; otherwise the ticked ones.
    chosen = request.POST.getlist("one")[:1] or request.POST.getlist("bins")
    try:
        bin_ids = None if apply_all else [int(v) for v in chosen]
    except ValueError:
        bin_ids = []
    if bin_ids == []:
        messages.error(request, "Choose the bins to apply, or apply all.")
        return redirect("portals:recommendations", customer.pk)
    result = services.recommendations_apply(
        scope=scope, customer_id=customer.pk, bin_ids=bin_ids, user_id=scope.user_id
    )
    applied = len(result.applied)
    messages.success(
        request, f"Applied the recommended levels to {applied} bin{'s' * (applied != 1)}."
    )
    if result.skipped:
        messages.warning(
            request,
            f"{len(result.skipped)} skipped: "
            + "; ".join(f"bin {s['bin']}: {s['detail']}" for s in result.skipped[:5]),
        )
    return redirect("portals:recommendations", customer.pk)


@customer_view(roles=VENDOR_STAFF)
def recommendations_recompute(
    request: HttpRequest, scope: Scope, customer: Customer
) -> HttpResponse:
    if request.method != "POST":
        return _not_allowed()
    try:
        services.recommendations_recompute_enqueue(scope=scope, customer_id=customer.pk)
        messages.success(request, "Recomputing this customer's bins; refresh in a minute.")
    except ApiError as exc:
        messages.error(request, str(exc.detail))
    return redirect("portals:recommendations", customer.pk)


@customer_view(roles=VENDOR_STAFF)
def demand_policy(request: HttpRequest, scope: Scope, customer: Customer) -> HttpResponse:
    policies = list(selectors.policy_list(scope=scope, customer_id=customer.pk))
    own = next((p for p in policies if p.item_id is None and p.bin_id is None), None)
    customer_form = CustomerPolicyForm(
        initial={"target_fill": own.target_fill * 100 if own and own.target_fill else None}
    )
    bin_form = BinPolicyForm()
    if request.method == "POST":
        try:
            if request.POST.get("form") == "customer":
                customer_form = CustomerPolicyForm(request.POST)
                if customer_form.is_valid():
                    target = customer_form.cleaned_data["target_fill"]
                    services.policy_set(
                        scope=scope,
                        customer_id=customer.pk,
                        target_fill=float(target) / 100 if target is not None else None,
                        user_id=scope.user_id,
                    )
                    messages.success(request, "Target fill saved.")
                    return redirect("portals:demand_policy", customer.pk)
            elif request.POST.get("form") == "delete":
                services.policy_delete(scope=scope, policy_id=int(request.POST.get("policy", 0)))
                messages.success(request, "Policy removed.")
                return redirect("portals:demand_policy", customer.pk)
            else:
                bin_form = BinPolicyForm(request.POST)
                if bin_form.is_valid():
                    d = bin_form.cleaned_data
                    found = (
                        Bin.objects.for_scope(scope)
                        .filter(customer_id=customer.pk, label=d["label"])
                        .first()
                    )
                    if found is None:
                        bin_form.add_error("label", "No bin with this label here.")
                    else:
                        target = d.get("target_fill")
                        services.policy_set(
                            scope=scope,
                            customer_id=customer.pk,
                            bin_id=found.pk,
                            floor_min=d.get("floor_min"),
                            target_fill=float(target) / 100 if target is not None else None,
                            opt_out=d.get("opt_out", False),
                            user_id=scope.user_id,
                        )
                        messages.success(request, f"Policy of bin {found.label} saved.")
                        return redirect("portals:demand_policy", customer.pk)
        except (ApiError, ValueError) as exc:
            messages.error(request, str(getattr(exc, "detail", exc)))
            return redirect("portals:demand_policy", customer.pk)
    return render(
        request,
        "portals/insight/policy.html",
        {
            "customer": customer,
            "policies": policies,
            "customer_form": customer_form,
            "bin_form": bin_form,
            "section": "recommendations",
        },
    )


@customer_view()
def backtests(request: HttpRequest, scope: Scope, customer: Customer) -> HttpResponse:
    form = BacktestForm()
    if request.method == "POST":
        if not scope.is_vendor_staff:
            return HttpResponse(status=403)
        form = BacktestForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                found = services.backtest_create(
                    scope=scope,
                    customer_id=customer.pk,
                    params=form.params(),
                    user_id=scope.user_id,
                )
            except ApiError as exc:
                form.add_error(None, str(exc.detail))
            else:
                return redirect("portals:backtest", customer.pk, found.pk)
    page = Paginator(
        selectors.backtest_list(scope=scope, customer_id=customer.pk).defer("result"), 20
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "portals/insight/backtests.html",
        {
            "customer": customer,
            "page": page,
            "form": form,
            "can_create": scope.is_vendor_staff,
            "section": "backtests",
        },
    )


@customer_view()
def backtest_detail(
    request: HttpRequest, scope: Scope, customer: Customer, backtest_id: int
) -> HttpResponse:
    found = get_object_or_404(
        selectors.backtest_list(scope=scope, customer_id=customer.pk), pk=backtest_id
    )
    variants = (found.result or {}).get("variants", [])
    detail = []
    if variants:
        by_bin = [{b["bin"]: b for b in v["bins"]} for v in variants]
        for row in variants[0]["bins"][:BIN_DETAIL_ROWS]:
            detail.append(
                {
                    "label": row["label"],
                    "sku": row["sku"],
                    "cells": [v.get(row["bin"]) for v in by_bin],
                }
            )
    return render(
        request,
        "portals/insight/backtest.html",
        {
            "customer": customer,
            "backtest": found,
            "variants": variants,
            "chart": tradeoff_chart(variants) if variants else None,
            "detail": detail,
            "more_bins": max(0, len(variants[0]["bins"]) - BIN_DETAIL_ROWS) if variants else 0,
            "running": found.status in (BacktestStatus.QUEUED, BacktestStatus.RUNNING),
            "section": "backtests",
        },
    )


customer = "customers/<int:customer_id>/"
urlpatterns = [
    path(f"{customer}recommendations/", recommendations, name="recommendations"),
    path(f"{customer}recommendations/apply/", recommendations_apply, name="recommendations_apply"),
    path(
        f"{customer}recommendations/recompute/",
        recommendations_recompute,
        name="recommendations_recompute",
    ),
    path(f"{customer}recommendations/policy/", demand_policy, name="demand_policy"),
    path(f"{customer}backtests/", backtests, name="backtests"),
    path(f"{customer}backtests/<int:backtest_id>/", backtest_detail, name="backtest"),
]
