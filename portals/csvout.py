"""CSV downloads: streamed row by row, and safe to open in a spreadsheet.

A cell that begins with =, +, - or @ (or a tab or carriage return) is a formula to
Excel and LibreOffice; such text is prefixed with an apostrophe so that a part number
typed as "=HYPERLINK(...)" stays text. Numbers are written as numbers.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence

from django.http import StreamingHttpResponse

from cmi import rls

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    """A file-like object whose write returns what it was given (for csv.writer)."""

    def write(self, value: str) -> str:
        return value


def cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_lines(
    header: Sequence[str], rows: Iterable[Sequence[object]], tenant: rls.Tenant
) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"  # a byte-order mark, so that Excel reads UTF-8
    yield writer.writerow(header)
    # The rows are read after the view (and its request's vendor) has returned.
    with rls.running_as(tenant):
        for row in rows:
            yield writer.writerow([cell(value) for value in row])


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[object]]
) -> StreamingHttpResponse:
    """Stream `rows` (an iterator: pass `queryset.iterator(chunk_size=...)` or values_list
    iterators so that memory stays flat however many rows there are)."""
    response = StreamingHttpResponse(
        csv_lines(header, rows, rls.current()), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
