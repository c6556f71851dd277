"""Each request runs for no vendor until its scope is resolved (cmi/rls.py)."""

from __future__ import annotations

from django.urls import reverse

from cmi import rls


class TenantMiddleware:
    """A request starts with no vendor: tenant tables show nothing until the scope
    resolver (`cmi.tenancy`) sets the vendor of the signed-in principal. The previous
    state is restored when the request ends, so nothing carries to the next one.

    The admin site is the operators' tool across vendors: a superuser there works in
    system mode. Anyone else there sees no tenant rows.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.admin_prefix = None

    def __call__(self, request):
        token = rls.activate(rls.NOBODY)
        try:
            return self.get_response(request)
        finally:
            rls.reset(token)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if self.admin_prefix is None:
            self.admin_prefix = reverse("admin:index")
        if request.path.startswith(self.admin_prefix):
            user = getattr(request, "user", None)
            if user is not None and user.is_active and user.is_superuser:
                rls.activate(rls.SYSTEM)  # undone with the request's own token
        return None
