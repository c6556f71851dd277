"""The body of the scan page's JSON endpoint: the envelope of `POST /api/v1/scans`.

The envelope is checked by the same function as the API's (the same codes and limits),
so a browser and a handheld learn one contract. Each event inside it is judged by the
scan service itself, not here.
"""

from __future__ import annotations

import json
from typing import Any

from cmi.errors import ApiError
from stocking.scans import scan_envelope_events


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def scan_envelope_parse(body: bytes) -> list[Any]:
    """The events of a JSON body, or an ApiError (not_json or the envelope's codes)."""
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ApiError("not_json", "The body is not JSON (or nests too deeply).") from exc
    return scan_envelope_events(data)
