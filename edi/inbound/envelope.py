"""Receiving one posted interchange: envelope, duplicates, each set, the 997s.

The order of work, and why:
1. The envelope is read by the codec. One that cannot be read (counts, control
   numbers, the fixed ISA) is refused whole: kept raw as rejected, nothing applied,
   400 naming the segment. No 997 is owed for what could not be read (a TA1 would
   be, and is out of scope).
2. The interchange is recorded before any set is applied, under a unique
   constraint on vendor + sender + ISA13: a second post of the same interchange,
   also a concurrent one, finds the first and gets its answer replayed.
3. Each set is checked against its table, then applied in a savepoint of its own:
   all or nothing per set, and a refused set leaves no trace but its errors.
4. Each group except a 997 group gets its 997 in the outbox, in the same
   transaction, so the answer exists exactly when what it answers does.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone

from cmi.errors import error_body
from cmi.scoping import Scope
from cmi.text import json_safe, text_escape
from edi.documents import FUNCTIONAL_IDS
from edi.inbound import (
    ack997,
    activity852,
    functional_ack,
    invoice810,
    po_ack855,
    ship_notice856,
)
from edi.inbound.common import SetContext, SetRejected
from edi.inbound.functional_ack import (
    GROUP_VERSION_NOT_SUPPORTED,
    REASON_NOT_SUPPORTED,
    SetOutcome,
)
from edi.inbound.spec import SetError, is_number, set_check
from edi.models import InboundInterchange, InterchangeStatus, TradingPartner
from edi.x12 import (
    FunctionalGroup,
    Interchange,
    Separators,
    TransactionSet,
    X12Error,
    interchange_parse,
)

log = logging.getLogger(__name__)

HANDLERS = {
    "997": ack997,
    "855": po_ack855,
    "856": ship_notice856,
    "810": invoice810,
    "852": activity852,
}
# A customer's system reports its own activity; the ERP's answers come from the ERP.
DEVICE_SETS = frozenset({"852"})
ERP_SETS = frozenset({"997", "855", "856", "810"})
VERSIONS = ("004010", "005010")
REASON_INVALID_SET_ID = "6"
REASON_INVALID_CONTROL = "7"


@dataclass
class InboxResult:
    body: dict
    status_code: int
    record: InboundInterchange | None = None


@dataclass
class _GroupResult:
    outcomes: list[SetOutcome] = field(default_factory=list)
    # Where each set's ST stands in the interchange (ISA = 1), for the 400's position.
    st_positions: list[int] = field(default_factory=list)
    ack_id: int | None = None


def interchange_receive(*, scope: Scope, raw: bytes, now: dt.datetime | None = None) -> InboxResult:
    """Receive one interchange from the scope's principal (ERP key or scanner device)."""
    now = now or timezone.now()
    try:
        interchange = interchange_parse(raw)
    except X12Error as exc:
        return _envelope_rejected(scope, raw, exc)
    partner = TradingPartner.objects.filter(vendor_id=scope.vendor_id).first()
    if scope.role == "erp" and partner is not None:
        problem = _partner_mismatch(interchange, partner)
        if problem is not None:
            return _envelope_rejected(scope, raw, problem)
    key = _sender_key(scope, interchange.sender_id)
    with transaction.atomic():
        earlier = _earlier(scope, key, interchange.control_number)
        if earlier is not None:
            return _duplicate(earlier)
        try:
            with transaction.atomic():
                record = InboundInterchange.objects.create(
                    vendor_id=scope.vendor_id,
                    customer_id=scope.customer_id if scope.role == "device" else None,
                    sender_id=key,
                    isa_control=interchange.control_number,
                    raw=raw,
                    status=InterchangeStatus.FAILED,
                    device_id=scope.device_id,
                )
        except IntegrityError:
            # A concurrent post of the same interchange committed first.
            earlier = _earlier(scope, key, interchange.control_number)
            if earlier is None:
                raise
            return _duplicate(earlier)
        # The 997 goes to the ERP's outbox: a customer's system cannot pull it, and
        # the ERP must not get acknowledgments of groups it never sent.
        ack_partner = partner if scope.role == "erp" else None
        results = []
        position = 1  # ISA
        for group in interchange.groups:
            result, position = _group_receive(
                scope=scope,
                record=record,
                interchange=interchange,
                group=group,
                partner=ack_partner,
                now=now,
                position=position,
            )
            results.append(result)
        return _finish(record, results)


# --- the envelope ---------------------------------------------------------------------


def _sender_key(scope: Scope, isa06: str) -> str:
    if scope.role == "device":
        return f"c{scope.customer_id}/{isa06}"[:32]
    return isa06[:32]


def _earlier(scope: Scope, key: str, control: int) -> InboundInterchange | None:
    return (
        InboundInterchange.objects.filter(
            vendor_id=scope.vendor_id, sender_id=key, isa_control=control
        )
        .exclude(status=InterchangeStatus.REJECTED)
        .order_by("pk")
        .first()
    )


