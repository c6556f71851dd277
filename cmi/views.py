"""404 and 500 pages: JSON under /api/, HTML elsewhere."""

from django.http import HttpResponse
from django.views import defaults

from cmi.errors import json_not_found, json_server_error


def not_found(request, exception=None) -> HttpResponse:
    if request.path.startswith("/api/"):
        return json_not_found(request, exception)
    return defaults.page_not_found(request, exception)


def server_error(request) -> HttpResponse:
    if request.path.startswith("/api/"):
        return json_server_error(request)
    return defaults.server_error(request)
