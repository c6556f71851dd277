from django.urls import include, path

urlpatterns = [
    path("edi/", include("edi.api.outbox_urls")),
    path("edi/", include("edi.api.inbox_urls")),
]
