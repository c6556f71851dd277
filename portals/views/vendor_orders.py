"""The vendor's orders across customers, with the EDI documents of each: their state,
errors and raw X12; and the inbound interchanges that did not apply.

Vendor staff only; a rep with assigned customers sees only their orders, documents
and interchanges (everything else is a 404, as for another vendor's ids).
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from cmi.scoping import VENDOR_STAFF, Scope
from cmi.selectors import customer_list
from edi import selectors as edi
from edi.models import Direction, Document, InboundInterchange
from portals.forms_setup import VendorOrderFilterForm
from portals.views.access import portal_view
from replenishment.models import OrderStatus
from replenishment.selectors import order_event_list

PAGE_SIZE = 50
ORDERING = {
    "created": ("created_at", "pk"),
    "po": ("po_number", "pk"),
    "customer": ("customer__name", "pk"),
    "status": ("status", "pk"),
}
X12_MEDIA_TYPE = "application/edi-x12"


@portal_view(roles=VENDOR_STAFF)
def vendor_order_list(request: HttpRequest, scope: Scope) -> HttpResponse:
    customers = list(customer_list(scope=scope).only("pk", "name"))
    form = VendorOrderFilterForm(
        request.GET or None,
        customers=customers,
        statuses=OrderStatus.choices,
        edi_states=[(key, label) for key, (label, _) in edi.EDI_STATES.items()],
    )
    filters = form.cleaned_or_defaults() if request.GET else dict(form.DEFAULTS)
    qs = edi.vendor_order_list(scope=scope)
    text = (filters.get("q") or "").strip()
    if text:
        qs = qs.filter(po_number__icontains=text)
    if filters.get("customer"):
        qs = qs.filter(customer_id=filters["customer"])
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("edi"):
        qs = qs.filter(edi.EDI_STATES[filters["edi"]][1])
    sort = filters.get("sort") or "-created"
    fields = ORDERING[sort.lstrip("-")]
    if sort.startswith("-"):
        fields = tuple(f"-{name}" for name in fields)
    page = Paginator(qs.order_by(*fields), PAGE_SIZE).get_page(request.GET.get("page"))
    for order in page:
        order.edi_badges = edi.order_edi_badges(order)
    return render(
        request,
        "portals/vendor_orders/list.html",
        {
            "form": form,
            "page": page,
            "sort": sort,
            "filtered": bool(
                text or filters.get("customer") or filters.get("status") or filters.get("edi")
            ),
            "inbound_problems": edi.inbound_problems(scope=scope).count(),
            "section": "vendor_orders",
        },
    )


@portal_view(roles=VENDOR_STAFF)
def vendor_order_detail(request: HttpRequest, scope: Scope, order_id: int) -> HttpResponse:
    order = edi.vendor_order_get(scope=scope, order_id=order_id)
    if order is None:
        raise Http404("No such order.")
    lines = list(order.lines.select_related("item").order_by("line_number"))
    events = order_event_list(scope=scope, order_id=order.pk)
    documents = edi.order_documents(scope=scope, order_id=order.pk)
    for document in documents:
        document.badges = edi.document_badges(document)
        document.error_lines = edi.document_error_lines(document)
    state = getattr(order, "edi_state", None)
    with timezone.override(scope.timezone):  # the vendor's pages: the vendor's zone
        return render(
            request,
            "portals/vendor_orders/detail.html",
            {
                "order": order,
                "state": state,
                "edi_badges": edi.order_edi_badges(order),
                "lines": lines,
                "events": events,
                "documents": documents,
                "shipments": edi.order_shipments(scope=scope, order_id=order.pk),
                "invoices": list(order.invoices.order_by("pk")),
                "time_zone": scope.timezone,
                "section": "vendor_orders",
            },
        )


def _document(scope: Scope, document_id: int) -> Document:
    document = edi.edi_document_get(scope=scope, document_id=document_id)
    if document is None:
        raise Http404("No such document.")
    return document


def _x12_download(payload, name: str) -> HttpResponse:
    """The bytes exactly as stored, as a file (never rendered by the browser)."""
    response = HttpResponse(bytes(payload), content_type=X12_MEDIA_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@portal_view(roles=VENDOR_STAFF)
def edi_document(request: HttpRequest, scope: Scope, document_id: int) -> HttpResponse:
    document = _document(scope, document_id)
    zone = scope.timezone  # the vendor's pages: the vendor's zone
    with timezone.override(zone):
        return render(
            request,
            "portals/vendor_orders/document.html",
            {
                "document": document,
                "incoming": document.direction == Direction.IN,
                "badges": edi.document_badges(document),
                "error_lines": edi.document_error_lines(document),
                "segments": edi.x12_segments(document.payload),
                "size": len(document.payload),
                "time_zone": zone,
                "section": "vendor_orders",
            },
        )


@portal_view(roles=VENDOR_STAFF)
def edi_document_download(request: HttpRequest, scope: Scope, document_id: int) -> HttpResponse:
    document = _document(scope, document_id)
    name = (
        f"{document.transaction_set}-{document.direction}-{document.st_control}-{document.pk}.x12"
    )
    return _x12_download(document.payload, name)


@portal_view(roles=VENDOR_STAFF)
def edi_inbound(request: HttpRequest, scope: Scope) -> HttpResponse:
    page = Paginator(edi.inbound_problems(scope=scope), PAGE_SIZE).get_page(request.GET.get("page"))
    for interchange in page:
        interchange.error_lines = edi.interchange_error_lines(interchange.errors)
    return render(
        request,
        "portals/vendor_orders/inbound.html",
        {"page": page, "section": "vendor_orders"},
    )


def _interchange(scope: Scope, interchange_id: int) -> InboundInterchange:
    found = edi.inbound_interchange_get(scope=scope, interchange_id=interchange_id)
    if found is None:
        raise Http404("No such interchange.")
    return found


@portal_view(roles=VENDOR_STAFF)
def edi_interchange(request: HttpRequest, scope: Scope, interchange_id: int) -> HttpResponse:
    interchange = _interchange(scope, interchange_id)
    return render(
        request,
        "portals/vendor_orders/interchange.html",
        {
            "interchange": interchange,
            "error_lines": edi.interchange_error_lines(interchange.errors),
            "segments": edi.x12_segments(interchange.raw),
            "size": len(interchange.raw),
            "section": "vendor_orders",
        },
    )


@portal_view(roles=VENDOR_STAFF)
def edi_interchange_download(
    request: HttpRequest, scope: Scope, interchange_id: int
) -> HttpResponse:
    interchange = _interchange(scope, interchange_id)
    return _x12_download(interchange.raw, f"interchange-{interchange.pk}.x12")


urlpatterns = [
    path("orders/", vendor_order_list, name="vendor_orders"),
    path("orders/<int:order_id>/", vendor_order_detail, name="vendor_order"),
    path("edi/documents/<int:document_id>/", edi_document, name="edi_document"),
    path(
        "edi/documents/<int:document_id>/download/",
        edi_document_download,
        name="edi_document_download",
    ),
    path("edi/inbound/", edi_inbound, name="edi_inbound"),
    path("edi/inbound/<int:interchange_id>/", edi_interchange, name="edi_interchange"),
    path(
        "edi/inbound/<int:interchange_id>/download/",
        edi_interchange_download,
        name="edi_interchange_download",
    ),
]
