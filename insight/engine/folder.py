"""The folder contract of ``recommend_levels --from-folder``: read, validate, write.

DIR holds ``as_of.txt`` (an ISO date), ``items.csv``
(``sku,site,release_policy,pack_multiple,lead_time_days,unit_price,created``),
``history.csv`` (``sku,date,quantity,on_hand_after``) and ``receipts.csv``
(``sku,ordered,received,quantity``). The result goes to ``DIR/recommendations.csv``
(``sku,min,max``), written to a temporary file and renamed, so a reader never sees half of
it. Every problem raises :class:`FolderError` with a stable ``code`` and the file and line.
"""

from __future__ import annotations

import csv
import math
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from insight.engine.api import RELEASE_POLICIES, BinInput, Receipt, Recommendation

ITEMS_COLUMNS = (
    "sku",
    "site",
    "release_policy",
    "pack_multiple",
    "lead_time_days",
    "unit_price",
    "created",
)
HISTORY_COLUMNS = ("sku", "date", "quantity", "on_hand_after")
RECEIPTS_COLUMNS = ("sku", "ordered", "received", "quantity")
OUTPUT = "recommendations.csv"


class FolderError(Exception):
    """A malformed folder. ``code`` is stable; ``where`` is ``file:line`` when known."""

    def __init__(self, code: str, message: str, where: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.where = where

    def __str__(self) -> str:
        return f"{self.code}: {self.where + ': ' if self.where else ''}{self.message}"


@dataclass
class Folder:
    as_of: date
    bins: list[BinInput] = field(default_factory=list)


def _read_rows(path: Path, columns: Sequence[str]) -> Iterator[tuple[str, dict[str, str]]]:
    if not path.is_file():
        raise FolderError("missing_file", f"{path.name} is missing.", path.name)
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                raise FolderError(
                    "bad_header", f"{path.name} is empty: it needs a header.", path.name
                )
            header = [h.strip() for h in header]
            if tuple(header) != tuple(columns):
                raise FolderError(
                    "bad_header",
                    f"{path.name} header must be {','.join(columns)}, got {','.join(header)}.",
                    f"{path.name}:1",
                )
            for line, row in enumerate(reader, start=2):
                if not row or all(not c.strip() for c in row):
                    continue
                where = f"{path.name}:{line}"
                if len(row) != len(columns):
                    raise FolderError(
                        "bad_row", f"expected {len(columns)} fields, got {len(row)}.", where
                    )
                yield where, {c: v.strip() for c, v in zip(columns, row, strict=True)}
    except UnicodeDecodeError as exc:
        raise FolderError("bad_encoding", f"{path.name} is not UTF-8 text.", path.name) from exc
    except csv.Error as exc:
        raise FolderError("bad_row", f"{path.name}: {exc}", path.name) from exc


def _date(value: str, column: str, where: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FolderError("bad_date", f"{column} {value!r} is not an ISO date.", where) from None


def _int(value: str, column: str, where: str, *, minimum: int = 0) -> int:
    try:
        number = int(value)
    except ValueError:
        raise FolderError(
            "bad_number", f"{column} {value!r} is not a whole number.", where
        ) from None
    if number < minimum:
        raise FolderError(
            "bad_number", f"{column} must be at least {minimum}, got {number}.", where
        )
    return number


def _float(value: str, column: str, where: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise FolderError("bad_number", f"{column} {value!r} is not a number.", where) from None
    if not math.isfinite(number) or number < 0:
        raise FolderError("bad_number", f"{column} must be a finite number >= 0.", where)
    return number


def read_folder(directory: str | os.PathLike[str]) -> Folder:
    """Parse and validate a folder into engine input; raise FolderError on any problem."""
    root = Path(directory)
    if not root.is_dir():
        raise FolderError("missing_folder", f"{root} is not a directory.")
    as_of_path = root / "as_of.txt"
    if not as_of_path.is_file():
        raise FolderError("missing_file", "as_of.txt is missing.", "as_of.txt")
    try:
        as_of_text = as_of_path.read_text(encoding="utf-8-sig").strip()
    except UnicodeDecodeError as exc:
        raise FolderError("bad_encoding", "as_of.txt is not UTF-8 text.", "as_of.txt") from exc
    as_of = _date(as_of_text, "as_of", "as_of.txt")

    items: dict[str, dict] = {}
    for where, row in _read_rows(root / "items.csv", ITEMS_COLUMNS):
        sku = row["sku"]
        if not sku:
            raise FolderError("bad_row", "sku is empty.", where)
        if sku in items:
            raise FolderError("duplicate_sku", f"sku {sku!r} appears twice.", where)
        policy = row["release_policy"]
        if policy not in RELEASE_POLICIES:
            raise FolderError(
                "bad_release_policy",
                f"release_policy {policy!r} must be one of {', '.join(RELEASE_POLICIES)}.",
                where,
            )
        items[sku] = {
            "key": sku,
            "release_policy": policy,
            "pack_multiple": _int(row["pack_multiple"], "pack_multiple", where, minimum=1),
            "lead_time_days": _int(row["lead_time_days"], "lead_time_days", where),
            "unit_price": _float(row["unit_price"], "unit_price", where),
            "created": _date(row["created"], "created", where),
            "history": [],
            "receipts": [],
        }

    for where, row in _read_rows(root / "history.csv", HISTORY_COLUMNS):
        bin_ = _known(items, row["sku"], where)
        day = _date(row["date"], "date", where)
        if day >= as_of:
            raise FolderError(
                "history_after_as_of", f"date {day} is not before as_of {as_of}.", where
            )
        qty = _int(row["quantity"], "quantity", where)
        after = _int(row["on_hand_after"], "on_hand_after", where) if row["on_hand_after"] else None
        bin_["history"].append((day, qty, after))

    for where, row in _read_rows(root / "receipts.csv", RECEIPTS_COLUMNS):
        bin_ = _known(items, row["sku"], where)
        ordered = _date(row["ordered"], "ordered", where)
        received = _date(row["received"], "received", where)
        if received < ordered:
            raise FolderError("bad_receipt", "received is before ordered.", where)
        if received >= as_of:
            raise FolderError(
                "receipt_after_as_of", f"received {received} is not before as_of {as_of}.", where
            )
        qty = _int(row["quantity"], "quantity", where)
        bin_["receipts"].append(Receipt(ordered, received, qty))

    return Folder(as_of=as_of, bins=[BinInput(**fields) for fields in items.values()])


def _known(items: dict[str, dict], sku: str, where: str) -> dict:
    try:
        return items[sku]
    except KeyError:
        raise FolderError("unknown_sku", f"sku {sku!r} is not in items.csv.", where) from None


def write_recommendations(
    directory: str | os.PathLike[str], recommendations: Sequence[Recommendation]
) -> Path:
    """Write ``sku,min,max`` atomically (temporary file, then rename)."""
    root = Path(directory)
    fd, tmp = tempfile.mkstemp(prefix=".recommendations-", suffix=".csv", dir=root)
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(("sku", "min", "max"))
            for r in recommendations:
                writer.writerow((r.key, int(r.min), int(r.max)))
        target = root / OUTPUT
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return target
