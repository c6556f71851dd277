"""Declarative tables of what a transaction set may hold, and the checker that
holds a parsed set against one.

A table lists the segments (and loops) in the order the standard puts them, with
their required flag and maximum use; each segment lists its elements with type,
minimum and maximum length, and for the ID elements we act on, the codes we
accept. The checker reports every problem the way a 997 needs it: AK3 for the
segment (position in the set, ST = 1; loop id; syntax error code 1..8) and AK4
for the element (position, data element reference number, error code 1..10).

Only what we use or must refuse is described. A segment the table does not know
is noted (AK3 code 2) and skipped, so a partner's extra N9 or MSG does not cost it
the whole set; everything else found wrong rejects the set.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from cmi.text import text_escape
from edi.x12 import Element, Segment

# AK304, segment syntax error codes.
SEG_UNRECOGNIZED = "1"
SEG_UNEXPECTED = "2"
SEG_MISSING = "3"
SEG_LOOP_OVER_MAX = "4"
SEG_OVER_MAX = "5"
SEG_NOT_IN_SET = "6"
SEG_OUT_OF_ORDER = "7"
SEG_ELEMENT_ERRORS = "8"

# AK403, element syntax error codes.
EL_MISSING = "1"
EL_CONDITIONAL_MISSING = "2"
EL_TOO_MANY = "3"
EL_TOO_SHORT = "4"
EL_TOO_LONG = "5"
EL_INVALID_CHARACTER = "6"
EL_INVALID_CODE = "7"
EL_INVALID_DATE = "8"
EL_INVALID_TIME = "9"

_ELEMENT_CODES = {
    EL_MISSING: "missing_element",
    EL_CONDITIONAL_MISSING: "conditional_element_missing",
    EL_TOO_MANY: "too_many_elements",
    EL_TOO_SHORT: "too_short",
    EL_TOO_LONG: "too_long",
    EL_INVALID_CHARACTER: "invalid_character",
    EL_INVALID_CODE: "invalid_code",
    EL_INVALID_DATE: "invalid_date",
    EL_INVALID_TIME: "invalid_time",
}

_NUMERIC = re.compile(r"-?[0-9]+")
_DECIMAL = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)")
_TIME = re.compile(r"([01][0-9]|2[0-3])[0-5][0-9](?:[0-5][0-9](?:[0-9]{1,2})?)?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class El:
    """One data element: X12 reference number, type, min and max length, codes."""

    ref: str
    type: str  # AN, ID, DT, TM, R, N0, N2, or C (a composite: only its first part is checked)
    min: int
    max: int
    req: bool = False
    codes: frozenset[str] | None = None
    max_5010: int | None = None  # 005010 widened a few (REF02 to 50)


def el(
    ref: str,
    type_: str,
    min_: int,
    max_: int,
    req: bool = False,
    codes: str | None = None,
    max_5010: int | None = None,
) -> El:
    """Shorthand for the tables: codes as one space-separated string."""
    return El(ref, type_, min_, max_, req, frozenset(codes.split()) if codes else None, max_5010)


@dataclass(frozen=True, slots=True)
class Seg:
    tag: str
    req: bool
    max_use: int
    elements: tuple[El, ...]
    # Syntax notes "P": when one element of a pair is there, so must the other be.
    pairs: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class Loop:
    """A loop starts with its first child's segment and is named by it (AK303)."""

    req: bool
    max_use: int
    children: tuple[Seg | Loop, ...]

    @property
    def tag(self) -> str:
        return self.children[0].tag

    @property
    def id(self) -> str:
        return self.tag


@dataclass(frozen=True, slots=True)
class SetSpec:
    id: str
    functional_id: str
    body: tuple[Seg | Loop, ...]

    def tags(self) -> frozenset[str]:
        out: set[str] = set()
        stack: list[Seg | Loop] = list(self.body)
        while stack:
            node = stack.pop()
            if isinstance(node, Loop):
                stack.extend(node.children)
            else:
                out.add(node.tag)
        return frozenset(out)


@dataclass(slots=True)
class SetError:
    """One problem with a set: stable `code` for machines, `detail` for people, and
    the AK3/AK4 fields a 997 reports it with."""

    code: str
    detail: str
    segment_position: int | None = None  # in the set, ST = 1
    segment: str | None = None
    element_position: int | None = None
    segment_error: str | None = None  # AK304
    element_error: str | None = None  # AK403
    element_ref: str = ""  # AK402
    loop_id: str = ""  # AK303
    value: str = ""  # AK404, a copy of the bad data
    fatal: bool = True  # False: noted in the 997 (AK5 E), the set still applies

    def public(self) -> dict:
        return {
            "segment_position": self.segment_position,
            "segment": self.segment,
            "element_position": self.element_position,
            "code": self.code,
            "detail": self.detail,
        }

    def stored(self) -> dict:
        return {
            **self.public(),
            "segment_error": self.segment_error,
            "element_error": self.element_error,
            "element_ref": self.element_ref,
            "loop_id": self.loop_id,
            "value": self.value,
            "fatal": self.fatal,
        }


