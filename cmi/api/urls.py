from django.urls import path
from rest_framework.routers import SimpleRouter

from cmi.api import views

router = SimpleRouter()
router.trailing_slash = "/?"
router.register("customers", views.CustomerViewSet, basename="customer")

urlpatterns = [
    *router.urls,
    path("auth/token", views.TokenCreateView.as_view(), name="auth-token"),
    path("auth/token/<int:token_id>", views.TokenRevokeView.as_view(), name="auth-token-revoke"),
]
