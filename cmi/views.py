"""400, 404 and 500 pages: JSON under /api/, HTML elsewhere."""

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpResponse, JsonResponse
from django.views import defaults

from cmi.errors import error_body, json_not_found, json_server_error
from cmi.body_limits import body_too_large


def bad_request(request, exception=None) -> HttpResponse:
    """What Django refuses before a view answers (a body too large to read, too many
    form fields, a bad multipart body)."""
    if not request.path.startswith("/api/"):
        return defaults.bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        return body_too_large(None)
    if isinstance(exception, TooManyFieldsSent | TooManyFilesSent):
        return JsonResponse(
            error_body("too_many_fields", "The body has too many fields."), status=400
        )
    return JsonResponse(error_body("bad_request", "The request could not be read."), status=400)


def not_found(request, exception=None) -> HttpResponse:
    if request.path.startswith("/api/"):
        return json_not_found(request, exception)
    return defaults.page_not_found(request, exception)


def server_error(request) -> HttpResponse:
    if request.path.startswith("/api/"):
        return json_server_error(request)
    return defaults.server_error(request)
