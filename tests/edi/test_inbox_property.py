"""Whatever is posted to the inbox, the answer is 200 or 400 with the error shape:
never a 500. Arbitrary bytes, and (more telling) a sound interchange with random
damage, which gets past the envelope far more often."""

# ruff: noqa: F811  (the `released` fixture is imported by name and taken as an argument)

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.edi.vectors import fill
from tests.edi.vectors.fixtures import INBOX, released  # noqa: F401

pytestmark = pytest.mark.django_db

PROPERTY = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _answer_is_sound(resp) -> None:
    assert resp.status_code in (200, 400), (resp.status_code, resp.content[:500])
    body = resp.json()
    assert isinstance(body["interchange"], int)
    if resp.status_code == 400:
        assert set(body["error"]) >= {
            "code",
            "detail",
            "field",
            "segment_position",
            "segment_tag",
            "element_position",
        }


@PROPERTY
@given(payload=st.binary(max_size=400))
def test_arbitrary_bytes_never_give_a_500(released, payload):
    _answer_is_sound(released.erp.post(INBOX, data=payload, content_type="application/edi-x12"))


# Separators, digits, letters, a line break, a stray byte, and characters that look
# like digits to str.isdigit() but not to int().
PIECES = [bytes([b]) for b in b"*~>^:0123456789ABZ \n\xff"] + ["²".encode(), "١".encode()]


@st.composite
def damaged(draw, base: bytes) -> bytes:
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["replace", "replace", "delete", "insert", "truncate"]))
        # Mostly past the ISA: damage there is refused early, damage in a set goes deep.
        low = draw(st.sampled_from([0, 110, 110, 110]))
        at = draw(st.integers(min(low, max(len(data) - 1, 0)), max(len(data) - 1, 0)))
        piece = draw(st.sampled_from(PIECES))
        if kind == "replace" and data:
            data[at : at + 1] = piece
        elif kind == "delete" and data:
            del data[at]
        elif kind == "insert":
            data[at:at] = piece
        else:
            del data[at:]
    return bytes(data)


@PROPERTY
@given(data=st.data())
def test_damaged_interchanges_never_give_a_500(released, data):
    vector = data.draw(
        st.sampled_from(["855_mixed.x12", "856_sopi.x12", "810_implied.x12", "997_errors.x12"])
    )
    base = fill(
        vector,
        ISA13=data.draw(st.integers(1, 999_999_999)),
        DELIVERY="20251205",
        SHIPMENT="S-1",
        QTY2=30,
        INVOICE=f"INV-{data.draw(st.integers(1, 10**6))}",
        TDS="7250",
        ACK_GS=released.po850.gs_control,
        ACK_ST=released.po850.st_control,
        **released.values(),
    )
    payload = data.draw(damaged(base))
    _answer_is_sound(released.erp.post(INBOX, data=payload, content_type="text/plain"))
