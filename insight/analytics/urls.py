from django.urls import path

from insight.analytics import api

urlpatterns = [
    path("analytics/usage", api.UsageView.as_view(), name="analytics-usage"),
    path("analytics/top-items", api.TopItemsView.as_view(), name="analytics-top-items"),
    path("analytics/slow-movers", api.SlowMoversView.as_view(), name="analytics-slow-movers"),
    path("analytics/cover", api.CoverView.as_view(), name="analytics-cover"),
    path("analytics/dead-stock", api.DeadStockView.as_view(), name="analytics-dead-stock"),
    path("analytics/stock-value", api.StockValueView.as_view(), name="analytics-stock-value"),
    path("analytics/customers", api.CustomersView.as_view(), name="analytics-customers"),
    path("analytics/search", api.SearchView.as_view(), name="analytics-search"),
]
