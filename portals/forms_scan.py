"""The body of the scan page's JSON endpoint: the envelope of `POST /api/v1/scans`.

The same codes and limits as the API, so a browser and a handheld learn one contract.
Each event inside the envelope is judged by the scan service itself, not here.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings


class EnvelopeError(Exception):
    """The body as a whole is unusable; no event in it was looked at."""

    def __init__(
        self, code: str, detail: str, *, field: str | None = None, status: int = 400
    ) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.field = field
        self.status = status


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def scan_envelope_parse(body: bytes) -> list[Any]:
    """`{"scans": [...]}` with 1 to SCAN_BATCH_MAX events, or an EnvelopeError."""
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise EnvelopeError("not_json", "The body is not JSON (or nests too deeply).") from exc
    if not isinstance(data, dict) or "scans" not in data:
        raise EnvelopeError(
            "missing_scans", "The body must be an object with a 'scans' list.", field="scans"
        )
    events = data["scans"]
    if not isinstance(events, list):
        raise EnvelopeError("invalid_scans", "'scans' must be a list.", field="scans")
    if not events:
        raise EnvelopeError(
            "empty_batch",
            f"'scans' is empty; send 1 to {settings.SCAN_BATCH_MAX} events.",
            field="scans",
        )
    if len(events) > settings.SCAN_BATCH_MAX:
        raise EnvelopeError(
            "batch_too_large",
            f"At most {settings.SCAN_BATCH_MAX} scans per batch.",
            field="scans",
            status=413,
        )
    return events
