"""cmi/rows.py: one statement per call, and what it stores is what the ORM would store."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from decimal import Decimal

import pytest
from django.db import DataError, connection, transaction
from django.test.utils import CaptureQueriesContext

from cmi.models import VendorSequence
from cmi.rows import (
    array_literal,
    rows_insert,
    rows_insert_values,
    rows_update,
    rows_update_values,
)
from stocking.models import Bin, LedgerEntry, ScanEvent
from tests.factories import vendor_world

pytestmark = pytest.mark.django_db

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")


@pytest.fixture
def cw():
    return vendor_world("rows", customers=1).customers[0]


def _event_row(cw, b, *, at, grams, quantity, kanban=False):
    return (
        cw.customer.vendor_id,
        cw.customer.pk,
        uuid.uuid4(),
        b.pk,
        "weight",
        "CODE-1",
        "",
        quantity,
        grams,
        at,
        at,
        cw.device.pk,
        None,
        kanban,
    )


FIELDS = (
    "vendor_id", "customer_id", "event_id", "bin_id", "kind", "code", "location_code",
    "quantity", "gross_grams", "occurred_at", "received_at", "device_id", "user_id",
    "kanban_pending",
)  # fmt: skip


def test_insert_values_stores_what_the_orm_reads_back_and_returns_keys_in_row_order(cw):
    """Microseconds and zones of datetimes, decimals, UUIDs, nulls and booleans round-trip;
    the keys returned line up with the rows given; one statement for all rows."""
    at = dt.datetime(2026, 3, 9, 17, 59, 59, 123456, tzinfo=CHICAGO)
    rows = [
        _event_row(cw, cw.bins[i % 3], at=at + dt.timedelta(seconds=i), grams=g, quantity=q)
        for i, (g, q) in enumerate([(Decimal("1234.567"), None), (None, 5), (Decimal("0"), 0)])
    ]
    rows.append(_event_row(cw, cw.bins[0], at=at, grams=None, quantity=1, kanban=True))
    with CaptureQueriesContext(connection) as ctx:
        pks = rows_insert_values(ScanEvent, FIELDS, rows)
    assert len(ctx.captured_queries) == 1
    assert len(pks) == len(rows)
    stored = {e.pk: e for e in ScanEvent.objects.filter(pk__in=pks)}
    for pk, row in zip(pks, rows, strict=True):
        e = stored[pk]
        assert e.event_id == row[2]
        assert e.bin_id == row[3]
        assert e.quantity == row[7]
        assert e.gross_grams == row[8]
        assert e.occurred_at == row[9]
        assert e.kanban_pending is row[13]
        assert e.user_id is None


def test_update_values_writes_the_listed_columns_of_each_row_by_key(cw):
    """Only the named columns change, each row by its own key, in one statement."""
    b0, b1, b2 = cw.bins
    when = dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC)
    with CaptureQueriesContext(connection) as ctx:
        written = rows_update_values(
            Bin,
            ["on_hand", "last_count_at", "tare_grams"],
            [(b0.pk, 7, when, Decimal("12.345")), (b1.pk, 0, None, None)],
        )
    assert written == 2 and len(ctx.captured_queries) == 1
    b0.refresh_from_db(), b1.refresh_from_db()
    assert (b0.on_hand, b0.last_count_at, b0.tare_grams) == (7, when, Decimal("12.345"))
    assert (b1.on_hand, b1.last_count_at, b1.tare_grams) == (0, None, None)
    untouched = Bin.objects.get(pk=b2.pk)
    assert (untouched.on_hand, untouched.label) == (b2.on_hand, b2.label)


def test_rows_insert_and_rows_update_set_keys_and_auto_now_as_the_orm_does(cw):
    """rows_insert gives each object its new key; rows_update applies auto_now to a
    listed updated_at."""
    b = cw.bins[0]
    event_pk = rows_insert_values(
        ScanEvent, FIELDS, [_event_row(cw, b, at=dt.datetime.now(dt.UTC), grams=None, quantity=2)]
    )[0]
    entries = [
        LedgerEntry(
            vendor_id=b.vendor_id,
            customer_id=b.customer_id,
            bin_id=b.pk,
            kind="issue",
            quantity=2,
            delta=-2,
            on_hand_after=b.on_hand - 2,
            scan_event_id=event_pk,
            occurred_at=dt.datetime.now(dt.UTC),
            received_at=dt.datetime.now(dt.UTC),
            expiry=dt.date(2027, 5, 31),
            lot="L-1",
        )
    ]
    rows_insert(LedgerEntry, entries)
    assert entries[0].pk is not None and not entries[0]._state.adding
    stored = LedgerEntry.objects.get(pk=entries[0].pk)
    assert (stored.expiry, stored.lot, stored.applied) == (dt.date(2027, 5, 31), "L-1", True)
    before = Bin.objects.get(pk=b.pk).updated_at
    b.on_hand = 3
    assert rows_update(Bin, [b], ["on_hand", "updated_at"]) == 1
    after = Bin.objects.get(pk=b.pk)
    assert after.on_hand == 3 and after.updated_at > before


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite does not enforce lengths")
def test_an_overlong_text_fails_as_the_orm_would_rather_than_being_cut(cw):
    """Values are cast to text, not to varchar(n): the column's own length is enforced."""
    row = list(_event_row(cw, cw.bins[0], at=dt.datetime.now(dt.UTC), grams=None, quantity=1))
    row[4] = "x" * 9  # kind is varchar(8)
    with pytest.raises(DataError), transaction.atomic():
        rows_insert_values(ScanEvent, FIELDS, [row])


