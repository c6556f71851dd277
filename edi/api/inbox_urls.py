"""The inbox ERPs and customers post X12 to."""

urlpatterns: list = []
