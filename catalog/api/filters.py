import django_filters

from catalog.models import CrossReference, CrossReferenceKind, Item
from cmi.filters import IdFilter


class ItemFilter(django_filters.FilterSet):
    sku = django_filters.CharFilter()
    barcode = django_filters.CharFilter(field_name="barcodes__code")
    search = django_filters.CharFilter(field_name="description", lookup_expr="icontains")
    active = django_filters.BooleanFilter()

    class Meta:
        model = Item
        fields = ["sku", "barcode", "search", "active"]


class CrossReferenceFilter(django_filters.FilterSet):
    customer = IdFilter(field_name="customer_id")
    item = IdFilter(field_name="item_id")
    kind = django_filters.ChoiceFilter(choices=CrossReferenceKind.choices)
    code = django_filters.CharFilter()

    class Meta:
        model = CrossReference
        fields = ["customer", "item", "kind", "code"]
