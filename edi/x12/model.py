"""Plain data for an X12 interchange; the writer and the reader both speak it.

Values stay strings as they appear on the wire (dates, times, versions), except
the numeric control numbers of ISA13 and GS06, which callers draw from counters.
Envelope segments (ISA, GS, ST, SE, GE, IEA) are not stored: the writer derives
them and the reader checks them, so they cannot disagree with the content.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# The ISA is fixed-width: 106 characters with its terminator.
ISA_LENGTH = 106
ENVELOPE_TAGS = frozenset({"ISA", "IEA", "GS", "GE", "ST", "SE"})

# A composite element is the list of its components.
Element = str | list[str]


@dataclass(slots=True)
class Separators:
    element: str = "*"
    component: str = ">"
    segment: str = "~"
    # Only from 00402 on; ISA11 carries it there and "U" before. The reader does
    # not split repeated values: no set we exchange repeats an element.
    repetition: str | None = None
    # A line break after each terminator: not X12, but people read these files.
    newline: bool = False

    def reserved(self) -> str:
        """The characters data must never contain."""
        chars = self.element + self.component + self.segment
        return chars + (self.repetition or "")


@dataclass(slots=True)
class Segment:
    tag: str
    elements: list[Element] = field(default_factory=list)


@dataclass(slots=True)
class TransactionSet:
    id: str
    # ST02 is alphanumeric (4 to 9 characters), so it stays a string.
    control_number: str
    # The segments between ST and SE, both excluded.
    segments: list[Segment] = field(default_factory=list)


@dataclass(slots=True)
class FunctionalGroup:
    functional_id: str
    sender: str
    receiver: str
    date: str  # CCYYMMDD
    time: str  # HHMM, HHMMSS or HHMMSSdd
    control_number: int
    version: str = "004010"
    sets: list[TransactionSet] = field(default_factory=list)


@dataclass(slots=True)
class Interchange:
    sender_qualifier: str
    sender_id: str
    receiver_qualifier: str
    receiver_id: str
    date: str  # YYMMDD
    time: str  # HHMM
    control_number: int
    version: str = "00401"
    usage: str = "P"
    ack_requested: str = "0"
    separators: Separators = field(default_factory=Separators)
    groups: list[FunctionalGroup] = field(default_factory=list)
