from rest_framework import serializers

from replenishment import hooks
from replenishment.models import Order, OrderEvent, OrderLine, OrderStatus


class OrderLineOut(serializers.ModelSerializer):
    sku = serializers.CharField(source="item.sku")
    description = serializers.CharField(source="item.description")
    unit_of_measure = serializers.CharField(source="item.unit_of_measure")
    bin_label = serializers.CharField(source="bin.label")
    pack_multiple = serializers.IntegerField(source="bin.pack_multiple")

    class Meta:
        model = OrderLine
        fields = [
            "id",
            "line_number",
            "bin",
            "bin_label",
            "item",
            "sku",
            "description",
            "unit_of_measure",
            "pack_multiple",
            "quantity_proposed",
            "quantity_ordered",
            "quantity_shipped",
            "quantity_received",
            "unit_price",
        ]


class OrderEventOut(serializers.ModelSerializer):
    username = serializers.CharField(
        source="user.username",
        default=None,
        allow_null=True,
        help_text="Who made the change; null for the system (evaluation, EDI).",
    )

    class Meta:
        model = OrderEvent
        fields = ["at", "kind", "line", "old_value", "new_value", "note", "username"]


class OrderOut(serializers.ModelSerializer):
    customer_code = serializers.CharField(source="customer.code")
    site_code = serializers.CharField(source="site.code")
    lines = OrderLineOut(many=True)

    class Meta:
        model = Order
        fields = [
            "id",
            "po_number",
            "status",
            "customer",
            "customer_code",
            "site",
            "site_code",
            "requested_delivery_date",
            "created_at",
            "updated_at",
            "released_at",
            "approved_at",
            "closed_at",
            "cancel_reason",
            "lines",
        ]


class OrderDetailOut(OrderOut):
    events = OrderEventOut(many=True)
    extensions = serializers.SerializerMethodField(
        help_text="What other parts of the platform know about the order, e.g. `edi`."
    )

    class Meta(OrderOut.Meta):
        fields = [*OrderOut.Meta.fields, "events", "extensions"]

    def get_extensions(self, order) -> dict:
        # Later apps (EDI) add their view of an order (replenishment/hooks.py).
        return hooks.order_detail_extensions(order)


class LineQuantityIn(serializers.Serializer):
    id = serializers.IntegerField(min_value=1)
    quantity = serializers.IntegerField(min_value=0, max_value=10_000_000)


class ApproveIn(serializers.Serializer):
    lines = LineQuantityIn(many=True, required=False)

    def validate_lines(self, value):
        ids = [line["id"] for line in value]
        if len(ids) != len(set(ids)):
            raise serializers.ValidationError("A line appears twice.", code="duplicate_line")
        return value


class CancelIn(serializers.Serializer):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True)


STATUS_CHOICES = OrderStatus.choices
