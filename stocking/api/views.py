from __future__ import annotations

import json

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.parsers import BaseParser
from rest_framework.response import Response
from rest_framework.views import APIView

from cmi import metrics
from cmi.api.base import ScopedViewSet
from cmi.api.serializers import ErrorSerializer
from cmi.errors import ApiError
from cmi.pagination import PagePagination
from stocking import rfid, selectors, services, setup
from stocking.api import filters
from stocking.api.serializers import (
    BinCreateIn,
    BinOut,
    BinUpdateIn,
    DeviceCreatedOut,
    DeviceIn,
    DeviceOut,
    LedgerOut,
    LevelChangeOut,
    LocationIn,
    LocationOut,
    RfidCycleIn,
    RfidCycleOut,
    ScanBatchIn,
    ScanBatchOut,
    SiteIn,
    SiteOut,
)
from stocking.scans import scan_envelope_events

MANAGERS = frozenset({"vendor_admin", "vendor_rep", "customer_manager"})


class SiteViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    serializer_class = SiteOut
    filterset_class = filters.SiteFilter
    lookup_value_regex = r"\d+"

    def scoped_queryset(self, scope):
        return selectors.site_list(scope=scope)

    @extend_schema(request=SiteIn, responses={201: SiteOut, 400: ErrorSerializer})
    def create(self, request):
        body = SiteIn(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        site = setup.site_create(scope=self.scope, customer_id=data.pop("customer"), **data)
        return Response(SiteOut(site).data, status=status.HTTP_201_CREATED)


class LocationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    serializer_class = LocationOut
    filterset_class = filters.LocationFilter
    lookup_value_regex = r"\d+"

    def scoped_queryset(self, scope):
        return selectors.location_list(scope=scope)

    @extend_schema(request=LocationIn, responses={201: LocationOut, 400: ErrorSerializer})
    def create(self, request):
        body = LocationIn(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        location = setup.location_create(
            scope=self.scope,
            site_id=data["site"],
            code=data["code"],
            name=data.get("name", ""),
            parent_id=data.get("parent"),
        )
        return Response(LocationOut(location).data, status=status.HTTP_201_CREATED)


class BinViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Bins: vendor staff set them up and change min/max; customer users read their own."""

    serializer_class = BinOut
    filterset_class = filters.BinFilter
    lookup_value_regex = r"\d+"

    def scoped_queryset(self, scope):
        return selectors.bin_list(scope=scope)

    @extend_schema(request=BinCreateIn, responses={201: BinOut, 400: ErrorSerializer})
    def create(self, request):
        body = BinCreateIn(data=request.data)
        body.is_valid(raise_exception=True)
        d = body.validated_data
        found = setup.bin_create(
            scope=self.scope,
            location_id=d["location"],
            item_id=d["item"],
            min_qty=d["min"],
            max_qty=d["max"],
            pack_multiple=d.get("pack_multiple"),
            on_hand=d["on_hand"],
            lead_time_days=d["lead_time_days"],
            kanban_quantity=d.get("kanban_quantity"),
            tare_grams=d.get("tare_grams"),
            label=d.get("label"),
            user_id=self.scope.user_id,
        )
        return Response(
            BinOut(self.get_queryset().get(pk=found.pk)).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        request=BinUpdateIn, responses={200: BinOut, 400: ErrorSerializer, 404: ErrorSerializer}
    )
    def partial_update(self, request, pk=None):
        found = self.get_object()
        body = BinUpdateIn(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        d = dict(body.validated_data)
        setup.bin_levels_update(
            scope=self.scope,
            bin_id=found.pk,
            min_qty=d.pop("min", None),
            max_qty=d.pop("max", None),
            pack_multiple=d.pop("pack_multiple", None),
            user_id=self.scope.user_id,
            **d,
        )
        return Response(BinOut(self.get_queryset().get(pk=found.pk)).data)

    @extend_schema(responses={200: LedgerOut(many=True)}, filters=False)
    @action(detail=True, methods=["get"], filterset_class=None, pagination_class=PagePagination)
    def ledger(self, request, pk=None):
        found = self.get_object()
        page = self.paginate_queryset(selectors.ledger_list(scope=self.scope, bin_id=found.pk))
        return self.get_paginated_response(LedgerOut(page, many=True).data)

    @extend_schema(responses={200: LevelChangeOut(many=True)}, filters=False)
    @action(detail=True, methods=["get"], url_path="level-changes", filterset_class=None)
    def level_changes(self, request, pk=None):
        found = self.get_object()
        page = self.paginate_queryset(
            selectors.level_change_list(scope=self.scope, bin_id=found.pk)
        )
        return self.get_paginated_response(LevelChangeOut(page, many=True).data)


class DeviceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Scanners: customer managers and vendor staff add and revoke them."""

    serializer_class = DeviceOut
    filterset_class = filters.DeviceFilter
    lookup_value_regex = r"\d+"
    read_roles = MANAGERS
    write_roles = MANAGERS

    def scoped_queryset(self, scope):
        return selectors.device_list(scope=scope)

    @extend_schema(request=DeviceIn, responses={201: DeviceCreatedOut, 400: ErrorSerializer})
    def create(self, request):
        body = DeviceIn(data=request.data)
        body.is_valid(raise_exception=True)
        customer_id = (
            self.scope.customer_id
            if self.scope.is_customer_user
            else body.validated_data.get("customer")
        )
        if customer_id is None:
            raise ApiError("required", "'customer' is required.", field="customer")
        device, plain = setup.device_create(
            scope=self.scope,
            customer_id=customer_id,
            name=body.validated_data["name"],
            site_id=body.validated_data.get("site"),
        )
        data = DeviceOut(device).data | {"token": plain}
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: DeviceOut, 404: ErrorSerializer})
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        device = setup.device_revoke(scope=self.scope, device_id=self.get_object().pk)
        return Response(DeviceOut(device).data)


