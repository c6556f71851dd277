from rest_framework import serializers


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=200, trim_whitespace=False)
    name = serializers.CharField(max_length=100, required=False, allow_blank=True)


class TokenResponseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    token = serializers.CharField(help_text="Shown once. Send as `Authorization: Bearer <token>`.")
    prefix = serializers.CharField()


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, machine-readable.")
    detail = serializers.CharField(help_text="For people.")
    field = serializers.CharField(
        allow_null=True, help_text="The input that was wrong, when one was."
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


class CustomerOut(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    account_number = serializers.CharField()
    release_policy = serializers.CharField()
    cutoff_times = serializers.ListField(child=serializers.CharField())
    timezone = serializers.CharField()
    consolidation_minutes = serializers.IntegerField(
        help_text="Auto release: an order waits this many minutes after it was started "
        "before it goes (0: at once), unless it reaches the minimum value or a bin on it "
        "is at zero."
    )
    consolidation_min_value = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        help_text="Auto release: an order worth this much goes before the window ends "
        "(0: no minimum).",
    )


class CustomerIn(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    account_number = serializers.CharField(max_length=30, required=False, allow_blank=True)
    release_policy = serializers.ChoiceField(
        choices=["auto", "scheduled", "approval"], required=False
    )
    cutoff_times = serializers.ListField(
        child=serializers.RegexField(r"^([01]\d|2[0-3]):[0-5]\d$"), max_length=24, required=False
    )
    timezone = serializers.CharField(max_length=64, required=False)
    consolidation_minutes = serializers.IntegerField(min_value=0, max_value=1440, required=False)
    consolidation_min_value = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, required=False
    )

    def validate_timezone(self, value: str) -> str:
        from django.core.exceptions import ValidationError

        from cmi.models import validate_timezone

        try:
            validate_timezone(value)
        except ValidationError as exc:
            raise serializers.ValidationError(exc.messages[0], code="invalid_timezone") from exc
        return value


class SettingChangeOut(serializers.Serializer):
    id = serializers.IntegerField()
    at = serializers.DateTimeField()
    object_type = serializers.CharField(help_text="customer, bin, item or trading_partner")
    object_id = serializers.IntegerField()
    object_label = serializers.CharField(help_text="A bin's label, a customer's code.")
    field = serializers.CharField(
        help_text="The setting: min, max, pack_multiple, lead_time_days, kanban_quantity, "
        "tare_grams, active (bins); release_policy, cutoff_times, timezone, "
        "consolidation_minutes, consolidation_min_value, name, account_number, reps "
        "(customers)."
    )
    # Any JSON value, null included. Not allow_null: the schema would say oneOf
    # [anything, null], which a null matches twice, so a null would break the contract.
    before = serializers.JSONField(help_text="null when the object was made.")
    after = serializers.JSONField()
    source = serializers.ChoiceField(
        choices=["api", "portal", "import", "adjust", "create", "admin", "recommendation"]
    )
    user = serializers.IntegerField(source="user_id", allow_null=True)
    username = serializers.CharField(
        source="user.username", default=None, allow_null=True, help_text="null for the system."
    )


class SettingChangePage(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = SettingChangeOut(many=True)
