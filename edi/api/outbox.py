"""The partner profile (vendor admins), the outbox the ERP pulls (ERP key only) and
the overdue answers (vendor staff). Plain views: parse, call edi.outbound or
edi.overdue, render."""

from __future__ import annotations

import json

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, renderers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from cmi.api.serializers import ErrorSerializer
from cmi.errors import ApiError
from cmi.pagination import PagePagination
from cmi.permissions import VENDOR_STAFF
from edi import outbound, overdue
from edi.api.outbox_serializers import (
    DeliveryIn,
    DeliveryOut,
    OutboxPageOut,
    OverdueOut,
    PartnerIn,
    PartnerOut,
)
from edi.models import OrderEdiState, TradingPartner

ADMIN = frozenset({"vendor_admin"})
ERP = frozenset({"erp"})
X12_MEDIA_TYPE = "application/edi-x12"
LIMIT_DEFAULT, LIMIT_MAX = 100, 500

# Errors of the payload endpoint are JSON whatever the client asked for.
JSON_ERRORS = {(code, "application/json"): ErrorSerializer for code in (401, 403, 404)}


class X12Renderer(renderers.BaseRenderer):
    """Lets `Accept: application/edi-x12` through content negotiation.

    The payload itself is sent as an HttpResponse, byte for byte, and errors are
    switched to JSON in finalize_response; this renderer is the fallback for both.
    """

    media_type = X12_MEDIA_TYPE
    format = "x12"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if isinstance(data, bytes):
            return data
        return json.dumps(data).encode()


def _int_param(request, name: str, *, default: int, low: int, high: int, code: str) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    # isdecimal: no sign, no blanks, no "1_000"; the length check keeps int() cheap.
    if not (raw.isascii() and raw.isdecimal() and len(raw) <= 19) or not low <= int(raw) <= high:
        raise ApiError(code, f"'{name}' must be a whole number from {low} to {high}.", field=name)
    return int(raw)


class PartnerView(APIView):
    """The vendor's ERP as an X12 trading partner: one profile per vendor."""

    read_roles = ADMIN
    write_roles = ADMIN

    @extend_schema(
        responses={200: PartnerOut, 403: ErrorSerializer, 404: ErrorSerializer},
        summary="The trading partner profile",
    )
    def get(self, request):
        return Response(PartnerOut(outbound.partner_get(scope=self.scope)).data)

    @extend_schema(
        request=PartnerIn,
        responses={
            200: PartnerOut,
            201: PartnerOut,
            400: ErrorSerializer,
            403: ErrorSerializer,
        },
        summary="Create or replace the trading partner profile",
        description=(
            "Fields left out take their defaults. The profile is checked as a whole: widths, "
            "separators (single, distinct, not letters, digits or space), and that it can write "
            "an envelope. A bad one is 400 `invalid_partner` naming the field."
        ),
    )
    def put(self, request):
        body = PartnerIn(data=request.data)
        body.is_valid(raise_exception=True)
        partner, created = outbound.partner_replace(scope=self.scope, data=body.validated_data)
        return Response(
            PartnerOut(partner).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class OutboxListView(APIView):
    """`GET /api/v1/edi/outbox?after=<cursor>&limit=<n>`: what the ERP has not pulled yet."""

    read_roles = ERP
    write_roles = frozenset()

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "after",
                int,
                description="Return documents with a cursor above this; 0 (default) is the start.",
            ),
            OpenApiParameter("limit", int, description="1 to 500, default 100."),
        ],
        responses={200: OutboxPageOut, 400: ErrorSerializer, 403: ErrorSerializer},
        summary="Outbound documents, in cursor order",
        description=(
            "Poll with `after` = the `next_cursor` of the previous answer. The same `after` "
            "always returns the same documents first: cursors become visible in order. "
            "Fetch each payload, then report delivery."
        ),
    )
    def get(self, request):
        after = _int_param(
            request, "after", default=0, low=0, high=outbound.MAX_ID, code="invalid_cursor"
        )
        limit = _int_param(
            request, "limit", default=LIMIT_DEFAULT, low=1, high=LIMIT_MAX, code="invalid_limit"
        )
        documents = outbound.outbox_list(scope=self.scope, after=after, limit=limit)
        next_cursor = documents[-1].cursor if documents else after
        return Response(OutboxPageOut({"results": documents, "next_cursor": next_cursor}).data)


class OutboxPayloadView(APIView):
    """The document exactly as written: the bytes the 850's control numbers belong to."""

    read_roles = ERP
    write_roles = frozenset()
    renderer_classes = [renderers.JSONRenderer, X12Renderer]

    @extend_schema(
        responses={(200, X12_MEDIA_TYPE): OpenApiTypes.BINARY, **JSON_ERRORS},
        summary="One outbound document's X12 bytes",
    )
    def get(self, request, document_id: int):
        document = outbound.outbox_document(scope=self.scope, document_id=document_id)
        return HttpResponse(bytes(document.payload), content_type=X12_MEDIA_TYPE)

    def finalize_response(self, request, response, *args, **kwargs):
        if isinstance(response, Response):  # an error: the payload is a plain HttpResponse
            request.accepted_renderer = renderers.JSONRenderer()
            request.accepted_media_type = "application/json"
        return super().finalize_response(request, response, *args, **kwargs)


class OutboxDeliveryView(APIView):
    """The ERP says it picked a document up, or could not."""

    read_roles = frozenset()
    write_roles = ERP

    @extend_schema(
        request=DeliveryIn,
        responses={
            200: DeliveryOut,
            400: ErrorSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
        },
        summary="Report pickup of an outbound document",
        description="Idempotent: the same report again changes nothing and answers 200.",
    )
    def post(self, request, document_id: int):
        # The id first: another vendor's document is a 404 whatever the body says.
        outbound.outbox_document(scope=self.scope, document_id=document_id)
        body = DeliveryIn(data=request.data)
        body.is_valid(raise_exception=True)
        document = outbound.document_delivery_record(
            scope=self.scope,
            document_id=document_id,
            status=body.validated_data["status"],
            reason=body.validated_data.get("reason", ""),
        )
        return Response(DeliveryOut(document).data)


class OverdueListView(generics.ListAPIView):
    """Orders whose 997, 855 or receipt is late, oldest first."""

    serializer_class = OverdueOut
    pagination_class = PagePagination
    filter_backends: list = []
    read_roles = VENDOR_STAFF
    write_roles = frozenset()

    def get_queryset(self):
        scope = getattr(self, "scope", None)
        if scope is None:  # schema generation
            return OrderEdiState.objects.none()
        return overdue.overdue_list(scope=scope)

    def get_serializer_context(self) -> dict:
        context = super().get_serializer_context()
        scope = getattr(self, "scope", None)
        if scope is not None:
            context["partner"] = TradingPartner.objects.filter(vendor_id=scope.vendor_id).first()
        return context

    @extend_schema(
        responses={200: OverdueOut(many=True), 403: ErrorSerializer},
        summary="Orders with overdue EDI answers",
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
