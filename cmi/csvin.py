"""Reading a CSV that a person uploaded or pasted: bounded, decoded, checked, never a 500.

Problems of the whole file (binary, wrong encoding, empty, too big, no header, a
required column missing) raise `CsvProblem` with a sentence for people. Problems of
one row are the caller's to find: it gets each row's cells by column name and its line
number, and the helpers below turn a cell into a number or a sentence saying why not.

Spreadsheets write what our CSV exports wrote: a cell that began with =, +, - or @ was
exported with an apostrophe in front (so that it stays text); that apostrophe is taken
off again here, so that export, edit, import round-trips.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

MAX_BYTES = 2_000_000
MAX_ROWS = 10_000
MAX_QUANTITY = 10_000_000
DELIMITERS = (",", ";", "\t")  # Excel writes ";" where the decimal point is a comma
_ESCAPED = ("'=", "'+", "'-", "'@", "'\t", "'\r")


class CsvProblem(Exception):
    """The file as a whole cannot be read; the message is for the person who sent it."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class CsvRow:
    line: int  # the line of the file where the row ends (the header is line 1)
    cells: dict[str, str]
    errors: tuple[str, ...] = ()  # problems of the row's shape (too many cells)

    def get(self, name: str) -> str:
        return self.cells.get(name, "")


@dataclass
class CsvTable:
    text: str  # the decoded text, as posted back by the confirm step
    columns: list[str]  # as named in the header, lower-cased
    rows: list[CsvRow]
    ignored: list[str] = field(default_factory=list)  # columns the import does not read


def csv_decode(data: bytes) -> str:
    """UTF-8 with or without Excel's byte-order mark; anything else is refused."""
    if len(data) > MAX_BYTES:
        raise CsvProblem(
            f"The file is larger than {MAX_BYTES // 1_000_000} MB. Split it into smaller files."
        )
    if b"\x00" in data[:8192]:
        raise CsvProblem("This is not a CSV file (it holds binary data). Save it as CSV first.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise CsvProblem(
            "The file is not UTF-8 text (byte "
            f"{err.start + 1} cannot be read). In Excel, save it as \u201cCSV UTF-8\u201d."
        ) from None
    return text


def _delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _unescape(value: str) -> str:
    value = value.strip()
    return value[1:] if value.startswith(_ESCAPED) else value


def csv_read(
    text: str,
    *,
    required: Iterable[str],
    optional: Iterable[str] = (),
    max_rows: int = MAX_ROWS,
) -> CsvTable:
    """The rows of `text` by column name. Blank lines are skipped; columns that are
    neither required nor optional are listed in `ignored` and not read."""
    required = list(required)
    known = set(required) | set(optional)
    # Browsers post form text with CRLF line ends; one LF each keeps the size honest.
    text = text.replace("\r\n", "\n")
    if "\x00" in text:
        raise CsvProblem("This is not a CSV file (it holds binary data). Save it as CSV first.")
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise CsvProblem(
            f"The file is larger than {MAX_BYTES // 1_000_000} MB. Split it into smaller files."
        )
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise CsvProblem("The file is empty. The first line must name the columns.")
    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=_delimiter(first_line), strict=True
    )
    try:
        header: list[str] = []
        for cells in reader:
            if any(c.strip() for c in cells):
                header = [c.strip().lower() for c in cells]
                break
        seen: set[str] = set()
        twice = sorted({n for n in header if n and (n in seen or seen.add(n))})
        if twice:
            raise CsvProblem(f"The header names a column twice: {', '.join(twice)}.")
        missing = [name for name in required if name not in header]
        if missing:
            raise CsvProblem(
                f"Missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}. "
                f"The first line must name the columns, for example: {','.join(required)}"
            )
        wanted = [(i, name) for i, name in enumerate(header) if name in known]
        rows: list[CsvRow] = []
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            if len(rows) >= max_rows:
                raise CsvProblem(
                    f"The file has more than {max_rows:,} rows. Split it into smaller files."
                )
            problems: tuple[str, ...] = ()
            extra = [c for c in cells[len(header) :] if c.strip()]
            if extra:
                problems = (
                    f"The row has {len(cells)} cells but the header names {len(header)} "
                    "columns (a comma inside a value must be in double quotes).",
                )
            values = {name: _unescape(cells[i]) if i < len(cells) else "" for i, name in wanted}
            rows.append(CsvRow(line=reader.line_num, cells=values, errors=problems))
    except csv.Error as err:
        raise CsvProblem(f"Line {reader.line_num} cannot be read as CSV: {err}.") from None
    return CsvTable(
        text=text,
        columns=header,
        rows=rows,
        ignored=[name for name in header if name not in known and name],
    )


def whole_number(
    value: str, name: str, *, minimum: int = 0, maximum: int = MAX_QUANTITY
) -> tuple[int | None, str | None]:
    """(number, None) or (None, why not) for a cell that must hold a whole number.

    "12" and "12.0" (spreadsheets write either) are 12; "12.5", "twelve" and "" are not."""
    value = value.strip().replace("\u00a0", "")
    if not value:
        return None, f"{name} is empty."
    if len(value) <= 18 and value.isascii() and value.isdigit():
        # The common cell ("12"): int() directly, a tenth of Decimal's cost; the same
        # bounds and words below. Longer or other text takes the Decimal path.
        number = int(value)
    else:
        number = _decimal(value)
        if number is None:
            return None, f"{name} is not a number: \u201c{value[:20]}\u201d."
    # Bounds first: int() of "1e999999999" would build a billion-digit number.
    if number < minimum:
        return None, f"{name} must be {minimum} or more, not {value[:20]}."
    if number > maximum:
        return None, f"{name} must be at most {maximum:,}, not {value[:20]}."
    if not isinstance(number, int) and number != number.to_integral_value():
        return None, f"{name} must be a whole number, not {value[:20]}."
    return int(number), None


def _decimal(value: str) -> Decimal | None:
    """The finite number `value` spells, or None."""
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


@dataclass
class ImportPlan:
    """What an import would do, row by row: each row has an `action` (create, change,
    same or error). The preview shows it; the confirm recomputes it under locks."""

    rows: list
    ignored: list[str] = field(default_factory=list)

    def of(self, action: str) -> list:
        return [row for row in self.rows if row.action == action]

    @property
    def totals(self) -> dict[str, int]:
        counts = {"create": 0, "change": 0, "same": 0, "error": 0}
        for row in self.rows:
            counts[row.action] += 1
        return counts
