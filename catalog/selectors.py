"""Reads of the catalog."""

from django.db.models import QuerySet

from catalog.models import CrossReference, Item
from cmi.scoping import Scope


def item_list(*, scope: Scope) -> QuerySet[Item]:
    return Item.objects.for_scope(scope).prefetch_related("barcodes").order_by("sku")


def cross_reference_list(*, scope: Scope) -> QuerySet[CrossReference]:
    return (
        CrossReference.objects.for_scope(scope)
        .select_related("item")
        .order_by("customer_id", "code")
    )
