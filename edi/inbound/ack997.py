"""997 Functional Acknowledgment from the ERP: what its translator made of our 850s.

AK1 names our group (GS06), each AK2 one of our sets (ST02); AK5 says whether
the set was accepted, AK3/AK4 why not. The acknowledged documents must be this
vendor's own outbound ones: a control number of anyone else's is unknown here.
A 997 is never answered with a 997.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edi.inbound.common import SetContext, reject
from edi.inbound.spec import Loop, Seg, SetSpec, el, element
from edi.models import AckStatus, Direction, Document, OrderEdiState

AK1 = Seg(
    "AK1",
    True,
    1,
    (el("479", "ID", 2, 2, req=True), el("28", "N0", 1, 9, req=True), el("480", "AN", 1, 12)),
)
AK2 = Seg(
    "AK2",
    True,
    1,
    (el("143", "ID", 3, 3, req=True), el("329", "AN", 4, 9, req=True), el("1705", "AN", 1, 35)),
)
AK3 = Seg(
    "AK3",
    True,
    1,
    (
        el("721", "ID", 2, 3, req=True),
        el("719", "N0", 1, 10, req=True),
        el("447", "AN", 1, 4),
        el("720", "ID", 1, 3, codes="1 2 3 4 5 6 7 8"),
    ),
)
AK4 = Seg(
    "AK4",
    False,
    99,
    (
        el("C030", "C", 1, 2, req=True),
        el("725", "N0", 1, 4),
        el("723", "ID", 1, 3, req=True, codes="1 2 3 4 5 6 7 8 9 10 12 13"),
        el("724", "AN", 1, 99),
    ),
)
AK5 = Seg(
    "AK5",
    True,
    1,
    (
        el("717", "ID", 1, 1, req=True, codes="A E M R W X"),
        *(el("718", "ID", 1, 3) for _ in range(5)),
    ),
)
AK9 = Seg(
    "AK9",
    True,
    1,
    (
        el("715", "ID", 1, 1, req=True, codes="A E M P R W X"),
        el("97", "N0", 1, 6, req=True),
        el("123", "N0", 1, 6, req=True),
        el("2", "N0", 1, 6, req=True),
        *(el("716", "ID", 1, 3) for _ in range(5)),
    ),
)

SPEC = SetSpec(
    id="997",
    functional_id="FA",
    body=(AK1, Loop(False, 999_999, (AK2, Loop(False, 999_999, (AK3, AK4)), AK5)), AK9),
)

STATUS = {
    "A": AckStatus.ACCEPTED,
    "E": AckStatus.ACCEPTED_WITH_ERRORS,
    # Partially accepted, said of a whole group without AK2 detail: some of it is fine.
    "P": AckStatus.ACCEPTED_WITH_ERRORS,
    "R": AckStatus.REJECTED,
    "M": AckStatus.REJECTED,
    "W": AckStatus.REJECTED,
    "X": AckStatus.REJECTED,
}


@dataclass
class _Answer:
    position: int
    set_id: str
    control: str
    status: str = ""
    errors: list[dict] = field(default_factory=list)


def _answers(ctx: SetContext) -> tuple[list[_Answer], str]:
    """Each AK2 with its AK3/AK4 details and AK5 verdict; and AK901."""
    answers: list[_Answer] = []
    group_status = ""
    for position, segment in ctx.positioned():
        tag = segment.tag
        if tag == "AK2":
            answers.append(_Answer(position, element(segment, 1), element(segment, 2)))
        elif tag == "AK3" and answers:
            answers[-1].errors.append(
                {
                    "segment": element(segment, 1),
                    "position": int(element(segment, 2) or 0),
                    "loop": element(segment, 3),
                    "code": element(segment, 4),
                    "elements": [],
                }
            )
        elif tag == "AK4" and answers and answers[-1].errors:
            answers[-1].errors[-1]["elements"].append(
                {
                    "position": element(segment, 1),
                    "ref": element(segment, 2),
                    "code": element(segment, 3),
                    "value": element(segment, 4),
                }
            )
        elif tag == "AK5" and answers:
            answers[-1].status = element(segment, 1)
            reasons = [element(segment, i) for i in range(2, 7) if element(segment, i)]
            if reasons:
                answers[-1].errors.append({"set_reasons": reasons})
        elif tag == "AK9":
            group_status = element(segment, 1)
    return answers, group_status


def apply(ctx: SetContext) -> None:
    ak1_position, ak1 = ctx.first("AK1")  # type: ignore[misc]  (the table requires it)
    group_control = int(element(ak1, 2))
    ours = Document.objects.filter(
        vendor_id=ctx.vendor_id, direction=Direction.OUT, gs_control=group_control
    )
    answers, group_status = _answers(ctx)
    acked: list[tuple[Document, str, list[dict]]] = []
    if not answers:
        # No AK2: the AK9 verdict speaks for every set of the group.
        documents = list(ours.order_by("pk"))
        if not documents:
            raise reject(
                "unknown_group",
                f"we sent no group {group_control}",
                position=ak1_position,
                segment="AK1",
                element_position=2,
                element_ref="28",
                value=str(group_control),
            )
        acked = [(doc, STATUS[group_status], []) for doc in documents]
    for answer in answers:
        document = ours.filter(st_control=answer.control, transaction_set=answer.set_id).first()
        if document is None:
            raise reject(
                "unknown_document",
                f"we sent no {answer.set_id} {answer.control!r} in group {group_control}",
                position=answer.position,
                segment="AK2",
                element_position=2,
                element_ref="329",
                value=answer.control,
                loop_id="AK2",
            )
        acked.append((document, STATUS[answer.status], answer.errors))

    order_ids: set[int] = set()
    for document, status, errors in acked:
        document.ack_status = status
        document.ack_errors = errors
        document.acked_at = ctx.now
        if document.order_id:
            order_ids.add(document.order_id)
    Document.objects.bulk_update(
        [doc for doc, _, _ in acked], ["ack_status", "ack_errors", "acked_at"]
    )
    latest = {doc.order_id: status for doc, status, _ in acked if doc.order_id}
    for order_id in sorted(order_ids):
        vendor_id = ctx.vendor_id
        state, _ = OrderEdiState.objects.get_or_create(
            order_id=order_id, defaults={"vendor_id": vendor_id}
        )
        OrderEdiState.objects.filter(pk=state.pk).update(ack_997=latest[order_id])
    ctx.order_ids.extend(sorted(order_ids))
    only = next(iter(order_ids)) if len(order_ids) == 1 else None
    ctx.document_record(order=acked[0][0].order if only else None)
