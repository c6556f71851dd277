"""The vendor's catalog: items with barcodes, customers' references and where each is
stocked. Vendor staff read it; the vendor admin edits through the catalog services.

A rep limited to some customers sees only those customers' references and bins: the
scope does it, since both querysets go through `for_scope`.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from catalog.models import Item
from catalog.selectors import item_catalog, item_cross_references, item_list
from catalog.services import cross_reference_create, cross_reference_delete, item_update
from cmi.errors import ApiError
from cmi.models import Customer
from cmi.scoping import VENDOR_STAFF, Scope
from portals.forms_catalog import CatalogSearchForm, ItemEditForm, ReferenceForm
from portals.views.access import portal_view
from stocking.selectors import bin_list

PAGE_SIZE = 50
REFERENCES_PAGE = 100
BINS_PAGE = 100
EDITORS = frozenset({"vendor_admin"})


def can_edit_catalog(scope: Scope) -> bool:
    return scope.role in EDITORS


def _csv_links(scope: Scope) -> dict[str, str | None]:
    """Everyone on the catalog may export it; only the admin imports (as the import allows)."""
    return {
        "import_url": reverse("portals:catalog_import") if scope.role == "vendor_admin" else None,
        "export_url": reverse("portals:catalog_export"),
    }


def _bin_counts(scope: Scope, item_ids: list[int]) -> dict[int, int]:
    """Bins per item for one page of items, of the customers the scope sees: one query."""
    rows = (
        bin_list(scope=scope)
        .filter(item_id__in=item_ids)
        .order_by()
        .values("item_id")
        .annotate(n=Count("pk"))
        .values_list("item_id", "n")
    )
    return dict(rows)


@portal_view(roles=VENDOR_STAFF)
def catalog_list(request: HttpRequest, scope: Scope) -> HttpResponse:
    form = CatalogSearchForm(request.GET or None)
    text = form.text() if request.GET else ""
    page = Paginator(item_catalog(scope=scope, text=text), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    counts = _bin_counts(scope, [item.pk for item in page])
    for item in page:
        item.bin_count = counts.get(item.pk, 0)
    return render(
        request,
        "portals/catalog/list.html",
        {
            "form": form,
            "q": text,
            "page": page,
            **_csv_links(scope),
            "can_edit": can_edit_catalog(scope),
            "section": "catalog",
        },
    )


def _item(scope: Scope, item_id: int) -> Item:
    return get_object_or_404(item_list(scope=scope), pk=item_id)


def _item_page(
    request: HttpRequest,
    scope: Scope,
    item: Item,
    *,
    edit_form: ItemEditForm | None = None,
    reference_form: ReferenceForm | None = None,
    status: int = 200,
) -> HttpResponse:
    references = Paginator(item_cross_references(scope=scope, item_id=item.pk), REFERENCES_PAGE)
    bins = Paginator(
        bin_list(scope=scope)
        .filter(item_id=item.pk)
        .select_related("site")
        .order_by("customer__name", "customer_id", "site__code", "location__sort_key", "pk"),
        BINS_PAGE,
    )
    can_edit = can_edit_catalog(scope)
    if can_edit:
        customers = list(Customer.objects.for_scope(scope).order_by("name", "pk"))
        edit_form = edit_form or ItemEditForm(
            initial={
                "description": item.description,
                "barcodes": "\n".join(b.code for b in item.barcodes.all()),
            }
        )
        reference_form = reference_form or ReferenceForm(customers=customers)
    context = {
        "item": item,
        "references": references.get_page(request.GET.get("refs")),
        "bins": bins.get_page(request.GET.get("bins")),
        "can_edit": can_edit,
        "edit_form": edit_form,
        "reference_form": reference_form,
        **_csv_links(scope),
        "section": "catalog",
    }
    return render(request, "portals/catalog/item.html", context, status=status)


@portal_view(roles=VENDOR_STAFF)
def catalog_item(request: HttpRequest, scope: Scope, item_id: int) -> HttpResponse:
    return _item_page(request, scope, _item(scope, item_id))


@require_POST
@portal_view(roles=EDITORS)
def catalog_item_edit(request: HttpRequest, scope: Scope, item_id: int) -> HttpResponse:
    item = _item(scope, item_id)
    form = ItemEditForm(request.POST)
    if form.is_valid():
        try:
            item_update(
                scope=scope,
                item_id=item.pk,
                description=form.cleaned_data["description"],
                barcodes=form.cleaned_data["barcodes"],
                source="portal",
            )
        except ApiError as err:
            form.add_service_error(err)
    if form.is_valid():
        messages.success(request, f"{item.sku} saved.")
        return redirect("portals:catalog_item", item_id=item.pk)
    return _item_page(request, scope, item, edit_form=form, status=400)


@require_POST
@portal_view(roles=EDITORS)
def catalog_reference_add(request: HttpRequest, scope: Scope, item_id: int) -> HttpResponse:
    item = _item(scope, item_id)
    customers = list(Customer.objects.for_scope(scope).order_by("name", "pk"))
    form = ReferenceForm(request.POST, customers=customers)
    if form.is_valid():
        try:
            reference = cross_reference_create(
                scope=scope,
                customer_id=form.cleaned_data["customer"],
                item_id=item.pk,
                kind=form.cleaned_data["kind"],
                code=form.cleaned_data["code"],
            )
        except ApiError as err:
            form.add_service_error(err)
    if form.is_valid():
        messages.success(
            request, f"{reference.code} now names {item.sku} for {reference.customer.name}."
        )
        return redirect("portals:catalog_item", item_id=item.pk)
    return _item_page(request, scope, item, reference_form=form, status=400)


@require_POST
@portal_view(roles=EDITORS)
def catalog_reference_delete(
    request: HttpRequest, scope: Scope, item_id: int, reference_id: int
) -> HttpResponse:
    item = _item(scope, item_id)
    reference = get_object_or_404(
        item_cross_references(scope=scope, item_id=item.pk), pk=reference_id
    )
    try:
        cross_reference_delete(scope=scope, reference_id=reference.pk)
    except ApiError as err:  # deleted by someone else in between
        raise Http404 from err
    messages.success(request, f"{reference.code} of {reference.customer.name} deleted.")
    return redirect("portals:catalog_item", item_id=item.pk)


urlpatterns = [
    path("catalog/", catalog_list, name="catalog"),
    path("catalog/<int:item_id>/", catalog_item, name="catalog_item"),
    path("catalog/<int:item_id>/edit/", catalog_item_edit, name="catalog_item_edit"),
    path("catalog/<int:item_id>/references/", catalog_reference_add, name="catalog_reference_add"),
    path(
        "catalog/<int:item_id>/references/<int:reference_id>/delete/",
        catalog_reference_delete,
        name="catalog_reference_delete",
    ),
]