class StrictJSONParser(BaseParser):
    """JSON that says what was wrong with it: the scan envelope's own error codes."""

    media_type = "*/*"  # scanners send all sorts of content types; the body must be JSON

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read(settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1) if stream else b""
        if len(raw) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            raise ApiError(
                "body_too_large",
                "The body is too large; send at most 1000 scans.",
                status_code=413,
            )
        try:
            return json.loads(raw.decode("utf-8"), parse_constant=_no_constants)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise ApiError("not_json", "The body is not JSON (or nests too deeply).") from exc


def _no_constants(name: str):
    raise ValueError(f"{name} is not allowed")


class ScanBatchView(APIView):
    """`POST /api/v1/scans`: the contract scanners integrate against."""

    parser_classes = [StrictJSONParser]
    read_roles = frozenset()
    write_roles = frozenset({"device"})

    @extend_schema(
        request=ScanBatchIn,
        responses={
            200: ScanBatchOut,
            400: ErrorSerializer,
            401: ErrorSerializer,
            413: ErrorSerializer,
        },
        summary="Post a batch of scan events (1 to 1000)",
        description=(
            "Each event is judged alone: a bad event is rejected with a stable code and the others are stored. "
            "An event id seen before is reported as a duplicate and changes nothing."
        ),
    )
    def post(self, request):
        body = request.data
        if request.stream is None:  # DRF leaves no stream for an empty body
            raise ApiError("not_json", "The body is empty; send JSON.")
        events = scan_envelope_events(body)
        with metrics.SCAN_INGEST_SECONDS.time():
            result = services.scan_batch_ingest(scope=self.scope, events=events)
        answer = result.as_dict()
        metrics.scan_results_count(answer)
        return Response(answer)


class RfidReadsView(APIView):
    """`POST /api/v1/rfid/reads`: one read cycle of an RFID reader (its own token)."""

    parser_classes = [StrictJSONParser]
    read_roles = frozenset()
    write_roles = frozenset({"device"})

    @extend_schema(
        request=RfidCycleIn,
        responses={
            200: RfidCycleOut,
            400: ErrorSerializer,
            401: ErrorSerializer,
            403: ErrorSerializer,
            413: ErrorSerializer,
        },
        summary="Post one RFID read cycle",
        description=(
            "A drop box's cycle orders one kanban card per armed card read; a cabinet's cycle "
            "is the count of its tagged items (tags gone are issues, tags come are receipts). "
            "A faulty cycle, or one with fewer antennas than the reader has, is recorded and "
            "applies nothing. Idempotent per cycle id: a replay gets the same answer."
        ),
    )
    def post(self, request):
        if request.stream is None:
            raise ApiError("not_json", "The body is empty; send JSON.")
        return Response(rfid.rfid_cycle_ingest(scope=self.scope, body=request.data))
