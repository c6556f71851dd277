"""Judging one raw scan event on its own, before any database work.

Each problem has a stable code that scanners can act on without parsing prose.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings

from catalog.gs1 import GS
from cmi.text import TEXT_INVALID, TEXT_TOO_LONG, TextRejected, surrogate_path, text_check
from stocking.models import MovementKind

QUANTITY_KINDS = frozenset({MovementKind.RECEIVE, MovementKind.ISSUE, MovementKind.COUNT})
KINDS = frozenset(k.value for k in MovementKind)
OLDEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


class ScanRejected(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass
class ScanInput:
    index: int
    event_id: uuid.UUID
    kind: str
    code: str
    location: str
    quantity: int | None
    gross_grams: Decimal | None
    occurred_at: dt.datetime
    # Set when the code was a GS1 code that carried them (catalog/gs1.py).
    lot: str | None = None
    expiry: dt.date | None = None


def raw_event_id(raw: Any) -> str | None:
    """The event id as the client sent it, echoed back even when it is invalid (but
    never text that could not be written back: that is echoed as null)."""
    if isinstance(raw, dict):
        value = raw.get("event_id")
        if isinstance(value, str):
            try:
                return text_check(value[:64], field="event_id", max_length=64)
            except TextRejected:
                return None
    return None


def _checked(value: Any, key: str, max_length: int) -> Any:
    """A string judged by the one text rule; anything else as it came."""
    if not isinstance(value, str):
        return value
    try:
        return text_check(value, field=key, max_length=max_length)
    except TextRejected as err:
        raise ScanRejected(err.code, err.detail) from err


def _text(raw: dict, key: str, *, max_length: int, required: bool, allow: str = "") -> str:
    value = raw.get(key)
    if value is None or value == "":
        if required:
            raise ScanRejected(f"missing_{key}", f"'{key}' is required.")
        return ""
    if not isinstance(value, str):
        raise ScanRejected(f"invalid_{key}", f"'{key}' must be a string.")
    # the content rule on what was sent, blanks included (less the one allowed control)
    _checked(value.replace(allow, "") if allow else value, key, len(value))
    value = value.strip()
    _checked(value.replace(allow, "") if allow else value, key, max_length)
    if len(value) > max_length:  # the allowed control counts towards the length
        raise ScanRejected(TEXT_TOO_LONG, f"'{key}' is longer than {max_length} characters.")
    if not value and required:
        raise ScanRejected(f"missing_{key}", f"'{key}' is required.")
    return value


def _quantity(raw: dict, kind: str) -> int | None:
    value = raw.get("quantity")
    if kind not in QUANTITY_KINDS:
        if value is not None:
            raise ScanRejected("invalid_quantity", f"A {kind} scan carries no quantity.")
        return None
    if value is None:
        raise ScanRejected("missing_quantity", f"A {kind} scan needs a quantity.")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScanRejected("invalid_quantity", "'quantity' must be a whole number.")
    if isinstance(value, float):
        if not value.is_integer():
            raise ScanRejected("invalid_quantity", "'quantity' must be a whole number.")
        value = int(value)
    low = 0 if kind == MovementKind.COUNT else 1
    if value < low or value > settings.SCAN_MAX_QUANTITY:
        raise ScanRejected(
            "invalid_quantity",
            f"'quantity' for {kind} must be between {low} and {settings.SCAN_MAX_QUANTITY}.",
        )
    return value


def _gross_grams(raw: dict, kind: str) -> Decimal | None:
    value = _checked(raw.get("gross_grams"), "gross_grams", 40)
    if kind != MovementKind.WEIGHT:
        if value is not None:
            raise ScanRejected("invalid_weight", f"A {kind} scan carries no weight.")
        return None
    if value is None:
        raise ScanRejected("missing_weight", "A weight scan needs 'gross_grams'.")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ScanRejected("invalid_weight", "'gross_grams' must be a number.")
    try:
        grams = Decimal(str(value))
    except InvalidOperation as exc:
        raise ScanRejected("invalid_weight", "'gross_grams' must be a number.") from exc
    if not grams.is_finite() or grams < 0 or grams > Decimal("1e9"):
        raise ScanRejected("invalid_weight", "'gross_grams' must be between 0 and 1,000,000,000.")
    return grams.quantize(Decimal("0.001"))


def _occurred_at(raw: dict, now: dt.datetime) -> dt.datetime:
    value = _checked(raw.get("occurred_at"), "occurred_at", 40)
    if value is None:
        raise ScanRejected("missing_occurred_at", "'occurred_at' is required (ISO 8601).")
    if not isinstance(value, str) or len(value) > 40:
        raise ScanRejected("invalid_occurred_at", "'occurred_at' must be an ISO 8601 string.")
    try:
        when = dt.datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise ScanRejected("invalid_occurred_at", "'occurred_at' is not ISO 8601.") from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)  # scanners without a zone report UTC
    try:
        when = when.astimezone(dt.UTC)
    except (OverflowError, ValueError) as exc:
        raise ScanRejected("invalid_occurred_at", "'occurred_at' is out of range.") from exc
    if when > now + dt.timedelta(seconds=settings.SCAN_FUTURE_TOLERANCE_SECONDS):
        raise ScanRejected(
            "occurred_in_future", "'occurred_at' is in the future; check the scanner's clock."
        )
    if when < OLDEST:
        raise ScanRejected("invalid_occurred_at", "'occurred_at' is before the year 2000.")
    return when


def scan_parse(raw: Any, *, index: int, now: dt.datetime) -> ScanInput:
    if not isinstance(raw, dict):
        raise ScanRejected("invalid_event", "Each scan must be a JSON object.")
    value = _checked(raw.get("event_id"), "event_id", 64)
    if value is None:
        raise ScanRejected(
            "missing_event_id", "'event_id' (a UUID made by the scanner) is required."
        )
    try:
        event_id = uuid.UUID(value) if isinstance(value, str) else None
    except ValueError:
        event_id = None
    if event_id is None:
        raise ScanRejected("invalid_event_id", "'event_id' must be a UUID.")
    kind = _checked(raw.get("kind"), "kind", 16)
    if not isinstance(kind, str) or kind not in KINDS:
        raise ScanRejected("invalid_kind", f"'kind' must be one of {', '.join(sorted(KINDS))}.")
    return ScanInput(
        index=index,
        event_id=event_id,
        kind=kind,
        # GS1 element strings end variable-length fields with GS (FNC1): kept as sent.
        code=_text(raw, "code", max_length=64, required=True, allow=GS),
        location=_text(raw, "location", max_length=32, required=False),
        quantity=_quantity(raw, kind),
        gross_grams=_gross_grams(raw, kind),
        occurred_at=_occurred_at(raw, now),
    )


def scan_envelope_events(body: Any) -> list[Any]:
    """The events of a scan batch `{"scans": [...]}`: 1 to SCAN_BATCH_MAX of them, or an
    ApiError with the envelope's stable code. Each event is judged later, alone."""
    from django.conf import settings

    from cmi.errors import ApiError

    # Text that cannot be stored or echoed is judged per event inside the list; outside
    # it no single event can take the blame, so the request is refused.
    events = body.get("scans") if isinstance(body, dict) else None
    where = surrogate_path(body, skip=events if isinstance(events, list) else None)
    if where is not None:
        raise ApiError(
            TEXT_INVALID, "The body holds an invalid (surrogate) character.", field=where
        )
    if not isinstance(body, dict) or "scans" not in body:
        raise ApiError(
            "missing_scans", "The body must be an object with a 'scans' list.", field="scans"
        )
    events = body["scans"]
    if not isinstance(events, list):
        raise ApiError("invalid_scans", "'scans' must be a list.", field="scans")
    if not events:
        raise ApiError(
            "empty_batch",
            f"'scans' is empty; send 1 to {settings.SCAN_BATCH_MAX} events.",
            field="scans",
        )
    if len(events) > settings.SCAN_BATCH_MAX:
        raise ApiError(
            "batch_too_large",
            f"At most {settings.SCAN_BATCH_MAX} scans per batch.",
            field="scans",
            status_code=413,
        )
    return events
