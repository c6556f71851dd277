"""Reads of the catalog."""

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from catalog.models import CrossReference, Item, ItemBarcode
from cmi.scoping import Scope


def item_list(*, scope: Scope) -> QuerySet[Item]:
    return Item.objects.for_scope(scope).prefetch_related("barcodes").order_by("sku")


def cross_reference_list(*, scope: Scope) -> QuerySet[CrossReference]:
    return (
        CrossReference.objects.for_scope(scope)
        .select_related("item")
        .order_by("customer_id", "code")
    )


def item_catalog(*, scope: Scope, text: str = "") -> QuerySet[Item]:
    """The vendor's items with their barcodes and how many customer references each has
    (only the customers the scope sees), searched by SKU, description or barcode.

    Counts are subqueries rather than joins: one item stays one row however many
    references it has.
    """
    references = (
        CrossReference.objects.for_scope(scope)
        .filter(item_id=OuterRef("pk"))
        .order_by()
        .values("item_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    qs = item_list(scope=scope).annotate(
        reference_count=Coalesce(Subquery(references, output_field=IntegerField()), Value(0))
    )
    if text:
        barcodes = ItemBarcode.objects.for_scope(scope).filter(
            item_id=OuterRef("pk"), code__icontains=text
        )
        qs = qs.filter(Q(sku__icontains=text) | Q(description__icontains=text) | Exists(barcodes))
    return qs


def item_cross_references(*, scope: Scope, item_id: int) -> QuerySet[CrossReference]:
    """One item's references of the customers the scope sees, grouped by customer."""
    return (
        CrossReference.objects.for_scope(scope)
        .filter(item_id=item_id)
        .select_related("customer")
        .order_by("customer__name", "customer_id", "code", "pk")
    )


def item_barcodes_by_item(*, scope: Scope) -> dict[int, list[str]]:
    """Every item's barcodes, sorted, by item id: one query."""
    codes: dict[int, list[str]] = {}
    for item_id, code in (
        ItemBarcode.objects.for_scope(scope)
        .order_by("item_id", "code")
        .values_list("item_id", "code")
    ):
        codes.setdefault(item_id, []).append(code)
    return codes


def item_export_rows(*, scope: Scope, columns: tuple[str, ...]) -> QuerySet:
    """The vendor's items as tuples of `columns`, by SKU."""
    return Item.objects.for_scope(scope).order_by("sku").values_list(*columns)
