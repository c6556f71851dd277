from django.urls import include, path

urlpatterns = [
    path("", include("cmi.api.urls")),
    path("", include("catalog.api.urls")),
    path("", include("stocking.api.urls")),
    path("", include("replenishment.api.urls")),
    path("", include("edi.api.urls")),
    path("", include("insight.api.urls")),
    path("", include("notify.api.urls")),
    path("", include("webhooks.api.urls")),
]
