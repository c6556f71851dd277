from django.urls import path
from rest_framework.routers import SimpleRouter

from insight.api import scorecard, views

router = SimpleRouter()
router.trailing_slash = "/?"
router.register("recommendations", views.RecommendationViewSet, basename="recommendation")
router.register("demand-policies", views.PolicyViewSet, basename="demand-policy")
router.register("backtests", views.BacktestViewSet, basename="backtest")
urlpatterns = [
    path("scorecard", scorecard.ScorecardView.as_view(), name="scorecard"),
    path("scorecard/vendor", scorecard.VendorScorecardView.as_view(), name="scorecard-vendor"),
    path("scorecard/targets", scorecard.ScorecardTargetView.as_view(), name="scorecard-targets"),
    path(
        "bins/<int:bin_id>/recommendation",
        views.BinRecommendationView.as_view(),
        name="bin-recommendation",
    ),
    *router.urls,
]
