"""RFID: kanban cards at a drop box, tagged items counted by cabinet read cycles."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from epcpy.epc_schemes.sgtin import SGTIN, SGTINFilterValue

from cmi.errors import ApiError
from cmi.history import history_rewrite_for_tests_and_benchmarks
from stocking import rfid
from stocking.models import (
    Bin,
    LedgerEntry,
    RfidCycle,
    RfidMode,
    RfidTag,
    RfidTagMovement,
    RfidUnknownTag,
    ScanEvent,
)
from stocking.services import on_hand_rebuild
from tests.conftest import bearer, scan

URL = "/api/v1/rfid/reads"


def sgtin(item, serial, *, long: bool = False) -> str:
    """The EPC hex of an item's tag: SGTIN-96 (numeric serial) or SGTIN-198 (text)."""
    gtin = item.barcodes.first().code.zfill(14)
    scheme = SGTIN.BinaryCodingScheme.SGTIN_198 if long else SGTIN.BinaryCodingScheme.SGTIN_96
    return SGTIN.from_gtin_plus_serial(gtin, str(serial), 7).hex(
        binary_coding_scheme=scheme, filter_value=SGTINFilterValue.POS_ITEM
    )


class Reader:
    """A reader of one customer and the cycles it posts (each a minute after the last)."""

    def __init__(self, vw, cw, mode, antennas=2):
        self.vw, self.cw = vw, cw
        self.reader, self.token = rfid.rfid_reader_create(
            scope=vw.scope,
            customer_id=cw.customer.pk,
            name=f"{mode} reader",
            site_id=cw.site.pk,
            mode=mode,
            antenna_count=antennas,
        )
        self.clock = timezone.now() - dt.timedelta(hours=1)
        self.antennas = list(range(1, antennas + 1))

    def body(self, epcs, *, cycle_id=None, fault=False, antennas=None, start=None, end=None):
        self.clock += dt.timedelta(minutes=1)
        start = start or self.clock - dt.timedelta(seconds=20)
        end = end or self.clock
        return {
            "cycle_id": cycle_id or str(uuid.uuid4()),
            "started_at": start.isoformat(),
            "ended_at": end.isoformat(),
            "antennas": self.antennas if antennas is None else antennas,
            "fault": fault,
            "epcs": [e if isinstance(e, dict) else {"epc": e, "antenna": 1} for e in epcs],
        }

    def post(self, epcs=(), **kw):
        return bearer(self.token).post(URL, self.body(list(epcs), **kw), format="json")

    def cycle(self, epcs=(), **kw):
        resp = self.post(epcs, **kw)
        assert resp.status_code == 200, resp.content
        return resp.json()


def make_card(vw, cw, b, epc):
    """A card of a bin: a read by a reader whose clock runs an hour back still orders."""
    card = rfid.rfid_card_create(
        scope=vw.scope, customer_id=cw.customer.pk, bin_label=b.label, epc=epc
    )
    assert card.armed and card.armed_at is None  # armed since made: no read is too early
    return card


def reasons(answer):
    return [(r["status"], r["reason"]) for r in answer["results"]]


@pytest.fixture
def vw(world):
    return world["a"]


@pytest.fixture
def cw(vw):
    """Customer 0 of vendor A: bins of items 0-2 at its shelf, 30 on hand, counted a day ago."""
    day_ago = timezone.now() - dt.timedelta(days=1)
    Bin.objects.update(last_count_at=day_ago)
    with history_rewrite_for_tests_and_benchmarks():
        LedgerEntry.objects.update(occurred_at=day_ago)
    return vw.customers[0]


@pytest.fixture
def kanban_bin(cw):
    b = cw.bins[0]
    Bin.objects.filter(pk=b.pk).update(kanban_quantity=20, min_qty=0, max_qty=0)
    b.refresh_from_db()
    return b


# --- decoding ---------------------------------------------------------------------------


