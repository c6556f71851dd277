from django.urls import path

from cmi.api import views

urlpatterns = [
    path("auth/token", views.TokenCreateView.as_view(), name="auth-token"),
    path("auth/token/<int:token_id>", views.TokenRevokeView.as_view(), name="auth-token-revoke"),
]
