"""The token's own user's notifications and alert choices, and the alert thresholds of
the vendor and its customers: parse, call, render."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from cmi.api.base import ScopedViewSet
from cmi.api.serializers import ErrorSerializer
from cmi.errors import ApiError
from cmi.permissions import ALL_PEOPLE, VENDOR_STAFF, HasScope
from notify import selectors, services, thresholds
from notify.api.serializers import (
    AlertThresholdsIn,
    AlertThresholdsOut,
    NotificationOut,
    ReadIn,
    ReadOut,
    SubscriptionOut,
    SubscriptionsIn,
)
from notify.models import Notification


class NotificationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Your notifications, newest first. Another user's id is a 404."""

    serializer_class = NotificationOut
    queryset = Notification.objects.all()  # schema only: get_queryset always scopes
    lookup_value_regex = r"\d+"
    write_roles = ALL_PEOPLE

    def scoped_queryset(self, scope):
        unread = self.request.query_params.get("unread")
        chosen = {"true": True, "false": False}.get(unread or "")
        return selectors.notification_list(scope=scope, unread=chosen)

    @extend_schema(
        parameters=[OpenApiParameter("unread", bool, description="only unread (true) or read")]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request=None,
        responses={200: ReadOut, 404: ErrorSerializer},
        operation_id="v1_notifications_read_one",
    )
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        """Mark one notification read."""
        if not str(pk).isdigit():
            raise ApiError("not_found", "Not found.", status_code=404)
        marked = services.notifications_mark_read(scope=self.scope, notification_ids=[int(pk)])
        return Response({"marked": marked})

    @extend_schema(
        request=ReadIn, responses={200: ReadOut, 400: ErrorSerializer, 404: ErrorSerializer}
    )
    @action(detail=False, methods=["post"], url_path="read")
    def read_many(self, request):
        """Mark these (or all) notifications read."""
        body = ReadIn(data=request.data)
        body.is_valid(raise_exception=True)
        ids = body.validated_data.get("ids")
        marked = services.notifications_mark_read(scope=self.scope, notification_ids=ids)
        return Response({"marked": marked})


class SubscriptionView(APIView):
    """Your alert choices: every kind you may hear of, per channel (your choice, else your
    role's default). PUT sets some of them; the rest stay as they are."""

    permission_classes = [HasScope]
    read_roles = ALL_PEOPLE
    write_roles = ALL_PEOPLE

    @extend_schema(responses={200: SubscriptionOut(many=True)})
    def get(self, request):
        rows = selectors.subscriptions_effective(scope=self.scope)
        return Response(SubscriptionOut(rows, many=True).data)

    @extend_schema(
        request=SubscriptionsIn,
        responses={200: SubscriptionOut(many=True), 400: ErrorSerializer, 404: ErrorSerializer},
    )
    def put(self, request):
        body = SubscriptionsIn(data=request.data)
        body.is_valid(raise_exception=True)
        services.subscriptions_set(
            scope=self.scope,
            choices=[
                services.Choice(
                    kind=s["kind"],
                    channel=s["channel"],
                    enabled=s["enabled"],
                    digest=s["digest"],
                    customer_id=s.get("customer"),
                    site_id=s.get("site"),
                )
                for s in body.validated_data["subscriptions"]
            ],
        )
        rows = selectors.subscriptions_effective(scope=self.scope)
        return Response(SubscriptionOut(rows, many=True).data)


def _thresholds_body(customer_id: int | None, rows) -> dict:
    return AlertThresholdsOut(
        {
            "customer": customer_id,
            "thresholds": [
                {
                    "kind": r.kind,
                    "label": r.label,
                    "hours": r.hours,
                    "source": r.source.value,
                    "own": r.own,
                    "inherited": r.inherited,
                }
                for r in rows
            ],
        }
    ).data


_THRESHOLD_ERRORS = {400: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}


class VendorAlertThresholdsView(APIView):
    """The vendor's default alert thresholds: how many hours a bin stays below min with
    nothing on order, an order waits for approval, a scanner is silent, before the alert.
    Vendor staff read; vendor admins change. A customer's own hours win over these."""

    permission_classes = [HasScope]
    read_roles = VENDOR_STAFF
    write_roles = frozenset({"vendor_admin"})

    @extend_schema(responses={200: AlertThresholdsOut, 403: ErrorSerializer})
    def get(self, request):
        rows = thresholds.thresholds_effective(scope=self.scope, customer_id=None)
        return Response(_thresholds_body(None, rows))

    @extend_schema(
        request=AlertThresholdsIn, responses={200: AlertThresholdsOut, **_THRESHOLD_ERRORS}
    )
    def patch(self, request):
        body = AlertThresholdsIn(data=request.data)
        body.is_valid(raise_exception=True)
        loaded = thresholds.alert_thresholds_set(
            scope=self.scope, customer_id=None, hours=body.validated_data["hours"]
        )
        rows = thresholds.effective_rows(loaded, None)
        return Response(_thresholds_body(None, rows))


class CustomerAlertThresholdsView(APIView):
    """One customer's alert thresholds: its own hours, else the vendor's default, else
    the platform's. The customer's people and the vendor's staff who see the customer
    read; vendor staff change (a customer user gets 403). A customer outside your scope
    is a 404."""

    permission_classes = [HasScope]
    read_roles = ALL_PEOPLE
    # The service decides: a customer user of another customer is a 404, not a 403.
    write_roles = ALL_PEOPLE

    @extend_schema(responses={200: AlertThresholdsOut, 404: ErrorSerializer})
    def get(self, request, customer_id: int):
        rows = thresholds.thresholds_effective(scope=self.scope, customer_id=customer_id)
        return Response(_thresholds_body(customer_id, rows))

    @extend_schema(
        request=AlertThresholdsIn, responses={200: AlertThresholdsOut, **_THRESHOLD_ERRORS}
    )
    def patch(self, request, customer_id: int):
        body = AlertThresholdsIn(data=request.data)
        body.is_valid(raise_exception=True)
        loaded = thresholds.alert_thresholds_set(
            scope=self.scope, customer_id=customer_id, hours=body.validated_data["hours"]
        )
        rows = thresholds.effective_rows(loaded, customer_id)
        return Response(_thresholds_body(customer_id, rows))
