"""Bin labels as inline SVG: Code 128 (python-barcode) or QR (segno).

The libraries do the encoding (Code 128 code sets and check symbol; QR version, mask and
error correction); this module only draws their modules as one SVG path, in module units
with a viewBox, so a label scales to its box on screen and on paper without blurring.
"""

from __future__ import annotations

from dataclasses import dataclass

import barcode
import segno
from barcode.errors import BarcodeError
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

CODE128 = "code128"
QR = "qr"
FORMATS = ((CODE128, "Code 128"), (QR, "QR code"))

CODE128_QUIET = 10  # modules of white either side: what the symbology asks for
CODE128_HEIGHT = 40  # in modules; CSS sets the printed height anyway
QR_BORDER = 4  # the quiet zone ISO/IEC 18004 asks for


class NotEncodable(ValueError):
    """The text cannot be put in this symbology (Code 128 carries ASCII only)."""


def code128_modules(text: str) -> str:
    """Code 128 as a string of '1' (bar) and '0' (space) modules, start to stop."""
    try:
        return barcode.Code128(text).build()[0]
    except (BarcodeError, ValueError, KeyError) as exc:
        raise NotEncodable(str(exc)) from exc


def qr_code(text: str) -> segno.QRCode:
    """The smallest QR symbol for the text, error correction M or better (segno raises it
    for free while the version stays the same)."""
    return segno.make_qr(text, error="m")


@dataclass(frozen=True)
class Symbol:
    svg: SafeString
    kind: str
    width: int  # in modules, quiet zone included
    height: int


def _svg(kind: str, text: str, path: str, width: int, height: int, *, stretch: bool) -> Symbol:
    name = "Code 128" if kind == CODE128 else "QR code"
    aspect = ' preserveAspectRatio="none"' if stretch else ""
    svg = (
        f'<svg class="symbol symbol--{kind}" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {width} {height}"{aspect} shape-rendering="crispEdges" '
        f'role="img" aria-label="{name} of {escape(text)}">'
        f'<rect width="{width}" height="{height}" fill="#fff"/>'
        f'<path fill="#000" d="{path}"/></svg>'
    )
    return Symbol(svg=mark_safe(svg), kind=kind, width=width, height=height)  # noqa: S308 - our markup, text escaped


def _runs(row: str | bytes | bytearray) -> list[tuple[int, int]]:
    """(start, length) of each run of dark modules in one row."""
    runs, start = [], None
    for x, dark in enumerate(row):
        on = dark in ("1", 1, True)
        if on and start is None:
            start = x
        elif not on and start is not None:
            runs.append((start, x - start))
            start = None
    if start is not None:
        runs.append((start, len(row) - start))
    return runs


def code128_svg(text: str) -> Symbol:
    modules = code128_modules(text)
    path = "".join(f"M{CODE128_QUIET + x} 0h{w}v{CODE128_HEIGHT}h-{w}z" for x, w in _runs(modules))
    return _svg(CODE128, text, path, len(modules) + 2 * CODE128_QUIET, CODE128_HEIGHT, stretch=True)


def qr_svg(text: str) -> Symbol:
    matrix = qr_code(text).matrix
    path = "".join(
        f"M{QR_BORDER + x} {QR_BORDER + y}h{w}v1h-{w}z"
        for y, row in enumerate(matrix)
        for x, w in _runs(row)
    )
    size = len(matrix) + 2 * QR_BORDER
    return _svg(QR, text, path, size, size, stretch=False)


def symbol_svg(kind: str, text: str) -> Symbol:
    return qr_svg(text) if kind == QR else code128_svg(text)
