"""What an interchange costs in queries does not grow with its lines."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import bearer
from tests.edi.vectors import ERP_GS, ERP_ISA, OUR_GS, OUR_ISA, next_control, partner_for
from tests.edi.vectors.fixtures import INBOX, release
from tests.factories import vendor_world

pytestmark = pytest.mark.django_db


def _envelope(functional_id: str, body: list[str]) -> bytes:
    """One set in one group, counted and controlled: for sizes the vectors do not have."""
    isa13, gs06 = next_control(), next_control()
    set_id = {"PR": "855", "SH": "856"}[functional_id]
    segments = [
        f"ISA*00*          *00*          *ZZ*{ERP_ISA:<15}*ZZ*{OUR_ISA:<15}*251122*1200*U*00401*{isa13:09d}*0*T*>",
        f"GS*{functional_id}*{ERP_GS}*{OUR_GS}*20251122*1200*{gs06}*X*004010",
        f"ST*{set_id}*0001",
        *body,
        f"SE*{len(body) + 2}*0001",
        f"GE*1*{gs06}",
        f"IEA*1*{isa13:09d}",
    ]
    return "".join(s + "~\n" for s in segments).encode()


def _order(code: str, items: int):
    vw = vendor_world(code, customers=1, items=items)
    partner_for(vw.vendor)
    order = release(vw)
    lines = list(order.lines.select_related("item").order_by("line_number"))
    return vw, order, lines


def _queries(vw, payload: bytes) -> int:
    client = bearer(vw.erp_key)
    with CaptureQueriesContext(connection) as ctx:
        resp = client.post(INBOX, data=payload, content_type="text/plain")
    assert resp.status_code == 200, resp.json()
    assert resp.json()["sets"][0]["status"] == "accepted", resp.json()
    return len(ctx.captured_queries)


def _855(order, lines) -> bytes:
    body = [f"BAK*00*AC*{order.po_number}*20251122"]
    for line in lines:
        body += [f"PO1*{line.line_number}*50*EA*1**VP*{line.item.sku}", "ACK*IQ*40*EA"]
    return _envelope("PR", body)


def _856(order, lines) -> bytes:
    body = ["BSN*00*S1*20251123*1015", "HL*1**S", "HL*2*1*O", f"PRF*{order.po_number}"]
    for index, line in enumerate(lines, start=3):
        body += [f"HL*{index}*2*I", f"LIN*{line.line_number}*VP*{line.item.sku}", "SN1**40*EA"]
    return _envelope("SH", body)


@pytest.mark.parametrize("build", [_855, _856], ids=["855", "856"])
def test_query_count_does_not_grow_with_lines(build):
    small = _order("small", 3)
    large = _order("large", 12)
    assert len(large[2]) == 12
    few = _queries(small[0], build(small[1], small[2]))
    many = _queries(large[0], build(large[1], large[2]))
    assert few == many, (few, many)
