"""Bins and catalog in bulk: CSV export, CSV import (preview, then confirm), and a
percentage adjustment of min/max.

Nothing is written by a preview. The confirm posts the previewed text back and the
service checks it again inside its transaction: the rows that are still good are
saved, the others are listed as skipped.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path

from catalog.bulk import (
    CATALOG_COLUMNS,
    CATALOG_REQUIRED,
    catalog_import_apply,
    catalog_import_plan,
)
from catalog.selectors import item_barcodes_by_item, item_export_rows
from cmi.csvin import MAX_BYTES, MAX_ROWS, CsvTable, ImportPlan
from cmi.errors import ApiError
from cmi.models import Customer
from cmi.scoping import VENDOR_STAFF, Scope
from portals.csvout import csv_response
from portals.forms_bulk import LEVEL_LABELS, AdjustForm, CsvConfirmForm, CsvUploadForm
from portals.views.access import customer_view, portal_view
from stocking.bulk import (
    BIN_COLUMNS,
    BIN_READ_ONLY,
    BIN_REQUIRED,
    bins_adjust_apply,
    bins_adjust_plan,
    bins_import_apply,
    bins_import_plan,
)
from stocking.selectors import bin_export_rows, site_list

VENDOR_ADMIN = frozenset({"vendor_admin"})
CHUNK = 2000
PREVIEW_ROWS = 500  # rows listed per kind (errors, changes) on a preview
BIN_SPEC = {"required": BIN_REQUIRED, "optional": BIN_COLUMNS}
CATALOG_SPEC = {"required": CATALOG_REQUIRED, "optional": CATALOG_COLUMNS}
LIMITS = {"max_mb": MAX_BYTES // 1_000_000, "max_rows": MAX_ROWS}


def _not_allowed() -> HttpResponse:
    return HttpResponse(status=405, headers={"Allow": "GET, POST"})


# --- bins --------------------------------------------------------------------------------


@customer_view(roles=VENDOR_STAFF)
def bins_export(request: HttpRequest, scope: Scope, customer: Customer) -> HttpResponse:
    """The columns the import reads, then label and on-hand (read only, for people)."""
    rows = bin_export_rows(
        scope=scope,
        customer_id=customer.pk,
        columns=(
            "site__code",
            "location__code",
            "item__sku",
            "min_qty",
            "max_qty",
            "pack_multiple",
            "label",
            "on_hand",
        ),
    ).iterator(chunk_size=CHUNK)
    return csv_response(
        f"bins-{customer.code}.csv",
        (*BIN_COLUMNS, *BIN_READ_ONLY),
        rows,
        text_columns=(0, 1, 2, 6),  # site, location, SKU, label; the rest are numbers
    )


def _bins_page(request, customer, template: str, status: int = 200, **context) -> HttpResponse:
    context = {
        "customer": customer,
        "section": "bins_import",  # the customer's "Min/max files" tab
        "columns": BIN_COLUMNS,
        "read_only": BIN_READ_ONLY,
        **LIMITS,
        **context,
    }
    return render(request, f"portals/bulk/{template}", context, status=status)


def _import_flow(
    request: HttpRequest,
    *,
    page: Callable[..., HttpResponse],
    name: str,
    spec: dict,
    plan: Callable[[CsvTable], ImportPlan],
    apply: Callable[[CsvTable], ImportPlan],
) -> HttpResponse:
    """GET: the upload form. POST: the preview (nothing written). POST confirm: apply.

    `page(template, status, **context)` renders one of `{name}_import.html`,
    `{name}_preview.html` or `{name}_done.html`; `plan` and `apply` call the services."""
    if request.method == "GET":
        return page(f"{name}_import.html", form=CsvUploadForm(**spec))
    if request.method != "POST":
        return _not_allowed()
    if "confirm" in request.POST:
        confirm = CsvConfirmForm(request.POST, **spec)
        if not confirm.is_valid():
            errors = confirm.errors.get("__all__") or confirm.errors.get("csv_text")
            return page(f"{name}_import.html", 400, form=CsvUploadForm(**spec), errors=errors)
        try:
            done = apply(confirm.cleaned_data["table"])
        except ApiError as err:
            return page(
                f"{name}_import.html", 409, form=CsvUploadForm(**spec), errors=[str(err.detail)]
            )
        return page(f"{name}_done.html", plan=done, totals=done.totals, error_rows=done.of("error"))
    form = CsvUploadForm(request.POST, request.FILES, **spec)
    if not form.is_valid():
        return page(f"{name}_import.html", 400, form=form)
    table = form.cleaned_data["table"]
    preview = plan(table)
    errors = preview.of("error")
    changes = [row for row in preview.rows if row.action in ("create", "change")]
    # Rows that change nothing are counted, not listed, and each list is capped: a page
    # of 10,000 rows takes longer to draw and to read than to fix the file.
    return page(
        f"{name}_preview.html",
        plan=preview,
        totals=preview.totals,
        error_rows=errors[:PREVIEW_ROWS],
        errors_not_listed=max(len(errors) - PREVIEW_ROWS, 0),
        good_rows=changes[:PREVIEW_ROWS],
        changes_not_listed=max(len(changes) - PREVIEW_ROWS, 0),
        confirm=CsvConfirmForm(initial={"csv_text": table.text}, **spec),
    )


@customer_view(roles=VENDOR_STAFF)
def bins_import(request: HttpRequest, scope: Scope, customer: Customer) -> HttpResponse:
    """Bins of the customer: new ones and min/max/pack changes, previewed, then confirmed."""
    return _import_flow(
        request,
        page=functools.partial(_bins_page, request, customer),
        name="bins",
        spec=BIN_SPEC,
        plan=lambda table: bins_import_plan(scope=scope, customer_id=customer.pk, table=table),
        apply=lambda table: bins_import_apply(
            scope=scope, customer_id=customer.pk, table=table, user_id=scope.user_id
        ),
    )


@customer_view(roles=VENDOR_STAFF)
def bins_adjust(request: HttpRequest, scope: Scope, customer: Customer) -> HttpResponse:
    """Scale min and/or max of many bins by a percentage: a preview, then confirm."""
    sites = list(site_list(scope=scope).filter(customer_id=customer.pk))
    if request.method == "GET":
        form = AdjustForm(initial={"levels": "min"}, sites=sites)
        return _bins_page(request, customer, "bins_adjust.html", form=form)
    if request.method != "POST":
        return _not_allowed()
    form = AdjustForm(request.POST, sites=sites)
    if not form.is_valid():
        return _bins_page(request, customer, "bins_adjust.html", 400, form=form)
    data = form.cleaned_data
    arguments = {
        "scope": scope,
        "customer_id": customer.pk,
        "levels": data["levels"],
        "percent": data["percent"],
        "site_id": data["site"],
        "location_code": data["location"].strip(),
        "sku_prefix": data["sku"].strip(),
    }
    try:
        if "confirm" in request.POST:
            plan = bins_adjust_apply(**arguments, user_id=scope.user_id)
        else:
            plan = bins_adjust_plan(**arguments)
    except ApiError as err:
        form.add_error(err.field if err.field in form.fields else None, str(err.detail))
        return _bins_page(request, customer, "bins_adjust.html", 400, form=form)
    what = LEVEL_LABELS[data["levels"]].lower().replace(" only", "")
    if "confirm" in request.POST:
        changed = len(plan.changes)
        messages.success(
            request,
            f"{what.capitalize()} changed by {data['percent']:+d}% on {changed} "
            f"bin{'s' if changed != 1 else ''}; each change is in the bin's history.",
        )
        return redirect("portals:bins_adjust", customer_id=customer.pk)
    return _bins_page(
        request, customer, "bins_adjust.html", form=form, plan=plan, what=what, preview=True
    )


# --- catalog -----------------------------------------------------------------------------


@portal_view(roles=VENDOR_STAFF)
def catalog_export(request: HttpRequest, scope: Scope) -> HttpResponse:
    """The catalog in the import's columns; barcodes joined by |. Two queries."""
    codes = item_barcodes_by_item(scope=scope)
    items = item_export_rows(
        scope=scope, columns=("pk", "sku", "description", "unit_of_measure", "pack_quantity")
    ).iterator(chunk_size=CHUNK)
    rows = (
        (sku, description, unit, pack, "|".join(codes.get(pk, ())))
        for pk, sku, description, unit, pack in items
    )
    return csv_response("catalog.csv", CATALOG_COLUMNS, rows)


def _catalog_page(request, template: str, status: int = 200, **context) -> HttpResponse:
    context = {"section": "catalog", "columns": CATALOG_COLUMNS, **LIMITS, **context}
    return render(request, f"portals/bulk/{template}", context, status=status)


@portal_view(roles=VENDOR_ADMIN)
def catalog_import(request: HttpRequest, scope: Scope) -> HttpResponse:
    """New items and changes to existing ones (by SKU), previewed, then confirmed."""
    return _import_flow(
        request,
        page=functools.partial(_catalog_page, request),
        name="catalog",
        spec=CATALOG_SPEC,
        plan=lambda table: catalog_import_plan(scope=scope, table=table),
        apply=lambda table: catalog_import_apply(scope=scope, table=table, user_id=scope.user_id),
    )


customer = "customers/<int:customer_id>/"

urlpatterns = [
    path(f"{customer}bins/export.csv", bins_export, name="bins_export"),
    path(f"{customer}bins/import/", bins_import, name="bins_import"),
    path(f"{customer}bins/adjust/", bins_adjust, name="bins_adjust"),
    path("catalog/import/", catalog_import, name="catalog_import"),
    path("catalog/export.csv", catalog_export, name="catalog_export"),
]
