from django.contrib import admin

from cmi.admin import revoke
from stocking.models import Bin, BinLevelChange, LedgerEntry, Location, ScannerDevice, Site


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "customer", "city", "state"]
    list_filter = ["vendor"]


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "customer", "site", "depth"]
    list_filter = ["vendor"]
    raw_id_fields = ["parent", "site", "customer"]


@admin.register(Bin)
class BinAdmin(admin.ModelAdmin):
    list_display = ["label", "item", "location", "on_hand", "on_order", "min_qty", "max_qty"]
    list_filter = ["vendor"]
    search_fields = ["label", "item__sku"]
    raw_id_fields = ["item", "location", "site", "customer"]
    readonly_fields = ["on_hand", "on_order"]  # only scans and orders change these


@admin.register(ScannerDevice)
class ScannerDeviceAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "customer", "site", "last_seen_at", "revoked_at"]
    list_filter = ["vendor"]
    readonly_fields = ["prefix", "last_seen_at", "revoked_at"]
    actions = [revoke]

    def has_add_permission(self, request):
        return False


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    list_display = ["bin", "kind", "quantity", "delta", "on_hand_after", "applied", "occurred_at"]
    list_filter = ["kind", "applied"]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(BinLevelChange)
class BinLevelChangeAdmin(admin.ModelAdmin):
    list_display = ["bin", "user", "changed_at", "old_min", "new_min", "old_max", "new_max"]

    def has_change_permission(self, request, obj=None):
        return False
