import django_filters

from cmi.filters import IdFilter
from replenishment.models import Order, OrderStatus


class OrderFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=OrderStatus.choices)
    customer = IdFilter(field_name="customer_id")
    site = IdFilter(field_name="site_id")
    updated_after = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gt")
    po_number = django_filters.CharFilter()

    class Meta:
        model = Order
        fields = ["status", "customer", "site", "updated_after", "po_number"]
