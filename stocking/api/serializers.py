from decimal import Decimal

from rest_framework import serializers

from stocking.models import Bin, BinLevelChange, LedgerEntry, Location, ScannerDevice, Site

CODE = r"^[A-Za-z0-9][A-Za-z0-9._/\-]*$"


class SiteOut(serializers.ModelSerializer):
    class Meta:
        model = Site
        fields = [
            "id",
            "customer",
            "code",
            "name",
            "address1",
            "address2",
            "city",
            "state",
            "postal_code",
            "country",
        ]


class SiteIn(serializers.Serializer):
    customer = serializers.IntegerField(min_value=1)
    code = serializers.RegexField(CODE, max_length=32)
    name = serializers.CharField(max_length=200)
    address1 = serializers.CharField(max_length=55, required=False, allow_blank=True)
    address2 = serializers.CharField(max_length=55, required=False, allow_blank=True)
    city = serializers.CharField(max_length=30, required=False, allow_blank=True)
    state = serializers.CharField(max_length=2, required=False, allow_blank=True)
    postal_code = serializers.CharField(max_length=15, required=False, allow_blank=True)
    country = serializers.CharField(max_length=3, required=False)


class LocationOut(serializers.ModelSerializer):
    class Meta:
        model = Location
        fields = ["id", "customer", "site", "parent", "code", "name", "depth"]


class LocationIn(serializers.Serializer):
    site = serializers.IntegerField(min_value=1)
    parent = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    code = serializers.RegexField(CODE, max_length=32)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)


class BinOut(serializers.ModelSerializer):
    sku = serializers.CharField(source="item.sku")
    description = serializers.CharField(source="item.description")
    location_code = serializers.CharField(source="location.code")
    min = serializers.IntegerField(source="min_qty")
    max = serializers.IntegerField(source="max_qty")
    position = serializers.IntegerField()

    class Meta:
        model = Bin
        fields = [
            "id",
            "label",
            "customer",
            "site",
            "location",
            "location_code",
            "item",
            "sku",
            "description",
            "on_hand",
            "on_order",
            "position",
            "min",
            "max",
            "pack_multiple",
            "lead_time_days",
            "kanban_quantity",
            "tare_grams",
            "active",
            "last_count_at",
            "last_scan_at",
            "updated_at",
        ]


class BinCreateIn(serializers.Serializer):
    location = serializers.IntegerField(min_value=1)
    item = serializers.IntegerField(min_value=1)
    min = serializers.IntegerField(min_value=0, max_value=10_000_000, default=0)
    max = serializers.IntegerField(min_value=0, max_value=10_000_000, default=0)
    pack_multiple = serializers.IntegerField(min_value=1, max_value=1_000_000, required=False)
    on_hand = serializers.IntegerField(min_value=0, max_value=10_000_000, default=0)
    lead_time_days = serializers.IntegerField(min_value=0, max_value=365, default=0)
    kanban_quantity = serializers.IntegerField(
        min_value=1, max_value=1_000_000, required=False, allow_null=True
    )
    tare_grams = serializers.DecimalField(
        max_digits=12, decimal_places=3, min_value=Decimal(0), required=False, allow_null=True
    )
    label = serializers.RegexField(r"^[A-Z0-9\-]{4,32}$", required=False)


class BinUpdateIn(serializers.Serializer):
    min = serializers.IntegerField(min_value=0, max_value=10_000_000, required=False)
    max = serializers.IntegerField(min_value=0, max_value=10_000_000, required=False)
    pack_multiple = serializers.IntegerField(min_value=1, max_value=1_000_000, required=False)
    lead_time_days = serializers.IntegerField(min_value=0, max_value=365, required=False)
    kanban_quantity = serializers.IntegerField(
        min_value=1, max_value=1_000_000, required=False, allow_null=True
    )
    tare_grams = serializers.DecimalField(
        max_digits=12, decimal_places=3, min_value=Decimal(0), required=False, allow_null=True
    )
    active = serializers.BooleanField(required=False)


class LedgerOut(serializers.ModelSerializer):
    class Meta:
        model = LedgerEntry
        fields = [
            "id",
            "kind",
            "quantity",
            "delta",
            "on_hand_after",
            "applied",
            "occurred_at",
            "received_at",
            "device",
            "user",
            "lot",
            "expiry",
        ]


