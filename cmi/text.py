"""The one rule for free text that clients send: what a text value may contain.

A value may not hold a lone surrogate (it cannot be encoded as UTF-8, so the database
driver and the JSON renderer fail on it), NUL or another control character (PostgreSQL
text cannot hold NUL; the others are never meant in a code or a name), and it has a
maximum length. Every entry point that takes free text calls `text_check`; the error
codes are stable.
"""

from __future__ import annotations

import re
from typing import Any

TEXT_INVALID = "text_invalid"
TEXT_TOO_LONG = "text_too_long"

# C0 controls, DEL, C1 controls, and the surrogate block (only lone ones survive decoding).
_BAD = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class TextRejected(ValueError):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def text_check(value: str, *, field: str, max_length: int) -> str:
    """`value` unchanged when it is acceptable text; TextRejected naming `field` if not."""
    if _BAD.search(value):
        raise TextRejected(
            TEXT_INVALID,
            f"'{field}' contains a control character or an invalid (surrogate) character.",
        )
    if len(value) > max_length:
        raise TextRejected(TEXT_TOO_LONG, f"'{field}' is longer than {max_length} characters.")
    return value


def has_surrogate(value: str) -> bool:
    return _SURROGATE.search(value) is not None


def surrogate_path(data: Any, *, skip: Any = None, path: str = "") -> str | None:
    """The dotted path of the first string (key or value) in parsed JSON that holds a
    lone surrogate, or None. `skip` is an object (by identity) not to look inside."""
    stack: list[tuple[Any, str]] = [(data, path)]
    while stack:
        node, where = stack.pop()
        if node is skip and skip is not None:
            continue
        if isinstance(node, str):
            if has_surrogate(node):
                return where or "body"
        elif isinstance(node, dict):
            for key, value in node.items():
                if has_surrogate(key):
                    return where or "body"
                stack.append((value, f"{where}.{key}" if where else key))
        elif isinstance(node, list):
            stack.extend(
                (value, f"{where}.{i}" if where else str(i)) for i, value in enumerate(node)
            )
    return None


def text_escape(value: str) -> str:
    """`value` with every character the rule refuses written as a visible escape
    (`\\x00`, `\\ud800`): for keeping, in a JSON column or a message, what a partner sent."""
    return _BAD.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), value)


def json_safe(data: Any) -> Any:
    """Parsed-JSON-like data with every string (keys too) passed through text_escape:
    PostgreSQL's jsonb cannot hold \\u0000, and no UTF-8 can hold a lone surrogate."""
    if isinstance(data, str):
        return text_escape(data)
    if isinstance(data, dict):
        return {json_safe(k): json_safe(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [json_safe(v) for v in data]
    return data
