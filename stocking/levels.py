"""The levels rule, in one place: what min, max and pack multiple a bin may have.

Every writer of levels (the API, the portal's in-place edit, the CSV import, the bulk
adjustment, the admin, and recommendations) checks them here, so a level refused by one
entry point is refused by all, with the same stable code.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import NamedTuple

from cmi.errors import ApiError


class Levels(NamedTuple):
    min: int
    max: int
    pack: int


class LevelsCode(enum.StrEnum):
    """Stable error codes of the levels rule (API `error.code`)."""

    INVALID_MIN = "invalid_min"
    MIN_ABOVE_MAX = "min_above_max"
    INVALID_PACK_MULTIPLE = "invalid_pack_multiple"
    NOT_WHOLE_PACKS = "not_whole_packs"


@dataclass(frozen=True)
class LevelsProblem:
    code: LevelsCode
    field: str  # "min", "max" or "pack_multiple"
    message: str


def packs_up(quantity: int, pack: int) -> int:
    return -(-quantity // pack) * pack


def whole_packs_problem(quantity: int, pack: int, *, line_number: int | None = None) -> str:
    """The pack rule of an order quantity: a whole number of packs (0 drops the line).
    The message, or "" when the quantity is fine; the approval form shows it next to the
    field and the service refuses with it, so both say the same."""
    if pack < 1 or quantity % pack == 0:
        return ""
    where = f"Line {line_number}: " if line_number is not None else ""
    return f"{where}{quantity} is not a whole number of packs of {pack}."


def levels_problems(new: Levels) -> list[LevelsProblem]:
    """Everything wrong with these levels (empty when they may be saved). Pure."""
    problems = []
    if new.min < 0:
        problems.append(LevelsProblem(LevelsCode.INVALID_MIN, "min", "min must be zero or more."))
    if new.pack < 1:
        problems.append(
            LevelsProblem(
                LevelsCode.INVALID_PACK_MULTIPLE,
                "pack_multiple",
                "pack multiple must be at least 1.",
            )
        )
    if new.min > new.max:
        problems.append(
            LevelsProblem(
                LevelsCode.MIN_ABOVE_MAX, "min", f"min ({new.min}) is above max ({new.max})."
            )
        )
    if new.pack >= 1 and new.max % new.pack:
        # An order brings the bin up to max in whole packs: a max between packs can never
        # be reached exactly, so the shelf always ends over or under it.
        below, above = new.max - new.max % new.pack, packs_up(new.max, new.pack)
        problems.append(
            LevelsProblem(
                LevelsCode.NOT_WHOLE_PACKS,
                "max",
                f"max {new.max} is not a whole number of packs of {new.pack} "
                f"({below} or {above} would be).",
            )
        )
    return problems


def levels_check(new: Levels) -> None:
    """Raise the first problem as an ApiError (400 with its stable code and field)."""
    problems = levels_problems(new)
    if problems:
        first = problems[0]
        raise ApiError(str(first.code), first.message, field=first.field)
