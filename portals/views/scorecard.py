"""The service scorecard: one customer's month (the same page for the customer's manager
and the vendor's staff), its printable version, and the vendor's month across its
customers. Reads are insight.scorecard's selectors, the targets its service."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone

from cmi.errors import ApiError
from cmi.models import Customer
from cmi.scoping import VENDOR_STAFF, Scope
from insight.scorecard.metrics import BY_KEY, METRICS, Metric
from insight.scorecard.selectors import (
    CustomerScorecard,
    month_parse,
    scorecard_customer,
    scorecard_vendor,
)
from insight.scorecard.services import scorecard_target_set
from portals.forms_scorecard import TargetForm
from portals.views.access import customer_view, portal_view
from portals.views.scorecard_charts import trend_chart, unit_suffix

MANAGER_OR_VENDOR = VENDOR_STAFF | {"customer_manager"}
# The vendor page's columns: the figures a rep scans across customers.
VENDOR_COLUMNS = (
    "fill_rate",
    "stockout_share",
    "below_min_share",
    "over_max_share",
    "ack_855_p90_hours",
    "on_time_share",
    "order_accuracy",
    "scan_coverage",
    "inventory_turns",
)


def shown(value: float | None, unit: str) -> str:
    """A figure as people read it: 66.7%, 1.5 h, 2; an en dash for nothing measured."""
    if value is None:
        return "–"
    if unit == "count":
        return f"{value:g}"
    return f"{value:.1f}{unit_suffix(unit)}"


def _month(request: HttpRequest, tz_name: str) -> tuple[dt.date, str | None]:
    """The month asked for (?month=YYYY-MM), this month in the zone by default; a bad one
    shows this month with the problem said."""
    today = timezone.now().astimezone(zoneinfo.ZoneInfo(tz_name)).date()
    try:
        return month_parse(request.GET.get("month"), today=today), None
    except ApiError as err:
        return today.replace(day=1), str(err.detail)


def _card_context(card: CustomerScorecard) -> dict:
    rows = []
    for row in card.rows:
        series = [(m, values.get(row.metric.key)) for m, values in card.trend]
        rows.append(
            {
                "metric": row.metric,
                "actual": shown(row.actual, row.metric.unit),
                "target": shown(row.target, row.metric.unit) if row.target is not None else "",
                "met": row.met,
                "chart": trend_chart(
                    series, unit=row.metric.unit, target=row.target, label=row.metric.label
                ),
            }
        )
    table = [(m, [shown(values.get(m.key), m.unit) for _, values in card.trend]) for m in METRICS]
    judged = [r.met for r in card.rows if r.met is not None]
    return {
        "card": card,
        "rows": rows,
        "months": [m for m, _ in card.trend],
        "table": table,
        "met": judged.count(True),
        "missed": judged.count(False),
        "counts": card.values,
    }


@customer_view(roles=MANAGER_OR_VENDOR)
def scorecard(request: HttpRequest, scope: Scope, customer: Customer) -> HttpResponse:
    month, problem = _month(request, customer.timezone)
    form = TargetForm()
    status = 400 if problem else 200
    if request.method == "POST":
        if not scope.is_vendor_staff:
            return HttpResponse(status=403)
        form = TargetForm(request.POST)
        if form.is_valid():
            try:
                scorecard_target_set(
                    scope=scope,
                    customer_id=customer.pk,
                    metric=form.cleaned_data["metric"],
                    target=form.cleaned_data["target"],
                )
            except ApiError as err:
                form.add_error("target" if err.field == "target" else None, str(err.detail))
            else:
                label = BY_KEY[form.cleaned_data["metric"]].label
                messages.success(request, f"Target for {label} saved.")
                url = reverse("portals:scorecard", args=[customer.pk])
                return redirect(f"{url}?month={request.GET.get('month', '')}")
        status = 400
    card = scorecard_customer(scope=scope, customer_id=customer.pk, month=month)
    return render(
        request,
        "portals/scorecard/customer.html",
        {
            "customer": customer,
            "section": "scorecard",
            "problem": problem,
            "form": form,
            "can_set": scope.is_vendor_staff,
            "month_value": f"{month:%Y-%m}",
            **_card_context(card),
        },
        status=status,
    )


@customer_view(roles=MANAGER_OR_VENDOR)
def scorecard_print(request: HttpRequest, scope: Scope, customer: Customer) -> HttpResponse:
    month, problem = _month(request, customer.timezone)
    card = scorecard_customer(scope=scope, customer_id=customer.pk, month=month)
    return render(
        request,
        "portals/scorecard/print.html",
        {
            "customer": customer,
            "problem": problem,
            "printed_at": timezone.now(),
            **_card_context(card),
        },
        status=400 if problem else 200,
    )


@portal_view(roles=VENDOR_STAFF)
def scorecards(request: HttpRequest, scope: Scope) -> HttpResponse:
    month, problem = _month(request, "UTC")
    result = scorecard_vendor(scope=scope, month=month)
    columns: list[Metric] = [BY_KEY[k] for k in VENDOR_COLUMNS]
    rows = [
        {
            "customer": r.customer,
            "met": r.met,
            "missed": r.missed,
            "cells": [(m.label, shown(r.values.get(m.key), m.unit)) for m in columns],
        }
        for r in result.rows
    ]
    return render(
        request,
        "portals/scorecard/vendor.html",
        {
            "section": "scorecards",
            "problem": problem,
            "month": month,
            "month_value": f"{month:%Y-%m}",
            "columns": columns,
            "rows": rows,
            "totals": [shown(result.totals.get(m.key), m.unit) for m in columns],
            "total_counts": result.totals,
        },
        status=400 if problem else 200,
    )


urlpatterns = [
    path("scorecards/", scorecards, name="scorecards"),
    path("customers/<int:customer_id>/scorecard/", scorecard, name="scorecard"),
    path("customers/<int:customer_id>/scorecard/print/", scorecard_print, name="scorecard_print"),
]
