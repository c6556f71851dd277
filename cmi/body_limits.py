"""Refusing an oversized body under /api/ before anything reads it.

Django raises RequestDataTooBig only when a form body is read through request.POST or
request.body; DRF's JSON parser reads the stream itself and would take any size. Here
the declared length is checked against the view's limit (`max_body_bytes` on the view
class, DATA_UPLOAD_MAX_MEMORY_SIZE otherwise), so every API endpoint answers the same
413 in the API's error shape.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from cmi.errors import error_body

BODY_TOO_LARGE = "body_too_large"


def body_too_large(limit: int | None) -> JsonResponse:
    size = f" ({limit} bytes)" if limit else ""
    return JsonResponse(
        error_body(BODY_TOO_LARGE, f"The request body is larger than this endpoint takes{size}."),
        status=413,
    )


def body_limit(view_func: Callable) -> int | None:
    view_class = getattr(view_func, "cls", None) or getattr(view_func, "view_class", None)
    return getattr(view_class, "max_body_bytes", settings.DATA_UPLOAD_MAX_MEMORY_SIZE)


class ApiBodyLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        if not request.path.startswith("/api/"):
            return None
        limit = body_limit(view_func)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit is not None and length > limit:
            return body_too_large(limit)
        return None
