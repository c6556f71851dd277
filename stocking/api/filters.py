import django_filters
from django.db.models import Q

from cmi.filters import IdFilter
from cmi.tenancy import scope_for_request
from stocking.models import Bin, Location, ScannerDevice, Site
from stocking.selectors import BIN_STATUSES, bin_search, bin_status_q


class BinFilter(django_filters.FilterSet):
    label = django_filters.CharFilter()
    location = IdFilter(field_name="location_id")
    location_code = django_filters.CharFilter(field_name="location__code")
    location_subtree = IdFilter(method="filter_subtree", label="Location subtree (id)")
    sku = django_filters.CharFilter(field_name="item__sku")
    customer = IdFilter(field_name="customer_id")
    site = IdFilter(field_name="site_id")
    status = django_filters.ChoiceFilter(
        choices=[(s, s) for s in BIN_STATUSES], method="filter_status"
    )
    q = django_filters.CharFilter(
        method="filter_q",
        max_length=100,
        label="Search: SKU, description, shelf label, the customer's part numbers and "
        "barcodes, the item's barcodes (as the portal's stock search)",
    )

    class Meta:
        model = Bin
        fields = ["label", "location", "location_code", "sku", "customer", "site", "status", "q"]

    def filter_q(self, queryset, name, value):
        text = value.strip()
        scope = scope_for_request(self.request)
        if not text or scope is None:
            return queryset
        return bin_search(scope=scope, bins=queryset, text=text)

    def filter_status(self, queryset, name, value):
        return queryset.filter(bin_status_q(value))

    def filter_subtree(self, queryset, name, value):
        scope = scope_for_request(self.request)
        root = Location.objects.for_scope(scope).filter(pk=value).first() if scope else None
        if root is None:
            return queryset.none()
        return queryset.filter(Q(location__path__startswith=root.path))


class LocationFilter(django_filters.FilterSet):
    customer = IdFilter(field_name="customer_id")
    site = IdFilter(field_name="site_id")
    parent = IdFilter(field_name="parent_id")
    code = django_filters.CharFilter()

    class Meta:
        model = Location
        fields = ["customer", "site", "parent", "code"]


class SiteFilter(django_filters.FilterSet):
    customer = IdFilter(field_name="customer_id")
    code = django_filters.CharFilter()

    class Meta:
        model = Site
        fields = ["customer", "code"]


class DeviceFilter(django_filters.FilterSet):
    customer = IdFilter(field_name="customer_id")
    site = IdFilter(field_name="site_id")

    class Meta:
        model = ScannerDevice
        fields = ["customer", "site"]
