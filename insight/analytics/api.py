"""`/api/v1/analytics/...`: series and rankings a client can chart. Parse, call, render.

Every endpoint takes its subject from the query string (customer, site, item, bin) and
resolves it through the caller's scope: a customer user's token sees its customer only
(named or not), and another vendor's or customer's id is a 404.

Rankings over every bin (top items, slow movers, cover, dead stock) are read cold on
every request from the bins' narrow recent rows, which the aggregates' pass keeps
(USAGE_DAILY_MINUTES).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from cmi.api.serializers import ErrorSerializer
from cmi.permissions import ALL_PEOPLE, VENDOR_STAFF, HasScope
from cmi.scoping import Scope
from insight.analytics import selectors

# Devices and ERP keys post scans and fetch orders; analytics are for people.
PEOPLE = ALL_PEOPLE
ERRORS = {400: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}


# --- input --------------------------------------------------------------------------------


class SubjectIn(serializers.Serializer):
    customer = serializers.IntegerField(required=False, min_value=1)
    site = serializers.IntegerField(required=False, min_value=1)
    item = serializers.IntegerField(required=False, min_value=1)
    bin = serializers.IntegerField(required=False, min_value=1)


class UsageIn(SubjectIn):
    grain = serializers.ChoiceField(choices=selectors.GRAINS, default="day")
    days = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=selectors.MAX_SPAN_DAYS,
        help_text="days back from today (default: 90 by day, 26 weeks by week, 2 years by month)",
    )


class WindowIn(SubjectIn):
    days = serializers.IntegerField(default=30, min_value=1, max_value=selectors.MAX_SPAN_DAYS)
    limit = serializers.IntegerField(default=10, min_value=1, max_value=200)


class DeadIn(SubjectIn):
    days = serializers.IntegerField(default=90, min_value=1, max_value=selectors.MAX_SPAN_DAYS)
    limit = serializers.IntegerField(default=50, min_value=1, max_value=500)


class CustomersIn(serializers.Serializer):
    days = serializers.IntegerField(default=30, min_value=1, max_value=selectors.MAX_SPAN_DAYS)


class SearchIn(serializers.Serializer):
    q = serializers.CharField(min_length=1, max_length=64, trim_whitespace=True)
    days = serializers.IntegerField(default=30, min_value=1, max_value=selectors.MAX_SPAN_DAYS)
    limit = serializers.IntegerField(default=50, min_value=1, max_value=selectors.SEARCH_LIMIT)


# --- output -------------------------------------------------------------------------------


class PeriodOut(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    issued = serializers.IntegerField()
    received = serializers.IntegerField()
    on_hand = serializers.IntegerField(help_text="units on hand at the period's end")
    stock_value = serializers.DecimalField(max_digits=18, decimal_places=2)


class UsageOut(serializers.Serializer):
    subject = serializers.CharField()
    grain = serializers.CharField()
    start = serializers.DateField()
    end = serializers.DateField()
    issued = serializers.IntegerField()
    previous_issued = serializers.IntegerField(
        help_text="units issued in the span of the same length just before"
    )
    trend_pct = serializers.FloatField(allow_null=True)
    average_daily = serializers.FloatField()
    periods = PeriodOut(many=True)


class ItemUsageOut(serializers.Serializer):
    item = serializers.IntegerField(source="item_id")
    sku = serializers.CharField(source="item__sku")
    description = serializers.CharField(source="item__description")
    issued = serializers.IntegerField(source="units")
    previous = serializers.IntegerField()


class TopItemsOut(serializers.Serializer):
    days = serializers.IntegerField()
    results = ItemUsageOut(many=True)


class BinRowOut(serializers.Serializer):
    bin = serializers.IntegerField(source="pk")
    label = serializers.CharField()
    customer = serializers.IntegerField(source="customer_id")
    customer_name = serializers.CharField(source="customer.name")
    site = serializers.IntegerField(source="site_id")
    location = serializers.CharField(source="location.code")
    item = serializers.IntegerField(source="item_id")
    sku = serializers.CharField(source="item.sku")
    description = serializers.CharField(source="item.description")
    on_hand = serializers.IntegerField()
    min = serializers.IntegerField(source="min_qty")
    max = serializers.IntegerField(source="max_qty")
    stock_value = serializers.DecimalField(source="value", max_digits=18, decimal_places=2)


class MoverOut(BinRowOut):
    issued = serializers.IntegerField(help_text="units issued in the window")


class SlowOut(serializers.Serializer):
    days = serializers.IntegerField()
    results = MoverOut(many=True)


class CoverRowOut(MoverOut):
    days_of_cover = serializers.FloatField(source="cover")


class BucketOut(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    bins = serializers.IntegerField()


class CoverOut(serializers.Serializer):
    days = serializers.IntegerField(help_text="the window whose average daily issue is the rate")
    buckets = BucketOut(many=True)
    results = CoverRowOut(many=True)


class DeadRowOut(BinRowOut):
    last_issued = serializers.DateField(allow_null=True)


class DeadOut(serializers.Serializer):
    days = serializers.IntegerField()
    count = serializers.IntegerField()
    stock_value = serializers.DecimalField(max_digits=18, decimal_places=2)
    results = DeadRowOut(many=True)


class ValueOut(serializers.Serializer):
    subject = serializers.CharField()
    units = serializers.IntegerField()
    value = serializers.DecimalField(max_digits=18, decimal_places=2)


class CustomerUsageOut(serializers.Serializer):
    customer = serializers.IntegerField(source="customer_id")
    name = serializers.CharField()
    code = serializers.CharField()
    issued = serializers.IntegerField()
    previous = serializers.IntegerField()
    trend_pct = serializers.FloatField(allow_null=True)
    units = serializers.IntegerField()
    value = serializers.DecimalField(max_digits=18, decimal_places=2)


class CustomersOut(serializers.Serializer):
    days = serializers.IntegerField()
    results = CustomerUsageOut(many=True)


class SearchOut(serializers.Serializer):
    q = serializers.CharField()
    days = serializers.IntegerField()
    count = serializers.IntegerField()
    results = MoverOut(many=True)


# --- views --------------------------------------------------------------------------------


class _AnalyticsView(APIView):
    permission_classes = [HasScope]
    read_roles = PEOPLE
    scope: Scope

    def _parse(self, request, serializer_class) -> dict:
        body = serializer_class(data=request.query_params)
        body.is_valid(raise_exception=True)
        return body.validated_data

    def _subject(self, d: dict) -> selectors.Subject:
        return selectors.subject_resolve(
            scope=self.scope,
            customer_id=d.get("customer"),
            site_id=d.get("site"),
            item_id=d.get("item"),
            bin_id=d.get("bin"),
        )


class UsageView(_AnalyticsView):
    @extend_schema(parameters=[UsageIn], responses={200: UsageOut, **ERRORS})
    def get(self, request):
        """Units issued and received per day, week or month, with on-hand and stock value
        at each period's end, for a customer, site, item or bin (vendor staff: also all
        customers). The total is compared with the span just before (`trend_pct`)."""
        d = self._parse(request, UsageIn)
        subject = self._subject(d)
        start, end = selectors.span_for(subject, grain=d["grain"], days=d.get("days"))
        series = selectors.usage_series(
            scope=self.scope, subject=subject, grain=d["grain"], start=start, end=end
        )
        return Response(UsageOut(series).data)


class TopItemsView(_AnalyticsView):
    @extend_schema(parameters=[WindowIn], responses={200: TopItemsOut, **ERRORS})
    def get(self, request):
        """The items issued most in the last `days` (top movers), with the `days` before."""
        d = self._parse(request, WindowIn)
        subject = self._subject(d)
        rows = selectors.top_items(
            scope=self.scope, subject=subject, days=d["days"], limit=d["limit"]
        )
        return Response(TopItemsOut({"days": d["days"], "results": rows}).data)


class SlowMoversView(_AnalyticsView):
    @extend_schema(parameters=[WindowIn], responses={200: SlowOut, **ERRORS})
    def get(self, request):
        """Bins holding stock that were issued least in the last `days` (slow movers)."""
        d = self._parse(request, WindowIn)
        subject = self._subject(d)
        rows = selectors.slow_movers(
            scope=self.scope, subject=subject, days=d["days"], limit=d["limit"]
        )
        return Response(SlowOut({"days": d["days"], "results": rows}).data)


class CoverView(_AnalyticsView):
    @extend_schema(parameters=[WindowIn], responses={200: CoverOut, **ERRORS})
    def get(self, request):
        """Days of cover (on hand over the average daily issue of the last `days`): how
        many bins in each band, and the bins with the fewest days."""
        d = self._parse(request, WindowIn)
        subject = self._subject(d)
        body = {
            "days": d["days"],
            "buckets": selectors.cover_buckets(scope=self.scope, subject=subject, days=d["days"]),
            "results": selectors.cover_list(
                scope=self.scope, subject=subject, days=d["days"], limit=d["limit"]
            ),
        }
        return Response(CoverOut(body).data)


class DeadStockView(_AnalyticsView):
    @extend_schema(parameters=[DeadIn], responses={200: DeadOut, **ERRORS})
    def get(self, request):
        """Bins holding stock that nobody issued from in the last `days`, most value first."""
        d = self._parse(request, DeadIn)
        subject = self._subject(d)
        qs = selectors.dead_stock(scope=self.scope, subject=subject, days=d["days"])
        totals = selectors.dead_stock_totals(qs)
        rows = selectors.dead_stock_first(
            scope=self.scope, subject=subject, days=d["days"], limit=d["limit"]
        )
        body = {"days": d["days"], **totals, "results": rows}
        return Response(DeadOut(body).data)


class StockValueView(_AnalyticsView):
    @extend_schema(parameters=[SubjectIn], responses={200: ValueOut, **ERRORS})
    def get(self, request):
        """Units and their value on the shelves now (its history: `usage`'s stock_value)."""
        subject = self._subject(self._parse(request, SubjectIn))
        got = selectors.stock_value_now(scope=self.scope, subject=subject)
        return Response(ValueOut({"subject": subject.label, **got}).data)


class CustomersView(_AnalyticsView):
    read_roles = VENDOR_STAFF

    @extend_schema(parameters=[CustomersIn], responses={200: CustomersOut, **ERRORS})
    def get(self, request):
        """Per customer: units issued in the last `days` and the `days` before, and the
        stock (units and value) held there now. Vendor staff only."""
        d = self._parse(request, CustomersIn)
        rows = selectors.customers_usage(scope=self.scope, days=d["days"])
        return Response(CustomersOut({"days": d["days"], "results": rows}).data)


class SearchView(_AnalyticsView):
    @extend_schema(parameters=[SearchIn], responses={200: SearchOut, **ERRORS})
    def get(self, request):
        """Bins of every customer in scope whose item SKU, description, bin label or
        customer part number contains `q`, with units issued in the last `days`."""
        d = self._parse(request, SearchIn)
        qs = selectors.item_search(scope=self.scope, text=d["q"], days=d["days"])
        rows = list(qs[: d["limit"] + 1])
        body = {
            "q": d["q"],
            "days": d["days"],
            "count": len(rows) if len(rows) <= d["limit"] else qs.count(),
            "results": rows[: d["limit"]],
        }
        return Response(SearchOut(body).data)
