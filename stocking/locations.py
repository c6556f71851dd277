"""Natural order of location codes: R1, R3, R10 (not R1, R10, R3), and R01 before R03.

The key is computed once, when a location is made, and stored (`Location.sort_key`), so
the database sorts and keyset-pages by it like any column on PostgreSQL and SQLite.
It holds only lower-case ASCII letters and digits, so every collation (C, ICU, glibc
en_US) orders it the same way, character by character:

- letters are case-folded; other characters (dashes, dots, spaces, accents) are dropped;
- a run of digits becomes its length in two digits, then the digits without leading
  zeros ("7" -> "017", "10" -> "0210"), so numbers compare by value;
- each code of the path is padded with "0" to a fixed width, so the codes of a path line
  up: a shorter code sorts before a longer one with the same start (the padding "00" can
  never start a number, whose length is at least "01").
"""

from __future__ import annotations

import re

SEGMENT = 72  # a 32-character code expands to at most 64; spare room
_RUNS = re.compile(r"[0-9]+|[a-z]+")


def code_sort_key(code: str) -> str:
    """One code's natural key, padded to SEGMENT characters."""
    parts = []
    for run in _RUNS.findall(code.casefold()):
        if run[0].isdigit():
            digits = run.lstrip("0") or "0"
            parts.append(f"{min(len(digits), 99):02d}{digits}")
        else:
            parts.append(run)
    return "".join(parts)[:SEGMENT].ljust(SEGMENT, "0")


def location_sort_key(code: str, parent_key: str = "") -> str:
    """The key of a location with `code` under a parent whose key is `parent_key`."""
    return parent_key + code_sort_key(code)