class LevelChangeOut(serializers.ModelSerializer):
    username = serializers.CharField(
        source="user.username",
        default=None,
        allow_null=True,
        help_text="Who made the change; null for the system (evaluation, EDI).",
    )

    class Meta:
        model = BinLevelChange
        fields = [
            "id",
            "changed_at",
            "user",
            "username",
            "source",
            "old_min",
            "new_min",
            "old_max",
            "new_max",
            "old_pack_multiple",
            "new_pack_multiple",
        ]


class DeviceOut(serializers.ModelSerializer):
    active = serializers.BooleanField(source="is_active")

    class Meta:
        model = ScannerDevice
        fields = [
            "id",
            "customer",
            "site",
            "name",
            "prefix",
            "active",
            "created_at",
            "last_seen_at",
            "revoked_at",
        ]


class DeviceIn(serializers.Serializer):
    customer = serializers.IntegerField(min_value=1, required=False)
    site = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    name = serializers.CharField(max_length=100)


class DeviceCreatedOut(DeviceOut):
    token = serializers.CharField(
        help_text="Shown once: the scanner sends it as `Authorization: Bearer <token>`."
    )

    class Meta(DeviceOut.Meta):
        fields = [*DeviceOut.Meta.fields, "token"]


class ScanEventIn(serializers.Serializer):
    """Documentation of one event; the service judges each event itself."""

    event_id = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=["receive", "issue", "count", "weight", "kanban"])
    code = serializers.CharField(
        max_length=64,
        help_text="A bin label, SKU, item barcode or customer part number; or a GS1 code: "
        "an element string (01 GTIN, 10 lot, 17 expiry; FNC1 as the GS character, "
        "optionally behind a symbology identifier such as ]C1 or ]d2), its human-readable "
        "form (01)...(10)...(17)..., or a UPC-A/EAN-13/EAN-8 with or without check digit. "
        "A GTIN without a location finds the item's one bin here; lot and expiry are "
        "kept on the ledger entry.",
    )
    location = serializers.CharField(max_length=32, required=False)
    quantity = serializers.IntegerField(required=False)
    gross_grams = serializers.DecimalField(max_digits=12, decimal_places=3, required=False)
    occurred_at = serializers.DateTimeField()


class ScanBatchIn(serializers.Serializer):
    scans = serializers.ListField(child=ScanEventIn(), min_length=1, max_length=1000)


class ScanErrorOut(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()


class ScanResultOut(serializers.Serializer):
    event_id = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=["accepted", "duplicate", "rejected"])
    error = ScanErrorOut(allow_null=True)


class ScanBatchOut(serializers.Serializer):
    results = ScanResultOut(many=True)
    accepted = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    rejected = serializers.IntegerField()


class RfidEpcIn(serializers.Serializer):
    epc = serializers.CharField(help_text="The EPC as hex (8 to 124 digits).")
    antenna = serializers.IntegerField(required=False, min_value=1, max_value=64)
    rssi = serializers.FloatField(required=False, help_text="dBm, -200 to 50.")
    first_seen = serializers.DateTimeField(required=False)
    last_seen = serializers.DateTimeField(required=False)


class RfidCycleIn(serializers.Serializer):
    cycle_id = serializers.CharField(max_length=64, help_text="The reader's id of this cycle.")
    started_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField()
    antennas = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=64),
        help_text="The antennas that reported in this cycle.",
    )
    fault = serializers.BooleanField(required=False, default=False)
    epcs = RfidEpcIn(many=True, help_text="The tags seen (at most RFID_CYCLE_MAX_EPCS).")


class RfidEpcOut(serializers.Serializer):
    epc = serializers.CharField()
    status = serializers.ChoiceField(choices=["applied", "ignored"])
    reason = serializers.CharField(
        allow_null=True,
        help_text=(
            "Why an EPC was ignored: duplicate, unknown, no_bin, other_customer, kanban_card, "
            "not_kanban_bin, card_disarmed, late_read, incomplete_cycle, late_cycle."
        ),
    )
    bin = serializers.CharField(allow_null=True, help_text="The bin label it counted for.")


class RfidCycleOut(serializers.Serializer):
    cycle_id = serializers.CharField()
    status = serializers.ChoiceField(choices=["applied", "incomplete", "late"])
    reason = serializers.CharField(
        allow_null=True, help_text="reader_fault, antennas_missing or late_cycle."
    )
    applied = serializers.IntegerField()
    ignored = serializers.IntegerField()
    results = RfidEpcOut(many=True)
