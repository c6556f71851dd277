from django.urls import path
from rest_framework.routers import SimpleRouter

from stocking.api import views

router = SimpleRouter()
router.trailing_slash = "/?"  # both /bins and /bins/ (the constructor only takes a bool)
router.register("sites", views.SiteViewSet, basename="site")
router.register("locations", views.LocationViewSet, basename="location")
router.register("bins", views.BinViewSet, basename="bin")
router.register("devices", views.DeviceViewSet, basename="device")
urlpatterns = [
    path("scans", views.ScanBatchView.as_view(), name="scans"),
    path("rfid/reads", views.RfidReadsView.as_view(), name="rfid-reads"),
    *router.urls,
]
