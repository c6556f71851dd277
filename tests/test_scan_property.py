"""Property: whatever text a scanner sends (any Unicode, lone surrogates and control
characters included, in any field of any event or around the events), the scan API
answers 200 or a 4xx in the error shape, never a 5xx; and what is stored is exactly
the events answered `accepted`, each with its ledger row: never a partial write."""

from __future__ import annotations

import json
import uuid

import pytest
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stocking.models import Bin, LedgerEntry, ScanEvent
from tests.conftest import bearer, scan

URL = "/api/v1/scans"
PROPERTY = settings(
    max_examples=60,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Every code point: surrogates (Cs) and controls (Cc) are what breaks things.
ANY_CHAR = st.characters(exclude_categories=())
NASTY = st.sampled_from(["\ud800", "\udfff", "\x00", "\x1f", "\x7f", "\x85", "\u2028", "\ufeff"])
ANY_TEXT = st.one_of(
    st.text(ANY_CHAR, max_size=80),
    st.builds(lambda a, b, c: a + b + c, st.text(max_size=10), NASTY, st.text(max_size=10)),
)
FIELDS = ["event_id", "kind", "code", "location", "occurred_at", "quantity", "gross_grams"]


@st.composite
def event(draw, labels: list[str]) -> dict:
    raw = scan(draw(st.sampled_from(["issue", "receive", "count"])), draw(st.sampled_from(labels)))
    raw["quantity"] = draw(st.integers(1, 5))
    for field in draw(st.lists(st.sampled_from(FIELDS), max_size=3, unique=True)):
        raw[field] = draw(ANY_TEXT)
    if draw(st.booleans()):
        raw[draw(ANY_TEXT)] = draw(ANY_TEXT)  # a key nobody reads
    return raw


@pytest.fixture
def cw(world):
    return world["a"].customers[0]


@PROPERTY
@given(data=st.data())
def test_any_text_in_any_event_never_5xx_and_stores_exactly_the_accepted(cw, data):
    labels = [b.label for b in cw.bins]
    events = data.draw(st.lists(event(labels), min_size=1, max_size=6))
    body: dict = {"scans": events}
    if data.draw(st.integers(0, 9)) == 0:
        body[data.draw(ANY_TEXT)] = data.draw(ANY_TEXT)  # text outside the events
    before = set(ScanEvent.objects.values_list("event_id", flat=True))
    text = json.dumps(body)  # a lone surrogate is written as \ud800, as a client would
    resp = bearer(cw.token).post(URL, text.encode(), content_type="application/json")

    assert resp.status_code < 500, resp.content[:300]
    answer = resp.json()
    new = set(ScanEvent.objects.values_list("event_id", flat=True)) - before
    if resp.status_code != 200:
        assert set(answer["error"]) >= {"code", "detail", "field"}
        assert new == set()
        return
    accepted = {uuid.UUID(r["event_id"]) for r in answer["results"] if r["status"] == "accepted"}
    assert new == accepted
    assert LedgerEntry.objects.filter(scan_event__event_id__in=accepted).count() == len(accepted)
    for found in Bin.objects.filter(pk__in=[b.pk for b in cw.bins]):
        ledger = LedgerEntry.objects.filter(bin=found).aggregate(total=Sum("delta"))["total"]
        assert found.on_hand == ledger
