from rest_framework.routers import SimpleRouter

from replenishment.api import views

router = SimpleRouter()
router.trailing_slash = "/?"  # both /bins and /bins/ (the constructor only takes a bool)
router.register("orders", views.OrderViewSet, basename="order")
urlpatterns = router.urls
