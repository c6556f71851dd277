"""Django admin for operators: read most things, revoke keys. Business writes go through the API."""

from django.contrib import admin
from django.utils import timezone

from cmi.models import ApiToken, Customer, ErpKey, Membership, Vendor


@admin.action(description="Revoke the selected keys")
def revoke(modeladmin, request, queryset):
    queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


@admin.register(Vendor)
class VendorAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "po_prefix"]
    search_fields = ["code", "name"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "vendor", "release_policy", "timezone"]
    list_filter = ["vendor", "release_policy"]
    search_fields = ["code", "name"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "vendor", "customer", "role"]
    list_filter = ["vendor", "role"]
    raw_id_fields = ["user", "customer"]
    filter_horizontal = ["assigned_customers"]


@admin.register(ErpKey)
class ErpKeyAdmin(admin.ModelAdmin):
    list_display = ["prefix", "name", "vendor", "created_at", "revoked_at"]
    list_filter = ["vendor"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    actions = [revoke]

    def has_add_permission(self, request):
        return False  # keys are made by `erp_key_create`, which shows the secret once


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "name", "user", "created_at", "revoked_at"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    actions = [revoke]

    def has_add_permission(self, request):
        return False