def test_sgtin_96_and_198_decode_to_gtin_and_serial(vw):
    item = vw.items[0]
    gtin = item.barcodes.first().code.zfill(14)
    assert rfid.epc_decode(sgtin(item, 6789)) == rfid.Sgtin(gtin=gtin, serial="6789")
    assert rfid.epc_decode(sgtin(item, "AB-c9x", long=True)) == rfid.Sgtin(
        gtin=gtin, serial="AB-c9x"
    )
    # a GTIN-14 matches an item barcode written as EAN-13 or UPC-A
    assert item.barcodes.first().code in rfid.gtin_codes(gtin)


@pytest.mark.parametrize(
    "epc", ["E28011606000020000000001", "000000000000000000000000", "3FFFFFFFFFFFFFFFFFFFFFFF"]
)
def test_other_epcs_do_not_decode(epc):
    assert rfid.epc_decode(epc) is None


@pytest.mark.parametrize("value", ["", "zz12", "1234567", "ab" * 63, 12, None])
def test_epc_check_refuses_non_hex_and_odd_sizes(value):
    with pytest.raises(ApiError) as err:
        rfid.epc_check(value)
    assert err.value.error_code == "invalid_epc"


# --- kanban drop box --------------------------------------------------------------------


def test_drop_box_read_of_an_armed_card_is_one_kanban_signal(vw, cw, kanban_bin):
    box = Reader(vw, cw, RfidMode.DROP_BOX, antennas=1)
    card = make_card(vw, cw, kanban_bin, "e2000000000000000000aa01")
    answer = box.cycle([card.epc, card.epc])
    assert answer["status"] == "applied"
    assert reasons(answer) == [("applied", None), ("ignored", "duplicate")]
    assert answer["results"][0]["bin"] == kanban_bin.label
    events = ScanEvent.objects.filter(bin=kanban_bin, kind="kanban")
    assert events.count() == 1 and events.get().device_id == box.reader.device_id
    card.refresh_from_db()
    assert card.armed is False
    # the card is still in the box: the next cycles (overlapping or not) never order again
    again = box.cycle([card.epc], start=box.clock - dt.timedelta(minutes=2))
    assert reasons(again) == [("ignored", "card_disarmed")]
    assert reasons(box.cycle([card.epc])) == [("ignored", "card_disarmed")]
    assert ScanEvent.objects.filter(bin=kanban_bin, kind="kanban").count() == 1


def test_receipt_of_the_refill_re_arms_the_card(vw, cw, kanban_bin):
    box = Reader(vw, cw, RfidMode.DROP_BOX, antennas=1)
    card = make_card(vw, cw, kanban_bin, "E2000000000000000000AA02")
    box.cycle([card.epc])
    read_before = box.clock
    resp = bearer(cw.token).post(
        "/api/v1/scans", {"scans": [scan("receive", kanban_bin.label, quantity=20)]}, format="json"
    )
    assert resp.json()["accepted"] == 1
    card.refresh_from_db()
    assert card.armed is True
    # a read reported late, from before the re-arming, was the previous drop
    late = box.cycle([{"epc": card.epc, "last_seen": read_before.isoformat()}])
    assert reasons(late) == [("ignored", "late_read")]
    box.clock = timezone.now()
    assert reasons(box.cycle([card.epc])) == [("applied", None)]
    assert ScanEvent.objects.filter(bin=kanban_bin, kind="kanban").count() == 2


def test_a_person_re_arms_a_card(vw, cw, kanban_bin):
    box = Reader(vw, cw, RfidMode.DROP_BOX, antennas=1)
    card = make_card(vw, cw, kanban_bin, "E2000000000000000000AA03")
    box.cycle([card.epc])
    rfid.rfid_card_rearm(scope=vw.scope, customer_id=cw.customer.pk, card_id=card.pk)
    box.clock = timezone.now()
    assert reasons(box.cycle([card.epc])) == [("applied", None)]


def test_other_customers_card_and_unknown_epcs_are_ignored(vw, cw, kanban_bin):
    other = vw.customers[1]
    Bin.objects.filter(pk=other.bins[0].pk).update(kanban_quantity=5, min_qty=0, max_qty=0)
    theirs = make_card(vw, other, other.bins[0], "E2000000000000000000BB01")
    box = Reader(vw, cw, RfidMode.DROP_BOX, antennas=1)
    answer = box.cycle([theirs.epc, "E2000000000000000000CC01"])
    assert reasons(answer) == [("ignored", "other_customer"), ("ignored", "unknown")]
    assert not ScanEvent.objects.filter(kind="kanban").exists()
    theirs.refresh_from_db()
    assert theirs.armed is True
    assert list(
        RfidUnknownTag.objects.filter(customer=cw.customer).values_list("epc", flat=True)
    ) == ["E2000000000000000000CC01"]


