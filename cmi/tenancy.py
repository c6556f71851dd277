"""Resolve the scope once per request from the authenticated principal."""

from __future__ import annotations

from cmi import rls
from cmi.authentication import MachinePrincipal
from cmi.models import ErpKey, Membership, Role
from cmi.scoping import Scope


def scope_for_user(user) -> Scope | None:
    """The scope of a signed-in person. Resolving reads the membership across vendors
    (the vendor is what is being found out); the caller then runs for it."""
    with rls.system():
        return _scope_for_user(user)


def scope_enter(scope: Scope | None) -> Scope | None:
    """Run the rest of this request for the scope's vendor (row-level security).

    The request's TenantMiddleware restores the previous state when it ends."""
    if scope is not None:
        rls.activate(rls.Tenant(vendor_id=scope.vendor_id))
    return scope


def _scope_for_user(user) -> Scope | None:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    # The membership and its vendor (whose time zone goes in the scope) in one query,
    # unless the authentication read them with the user already.
    if Membership._meta.get_field("user").remote_field.is_cached(user):
        try:
            membership: Membership | None = user.membership
        except Membership.DoesNotExist:
            return None
    else:
        membership = Membership.objects.select_related("vendor").filter(user_id=user.pk).first()
        if membership is None:
            return None
        user.membership = membership
    if membership.role in (Role.CUSTOMER_MANAGER, Role.CUSTOMER_STAFF):
        customer_ids: frozenset[int] | None = frozenset({membership.customer_id})
    elif membership.role == Role.VENDOR_REP:
        assigned = frozenset(membership.assigned_customers.values_list("id", flat=True))
        customer_ids = assigned or None
    else:
        customer_ids = None
    return Scope(
        vendor_id=membership.vendor_id,
        role=membership.role,
        customer_ids=customer_ids,
        user_id=user.pk,
        timezone=membership.vendor.timezone,
    )


def scope_for_request(request) -> Scope | None:
    """Cached on the request: resolved once, however many times it is asked for."""
    cached = getattr(request, "_cmi_scope", False)
    if cached is not False:
        return cached
    user = request.user
    scope: Scope | None
    if isinstance(user, MachinePrincipal):
        obj = user.obj
        if user.kind == "device":
            scope = Scope(
                vendor_id=obj.vendor_id,
                role="device",
                customer_ids=frozenset({obj.customer_id}),
                site_id=obj.site_id,
                device_id=obj.pk,
                device_seen_at=obj.last_seen_at,
            )
        else:
            assert isinstance(obj, ErpKey)
            scope = Scope(vendor_id=obj.vendor_id, role="erp", erp_key_id=obj.pk)
    else:
        scope = scope_for_user(user)
    request._cmi_scope = scope
    return scope_enter(scope)
