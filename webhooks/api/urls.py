from rest_framework.routers import SimpleRouter

from webhooks.api import views

router = SimpleRouter()
router.trailing_slash = "/?"
router.register("webhooks/endpoints", views.EndpointViewSet, basename="webhook-endpoint")
router.register(
    r"webhooks/endpoints/(?P<endpoint_id>\d+)/deliveries",
    views.DeliveryViewSet,
    basename="webhook-delivery",
)
urlpatterns = router.urls
