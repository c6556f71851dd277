"""Writes the scan app's icons (portals/static/portals/icons/scan-*.png) with the
standard library only: a blue square with a white barcode inside the maskable safe
zone, so one picture serves as the plain and the maskable icon.

Run it again after changing the drawing: `python scripts/make_scan_icons.py`.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "portals" / "static" / "portals" / "icons"
BLUE = (11, 92, 173)  # --accent of portal.css
WHITE = (255, 255, 255)
# Bar widths (in modules) of the drawing, bar and gap alternating, starting with a bar.
BARS = [2, 1, 1, 1, 3, 1, 1, 2, 2, 1, 1, 1, 3, 2, 1, 1, 2, 1]


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def png(size: int) -> bytes:
    modules = sum(BARS)
    # The maskable safe zone is the centre circle of 80%: the barcode fits in 50% x 40%.
    module = max(1, int(size * 0.5) // modules)
    left = (size - module * modules) // 2
    top, bottom = int(size * 0.30), int(size * 0.70)
    columns = [False] * size
    x, bar = left, True
    for width in BARS:
        for _ in range(width * module):
            columns[x] = bar
            x += 1
        bar = not bar
    rows = bytearray()
    for y in range(size):
        rows.append(0)  # no filter
        inside = top <= y < bottom
        for x in range(size):
            rows.extend(WHITE if inside and columns[x] else BLUE)
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + _chunk(b"IEND", b"")
    )


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        (OUT / f"scan-{size}.png").write_bytes(png(size))


if __name__ == "__main__":
    main()
