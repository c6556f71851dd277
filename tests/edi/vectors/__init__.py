"""Hand-written X12 test vectors and the few helpers that fill them in.

The .x12 files beside this module are whole interchanges as a partner would send
them, with {PLACEHOLDERS} for what differs per test (PO numbers, control
numbers, SKUs). ISA fields are padded to their fixed widths when filled, so the
files stay readable and the envelope stays exact.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

from edi.models import Document, TradingPartner
from edi.x12 import interchange_parse
from replenishment.models import Order

HERE = Path(__file__).resolve().parent
ERP_ISA = "ERPRECEIVER"
OUR_ISA = "CMIPLATFORM"
ERP_GS = "ERPRCV"
OUR_GS = "CMIPLAT"
_control = itertools.count(101)
_PLACEHOLDER = re.compile(r"\{[A-Z0-9_]+\}")


def partner_for(vendor, **extra) -> TradingPartner:
    return TradingPartner.objects.create(
        vendor=vendor,
        isa_sender_id=OUR_ISA,
        isa_receiver_id=ERP_ISA,
        gs_sender=OUR_GS,
        gs_receiver=ERP_GS,
        **extra,
    )


def next_control() -> int:
    return next(_control)


def fill(name: str, **values: object) -> bytes:
    """The vector `name` with its placeholders filled; a fresh ISA13 and GS06 unless given."""
    text = (HERE / name).read_text()
    values = {
        "ISA06": ERP_ISA,
        "ISA08": OUR_ISA,
        "GS02": ERP_GS,
        "GS03": OUR_GS,
        "ISA13": next_control(),
        "GS06": next_control(),
        "GS06B": next_control(),
        **values,
    }
    for key, value in values.items():
        if key in ("ISA06", "ISA08"):
            value = str(value).ljust(15)
        elif key == "ISA13":
            value = str(value).zfill(9)
        text = text.replace("{" + key + "}", str(value))
    left = _PLACEHOLDER.search(text)
    assert left is None, f"{name}: {left.group()} not filled"
    return text.encode()


def order_values(order: Order) -> dict[str, str]:
    """PO number and the SKUs of lines 1..n, as the vectors name them."""
    lines = list(order.lines.select_related("item").order_by("line_number"))
    values = {"PO": order.po_number or ""}
    for line in lines:
        values[f"SKU{line.line_number}"] = line.item.sku
    return values


def purchase_order_of(order: Order) -> Document:
    return Document.objects.get(order=order, transaction_set="850", direction="out")


def ack_body(document: Document) -> list[tuple[str, list]]:
    """The 997 we wrote, as (tag, elements) of its one set's body."""
    ic = interchange_parse(bytes(document.payload))
    (group,) = ic.groups
    assert group.functional_id == "FA"
    (tset,) = group.sets
    assert tset.id == "997"
    return [(s.tag, s.elements) for s in tset.segments]
