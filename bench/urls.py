"""The project's URLs and the bench's bare view."""

from django.urls import path

from bench.bare import insert_one
from cmi.urls import handler400, handler404, handler500, urlpatterns  # noqa: F401

urlpatterns = [path("bench/insert", insert_one), *urlpatterns]
