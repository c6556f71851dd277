"""Reads of tenancy rows: customers, the vendor's reps, the settings history of a customer."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from cmi.errors import ApiError
from cmi.models import Customer, Membership, Role, SettingChange, SettingSource
from cmi.scoping import Scope

OBJECT_TYPES = ("customer", "bin", "item", "trading_partner", "vendor")


class SettingChangeFilter(django_filters.FilterSet):
    """Filters of a customer's history; every one is backed by the (vendor, customer,
    at) index, the rest narrowing rows of one customer."""

    object_type = django_filters.ChoiceFilter(choices=[(t, t) for t in OBJECT_TYPES])
    object_id = django_filters.NumberFilter(
        field_name="object_id", min_value=1, max_value=2**63 - 1
    )
    field = django_filters.CharFilter(field_name="field", max_length=40)
    source = django_filters.ChoiceFilter(choices=SettingSource.choices)
    since = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="lt")

    class Meta:
        model = SettingChange
        fields = ["object_type", "object_id", "field", "source", "since", "until"]


def customer_history(*, scope: Scope, customer_id: int, filters=None) -> QuerySet[SettingChange]:
    """Every audited setting change of one customer (its own settings, rep assignment,
    its bins' levels and settings), and the vendor-wide ones that decide what it is
    ordered (catalog fields, the EDI partner profile), newest first, filtered by
    `filters` (a query dict). Vendor-wide rows have no customer, so a customer's own
    people (whose scope names their customers) never see them.

    Bad filter values raise ApiError("invalid_filter") naming the field."""
    qs = (
        SettingChange.objects.for_scope(scope)
        .filter(Q(customer_id=customer_id) | Q(customer__isnull=True))
        .select_related("user")
        .order_by("-at", "-id")
    )
    if filters is None:
        return qs
    found = SettingChangeFilter(filters, queryset=qs)
    if not found.is_valid():
        name, problems = next(iter(found.errors.items()))
        raise ApiError("invalid_filter", str(problems[0]), field=name)
    return found.qs


def customer_list(*, scope: Scope) -> QuerySet[Customer]:
    """The customers in scope, by name."""
    return Customer.objects.for_scope(scope).order_by("name", "pk")


def vendor_rep_list(*, scope: Scope) -> list[Membership]:
    """The vendor's active reps with their users, by username."""
    return list(
        Membership.objects.filter(
            vendor_id=scope.vendor_id, role=Role.VENDOR_REP, user__is_active=True
        )
        .select_related("user")
        .order_by("user__username", "pk")
    )
