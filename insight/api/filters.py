import django_filters

from cmi.filters import IdFilter
from insight.models import Backtest, DemandPolicy, Recommendation


class RecommendationFilter(django_filters.FilterSet):
    customer = IdFilter(field_name="customer_id")
    site = IdFilter(field_name="site_id")
    changed_only = django_filters.BooleanFilter(method="filter_changed")
    status = django_filters.ChoiceFilter(
        choices=[("pending", "pending"), ("applied", "applied"), ("dismissed", "dismissed")]
    )

    class Meta:
        model = Recommendation
        fields = ["customer", "site", "changed_only", "status"]

    def filter_changed(self, queryset, name, value):
        return queryset.filter(changed=True) if value else queryset


class PolicyFilter(django_filters.FilterSet):
    customer = IdFilter(field_name="customer_id")

    class Meta:
        model = DemandPolicy
        fields = ["customer"]


class BacktestFilter(django_filters.FilterSet):
    customer = IdFilter(field_name="customer_id")

    class Meta:
        model = Backtest
        fields = ["customer"]
