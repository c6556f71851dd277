from django.contrib import admin

from cmi.admin import HistoryAdmin
from replenishment.models import Order, OrderEvent, OrderLine


class LineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    readonly_fields = [
        "line_number",
        "bin",
        "item",
        "quantity_proposed",
        "quantity_ordered",
        "quantity_shipped",
        "quantity_received",
        "unit_price",
    ]
    fields = readonly_fields


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """Orders are cancelled, never deleted: their events PROTECT them, so the admin's
    delete page lists what stops it and deletes nothing."""

    list_display = ["pk", "po_number", "status", "customer", "site", "created_at", "released_at"]
    list_filter = ["vendor", "status"]
    search_fields = ["po_number"]
    inlines = [LineInline]
    readonly_fields = [
        "status",
        "po_number",
        "released_at",
        "approved_at",
        "approved_by",
        "closed_at",
    ]


@admin.register(OrderEvent)
class OrderEventAdmin(HistoryAdmin):
    list_display = ["order", "kind", "old_value", "new_value", "user", "at"]
    list_filter = ["kind"]