def text(value: Element | None) -> str:
    """An element as one string; a composite is joined back with '>' for messages."""
    if value is None:
        return ""
    return ">".join(value) if isinstance(value, list) else value


def element(segment: Segment, position: int) -> str:
    """Element `position` (1-based) as text, '' when absent. Composites give their first part."""
    if position > len(segment.elements):
        return ""
    value = segment.elements[position - 1]
    return value[0] if isinstance(value, list) else value


def is_number(value: str) -> bool:
    """ASCII digits only: str.isdigit() also says yes to '²', which int() refuses."""
    return value.isascii() and value.isdigit()


def date_parse(value: str) -> dt.date | None:
    if len(value) == 8 and is_number(value):
        try:
            return dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
        except ValueError:
            return None
    if len(value) == 6 and is_number(value):  # YYMMDD, as some 004010 elements allow
        try:
            return dt.datetime.strptime(value, "%y%m%d").date()
        except ValueError:
            return None
    return None


# --- elements ---------------------------------------------------------------------


def _element_errors(
    spec: Seg, segment: Segment, position: int, loop_id: str, version: str
) -> list[SetError]:
    errors: list[SetError] = []

    def fail(index: int, ref: str, error: str, detail: str, value: str = "") -> None:
        errors.append(
            SetError(
                code=_ELEMENT_CODES[error],
                detail=f"{segment.tag}{index:02d}: {detail}",
                segment_position=position,
                segment=segment.tag,
                element_position=index,
                segment_error=SEG_ELEMENT_ERRORS,
                element_error=error,
                element_ref=ref,
                loop_id=loop_id,
                value=text_escape(value[:99]),
            )
        )

    elements = segment.elements
    for index, value in enumerate(elements, start=1):
        if index > len(spec.elements):
            if text(value):
                fail(index, "", EL_TOO_MANY, f"{segment.tag} has {len(spec.elements)} elements")
            continue
        rule = spec.elements[index - 1]
        if isinstance(value, list) and rule.type != "C":
            fail(
                index, rule.ref, EL_INVALID_CHARACTER, "holds the component separator", text(value)
            )
            continue
        plain = value[0] if isinstance(value, list) else value
        if plain == "":
            if rule.req:
                fail(index, rule.ref, EL_MISSING, "is required")
            continue
        problem = _value_problem(rule, plain, version)
        if problem is not None:
            fail(index, rule.ref, problem[0], problem[1], plain)
    for index in range(len(elements) + 1, len(spec.elements) + 1):
        rule = spec.elements[index - 1]
        if rule.req:
            fail(index, rule.ref, EL_MISSING, "is required")
    for first, second in spec.pairs:
        a, b = element(segment, first), element(segment, second)
        if bool(a) != bool(b):
            missing = second if a else first
            ref = spec.elements[missing - 1].ref if missing <= len(spec.elements) else ""
            fail(
                missing,
                ref,
                EL_CONDITIONAL_MISSING,
                f"is required with {segment.tag}{first if a else second:02d}",
            )
    return errors


def _value_problem(rule: El, value: str, version: str) -> tuple[str, str] | None:
    """(AK403 code, message) for a value that breaks its rule, else None."""
    if _CONTROL.search(value):
        return EL_INVALID_CHARACTER, "holds a control character"
    kind = rule.type
    if kind == "C":
        kind = "N0"  # composites we check (AK401) lead with a number
    if kind in ("N0", "N2", "R"):
        pattern = _NUMERIC if kind != "R" else _DECIMAL
        if not pattern.fullmatch(value):
            return EL_INVALID_CHARACTER, f"{value!r} is not a number"
        size = sum(ch.isdigit() for ch in value)  # sign and decimal point do not count
    else:
        size = len(value)
    longest = rule.max_5010 if rule.max_5010 and version.startswith("005") else rule.max
    if size < rule.min:
        return EL_TOO_SHORT, f"{value!r} is shorter than {rule.min}"
    if size > longest:
        return EL_TOO_LONG, f"{value[:40]!r} is longer than {longest}"
    if kind == "DT" and date_parse(value) is None:
        return EL_INVALID_DATE, f"{value!r} is not a date (CCYYMMDD)"
    if kind == "TM" and not _TIME.fullmatch(value):
        return EL_INVALID_TIME, f"{value!r} is not a time (HHMM[SS])"
    if kind == "ID" and rule.codes is not None and value not in rule.codes:
        return EL_INVALID_CODE, f"{value!r} is not one of {' '.join(sorted(rule.codes))}"
    if kind in ("AN", "ID") and not value.isprintable():
        return EL_INVALID_CHARACTER, "holds a character that cannot be printed"
    return None