def _duplicate(earlier: InboundInterchange) -> InboxResult:
    body = dict(earlier.result)
    body["interchange"] = earlier.pk
    body["duplicate"] = True
    # Whatever the first answer was, the same interchange again is not an error: it
    # was received, and this is what became of it.
    body.pop("error", None)
    return InboxResult(body=body, status_code=200, record=earlier)


def _partner_mismatch(interchange: Interchange, partner: TradingPartner) -> X12Error | None:
    """The ERP's interchange must come from its ISA id and be addressed to ours."""
    if interchange.sender_id.strip() != partner.isa_receiver_id.strip():
        return X12Error(
            "unknown_sender",
            f"ISA06 {interchange.sender_id!r} is not this vendor's ERP "
            f"({partner.isa_receiver_id.strip()!r})",
            segment_position=1,
            segment_tag="ISA",
            element_position=6,
        )
    if interchange.receiver_id.strip() != partner.isa_sender_id.strip():
        return X12Error(
            "wrong_receiver",
            f"ISA08 {interchange.receiver_id!r} is not our id ({partner.isa_sender_id.strip()!r})",
            segment_position=1,
            segment_tag="ISA",
            element_position=8,
        )
    return None


def _isa_peek(raw: bytes) -> tuple[str, int | None]:
    """ISA06 and ISA13 of an interchange the codec refused, for the audit row only."""
    head = raw[:300].decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if not head.startswith("ISA") or len(head) < 4:
        return "", None
    fields = head.split(head[3], 16)
    sender = text_escape(fields[6].strip())[:15] if len(fields) > 6 else ""
    control = fields[13] if len(fields) > 13 else ""
    return sender, int(control) if is_number(control) and len(control) == 9 else None


def _envelope_rejected(scope: Scope, raw: bytes, exc: X12Error) -> InboxResult:
    sender, control = _isa_peek(raw)
    error = json_safe(
        error_body(
            exc.code,
            exc.message,
            None,
            segment_position=exc.segment_position,
            segment_tag=exc.segment_tag,
            element_position=exc.element_position,
        )
    )
    record = InboundInterchange.objects.create(
        vendor_id=scope.vendor_id,
        customer_id=scope.customer_id if scope.role == "device" else None,
        sender_id=_sender_key(scope, sender),
        isa_control=control,
        raw=raw,
        status=InterchangeStatus.REJECTED,
        errors=[error["error"]],
        result=error,
        device_id=scope.device_id,
    )
    return InboxResult(body={**error, "interchange": record.pk}, status_code=400, record=record)


# --- groups and sets ------------------------------------------------------------------


def _group_receive(
    *,
    scope: Scope,
    record: InboundInterchange,
    interchange: Interchange,
    group: FunctionalGroup,
    partner: TradingPartner | None,
    now: dt.datetime,
    position: int,
) -> tuple[_GroupResult, int]:
    result = _GroupResult()
    position += 1  # GS
    supported = group.version[:6] in VERSIONS
    for tset in group.sets:
        position += 1  # ST
        result.st_positions.append(position)
        if supported:
            outcome = _set_receive(
                scope=scope, record=record, interchange=interchange, group=group, tset=tset, now=now
            )
        else:
            outcome = _refused(
                group,
                tset,
                "unsupported_version",
                f"GS08 {group.version!r} is not a version we read (004010, 005010)",
                REASON_NOT_SUPPORTED,
            )
        result.outcomes.append(outcome)
        position += len(tset.segments) + 1  # body and SE
    position += 1  # GE
    document = functional_ack.functional_ack_write(
        partner=partner,
        group=group,
        outcomes=result.outcomes,
        group_error="" if supported else GROUP_VERSION_NOT_SUPPORTED,
    )
    result.ack_id = document.pk if document else None
    return result, position


def _refused(
    group: FunctionalGroup, tset: TransactionSet, code: str, detail: str, reason: str
) -> SetOutcome:
    return SetOutcome(
        group=group.control_number,
        control=tset.control_number,
        set_id=tset.id,
        accepted=False,
        errors=[SetError(code=code, detail=detail)],
        reason=reason,
    )


