"""One error shape everywhere: {"error": {"code", "detail", "field"}}.

Codes are stable and machine-readable; detail is for people; field names the input
that was wrong, when one was.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


class ApiError(exceptions.APIException):
    """A domain error with its own code, raised by services and views."""

    status_code = status.HTTP_400_BAD_REQUEST

    def __init__(
        self, code: str, detail: str, *, field: str | None = None, status_code: int | None = None
    ):
        super().__init__(detail=detail, code=code)
        self.error_code = code
        self.field = field
        if status_code is not None:
            self.status_code = status_code


class Conflict(ApiError):
    status_code = status.HTTP_409_CONFLICT


_CODE_RENAMES = {
    "parse_error": "not_json",
    "not_authenticated": "not_authenticated",
    "authentication_failed": "authentication_failed",
    "permission_denied": "permission_denied",
    "not_found": "not_found",
    "method_not_allowed": "method_not_allowed",
    "unsupported_media_type": "unsupported_media_type",
    "throttled": "throttled",
}


def error_body(code: str, detail: str, field: str | None = None, **extra: Any) -> dict:
    return {"error": {"code": code, "detail": detail, "field": field, **extra}}


def _flatten(detail: Any, prefix: str = "") -> list[tuple[str | None, str, str]]:
    """Validation details as (field, code, message), nested fields dotted."""
    out: list[tuple[str | None, str, str]] = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = "" if key == "non_field_errors" else str(key)  # list errors have int keys
            out += _flatten(value, f"{prefix}.{name}" if prefix and name else (prefix or name))
    elif isinstance(detail, list):
        for index, value in enumerate(detail):
            if isinstance(value, dict | list) and not isinstance(value, exceptions.ErrorDetail):
                out += _flatten(value, f"{prefix}.{index}" if prefix else str(index))
            else:
                out += _flatten(value, prefix)
    else:
        code = getattr(detail, "code", None) or "invalid"
        out.append((prefix or None, str(code), str(detail)))
    return out


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, ApiError):
        response.data = error_body(exc.error_code, str(exc.detail), exc.field)
        return response
    if isinstance(exc, exceptions.ValidationError):
        problems = _flatten(exc.detail) or [(None, "invalid", "invalid input")]
        field, code, message = problems[0]
        code = (
            "required" if code == "required" else ("invalid" if code in ("invalid", "") else code)
        )
        response.data = error_body(
            code,
            message,
            field,
            fields=[{"field": f, "code": c, "detail": m} for f, c, m in problems],
        )
        return response
    code = getattr(exc, "default_code", "error")
    if isinstance(exc.detail, exceptions.ErrorDetail):  # type: ignore[attr-defined]
        code = exc.detail.code or code  # type: ignore[attr-defined]
    code = _CODE_RENAMES.get(code, code)
    response.data = error_body(code, str(exc.detail))  # type: ignore[attr-defined]
    return response


def json_not_found(request, exception=None) -> JsonResponse:
    return JsonResponse(error_body("not_found", "Not found."), status=404)


def json_server_error(request) -> JsonResponse:
    return JsonResponse(
        error_body("server_error", "Internal error; it has been logged."), status=500
    )
