from decimal import Decimal

from rest_framework import serializers

from catalog.models import CrossReference, CrossReferenceKind, Item


class ItemOut(serializers.ModelSerializer):
    barcodes = serializers.SerializerMethodField()

    class Meta:
        model = Item
        fields = [
            "id",
            "sku",
            "description",
            "unit_of_measure",
            "pack_quantity",
            "unit_weight_grams",
            "unit_price",
            "active",
            "barcodes",
            "updated_at",
        ]

    def get_barcodes(self, obj: Item) -> list[str]:
        return [b.code for b in obj.barcodes.all()]


class ItemIn(serializers.Serializer):
    sku = serializers.RegexField(r"^[A-Za-z0-9][A-Za-z0-9._/\-]*$", max_length=48)
    description = serializers.CharField(max_length=200)
    unit_of_measure = serializers.RegexField(r"^[A-Z0-9]{2,4}$", required=False)
    pack_quantity = serializers.IntegerField(min_value=1, max_value=1_000_000, required=False)
    unit_weight_grams = serializers.DecimalField(
        max_digits=12, decimal_places=3, min_value=Decimal("0.001"), required=False, allow_null=True
    )
    unit_price = serializers.DecimalField(
        max_digits=12, decimal_places=4, min_value=Decimal(0), required=False
    )
    active = serializers.BooleanField(required=False)
    barcodes = serializers.ListField(
        child=serializers.RegexField(r"^[A-Za-z0-9\-]{4,48}$"), max_length=20, required=False
    )


class CrossReferenceOut(serializers.ModelSerializer):
    sku = serializers.CharField(source="item.sku", read_only=True)

    class Meta:
        model = CrossReference
        fields = ["id", "customer", "item", "sku", "kind", "code"]


class CrossReferenceIn(serializers.Serializer):
    customer = serializers.IntegerField(min_value=1)
    item = serializers.IntegerField(min_value=1)
    kind = serializers.ChoiceField(choices=CrossReferenceKind.choices)
    code = serializers.RegexField(r"^[A-Za-z0-9][A-Za-z0-9._/\-]*$", max_length=48)
