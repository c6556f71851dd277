"""A small ANSI X12 codec: plain dataclasses, a writer that derives the envelope,
and a tolerant reader that checks it. No Django here, so partners' files can be
read and written from tasks, scripts and tests alike."""

from edi.x12.errors import X12Error, X12ErrorCode
from edi.x12.model import (
    Element,
    FunctionalGroup,
    Interchange,
    Segment,
    Separators,
    TransactionSet,
)
from edi.x12.reader import interchange_parse
from edi.x12.writer import interchange_serialize, text_clean

__all__ = [
    "Element",
    "FunctionalGroup",
    "Interchange",
    "Segment",
    "Separators",
    "TransactionSet",
    "X12Error",
    "X12ErrorCode",
    "interchange_parse",
    "interchange_serialize",
    "text_clean",
]