def test_vendor_sequence_counts_from_one_in_one_statement_per_value(cw):
    """next_value creates the counter at 1 and adds one on each call, one statement each."""
    vendor_id = cw.customer.vendor_id
    with CaptureQueriesContext(connection) as ctx, transaction.atomic():
        values = [
            VendorSequence.next_value(vendor_id=vendor_id, name="rows-test") for _ in range(3)
        ]
    assert values == [1, 2, 3]
    assert len([q for q in ctx.captured_queries if "vendorsequence" in q["sql"]]) == 3
    assert VendorSequence.objects.get(vendor_id=vendor_id, name="rows-test").value == 3


def test_vendor_sequence_takes_several_numbers_in_one_statement(cw):
    """next_value with a step creates the counter at the step and returns the last of
    the numbers taken: 3 then 5 numbers are 1-3 and 4-8."""
    vendor_id = cw.customer.vendor_id
    with CaptureQueriesContext(connection) as ctx, transaction.atomic():
        first = VendorSequence.next_value(vendor_id=vendor_id, name="steps", step=3)
        second = VendorSequence.next_value(vendor_id=vendor_id, name="steps", step=5)
    assert (first, second) == (3, 8)
    assert len([q for q in ctx.captured_queries if "vendorsequence" in q["sql"]]) == 2
    assert VendorSequence.objects.get(vendor_id=vendor_id, name="steps").value == 8


def test_vendor_sequence_takes_several_counters_in_one_statement_in_name_order(cw):
    """next_values creates and advances several counters in one upsert, each by its
    own step; the rows are written (so locked) in name order whatever order is given,
    so two callers taking overlapping sets cannot deadlock."""
    vendor_id = cw.customer.vendor_id
    VendorSequence.next_value(vendor_id=vendor_id, name="b-set", step=4)
    with CaptureQueriesContext(connection) as ctx, transaction.atomic():
        got = VendorSequence.next_values(vendor_id=vendor_id, steps={"c-set": 1, "b-set": 2})
        again = VendorSequence.next_values(vendor_id=vendor_id, steps={"b-set": 1, "a-set": 3})
    assert got == {"b-set": 6, "c-set": 1}
    assert again == {"a-set": 3, "b-set": 7}
    sql = [q["sql"] for q in ctx.captured_queries if "vendorsequence" in q["sql"]]
    assert len(sql) == 2
    assert sql[0].index("'b-set'") < sql[0].index("'c-set'")
    assert sql[1].index("'a-set'") < sql[1].index("'b-set'")


def test_array_literal_is_what_postgresql_reads_as_the_array():
    """Ids and prices as one literal: cast in the statement, the same numbers come back;
    None (no number) is refused rather than sent."""
    assert array_literal([3, 1, 2]) == "{3,1,2}"
    assert array_literal(n for n in ()) == "{}"
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(
                "SELECT %s::bigint[], %s::numeric[]",
                [array_literal([3, 10**12]), array_literal([Decimal("1.2500"), Decimal("0")])],
            )
            assert cur.fetchone() == ([3, 10**12], [Decimal("1.2500"), Decimal("0")])
    with pytest.raises(ValueError):
        array_literal([1, None])