def test_a_card_must_name_a_kanban_bin(vw, cw):
    with pytest.raises(ApiError) as err:
        rfid.rfid_card_create(
            scope=vw.scope,
            customer_id=cw.customer.pk,
            bin_label=cw.bins[1].label,
            epc="E2000000000000000000AA09",
        )
    assert err.value.error_code == "not_kanban_bin"


# --- tagged-item cabinet ----------------------------------------------------------------


def test_cabinet_first_cycle_counts_then_gone_tags_are_issues_and_new_ones_receipts(vw, cw):
    cab = Reader(vw, cw, RfidMode.CABINET)
    item, b = vw.items[0], cw.bins[0]
    tags = [sgtin(item, n) for n in range(1, 7)]
    first = cab.cycle(tags)
    assert first["applied"] == 6 and {r["bin"] for r in first["results"]} == {b.label}
    b.refresh_from_db()
    assert b.on_hand == 6  # the distinct tags are the count
    count = LedgerEntry.objects.filter(bin=b, kind="count").latest("id")
    assert count.quantity == 6

    cab.cycle(tags[2:])  # two taken
    b.refresh_from_db()
    assert b.on_hand == 4
    issue = LedgerEntry.objects.filter(bin=b, kind="issue").get()
    assert (issue.quantity, issue.delta) == (2, -2)
    assert sorted(
        RfidTagMovement.objects.filter(ledger_entry=issue).values_list("serial", flat=True)
    ) == ["1", "2"]
    assert RfidTag.objects.filter(epc__in=tags[:2], present=False).count() == 2

    new = sgtin(item, "LOT7-A", long=True)
    cab.cycle([*tags[2:], new, tags[0]])  # one new, one back
    b.refresh_from_db()
    assert b.on_hand == 6
    receipt = LedgerEntry.objects.filter(bin=b, kind="receive").get()
    assert receipt.quantity == 2
    assert sorted(
        RfidTagMovement.objects.filter(ledger_entry=receipt).values_list("serial", flat=True)
    ) == ["1", "LOT7-A"]
    assert on_hand_rebuild(bin_id=b.pk) == 6  # the ledger tells the same


def test_repeats_inside_a_cycle_and_across_overlapping_cycles_count_once(vw, cw):
    cab = Reader(vw, cw, RfidMode.CABINET)
    item, b = vw.items[0], cw.bins[0]
    tags = [sgtin(item, n) for n in range(1, 4)]
    answer = cab.cycle([tags[0], tags[0], tags[1], tags[2], tags[1]])
    assert [r for r in reasons(answer) if r[1] == "duplicate"] == [("ignored", "duplicate")] * 2
    b.refresh_from_db()
    assert b.on_hand == 3
    before = LedgerEntry.objects.filter(bin=b).count()
    # a cycle that overlaps the last one and sees the same tags changes nothing
    overlap = cab.cycle(tags, start=cab.clock - dt.timedelta(minutes=5))
    assert overlap["applied"] == 3
    b.refresh_from_db()
    assert b.on_hand == 3 and LedgerEntry.objects.filter(bin=b).count() == before


@pytest.mark.parametrize(
    ("kw", "why"),
    [({"fault": True}, "reader_fault"), ({"antennas": [1]}, "antennas_missing")],
)
def test_incomplete_cycle_applies_nothing_and_never_zeroes_a_bin(vw, cw, kw, why):
    cab = Reader(vw, cw, RfidMode.CABINET)
    item, b = vw.items[0], cw.bins[0]
    tags = [sgtin(item, n) for n in range(1, 5)]
    cab.cycle(tags)
    entries = LedgerEntry.objects.filter(bin=b).count()
    answer = cab.cycle([], **kw)  # nothing seen, but the reader was not all there
    assert (answer["status"], answer["reason"]) == ("incomplete", why)
    answer = cab.cycle(tags[:1], **kw)
    assert reasons(answer) == [("ignored", "incomplete_cycle")]
    b.refresh_from_db()
    assert b.on_hand == 4 and LedgerEntry.objects.filter(bin=b).count() == entries
    assert RfidTag.objects.filter(epc__in=tags, present=True).count() == 4
    assert RfidCycle.objects.filter(reader=cab.reader, status="incomplete", reason=why).count() == 2