# --- structure --------------------------------------------------------------------


@dataclass(slots=True)
class _Frame:
    nodes: tuple[Seg | Loop, ...]
    loop: Loop | None
    index: int = -1  # the node matched last
    uses: dict[int, int] = field(default_factory=dict)


def _find(frame: _Frame, tag: str) -> int | None:
    """The first node at or after the current one that `tag` can be; None if none."""
    start = max(frame.index, 0)
    for k in range(start, len(frame.nodes)):
        if frame.loop is not None and k == 0:
            continue  # the loop's own first segment again opens a new iteration, a level up
        node = frame.nodes[k]
        if node.tag != tag:
            continue
        if k == frame.index and isinstance(node, Seg) and frame.uses.get(k, 0) >= node.max_use:
            # Used up here; a later node of the same tag (e.g. a DTM after ACK) may take it.
            later = _find_after(frame, tag, k + 1)
            return later if later is not None else k
        return k
    return None


def _find_after(frame: _Frame, tag: str, start: int) -> int | None:
    for k in range(start, len(frame.nodes)):
        if frame.nodes[k].tag == tag:
            return k
    return None


def set_check(spec: SetSpec, segments: list[Segment], version: str) -> list[SetError]:
    """Every structural and element problem of the body of one set (ST and SE excluded)."""
    errors: list[SetError] = []
    known = spec.tags()
    stack = [_Frame(nodes=spec.body, loop=None)]

    def missing(frame: _Frame, upto: int, position: int) -> None:
        """Required nodes of `frame` before `upto` that were never used."""
        for k in range(max(frame.index + 1, 0), upto):
            node = frame.nodes[k]
            if node.req and not frame.uses.get(k, 0):
                errors.append(
                    SetError(
                        code="missing_segment",
                        detail=f"{node.tag} is required"
                        + (f" in the {frame.loop.id} loop" if frame.loop else ""),
                        segment_position=position,
                        segment=node.tag,
                        segment_error=SEG_MISSING,
                        loop_id=frame.loop.id if frame.loop else "",
                    )
                )

    for offset, segment in enumerate(segments):
        position = offset + 2
        tag = segment.tag
        level, k = None, None
        for depth in range(len(stack) - 1, -1, -1):
            k = _find(stack[depth], tag)
            if k is not None:
                level = depth
                break
        if level is None or k is None:
            loop_id = stack[-1].loop.id if stack[-1].loop else ""
            if tag in known:
                errors.append(
                    SetError(
                        code="segment_out_of_order",
                        detail=f"{tag} is not in its place here",
                        segment_position=position,
                        segment=tag,
                        segment_error=SEG_OUT_OF_ORDER,
                        loop_id=loop_id,
                    )
                )
            else:
                errors.append(
                    SetError(
                        code="unexpected_segment",
                        detail=f"{tag} is not used in a {spec.id}; ignored",
                        segment_position=position,
                        segment=tag,
                        segment_error=SEG_UNEXPECTED,
                        loop_id=loop_id,
                        fatal=False,
                    )
                )
            continue
        while len(stack) - 1 > level:
            closing = stack.pop()
            missing(closing, len(closing.nodes), position)
        frame = stack[-1]
        missing(frame, k, position)
        node = frame.nodes[k]
        frame.uses[k] = frame.uses.get(k, 0) + 1
        frame.index = k
        if isinstance(node, Loop):
            if frame.uses[k] > node.max_use:
                errors.append(
                    SetError(
                        code="loop_over_max",
                        detail=f"the {node.id} loop occurs more than {node.max_use} times",
                        segment_position=position,
                        segment=tag,
                        segment_error=SEG_LOOP_OVER_MAX,
                        loop_id=node.id,
                    )
                )
            inner = _Frame(nodes=node.children, loop=node, index=0, uses={0: 1})
            stack.append(inner)
            frame, seg_spec, loop_id = inner, node.children[0], node.id
        else:
            seg_spec, loop_id = node, frame.loop.id if frame.loop else ""
            if frame.uses[k] > node.max_use:
                errors.append(
                    SetError(
                        code="segment_over_max",
                        detail=f"{tag} occurs more than {node.max_use} times",
                        segment_position=position,
                        segment=tag,
                        segment_error=SEG_OVER_MAX,
                        loop_id=loop_id,
                    )
                )
        assert isinstance(seg_spec, Seg)
        errors += _element_errors(seg_spec, segment, position, loop_id, version)
    end = len(segments) + 2  # where SE stands
    while stack:
        closing = stack.pop()
        missing(closing, len(closing.nodes), end)
    return errors
