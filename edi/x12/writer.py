"""Serialize an Interchange to X12 bytes.

The envelope (ISA, GS, ST, SE, GE, IEA) is derived here, counts and echoed
control numbers included, so a caller cannot send a document whose trailers
disagree with its headers. Data is never altered: a value holding a separator
fails loudly, and `text_clean` is there for callers who would rather clean.
"""

from __future__ import annotations

import re
from functools import lru_cache

from edi.x12.errors import X12Error, X12ErrorCode
from edi.x12.model import (
    ENVELOPE_TAGS,
    ISA_LENGTH,
    Interchange,
    Segment,
    Separators,
    TransactionSet,
)

_TAG = re.compile(r"[A-Z][A-Z0-9]{1,2}")
# C0 and C1 controls, plus lone surrogates, which could not even be encoded.
_CONTROL_CLASS = "\x00-\x1f\x7f-\x9f\ud800-\udfff"
_PRINTABLE_ASCII = re.compile(r"[ -~]*")
_MAX_CONTROL_NUMBER = 999_999_999
# GS01..GS05; GS06 is the control number and GS07 is always "X" (ASC X12).
_GS_PATTERNS = (r".{1,2}", r".{2,15}", r".{2,15}", r"[0-9]{8}", r"[0-9]{4,8}")


def text_clean(value: str, separators: Separators) -> str:
    """Replace separators and control characters by spaces, then collapse whitespace."""
    return " ".join(_forbidden(separators.reserved()).sub(" ", value).split())


def interchange_serialize(ic: Interchange) -> bytes:
    """Render `ic` as X12; raise X12Error rather than emit a document a partner would reject."""
    separators = ic.separators
    _separators_check(separators, ic.version)
    terminator = separators.segment + ("\n" if separators.newline else "")
    rendered = [_isa_render(ic)]
    segments = _segments_build(ic)
    clean = _all_clean(segments, separators)
    if clean:
        # Every value is text free of separators and controls, judged in one pass
        # over the document: only the tags are left to check, each tag once.
        element, component = separators.element, separators.component
        for position, segment in enumerate(segments, start=2):
            tag = segment.tag
            if not isinstance(tag, str) or tag not in _TAGS_SEEN:
                _tag_check(tag, position)
                _TAGS_SEEN.add(tag)
        if clean is _NO_COMPOSITES:
            rendered.extend(element.join((s.tag, *s.elements)) for s in segments)
        else:
            rendered.extend(
                element.join(
                    [s.tag, *(component.join(v) if isinstance(v, list) else v for v in s.elements)]
                )
                for s in segments
            )
    else:  # something is wrong: the element-by-element path names where
        for position, segment in enumerate(segments, start=2):
            rendered.append(_segment_render(segment, separators, position))
    return "".join(text + terminator for text in rendered).encode("utf-8")


# What _all_clean answers for a clean document none of whose elements is composite.
_NO_COMPOSITES = 2
# Tags already found well formed (2-3 upper-case letters and digits: a bounded set).
_TAGS_SEEN: set[str] = set()


def _all_clean(segments: list[Segment], separators: Separators) -> int:
    """Truthy when every element value of every segment is text with no reserved or
    control character: the rule `_data_check` applies value by value, in one search.
    _NO_COMPOSITES when, besides, no element is a list of components."""
    values = [v for s in segments for v in s.elements]
    try:
        # join() refuses anything that is not text, as _data_check does.
        text = "".join(values)
        composites = False
    except TypeError:
        try:
            text = "".join(["".join(v) if isinstance(v, list) else v for v in values])
        except TypeError:
            return 0
        composites = True
    if _forbidden(separators.reserved()).search(text) is not None:
        return 0
    return 1 if composites else _NO_COMPOSITES


def _tag_check(tag: object, position: int) -> None:
    if not isinstance(tag, str) or not _TAG.fullmatch(tag):
        raise X12Error(
            X12ErrorCode.INVALID_SEGMENT,
            f"segment tag {tag!r} is not 2-3 upper-case letters and digits",
            segment_position=position,
            segment_tag=str(tag),
        )


@lru_cache(maxsize=64)
def _forbidden(reserved: str) -> re.Pattern[str]:
    return re.compile(f"[{re.escape(reserved)}{_CONTROL_CLASS}]")


def _separators_check(separators: Separators, version: str) -> None:
    def fail(message: str) -> X12Error:
        return X12Error(X12ErrorCode.INVALID_SEPARATORS, message, segment_position=1)

    chars = [separators.element, separators.component, separators.segment]
    # The repetition separator exists from 00402 on; before that ISA11 is "U".
    # A malformed version is left for the ISA12 check to name.
    if isinstance(version, str) and re.fullmatch(r"[0-9]{5}", version):
        wants_repetition = version >= "00402"
        if wants_repetition and separators.repetition is None:
            raise fail(f"version {version} needs a repetition separator for ISA11")
        if not wants_repetition and separators.repetition is not None:
            raise fail(f"version {version} has no repetition separator (ISA11 is 'U')")
    if separators.repetition is not None:
        chars.append(separators.repetition)
    for index, char in enumerate(chars):
        if not isinstance(char, str) or len(char) != 1:
            raise fail(f"separator {char!r} is not a single character")
        # Translators count the ISA in bytes, so separators stay ASCII; only the
        # segment terminator (index 2) may be a line break, as some partners send.
        line_break = index == 2 and char in "\r\n"
        if char.isalnum() or not (line_break or "!" <= char <= "~"):
            raise fail(f"separator {char!r} is not a printable ASCII punctuation character")
    if len(set(chars)) != len(chars):
        raise fail("separators must all differ")


