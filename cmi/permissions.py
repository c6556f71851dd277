"""Who may call what. Views name the roles that may read and write.

`read_roles` / `write_roles` on a view; unsafe methods need a write role. A view may
also map action names to roles in `action_roles`.
"""

from __future__ import annotations

from rest_framework import permissions

from cmi.tenancy import scope_for_request

ALL_PEOPLE = frozenset({"vendor_admin", "vendor_rep", "customer_manager", "customer_staff"})
VENDOR_STAFF = frozenset({"vendor_admin", "vendor_rep"})


class HasScope(permissions.BasePermission):
    message = "You do not have permission to perform this action."

    def has_permission(self, request, view) -> bool:
        scope = scope_for_request(request)
        if scope is None:
            return False
        view.scope = scope
        action = getattr(view, "action", None)
        action_roles = getattr(view, "action_roles", {})
        if action in action_roles:
            return scope.role in action_roles[action]
        if request.method in permissions.SAFE_METHODS:
            return scope.role in getattr(view, "read_roles", ALL_PEOPLE)
        return scope.role in getattr(view, "write_roles", VENDOR_STAFF)
