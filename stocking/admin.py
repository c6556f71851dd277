from django import forms
from django.contrib import admin, messages

from cmi.admin import HistoryAdmin, revoke
from cmi.errors import ApiError
from cmi.scoping import Scope
from stocking.levels import Levels, levels_problems
from stocking.models import (
    Bin,
    BinLevelChange,
    LedgerEntry,
    Location,
    ScanEvent,
    ScannerDevice,
    Site,
)
from stocking.setup import bin_levels_update


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "customer", "city", "state"]
    list_filter = ["vendor"]


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "customer", "site", "depth"]
    list_filter = ["vendor"]
    raw_id_fields = ["parent", "site", "customer"]


BIN_SETTINGS = [
    "min_qty",
    "max_qty",
    "pack_multiple",
    "lead_time_days",
    "kanban_quantity",
    "tare_grams",
    "active",
]


class BinAdminForm(forms.ModelForm):
    """Checks the levels with the rule every other entry point uses (stocking.levels)."""

    class Meta:
        model = Bin
        fields = BIN_SETTINGS

    def clean(self):
        data = super().clean()
        low, high, pack = (data.get(k) for k in ("min_qty", "max_qty", "pack_multiple"))
        if None not in (low, high, pack):
            for problem in levels_problems(Levels(low, high, pack)):
                field = {"min": "min_qty", "max": "max_qty"}.get(problem.field, problem.field)
                self.add_error(field, f"{problem.message} ({problem.code})")
        return data


@admin.register(Bin)
class BinAdmin(admin.ModelAdmin):
    """Bins are made by the API, the portal and the import (with their audit rows); here
    their settings can be changed, through the same service, and they are deactivated
    rather than deleted (their ledger keeps them)."""

    form = BinAdminForm
    list_display = ["label", "item", "location", "on_hand", "on_order", "min_qty", "max_qty"]
    list_filter = ["vendor"]
    search_fields = ["label", "item__sku"]
    readonly_fields = ["label", "customer", "site", "location", "item", "on_hand", "on_order"]
    fields = readonly_fields + BIN_SETTINGS

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        settings = {name: form.cleaned_data[name] for name in BIN_SETTINGS}
        try:
            bin_levels_update(
                scope=Scope(vendor_id=obj.vendor_id, role="vendor_admin", user_id=request.user.pk),
                bin_id=obj.pk,
                min_qty=settings.pop("min_qty"),
                max_qty=settings.pop("max_qty"),
                pack_multiple=settings.pop("pack_multiple"),
                user_id=request.user.pk,
                source="admin",
                **settings,
            )
        except ApiError as err:  # a rule the form did not see (the bin changed meanwhile)
            self.message_user(request, f"Not saved: {err.detail}", level=messages.ERROR)


@admin.register(ScannerDevice)
class ScannerDeviceAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "customer", "site", "last_seen_at", "revoked_at"]
    list_filter = ["vendor"]
    readonly_fields = ["prefix", "last_seen_at", "revoked_at"]
    actions = [revoke]

    def has_add_permission(self, request):
        return False


@admin.register(LedgerEntry)
class LedgerEntryAdmin(HistoryAdmin):
    list_display = ["bin", "kind", "quantity", "delta", "on_hand_after", "applied", "occurred_at"]
    list_filter = ["kind", "applied"]


@admin.register(ScanEvent)
class ScanEventAdmin(HistoryAdmin):
    list_display = ["event_id", "kind", "code", "quantity", "bin", "occurred_at", "received_at"]
    list_filter = ["kind"]


@admin.register(BinLevelChange)
class BinLevelChangeAdmin(HistoryAdmin):
    list_display = ["bin", "user", "changed_at", "old_min", "new_min", "old_max", "new_max"]
