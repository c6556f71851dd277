"""Parse X12 bytes into an Interchange, checking the envelope on the way.

Tolerant about what partners really send (line breaks after terminators, a BOM,
leading blanks, a last segment without terminator, non-ASCII bytes) and strict
about what decides whether a document is whole: the fixed-width ISA, the counts
and the echoed control numbers. Whatever the input, the only exception that
leaves this module is X12Error, so a caller can turn any failure into a 997.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Set
from dataclasses import dataclass

from cmi.text import text_escape
from edi.x12.errors import X12Error, X12ErrorCode
from edi.x12.model import (
    ENVELOPE_TAGS,
    ISA_LENGTH,
    Element,
    FunctionalGroup,
    Interchange,
    Segment,
    Separators,
    TransactionSet,
)

# ISA01..ISA16 widths; together with "ISA", 16 separators and a terminator: 106.
_ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)
_TAG = re.compile(r"[A-Z0-9]{2,3}")
_NUMBER = re.compile(r"[0-9]{1,9}")
_LINE_BREAKS = "\r\n"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_USAGES = ("P", "T")  # ISA15: production or test data


@dataclass(slots=True)
class _Raw:
    """One segment as read: elements not yet split into components."""

    position: int
    tag: str
    elements: list[str]

    def element(self, index: int) -> str:
        return self.elements[index - 1] if index <= len(self.elements) else ""

    def fail(self, code: X12ErrorCode, message: str, element: int | None = None) -> X12Error:
        return X12Error(
            code,
            message,
            segment_position=self.position,
            # A tag that is not one (junk after IEA) is kept readable for the answer.
            segment_tag=self.tag if _TAG.fullmatch(self.tag) else text_escape(self.tag[:20]),
            element_position=element,
        )

    def number(self, index: int) -> int:
        value = self.element(index)
        if not _NUMBER.fullmatch(value):
            raise self.fail(
                X12ErrorCode.INVALID_VALUE,
                f"{self.tag}{index:02d} {value!r} is not a number",
                index,
            )
        return int(value)

    def required(self, index: int) -> str:
        value = self.element(index)
        if not value:
            raise self.fail(X12ErrorCode.MISSING_ELEMENT, f"{self.tag}{index:02d} is empty", index)
        return value


def interchange_parse(data: bytes | str) -> Interchange:
    """Read one interchange; raise X12Error (and nothing else) when it is not sound."""
    text = _text_decode(data)
    separators, isa = _isa_parse(text)
    segments = _segments_split(text[ISA_LENGTH:], separators)
    groups = []
    index = 0
    while index < len(segments) and segments[index].tag == "GS":
        group, index = _group_parse(segments, index, separators)
        groups.append(group)
    # A second ISA means this interchange was never closed.
    iea = _expect(segments, index, "IEA", missing_if={"ISA"})
    if iea.number(1) != len(groups):
        raise iea.fail(
            X12ErrorCode.GROUP_COUNT_MISMATCH,
            f"IEA01 says {iea.element(1)} groups, the interchange has {len(groups)}",
            1,
        )
    if iea.number(2) != int(isa[13]):
        raise iea.fail(
            X12ErrorCode.CONTROL_NUMBER_MISMATCH,
            f"IEA02 {iea.element(2)!r} does not match ISA13 {isa[13]!r}",
            2,
        )
    if index + 1 < len(segments):
        extra = segments[index + 1]
        raise extra.fail(X12ErrorCode.UNEXPECTED_SEGMENT, f"{extra.tag} after IEA")
    return Interchange(
        sender_qualifier=isa[5],
        sender_id=isa[6].rstrip(" "),
        receiver_qualifier=isa[7],
        receiver_id=isa[8].rstrip(" "),
        date=isa[9],
        time=isa[10],
        control_number=int(isa[13]),
        version=isa[12],
        usage=isa[15],
        ack_requested=isa[14],
        separators=separators,
        groups=groups,
    )


def _text_decode(data: object) -> str:
    if isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
        if raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            # Older ERPs write Windows-1252 or Latin-1; Latin-1 maps every byte, so
            # the envelope stays readable and the odd character survives as-is.
            text = raw.decode("latin-1")
    elif isinstance(data, str):
        text = data
    else:
        raise X12Error(X12ErrorCode.NOT_X12, f"expected bytes or str, got {type(data).__name__}")
    return text.lstrip("\ufeff \t\r\n")


def _isa_parse(text: str) -> tuple[Separators, list[str]]:
    """Separators and ISA elements (index 0 is the tag), after checking the fixed layout."""
    if not text.startswith("ISA"):
        raise X12Error(X12ErrorCode.NOT_X12, "data does not start with ISA", segment_position=1)

    def fail(message: str, element: int | None = None) -> X12Error:
        return X12Error(
            X12ErrorCode.ISA_INVALID,
            message,
            segment_position=1,
            segment_tag="ISA",
            element_position=element,
        )

    if len(text) < 4:
        raise fail("data ends inside ISA")
    element = text[3]
    if element.isalnum() or element.isspace():
        raise fail(f"element separator {element!r} is a letter, digit or blank")
    # Checking ISA01..ISA15 one by one names the element a partner got wrong.
    fields = text.split(element, len(_ISA_WIDTHS))
    for index, width in enumerate(_ISA_WIDTHS[:-1], start=1):
        if index >= len(fields) - 1:
            raise fail(f"ISA is cut short at ISA{index:02d}", index)
        if len(fields[index]) != width:
            raise fail(
                f"ISA{index:02d} is {len(fields[index])} characters, it must be {width}", index
            )
    for index in range(1, len(_ISA_WIDTHS)):
        if _CONTROL.search(fields[index]):
            raise fail(f"ISA{index:02d} holds a control character", index)
    if fields[15] not in _USAGES:
        raise fail(f"ISA15 {fields[15]!r} is neither P (production) nor T (test)", 15)
    if len(text) < ISA_LENGTH:
        raise fail(f"ISA is {len(text)} characters, it must be {ISA_LENGTH}", 16)
    component, segment = text[ISA_LENGTH - 2], text[ISA_LENGTH - 1]
    fields[-1] = component
    if component.isalnum() or component.isspace() or component == element:
        raise fail(f"component separator {component!r} is a letter, digit, blank or taken", 16)
    if segment.isalnum() or segment in (element, component) or segment in text[: ISA_LENGTH - 1]:
        raise fail(f"segment terminator {segment!r} is ambiguous")
    if not _NUMBER.fullmatch(fields[13]) or len(fields[13]) != 9:
        raise fail(f"ISA13 {fields[13]!r} is not a 9-digit control number", 13)
    repetition = fields[11]
    # ISA11 is "U" (or another letter) before 00402, a separator from then on.
    has_repetition = not (repetition.isalnum() or repetition.isspace()) and repetition not in (
        element,
        component,
        segment,
    )
    after = text[ISA_LENGTH : ISA_LENGTH + 1]
    separators = Separators(
        element=element,
        component=component,
        segment=segment,
        repetition=repetition if has_repetition else None,
        newline=after != "" and after in _LINE_BREAKS and segment not in _LINE_BREAKS,
    )
    return separators, fields


def _segments_split(body: str, separators: Separators) -> list[_Raw]:
    segments = []
    position = 1  # ISA
    for piece in body.split(separators.segment):
        text = piece.strip(_LINE_BREAKS)
        if not text:
            continue
        position += 1
        tag, *elements = text.split(separators.element)
        segment = _Raw(position, tag, elements)
        if not _TAG.fullmatch(tag):
            raise segment.fail(
                X12ErrorCode.INVALID_SEGMENT, f"segment tag {tag[:20]!r} is not 2-3 letters/digits"
            )
        if tag in ENVELOPE_TAGS:
            # Envelope values are kept as columns and echoed; a set's own values are
            # judged per element by the set check (AK4), so one set's bad byte is that
            # set's problem only.
            for index, value in enumerate(elements, start=1):
                if _CONTROL.search(value):
                    raise segment.fail(
                        X12ErrorCode.INVALID_CHARACTER,
                        f"{tag}{index:02d} holds a control character",
                        index,
                    )
        segments.append(segment)
    return segments


def _expect(segments: list[_Raw], index: int, tag: str, missing_if: Set[str]) -> _Raw:
    """The segment at `index`, which must be `tag`.

    Meeting a segment of `missing_if` (one that opens a new envelope or closes an
    outer one) means `tag` was left out; anything else does not belong there.
    """
    if index >= len(segments):
        position = segments[-1].position + 1 if segments else 2
        raise X12Error(
            X12ErrorCode.MISSING_SEGMENT,
            f"data ends where {tag} was expected",
            segment_position=position,
            segment_tag=tag,
        )
    found = segments[index]
    if found.tag == tag:
        return found
    if found.tag in missing_if:
        # Reported under the missing tag, at the position it should have held, as 997 AK3 wants.
        raise X12Error(
            X12ErrorCode.MISSING_SEGMENT,
            f"{tag} is missing: {found.tag} found where it was expected",
            segment_position=found.position,
            segment_tag=tag,
        )
    raise found.fail(X12ErrorCode.UNEXPECTED_SEGMENT, f"{found.tag} found where {tag} was expected")


def _group_parse(
    segments: list[_Raw], index: int, separators: Separators
) -> tuple[FunctionalGroup, int]:
    gs = segments[index]
    control = gs.number(6)
    sets = []
    index += 1
    while index < len(segments) and segments[index].tag == "ST":
        tset, index = _set_parse(segments, index, separators)
        sets.append(tset)
    ge = _expect(segments, index, "GE", missing_if={"GS", "IEA", "ISA"})
    if ge.number(1) != len(sets):
        raise ge.fail(
            X12ErrorCode.SET_COUNT_MISMATCH,
            f"GE01 says {ge.element(1)} sets, the group has {len(sets)}",
            1,
        )
    if ge.number(2) != control:
        raise ge.fail(
            X12ErrorCode.CONTROL_NUMBER_MISMATCH,
            f"GE02 {ge.element(2)!r} does not match GS06 {gs.element(6)!r}",
            2,
        )
    group = FunctionalGroup(
        functional_id=gs.required(1),
        sender=gs.element(2),
        receiver=gs.element(3),
        date=gs.element(4),
        time=gs.element(5),
        control_number=control,
        version=gs.element(8),
        sets=sets,
    )
    return group, index + 1


def _set_parse(
    segments: list[_Raw], index: int, separators: Separators
) -> tuple[TransactionSet, int]:
    st = segments[index]
    set_id, control = st.required(1), st.required(2)
    body: list[Segment] = []
    index += 1
    while index < len(segments) and segments[index].tag not in ENVELOPE_TAGS:
        raw = segments[index]
        body.append(Segment(raw.tag, [_components(value, separators) for value in raw.elements]))
        index += 1
    se = _expect(segments, index, "SE", missing_if=ENVELOPE_TAGS - {"SE"})
    if se.number(1) != len(body) + 2:
        raise se.fail(
            X12ErrorCode.SEGMENT_COUNT_MISMATCH,
            f"SE01 says {se.element(1)} segments, the set has {len(body) + 2} (ST and SE included)",
            1,
        )
    if se.element(2) != control:
        raise se.fail(
            X12ErrorCode.CONTROL_NUMBER_MISMATCH,
            f"SE02 {se.element(2)!r} does not match ST02 {control!r}",
            2,
        )
    return TransactionSet(id=set_id, control_number=control, segments=body), index + 1


def _components(value: str, separators: Separators) -> Element:
    if separators.component in value:
        return value.split(separators.component)
    return value
