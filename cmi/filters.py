"""Filters shared by the API's list endpoints."""

import django_filters
from django import forms

MAX_ID = 2**63 - 1


class IdFilter(django_filters.NumberFilter):
    """An id in a query string: a positive integer a database column can hold.

    Unlike django-filter's default for foreign keys, it does not look the id up,
    so an id of another tenant and an id that does not exist answer alike (empty).
    """

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)