def test_late_cycle_applies_nothing(vw, cw):
    cab = Reader(vw, cw, RfidMode.CABINET)
    item, b = vw.items[0], cw.bins[0]
    tags = [sgtin(item, n) for n in range(1, 5)]
    cab.cycle(tags)
    latest = cab.clock
    answer = cab.cycle(
        tags[:1], start=latest - dt.timedelta(minutes=9), end=latest - dt.timedelta(minutes=8)
    )
    assert (answer["status"], answer["reason"]) == ("late", "late_cycle")
    assert reasons(answer) == [("ignored", "late_cycle")]
    b.refresh_from_db()
    assert b.on_hand == 4


def test_a_count_scanned_after_the_cycle_keeps_the_cycle_unapplied(vw, cw):
    """The scan ingest's late-event rule holds for cycles: a change that happened before
    the bin's last count is kept with applied=False."""
    cab = Reader(vw, cw, RfidMode.CABINET)
    item, b = vw.items[0], cw.bins[0]
    tags = [sgtin(item, n) for n in range(1, 5)]
    cab.cycle(tags)
    bearer(cw.token).post(
        "/api/v1/scans", {"scans": [scan("count", b.label, quantity=9)]}, format="json"
    )
    cab.cycle(tags[:3], end=timezone.now() - dt.timedelta(seconds=30))
    b.refresh_from_db()
    issue = LedgerEntry.objects.get(bin=b, kind="issue")
    assert (issue.applied, issue.delta, b.on_hand) == (False, 0, 9)


def test_replay_of_a_cycle_id_returns_the_same_answer_and_changes_nothing(vw, cw):
    cab = Reader(vw, cw, RfidMode.CABINET)
    item = vw.items[0]
    body = cab.body([sgtin(item, n) for n in range(1, 4)] + ["E2000000000000000000DD01"])
    first = bearer(cab.token).post(URL, body, format="json").json()
    entries = LedgerEntry.objects.count()
    second = bearer(cab.token).post(URL, body, format="json").json()
    assert first == second
    assert LedgerEntry.objects.count() == entries and RfidCycle.objects.count() == 1
    assert RfidUnknownTag.objects.get().reads == 1


def test_unknown_tags_are_listed_and_assigning_applies_them(vw, cw):
    cab = Reader(vw, cw, RfidMode.CABINET)
    item, b = vw.items[1], cw.bins[1]
    plain = ["E2000000000000000000EE01", "E2000000000000000000EE02"]
    cab.cycle([sgtin(item, 1), *plain])
    b.refresh_from_db()
    assert b.on_hand == 1
    unknown = rfid.unknown_tag_list(scope=vw.scope, customer_id=cw.customer.pk)
    assert sorted(u.epc for u in unknown) == plain
    n = rfid.rfid_unknown_assign(
        scope=vw.scope, customer_id=cw.customer.pk, tag_ids=[u.pk for u in unknown], item_id=item.pk
    )
    assert n == 2
    b.refresh_from_db()
    assert b.on_hand == 3
    assert LedgerEntry.objects.filter(bin=b, kind="receive").get().quantity == 2
    assert not rfid.unknown_tag_list(scope=vw.scope, customer_id=cw.customer.pk).exists()
    # from now on they are the item's tags: the same tags again change nothing
    answer = cab.cycle([sgtin(item, 1), *plain])
    assert reasons(answer) == [("applied", None)] * 3
    b.refresh_from_db()
    assert b.on_hand == 3


