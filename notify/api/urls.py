from django.urls import path
from rest_framework.routers import SimpleRouter

from notify.api import views

router = SimpleRouter()
router.trailing_slash = "/?"
router.register("notifications", views.NotificationViewSet, basename="notification")
urlpatterns = [
    path("subscriptions", views.SubscriptionView.as_view(), name="subscriptions"),
    path("alert-thresholds", views.VendorAlertThresholdsView.as_view(), name="alert-thresholds"),
    path(
        "customers/<int:customer_id>/alert-thresholds",
        views.CustomerAlertThresholdsView.as_view(),
        name="customer-alert-thresholds",
    ),
    *router.urls,
]
