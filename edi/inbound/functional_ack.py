"""Writing the 997 that answers one inbound functional group.

AK1 names the group, an AK2 loop per set says what we made of it (AK3/AK4 for
each problem, AK5 the verdict), AK9 sums up the group. It goes into the outbox
like any other outbound document, for the ERP to pull. Groups that are 997s
themselves are never answered, and neither is anything when the vendor has no
trading partner profile: without one there is no envelope to write it in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edi.documents import document_write, partner_separators
from edi.inbound.spec import SetError, is_number
from edi.models import Document, TradingPartner
from edi.x12 import FunctionalGroup, Segment, Separators, text_clean

# AK502: why a set was refused. 5: one or more segments in error; 1: not supported.
REASON_SEGMENTS_IN_ERROR = "5"
REASON_NOT_SUPPORTED = "1"
# AK905: why a whole group was refused. 2: its version is not supported.
GROUP_VERSION_NOT_SUPPORTED = "2"


@dataclass
class SetOutcome:
    """What became of one inbound set; rendered in the response and in the 997."""

    group: int
    control: str
    set_id: str
    accepted: bool
    errors: list[SetError] = field(default_factory=list)
    reason: str = REASON_SEGMENTS_IN_ERROR
    order_ids: list[int] = field(default_factory=list)

    def public(self) -> dict:
        return {
            "group": self.group,
            "set": self.control,
            "id": self.set_id,
            "status": "accepted" if self.accepted else "rejected",
            "errors": [e.public() for e in self.errors],
            "orders": self.order_ids,
        }


def _trimmed(elements: list[str]) -> list[str]:
    while elements and elements[-1] == "":
        elements.pop()
    return elements


def _set_loop(outcome: SetOutcome, separators: Separators) -> list[Segment]:
    # Echoed values were read with the partner's separators, not necessarily ours.
    segments = [
        Segment(
            "AK2",
            [
                text_clean(outcome.set_id, separators)[:3] or "000",
                text_clean(outcome.control, separators)[:9].zfill(4),
            ],
        )
    ]
    by_segment: dict[tuple[int, str], list[SetError]] = {}
    for error in outcome.errors:
        if error.segment_position is None or not error.segment:
            continue
        by_segment.setdefault((error.segment_position, error.segment), []).append(error)
    for (position, tag), errors in sorted(by_segment.items()):
        element_errors = [e for e in errors if e.element_error]
        # A segment that is itself wrong (missing, out of order) says so; one whose
        # elements are wrong says 8 and lists them.
        code = next((e.segment_error for e in errors if not e.element_error), None) or "8"
        loop = next((e.loop_id for e in errors if e.loop_id), "")
        segments.append(
            Segment(
                "AK3",
                _trimmed([text_clean(tag, separators)[:3], str(position), loop[:4], code]),
            )
        )
        for error in element_errors[:99]:
            value = text_clean(error.value, separators)[:99]
            segments.append(
                Segment(
                    "AK4",
                    _trimmed(
                        [
                            str(error.element_position or 1),
                            error.element_ref if is_number(error.element_ref) else "",
                            error.element_error or "",
                            value,
                        ]
                    ),
                )
            )
    if outcome.accepted:
        verdict = ["E", REASON_SEGMENTS_IN_ERROR] if outcome.errors else ["A"]
    else:
        verdict = ["R", outcome.reason]
    segments.append(Segment("AK5", verdict))
    return segments


def functional_ack_segments(
    *,
    group: FunctionalGroup,
    outcomes: list[SetOutcome],
    separators: Separators,
    group_error: str = "",
) -> list[Segment]:
    """The body of the 997 (between ST and SE) for one inbound group."""
    functional_id = text_clean(group.functional_id, separators)[:2] or "XX"
    segments = [Segment("AK1", [functional_id, str(group.control_number)])]
    for outcome in outcomes:
        segments += _set_loop(outcome, separators)
    accepted = sum(1 for o in outcomes if o.accepted)
    if not outcomes:
        status = "R" if group_error else "A"
    elif accepted == len(outcomes):
        status = "E" if any(o.errors for o in outcomes) else "A"
    elif accepted:
        status = "P"
    else:
        status = "R"
    count = str(len(group.sets))
    segments.append(Segment("AK9", _trimmed([status, count, count, str(accepted), group_error])))
    return segments


def functional_ack_write(
    *,
    partner: TradingPartner | None,
    group: FunctionalGroup,
    outcomes: list[SetOutcome],
    group_error: str = "",
) -> Document | None:
    """Put the 997 for `group` in the outbox; None when no 997 is owed or possible."""
    if partner is None or group.functional_id == "FA":
        return None
    segments = functional_ack_segments(
        group=group,
        outcomes=outcomes,
        separators=partner_separators(partner),
        group_error=group_error,
    )
    return document_write(partner=partner, set_id="997", segments=segments, order=None)
