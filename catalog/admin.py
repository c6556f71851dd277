from django.contrib import admin

from catalog.models import CrossReference, Item, ItemBarcode
from catalog.services import ITEM_FIELDS
from cmi.admin import AuditedAdmin


class BarcodeInline(admin.TabularInline):
    model = ItemBarcode
    extra = 0


@admin.register(Item)
class ItemAdmin(AuditedAdmin):
    """Items with bins or orders cannot be deleted (they PROTECT it): deactivate them."""

    audited_fields = ("sku", *ITEM_FIELDS)
    audit_type = "item"
    list_display = [
        "sku",
        "description",
        "vendor",
        "unit_of_measure",
        "pack_quantity",
        "unit_price",
        "active",
    ]
    list_filter = ["vendor", "active"]
    search_fields = ["sku", "description"]
    inlines = [BarcodeInline]


@admin.register(CrossReference)
class CrossReferenceAdmin(admin.ModelAdmin):
    list_display = ["code", "kind", "customer", "item"]
    list_filter = ["vendor", "kind"]
