from rest_framework import serializers

from insight.models import Backtest, DemandPolicy, Recommendation


class ExpectedOut(serializers.Serializer):
    fill = serializers.FloatField(allow_null=True)
    stock_value = serializers.DecimalField(max_digits=14, decimal_places=2)
    orders_per_month = serializers.FloatField()


class RecommendationOut(serializers.ModelSerializer):
    bin = serializers.IntegerField(source="bin_id")
    label = serializers.CharField(source="bin.label")
    sku = serializers.CharField(source="bin.item.sku")
    min = serializers.IntegerField(source="min_qty")
    max = serializers.IntegerField(source="max_qty")
    current = serializers.SerializerMethodField()
    recommended = serializers.SerializerMethodField()

    class Meta:
        model = Recommendation
        fields = [
            "bin",
            "customer",
            "site",
            "label",
            "sku",
            "min",
            "max",
            "current_min",
            "current_max",
            "changed",
            "status",
            "demand_class",
            "value_freed",
            "fill_gained",
            "current",
            "recommended",
            "explanation",
            "computed_at",
        ]

    def get_current(self, obj) -> ExpectedOut:
        return ExpectedOut(
            {
                "fill": obj.fill_current,
                "stock_value": obj.stock_value_current,
                "orders_per_month": obj.orders_per_month_current,
            }
        ).data

    def get_recommended(self, obj) -> ExpectedOut:
        return ExpectedOut(
            {
                "fill": obj.fill_recommended,
                "stock_value": obj.stock_value_recommended,
                "orders_per_month": obj.orders_per_month_recommended,
            }
        ).data


class ApplyIn(serializers.Serializer):
    customer = serializers.IntegerField(min_value=1)
    bins = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        max_length=10000,
        help_text="Bin ids; leave out to apply every pending change of the customer (or site).",
    )
    site = serializers.IntegerField(min_value=1, required=False)


class SkippedOut(serializers.Serializer):
    bin = serializers.IntegerField()
    code = serializers.CharField()
    detail = serializers.CharField()


class ApplyOut(serializers.Serializer):
    applied = serializers.ListField(child=serializers.IntegerField())
    skipped = SkippedOut(many=True)


class DismissIn(serializers.Serializer):
    customer = serializers.IntegerField(min_value=1)
    bins = serializers.ListField(
        child=serializers.IntegerField(min_value=1), min_length=1, max_length=10000
    )


class DismissOut(serializers.Serializer):
    dismissed = serializers.ListField(child=serializers.IntegerField())


class RecomputeIn(serializers.Serializer):
    customer = serializers.IntegerField(min_value=1)


class QueuedOut(serializers.Serializer):
    queued = serializers.BooleanField()


class PolicyOut(serializers.ModelSerializer):
    class Meta:
        model = DemandPolicy
        fields = [
            "id",
            "customer",
            "item",
            "bin",
            "target_fill",
            "floor_min",
            "opt_out",
            "updated_at",
        ]


class PolicyIn(serializers.Serializer):
    customer = serializers.IntegerField(min_value=1)
    item = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    bin = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    target_fill = serializers.FloatField(
        required=False, allow_null=True, min_value=0.5, max_value=0.999
    )
    floor_min = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=1_000_000
    )
    opt_out = serializers.BooleanField(required=False, default=False)


class VariantIn(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=["as_was", "recommended", "min_pct", "target_fill", "levels"]
    )
    percent = serializers.IntegerField(required=False, help_text="min_pct: -90 to 500.")
    target = serializers.FloatField(required=False, help_text="target_fill: 0.5 to 0.999.")
    csv = serializers.CharField(
        required=False, max_length=2_000_000, help_text="levels: columns bin (or sku), min, max."
    )


class BacktestIn(serializers.Serializer):
    customer = serializers.IntegerField(min_value=1)
    days = serializers.IntegerField(required=False, default=90, min_value=14, max_value=365)
    bins = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, max_length=10000
    )
    variants = VariantIn(many=True, required=False, max_length=6)


class BacktestOut(serializers.ModelSerializer):
    # Any JSON value: the model field's null would make the schema oneOf [anything,
    # null], which a null matches twice (see SettingChangeOut.before).
    result = serializers.JSONField(read_only=True, help_text="null until the run is done.")

    class Meta:
        model = Backtest
        fields = [
            "id",
            "customer",
            "params",
            "status",
            "progress",
            "result",
            "error",
            "created_by",
            "created_at",
            "finished_at",
        ]