def _set_receive(
    *,
    scope: Scope,
    record: InboundInterchange,
    interchange: Interchange,
    group: FunctionalGroup,
    tset: TransactionSet,
    now: dt.datetime,
) -> SetOutcome:
    handler = HANDLERS.get(tset.id)
    if handler is None:
        return _refused(
            group,
            tset,
            "unsupported_set",
            f"we do not receive {tset.id!r} sets",
            REASON_NOT_SUPPORTED,
        )
    if FUNCTIONAL_IDS[tset.id] != group.functional_id:
        return _refused(
            group,
            tset,
            "wrong_group",
            f"a {tset.id} belongs in a {FUNCTIONAL_IDS[tset.id]} group, not {group.functional_id!r}",
            REASON_INVALID_SET_ID,
        )
    if not 4 <= len(tset.control_number) <= 9:
        return _refused(
            group,
            tset,
            "invalid_control_number",
            f"ST02 {tset.control_number[:20]!r} is not 4 to 9 characters",
            REASON_INVALID_CONTROL,
        )
    if scope.role == "device" and tset.id not in DEVICE_SETS:
        return _refused(
            group,
            tset,
            "not_allowed",
            f"a scanner token may post 852s only; a {tset.id} comes from the vendor's ERP",
            REASON_NOT_SUPPORTED,
        )
    if scope.role == "erp" and tset.id not in ERP_SETS:
        return _refused(
            group,
            tset,
            "customer_required",
            "an 852 is a customer's activity: post it with that customer's scanner token",
            REASON_NOT_SUPPORTED,
        )
    errors = set_check(handler.SPEC, tset.segments, group.version)
    outcome = SetOutcome(
        group=group.control_number, control=tset.control_number, set_id=tset.id, accepted=False
    )
    if any(e.fatal for e in errors):
        outcome.errors = errors
        return outcome
    ctx = SetContext(
        scope=scope,
        record=record,
        interchange=interchange,
        group=group,
        tset=tset,
        now=now,
        raw_set=set_render(tset, interchange.separators),
    )
    try:
        with transaction.atomic():
            handler.apply(ctx)
    except SetRejected as exc:
        outcome.errors = errors + exc.errors
        return outcome
    except IntegrityError as exc:
        # Another post changed the same rows under us (the same invoice number, the
        # same shipment); this set applies nothing and says so.
        log.info("inbound set %s %s hit a constraint: %s", tset.id, tset.control_number, exc)
        outcome.errors = [
            *errors,
            SetError(code="conflict", detail="this conflicts with a document received meanwhile"),
        ]
        return outcome
    outcome.accepted = True
    outcome.errors = errors  # only notes (AK5 E) are left
    outcome.order_ids = list(dict.fromkeys(ctx.order_ids))
    return outcome


def set_render(tset: TransactionSet, separators: Separators) -> bytes:
    """One set, ST to SE, as the partner's own separators spell it."""
    lines = [
        separators.element.join(["ST", tset.id, tset.control_number]),
        *(
            separators.element.join(
                [
                    segment.tag,
                    *(
                        separators.component.join(v) if isinstance(v, list) else v
                        for v in segment.elements
                    ),
                ]
            )
            for segment in tset.segments
        ),
        separators.element.join(["SE", str(len(tset.segments) + 2), tset.control_number]),
    ]
    return "".join(line + separators.segment + "\n" for line in lines).encode("utf-8")


# --- the answer --------------------------------------------------------------------------


def _finish(record: InboundInterchange, results: list[_GroupResult]) -> InboxResult:
    outcomes = [o for r in results for o in r.outcomes]
    accepted = [o for o in outcomes if o.accepted]
    ack_ids = [r.ack_id for r in results if r.ack_id is not None]
    body: dict = {
        "interchange": record.pk,
        "duplicate": False,
        "sets": [o.public() for o in outcomes],
        "ack": {"id": ack_ids[0] if ack_ids else None, "ids": ack_ids},
    }
    status_code = 200
    if not outcomes or len(accepted) == len(outcomes):
        record.status = InterchangeStatus.APPLIED
    elif accepted:
        record.status = InterchangeStatus.PARTIAL
    else:
        record.status = InterchangeStatus.FAILED
        body = {"error": _first_failure(results), **body}
        status_code = 400
    # What a partner sent is echoed in the errors; jsonb cannot hold every character.
    body = json_safe(body)
    record.errors = json_safe(
        [{**o.public(), "errors": [e.stored() for e in o.errors]} for o in outcomes if o.errors]
    )
    record.result = body
    record.save(update_fields=["status", "errors", "result"])
    order_ids = sorted({pk for o in accepted for pk in o.order_ids})
    if order_ids:
        from edi.overdue import orders_overdue_refresh

        # The answer just arrived: clear (or keep) the order's overdue flags now,
        # not at the next sweep.
        orders_overdue_refresh(vendor_id=record.vendor_id, order_ids=order_ids)
    return InboxResult(body=body, status_code=status_code, record=record)


def _first_failure(results: list[_GroupResult]) -> dict:
    """The first refused set's first error, positioned in the interchange (ISA = 1)."""
    for result in results:
        for outcome, st_position in zip(result.outcomes, result.st_positions, strict=True):
            if outcome.accepted:
                continue
            error = next((e for e in outcome.errors if e.fatal), outcome.errors[0])
            if error.segment_position is not None:
                position, tag = st_position + error.segment_position - 1, error.segment
                element = error.element_position
            else:
                position, tag, element = st_position, "ST", 1
            detail = (
                f"group {outcome.group}, set {outcome.control} ({outcome.set_id}): {error.detail}"
            )
            return error_body(
                error.code,
                detail,
                None,
                segment_position=position,
                segment_tag=tag,
                element_position=element,
            )["error"]
    raise AssertionError("called with no refused set")
