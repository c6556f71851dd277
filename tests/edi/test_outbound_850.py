"""Every released order gets an 850 in the outbox, parsable, with the envelope right."""

from __future__ import annotations

import pytest

from edi.models import Document, TradingPartner
from edi.x12 import interchange_parse
from replenishment.services import bins_evaluate
from stocking.models import Bin


def partner_for(vendor, **extra) -> TradingPartner:
    return TradingPartner.objects.create(
        vendor=vendor,
        isa_sender_id="CMIPLATFORM",
        isa_receiver_id="ERPRECEIVER",
        gs_sender="CMIPLAT",
        gs_receiver="ERPRCV",
        **extra,
    )


@pytest.fixture
def released(world):
    va = world["a"]
    partner_for(va.vendor)
    cw = va.customers[0]
    Bin.objects.filter(pk__in=[b.pk for b in cw.bins]).update(on_hand=0)
    (order_id,) = bins_evaluate(vendor_id=va.vendor.pk, bin_ids=[b.pk for b in cw.bins])
    return va, cw, order_id


def test_release_writes_one_850_that_parses_back(released):
    va, cw, order_id = released
    doc = Document.objects.get(order_id=order_id, transaction_set="850")
    ic = interchange_parse(bytes(doc.payload))
    assert ic.control_number == doc.isa_control and ic.groups[0].control_number == doc.gs_control
    (tset,) = ic.groups[0].sets
    tags = [s.tag for s in tset.segments]
    assert tags[:2] == ["BEG", "CUR"] and tags[-1] == "CTT"
    po1 = [s for s in tset.segments if s.tag == "PO1"]
    assert len(po1) == 3
    beg = tset.segments[0].elements
    assert beg[0] == "00" and beg[1] == "SA" and beg[2].startswith("AC")
    ctt = tset.segments[-1].elements
    assert ctt[0] == "3" and int(ctt[1]) == sum(int(s.elements[1]) for s in po1)
    assert "BP" in po1[0].elements and "CPN-0001" in po1[0].elements
    assert "EN" in po1[0].elements
