"""The shape every resource viewset follows: scope first, then parse, call, render."""

from __future__ import annotations

from django.db.models import QuerySet
from rest_framework import viewsets

from cmi.permissions import ALL_PEOPLE, VENDOR_STAFF
from cmi.scoping import Scope


class ScopedViewSet(viewsets.GenericViewSet):
    """`self.scope` is set by the HasScope permission before any handler runs.

    Subclasses define `scoped_queryset(scope) -> QuerySet`; every object lookup goes
    through it, so another tenant's id is simply not found (404).
    """

    scope: Scope
    read_roles = ALL_PEOPLE
    write_roles = VENDOR_STAFF

    def get_queryset(self) -> QuerySet:
        scope = getattr(self, "scope", None)
        if scope is None:  # schema generation
            return self.queryset.none() if self.queryset is not None else QuerySet().none()
        return self.scoped_queryset(scope)
