"""Property: any Unicode in an interchange (lone surrogates and control characters
included) is read by the codec or refused with X12Error, never another exception; and
posted to the inbox it is answered 200 or 400, never a 5xx, with nothing half-applied."""

# ruff: noqa: F811  (the `released` fixture is imported by name and taken as an argument)

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edi.x12 import X12Error, interchange_parse
from replenishment.models import OrderEvent
from tests.edi.vectors import fill
from tests.edi.vectors.fixtures import INBOX, released  # noqa: F401

ANY_CHAR = st.characters(exclude_categories=())
NASTY = st.sampled_from(["\ud800", "\udfff", "\x00", "\x1c", "\x7f", "\x85", "\u2028", "\ufeff"])
ANY_TEXT = st.one_of(
    st.text(ANY_CHAR, min_size=1, max_size=20),
    st.builds(lambda a, b: a + b, st.text(max_size=5), NASTY),
)
FAST = settings(max_examples=200, derandomize=True, database=None, deadline=None)


@st.composite
def spliced(draw, base: str) -> str:
    """The interchange with 1 to 3 pieces of arbitrary text put in, mostly past the ISA."""
    text = base
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0 if draw(st.integers(0, 4)) == 0 else 106, len(text)))
        cut = draw(st.integers(0, 2))
        text = text[:at] + draw(ANY_TEXT) + text[at + cut :]
    return text


BASE = (
    "ISA*00*          *00*          *ZZ*ERPRECEIVER    *ZZ*CMIPLATFORM    *251122*1200*U*00401*"
    "000000101*0*T*>~\nGS*PR*ERPRCV*CMIPLAT*20251122*1200*7*X*004010~\nST*855*0001~\n"
    "BAK*00*AC*PO-1*20251122~\nPO1*1*50*EA*0.25**VP*SKU-1~\nACK*IA*50*EA~\nCTT*1*50~\n"
    "SE*6*0001~\nGE*1*7~\nIEA*1*000000101~\n"
)


@FAST
@given(text=spliced(BASE))
def test_the_codec_reads_or_refuses_any_unicode(text):
    assert interchange_parse(BASE).groups  # the base itself is sound
    with contextlib.suppress(X12Error):
        interchange_parse(text)
    with contextlib.suppress(X12Error):
        interchange_parse(text.encode("utf-8", "surrogatepass"))


@pytest.mark.django_db
@settings(
    max_examples=40,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_the_inbox_answers_any_unicode_without_a_5xx_or_a_partial_write(released, data):
    base = fill(
        "855_mixed.x12",
        ISA13=data.draw(st.integers(1, 999_999_999)),
        DELIVERY="20251205",
        **released.values(),
    ).decode()
    text = data.draw(spliced(base))
    lines = list(
        released.order.lines.order_by("pk").values_list("quantity_ordered", "quantity_shipped")
    )
    events = OrderEvent.objects.count()
    status = released.refresh().status
    resp = released.post(text.encode("utf-8", "surrogatepass"))
    assert resp.status_code in (200, 400), (resp.status_code, resp.content[:300])
    body = resp.json()
    assert isinstance(body["interchange"], int)
    if resp.status_code == 400:  # nothing applied: the order is as it was
        assert released.refresh().status == status
        assert (
            list(
                released.order.lines.order_by("pk").values_list(
                    "quantity_ordered", "quantity_shipped"
                )
            )
            == lines
        )
        assert OrderEvent.objects.count() == events
