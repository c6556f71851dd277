"""The one exception the X12 codec raises, and its stable codes."""

from __future__ import annotations

from enum import StrEnum


class X12ErrorCode(StrEnum):
    """Machine codes callers (and 997 builders) can branch on; never renamed."""

    NOT_X12 = "not_x12"
    ISA_INVALID = "isa_invalid"
    INVALID_SEPARATORS = "invalid_separators"
    INVALID_SEGMENT = "invalid_segment"
    INVALID_VALUE = "invalid_value"
    INVALID_CHARACTER = "invalid_character"
    SEPARATOR_IN_DATA = "separator_in_data"
    MISSING_ELEMENT = "missing_element"
    MISSING_SEGMENT = "missing_segment"
    UNEXPECTED_SEGMENT = "unexpected_segment"
    CONTROL_NUMBER_MISMATCH = "control_number_mismatch"
    SEGMENT_COUNT_MISMATCH = "segment_count_mismatch"
    SET_COUNT_MISMATCH = "set_count_mismatch"
    GROUP_COUNT_MISMATCH = "group_count_mismatch"


class X12Error(ValueError):
    """A document that cannot be written or read.

    `segment_position` is 1-based and counted from ISA, so it matches what a
    partner's translator reports and what a 997 AK3 needs.
    """

    def __init__(
        self,
        code: X12ErrorCode | str,
        message: str,
        *,
        segment_position: int | None = None,
        segment_tag: str | None = None,
        element_position: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = str(code)
        self.message = message
        self.segment_position = segment_position
        self.segment_tag = segment_tag
        self.element_position = element_position

    def __str__(self) -> str:
        where = []
        if self.segment_position is not None:
            where.append(f"segment {self.segment_position}")
        if self.segment_tag:
            where.append(self.segment_tag)
        if self.element_position is not None:
            where.append(f"element {self.element_position:02d}")
        suffix = f" ({', '.join(where)})" if where else ""
        return f"{self.code}: {self.message}{suffix}"