def test_sgtin_of_an_unknown_gtin_is_listed_with_its_gtin(vw, cw):
    cab = Reader(vw, cw, RfidMode.CABINET)
    epc = SGTIN.from_gtin_plus_serial("09506000134352", "77", 7).hex(
        binary_coding_scheme=SGTIN.BinaryCodingScheme.SGTIN_96,
        filter_value=SGTINFilterValue.POS_ITEM,
    )
    assert reasons(cab.cycle([epc])) == [("ignored", "unknown")]
    row = RfidUnknownTag.objects.get()
    assert (row.gtin, row.serial) == ("09506000134352", "77")


def test_other_customers_tag_in_a_cabinet_is_ignored(vw, cw):
    other = vw.customers[1]
    theirs = Reader(vw, other, RfidMode.CABINET)
    epc = sgtin(vw.items[0], 5)
    theirs.cycle([epc])
    cab = Reader(vw, cw, RfidMode.CABINET)
    assert reasons(cab.cycle([epc])) == [("ignored", "other_customer")]
    assert RfidTag.objects.get(epc=epc).customer_id == other.customer.pk


# --- the envelope -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"cycle_id": ""}, "missing_cycle_id"),
        ({"cycle_id": "a\x00b"}, "text_invalid"),
        ({"started_at": "yesterday"}, "invalid_time"),
        ({"ended_at": None}, "missing_ended_at"),
        ({"antennas": "1,2"}, "invalid_antennas"),
        ({"antennas": [0]}, "invalid_antenna"),
        ({"fault": "no"}, "invalid_fault"),
        ({"epcs": {"epc": "AA"}}, "invalid_epcs"),
        ({"epcs": [{"epc": "XYZ"}]}, "invalid_epc"),
        ({"epcs": [{"epc": "E2000000000000000000EE01", "rssi": "loud"}]}, "invalid_rssi"),
        ({"epcs": [{"epc": "E2000000000000000000EE01", "tid": "x"}]}, "unknown_field"),
        ({"colour": "red"}, "unknown_field"),
    ],
)
def test_bad_cycles_are_400_with_a_stable_code(vw, cw, change, code):
    cab = Reader(vw, cw, RfidMode.CABINET)
    body = cab.body([]) | change
    resp = bearer(cab.token).post(URL, body, format="json")
    assert resp.status_code == 400, resp.content
    assert resp.json()["error"]["code"] == code


def test_too_many_epcs_not_json_and_a_scanner_token(vw, cw, settings):
    settings.RFID_CYCLE_MAX_EPCS = 3
    cab = Reader(vw, cw, RfidMode.CABINET)
    resp = cab.post([f"E20000000000000000000{n:03d}" for n in range(4)])
    assert (resp.status_code, resp.json()["error"]["code"]) == (413, "too_many_epcs")
    resp = bearer(cab.token).post(URL, b"{nope", content_type="application/json")
    assert (resp.status_code, resp.json()["error"]["code"]) == (400, "not_json")
    resp = bearer(cw.token).post(URL, cab.body([]), format="json")
    assert (resp.status_code, resp.json()["error"]["code"]) == (403, "not_a_reader")
    resp = bearer(cab.token).post(URL, b"", content_type="application/json")
    assert resp.status_code == 400


# --- cost -------------------------------------------------------------------------------


def _queries(vw, cw, n: int) -> list[int]:
    """Queries of a cabinet's first cycle, then one with a third gone and new ones."""
    cab = Reader(vw, cw, RfidMode.CABINET)
    item = vw.items[2]
    tags = [sgtin(item, 10_000 * n + i) for i in range(n)]
    counts = []
    for epcs in (
        tags,
        tags[n // 3 :]
        + [sgtin(item, 99_000 * n + i) for i in range(n // 3)]
        + ["E2000000000000000000FF01"],
    ):
        body = cab.body(epcs)
        with CaptureQueriesContext(connection) as ctx:
            resp = bearer(cab.token).post(URL, body, format="json")
        assert resp.status_code == 200
        counts.append(len(ctx.captured_queries))
    return counts


def test_a_cycle_costs_the_same_queries_at_any_size(vw, world):
    small = _queries(vw, vw.customers[0], 6)
    large = _queries(world["b"], world["b"].customers[0], 120)
    assert small == large, (small, large)
