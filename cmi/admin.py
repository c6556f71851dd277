"""Django admin for operators: read most things, revoke keys. Business writes go through the API."""

from django.contrib import admin
from django.utils import timezone

from cmi.models import ApiToken, Customer, ErpKey, Membership, SettingChange, Vendor
from cmi.services import CUSTOMER_SETTINGS, ObjectChange, setting_changes_record


class HistoryAdmin(admin.ModelAdmin):
    """History is append-only (cmi.history): shown, never added, changed or deleted."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AuditedAdmin(admin.ModelAdmin):
    """A change saved in the admin is audited like any other (source "admin")."""

    audited_fields: tuple[str, ...] = ()
    audit_type = ""

    def audit_customer_id(self, obj) -> int | None:
        return None

    def audit_label(self, obj) -> str:
        return str(obj)

    def save_model(self, request, obj, form, change):
        before = {}
        if change:
            old = type(obj).objects.get(pk=obj.pk)
            before = {name: getattr(old, name) for name in self.audited_fields}
        super().save_model(request, obj, form, change)
        setting_changes_record(
            vendor_id=obj.vendor_id,
            user_id=request.user.pk,
            source="admin",
            changes=[
                ObjectChange(
                    customer_id=self.audit_customer_id(obj),
                    object_type=self.audit_type,
                    object_id=obj.pk,
                    object_label=self.audit_label(obj),
                    before=before,
                    after={name: getattr(obj, name) for name in self.audited_fields},
                )
            ],
        )


@admin.action(description="Revoke the selected keys")
def revoke(modeladmin, request, queryset):
    queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


@admin.register(Vendor)
class VendorAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "po_prefix"]
    search_fields = ["code", "name"]


@admin.register(Customer)
class CustomerAdmin(AuditedAdmin):
    """Customers with history are kept: deleting one is refused (its ledger and orders
    PROTECT it); a customer leaving is a matter of its bins' `active` flags."""

    audited_fields = CUSTOMER_SETTINGS
    audit_type = "customer"

    def audit_customer_id(self, obj) -> int | None:
        return obj.pk

    def audit_label(self, obj) -> str:
        return obj.code

    list_display = ["code", "name", "vendor", "release_policy", "timezone"]
    list_filter = ["vendor", "release_policy"]
    # Set on the customer's Settings page and through the API, with their checks.
    readonly_fields = ["consolidation_minutes", "consolidation_min_value"]
    search_fields = ["code", "name"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "vendor", "customer", "role"]
    list_filter = ["vendor", "role"]
    raw_id_fields = ["user", "customer"]
    # Reps are assigned on the customer's Settings page, where the change is audited.
    readonly_fields = ["assigned_customers"]


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


@admin.register(SettingChange)
class SettingChangeAdmin(HistoryAdmin):
    list_display = ["at", "object_type", "object_label", "field", "before", "after", "source"]
    list_filter = ["vendor", "object_type", "source"]
