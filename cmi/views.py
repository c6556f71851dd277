"""400, 404 and 500 pages: JSON under /api/, HTML elsewhere.

A request that failed because the database could not be reached (or a transient
database failure: a lost connection, a deadlock, a locked SQLite file) is a 503 with
`Retry-After`, not a 500: the client did nothing wrong and should come back. The
connection is dropped at the end of the request (CONN_HEALTH_CHECKS), so the next
request reconnects once the database is back; no restart is needed.
"""

import sys

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.views import defaults

from cmi.body_limits import body_too_large
from cmi.errors import error_body, json_not_found, json_server_error

UNAVAILABLE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Unavailable</title></head>
<body><h1>Temporarily unavailable</h1>
<p>The service cannot reach its database. Please try again in a minute.</p></body></html>
"""


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


def _database_unavailable() -> bool:
    exc = sys.exc_info()[1]
    while exc is not None:
        if isinstance(exc, OperationalError | InterfaceError):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def service_unavailable(request) -> HttpResponse:
    """503 without touching the database or a template that might."""
    retry_after = str(settings.DATABASE_RETRY_AFTER_SECONDS)
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse(
            error_body("service_unavailable", "The database is unavailable; retry later."),
            status=503,
        )
    else:
        response = HttpResponse(UNAVAILABLE_PAGE, status=503, content_type="text/html")
    response["Retry-After"] = retry_after
    return response


def server_error(request) -> HttpResponse:
    if _database_unavailable():
        return service_unavailable(request)
    if request.path.startswith("/api/"):
        return json_server_error(request)
    return defaults.server_error(request)
