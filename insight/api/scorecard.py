"""`/scorecard`: the service scorecard of a customer's month, the vendor's month across
customers, and targets. Parse, call the selector or service, render."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from cmi.api.serializers import ErrorSerializer
from cmi.permissions import VENDOR_STAFF, HasScope
from cmi.scoping import Scope
from insight.scorecard.metrics import COUNTS, METRIC_CHOICES
from insight.scorecard.selectors import month_parse, scorecard_customer, scorecard_vendor
from insight.scorecard.services import scorecard_target_set

READERS = VENDOR_STAFF | {"customer_manager"}
METRIC_KEYS = METRIC_CHOICES


class ScorecardQuery(serializers.Serializer):
    customer = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    month = serializers.CharField(required=False, allow_blank=True, max_length=7)


class VendorScorecardQuery(serializers.Serializer):
    month = serializers.CharField(required=False, allow_blank=True, max_length=7)


class MetricOut(serializers.Serializer):
    key = serializers.ChoiceField(choices=METRIC_KEYS)
    label = serializers.CharField()
    unit = serializers.CharField(help_text="%, h, days, count or turns")
    better = serializers.ChoiceField(choices=["higher", "lower"])
    actual = serializers.FloatField(allow_null=True, help_text="null: nothing to measure")
    target = serializers.FloatField(allow_null=True)
    met = serializers.BooleanField(allow_null=True, help_text="null: no target or no actual")


class CountsOut(serializers.Serializer):
    issues = serializers.IntegerField()
    bins = serializers.IntegerField()
    orders_released = serializers.IntegerField()
    orders_unacknowledged = serializers.IntegerField()
    orders_received = serializers.IntegerField()
    lines = serializers.IntegerField()
    lines_changed = serializers.IntegerField()
    lines_short = serializers.IntegerField()


class TrendPointOut(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM")
    values = serializers.DictField(
        child=serializers.FloatField(allow_null=True),
        help_text="Every metric and count of that month, by key.",
    )


class ScorecardOut(serializers.Serializer):
    customer = serializers.IntegerField()
    month = serializers.CharField(help_text="YYYY-MM, in the customer's time zone")
    live = serializers.BooleanField(
        help_text="computed now (false: read from the month's stored row, see as_of)"
    )
    as_of = serializers.DateTimeField(
        help_text="when these figures were computed: the current month is stored every "
        "SCORECARD_CURRENT_MINUTES (15), a closed month once it ended"
    )
    metrics = MetricOut(many=True)
    counts = CountsOut()
    trend = TrendPointOut(many=True, help_text="The six months ending with this one.")


class VendorRowOut(serializers.Serializer):
    customer = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    targets_met = serializers.IntegerField()
    targets_missed = serializers.IntegerField()
    values = serializers.DictField(child=serializers.FloatField(allow_null=True))


class VendorScorecardOut(serializers.Serializer):
    month = serializers.CharField()
    as_of = serializers.DateTimeField(help_text="when the oldest customer's figures were computed")
    customers = VendorRowOut(many=True)
    totals = serializers.DictField(
        child=serializers.FloatField(allow_null=True),
        help_text="Pooled over the customers (sums, and all ack times together).",
    )


class TargetIn(serializers.Serializer):
    customer = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    metric = serializers.ChoiceField(choices=METRIC_KEYS)
    target = serializers.DecimalField(
        max_digits=12, decimal_places=2, allow_null=True, help_text="null removes the target"
    )


class TargetOut(serializers.Serializer):
    customer = serializers.IntegerField()
    metric = serializers.CharField()
    target = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)


def _month_text(month) -> str:
    return f"{month:%Y-%m}"


def _values(values: dict) -> dict:
    return {k: (None if v is None else float(v)) for k, v in values.items()}


def scorecard_body(card) -> dict:
    """The API's shape of a customer scorecard (the portal's CSV uses it too)."""
    return {
        "customer": card.customer.pk,
        "month": _month_text(card.month),
        "live": card.live,
        "as_of": card.as_of,
        "metrics": [
            {
                "key": r.metric.key,
                "label": r.metric.label,
                "unit": r.metric.unit,
                "better": r.metric.better,
                "actual": r.actual,
                "target": r.target,
                "met": r.met,
            }
            for r in card.rows
        ],
        "counts": {k: card.values[k] for k in COUNTS},
        "trend": [{"month": _month_text(m), "values": _values(v)} for m, v in card.trend],
    }


class ScorecardView(APIView):
    """`GET /scorecard?customer=&month=YYYY-MM`: one customer's month against its targets."""

    permission_classes = [HasScope]
    read_roles = READERS
    scope: Scope

    @extend_schema(
        parameters=[
            OpenApiParameter("customer", int, required=True),
            OpenApiParameter("month", str, description="YYYY-MM; default this month"),
        ],
        responses={200: ScorecardOut, 400: ErrorSerializer, 404: ErrorSerializer},
    )
    def get(self, request):
        query = ScorecardQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        month = month_parse(query.validated_data.get("month"), today=timezone.localdate())
        card = scorecard_customer(
            scope=self.scope, customer_id=query.validated_data["customer"], month=month
        )
        return Response(ScorecardOut(scorecard_body(card)).data)


class VendorScorecardView(APIView):
    """`GET /scorecard/vendor?month=YYYY-MM`: every customer's month, and all pooled."""

    permission_classes = [HasScope]
    read_roles = VENDOR_STAFF
    scope: Scope

    @extend_schema(
        parameters=[OpenApiParameter("month", str, description="YYYY-MM; default this month")],
        responses={200: VendorScorecardOut, 400: ErrorSerializer},
    )
    def get(self, request):
        query = VendorScorecardQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        month = month_parse(query.validated_data.get("month"), today=timezone.localdate())
        result = scorecard_vendor(scope=self.scope, month=month)
        body = {
            "month": _month_text(result.month),
            "as_of": result.as_of,
            "customers": [
                {
                    "customer": r.customer.pk,
                    "code": r.customer.code,
                    "name": r.customer.name,
                    "targets_met": r.met,
                    "targets_missed": r.missed,
                    "values": _values(r.values),
                }
                for r in result.rows
            ],
            "totals": _values(result.totals),
        }
        return Response(VendorScorecardOut(body).data)


class ScorecardTargetView(APIView):
    """`POST /scorecard/targets`: set or remove one target of a customer (vendor staff)."""

    permission_classes = [HasScope]
    write_roles = VENDOR_STAFF
    scope: Scope

    @extend_schema(
        request=TargetIn,
        responses={
            200: TargetOut,
            400: ErrorSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
        },
    )
    def post(self, request):
        body = TargetIn(data=request.data)
        body.is_valid(raise_exception=True)
        d = body.validated_data
        row = scorecard_target_set(
            scope=self.scope, customer_id=d["customer"], metric=d["metric"], target=d["target"]
        )
        return Response(
            TargetOut(
                {
                    "customer": d["customer"],
                    "metric": d["metric"],
                    "target": row.target if row else None,
                }
            ).data
        )
