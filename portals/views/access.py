"""Who may see a page: the scope is resolved once per request and handed to the view.

Every portal view is wrapped in `portal_view` (signed in, has a membership, has a role
the page allows). Pages under one customer are wrapped in `customer_view` too, which
looks the customer up through the scope: another vendor's or customer's id is a 404,
exactly as an id of a customer that does not exist.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone

from cmi.models import Customer
from cmi.scoping import CUSTOMER_USERS, VENDOR_STAFF, Scope
from cmi.tenancy import scope_enter, scope_for_user

ALL_PEOPLE = VENDOR_STAFF | CUSTOMER_USERS
MANAGERS = frozenset({"customer_manager"})

View = Callable[..., HttpResponse]


def portal_view(roles: Iterable[str] = ALL_PEOPLE) -> Callable[[View], View]:
    """Sign-in, scope and role; the view is called as view(request, scope, **kwargs)."""
    allowed = frozenset(roles)

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            scope = scope_enter(scope_for_user(request.user))
            if scope is None:
                # Signed in but no membership (a superuser, say): nothing here is theirs.
                raise PermissionDenied("This account has no access to the portals.")
            if scope.role not in allowed:
                raise PermissionDenied("Your role cannot do this.")
            request.scope = scope  # templates read the role from it (navigation, rights)
            # Times on the vendor's pages are in the vendor's zone (customer pages switch
            # to the customer's below); every page names the zone it shows.
            with timezone.override(scope.timezone):
                return view(request, scope, *args, **kwargs)

        return wrapped

    return decorate


def customer_view(roles: Iterable[str] = ALL_PEOPLE) -> Callable[[View], View]:
    """A page under /customers/<customer_id>/: view(request, scope, customer, **kwargs).

    Times on the page are shown in the customer's own time zone.
    """

    def decorate(view: View) -> View:
        @portal_view(roles)
        @functools.wraps(view)
        def wrapped(
            request: HttpRequest, scope: Scope, customer_id: int, *args, **kwargs
        ) -> HttpResponse:
            customer = get_object_or_404(Customer.objects.for_scope(scope), pk=customer_id)
            with timezone.override(customer.timezone):
                return view(request, scope, customer, *args, **kwargs)

        return wrapped

    return decorate


def can_edit_levels(scope: Scope) -> bool:
    """Min/max belong to the vendor: its staff set them, the customer sees every change."""
    return scope.is_vendor_staff


def can_approve(scope: Scope) -> bool:
    return scope.role in MANAGERS
