"""The outbox the ERP pulls, and the partner profile."""

urlpatterns: list = []