def _data_check(
    value: object, separators: Separators, position: int, tag: str, element: int
) -> str:
    if not isinstance(value, str):
        raise X12Error(
            X12ErrorCode.INVALID_VALUE,
            f"element value {value!r} is not text",
            segment_position=position,
            segment_tag=tag,
            element_position=element,
        )
    found = _forbidden(separators.reserved()).search(value)
    if found is not None:
        char = found.group()
        is_separator = char in separators.reserved()
        kind = "separator" if is_separator else "control or unencodable character"
        raise X12Error(
            X12ErrorCode.SEPARATOR_IN_DATA if is_separator else X12ErrorCode.INVALID_CHARACTER,
            f"{kind} {char!r} in {value!r}",
            segment_position=position,
            segment_tag=tag,
            element_position=element,
        )
    return value


def _value_fail(message: str, position: int, tag: str, element: int) -> X12Error:
    return X12Error(
        X12ErrorCode.INVALID_VALUE,
        message,
        segment_position=position,
        segment_tag=tag,
        element_position=element,
    )


def _isa_render(ic: Interchange) -> str:
    separators = ic.separators

    def field(value: object, element: int, pattern: str, width: int) -> str:
        text = _data_check(value, separators, 1, "ISA", element)
        if not (_PRINTABLE_ASCII.fullmatch(text) and re.fullmatch(pattern, text)):
            raise _value_fail(
                f"ISA{element:02d} {text!r} does not match {pattern}", 1, "ISA", element
            )
        return text.ljust(width)

    blank = " " * 10
    fields = [
        "00",
        blank,
        "00",
        blank,
        field(ic.sender_qualifier, 5, r".{2}", 2),
        field(ic.sender_id, 6, r".{1,15}", 15),
        field(ic.receiver_qualifier, 7, r".{2}", 2),
        field(ic.receiver_id, 8, r".{1,15}", 15),
        field(ic.date, 9, r"[0-9]{6}", 6),
        field(ic.time, 10, r"[0-9]{4}", 4),
        separators.repetition or "U",
        field(ic.version, 12, r"[0-9]{5}", 5),
        _control_number(ic.control_number, 1, "ISA", 13).zfill(9),
        field(ic.ack_requested, 14, r"[01]", 1),
        field(ic.usage, 15, r"[PT]", 1),
        separators.component,
    ]
    text = separators.element.join(["ISA", *fields])
    # Every field above has a fixed width, so this only guards the arithmetic.
    assert len(text) == ISA_LENGTH - 1
    return text


def _control_number(value: object, position: int, tag: str, element: int) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _value_fail(f"control number {value!r} is not an int", position, tag, element)
    if not 1 <= value <= _MAX_CONTROL_NUMBER:
        raise _value_fail(f"control number {value} is out of 1..999999999", position, tag, element)
    return str(value)


def _segments_build(ic: Interchange) -> list[Segment]:
    """Every segment after ISA, envelope included, in order."""
    out: list[Segment] = []
    for group in ic.groups:
        position = len(out) + 2
        gs = [group.functional_id, group.sender, group.receiver, group.date, group.time]
        for element, (value, pattern) in enumerate(zip(gs, _GS_PATTERNS, strict=True), start=1):
            if not isinstance(value, str) or not re.fullmatch(pattern, value):
                raise _value_fail(
                    f"GS{element:02d} {value!r} does not match {pattern}", position, "GS", element
                )
        control = _control_number(group.control_number, position, "GS", 6)
        out.append(Segment("GS", [*gs, control, "X", group.version]))
        for tset in group.sets:
            _set_append(out, tset)
        out.append(Segment("GE", [str(len(group.sets)), control]))
    isa13 = _control_number(ic.control_number, 1, "ISA", 13).zfill(9)
    out.append(Segment("IEA", [str(len(ic.groups)), isa13]))
    return out


def _set_append(out: list[Segment], tset: TransactionSet) -> None:
    position = len(out) + 2
    if not isinstance(tset.id, str) or not tset.id:
        raise _value_fail("ST01 (transaction set id) is empty", position, "ST", 1)
    if not isinstance(tset.control_number, str) or not 4 <= len(tset.control_number) <= 9:
        raise _value_fail(
            f"ST02 {tset.control_number!r} is not 4 to 9 characters", position, "ST", 2
        )
    out.append(Segment("ST", [tset.id, tset.control_number]))
    for segment in tset.segments:
        if segment.tag in ENVELOPE_TAGS:
            raise X12Error(
                X12ErrorCode.INVALID_SEGMENT,
                f"{segment.tag} is an envelope segment; the writer derives it",
                segment_position=len(out) + 2,
                segment_tag=segment.tag,
            )
        out.append(segment)
    # SE01 counts ST and SE themselves.
    out.append(Segment("SE", [str(len(tset.segments) + 2), tset.control_number]))


def _segment_render(segment: Segment, separators: Separators, position: int) -> str:
    tag = segment.tag
    _tag_check(tag, position)
    parts = [tag]
    for element, value in enumerate(segment.elements, start=1):
        components = value if isinstance(value, list) else [value]
        for component in components:
            _data_check(component, separators, position, tag, element)
        parts.append(separators.component.join(components))
    return separators.element.join(parts)
