"""Reading GS1 barcodes as scanners send them, with the `biip` library.

A handheld sends what the symbol holds: a GS1-128 or GS1 DataMatrix element string
(`01` GTIN, `10` lot, `17` expiry, variable-length fields ended by the GS character
that stands for FNC1), often behind an AIM symbology identifier (`]C1`, `]d2`, `]Q3`,
`]E0`); a person types the human-readable form `(01)...(10)...(17)...`; a UPC-A, EAN-13
or EAN-8 may come with or without its check digit. `gs1_read` turns any of them into
the GTIN-14 forms to look for, the lot and the expiry, or None when the code is not
GS1 at all (a bin label, a SKU, the customer's own part number).

Items keep their barcodes as they were entered (8, 12, 13 or 14 digits); a GTIN-14
is looked up under each shorter form it can be written in (`gtin_forms`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from biip import BiipException, ParseConfig, parse
from biip.gs1_messages import GS1Message

from catalog.gtin import gtin_check_digit, gtin_valid

GS = "\x1d"  # FNC1 inside a GS1 element string, as scanners transmit it
LOT_MAX = 20  # AI (10) is at most 20 characters
_SYMBOLOGY = re.compile(r"^\][A-Za-z][0-9A-Za-z]")
_CONFIG = ParseConfig(separator_chars=[GS])

GTIN_CHECK_DIGIT = "gtin_check_digit"


@dataclass(frozen=True)
class Gs1Read:
    """What a GS1 code says: the GTIN-14s it may mean (more than one only for a bare
    12-digit code, which is a UPC-A or an EAN-13 without its check digit), the lot and
    the expiry; or, for a GTIN with a wrong check digit, the error to give."""

    gtins: tuple[str, ...] = ()
    lot: str = ""
    expiry: dt.date | None = None
    shown: str = ""  # the GTIN as read, for messages
    error: str = ""  # a stable code when the GTIN itself is wrong
    detail: str = ""


def symbology_strip(code: str) -> str:
    """The code without its AIM symbology identifier (`]C1`, `]d2`, `]E0` ...)."""
    return _SYMBOLOGY.sub("", code, count=1)


def gtin14(code: str) -> str:
    return code.rjust(14, "0")


def gtin_forms(gtin: str) -> list[str]:
    """Every way a GTIN-14 may be stored: itself and its 13, 12 and 8 digit forms."""
    full = gtin14(gtin)
    forms = [full]
    for length in (13, 12, 8):
        if full[: 14 - length] == "0" * (14 - length):
            forms.append(full[14 - length :])
    return forms


def _digits(code: str) -> Gs1Read | None:
    """A bare number: a GTIN with its check digit, or a UPC-A/EAN-13/EAN-8 without it."""
    length = len(code)
    gtins: list[str] = []
    if length in (8, 12, 13, 14) and gtin_valid(code):
        gtins.append(gtin14(code))
    if length in (7, 11, 12):  # the check digit left off: add it
        gtins.append(gtin14(code + str(gtin_check_digit(code))))
    if gtins:
        return Gs1Read(gtins=tuple(gtins), shown=code)
    if length in (8, 13, 14):
        expected = gtin_check_digit(code[:-1])
        return Gs1Read(
            shown=code,
            error=GTIN_CHECK_DIGIT,
            detail=f"GTIN {code} has a wrong check digit (expected {expected}).",
        )
    return None


def _message(message: GS1Message) -> Gs1Read | None:
    gtin = lot = ""
    expiry = None
    for element in message.element_strings:
        if element.ai.ai == "01":
            gtin = element.value
        elif element.ai.ai == "10":
            lot = element.value[:LOT_MAX]
        elif element.ai.ai == "17":
            expiry = element.date  # day 00 means the month's last day: biip says so
    if not gtin:
        return None
    if not gtin_valid(gtin):
        return Gs1Read(
            shown=gtin,
            lot=lot,
            expiry=expiry,
            error=GTIN_CHECK_DIGIT,
            detail=f"GTIN {gtin} has a wrong check digit (expected {gtin_check_digit(gtin[:-1])}).",
        )
    return Gs1Read(gtins=(gtin,), lot=lot, expiry=expiry, shown=gtin)


def gs1_read(code: str) -> Gs1Read | None:
    """What a scanned code says as GS1, or None when it is not GS1 (or not about a GTIN)."""
    body = symbology_strip(code).strip()
    if not body:
        return None
    if body.isdigit() and len(body) <= 14:
        return _digits(body)
    try:
        if body.startswith("("):
            return _message(GS1Message.parse_hri(body))
        result = parse(body, config=_CONFIG)
    except (BiipException, ValueError):
        return None
    if result.gs1_message is not None:
        return _message(result.gs1_message)
    return None
