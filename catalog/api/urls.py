from rest_framework.routers import SimpleRouter

from catalog.api import views

router = SimpleRouter()
router.trailing_slash = "/?"  # both /bins and /bins/ (the constructor only takes a bool)
router.register("items", views.ItemViewSet, basename="item")
router.register("cross-references", views.CrossReferenceViewSet, basename="cross-reference")
urlpatterns = router.urls
