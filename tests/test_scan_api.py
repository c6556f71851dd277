"""The scan API: the contract scanners integrate against."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from cmi.history import history_rewrite_for_tests_and_benchmarks
from stocking.models import Bin, LedgerEntry, ScanEvent
from stocking.services import on_hand_rebuild
from tests.conftest import bearer, scan

URL = "/api/v1/scans"


def post(token, events):
    return bearer(token).post(URL, {"scans": events}, format="json")


@pytest.fixture
def cw(world):
    """Customer 0 of vendor A; its bins (min 10, max 50, on hand 30) were counted a day ago."""
    day_ago = timezone.now() - dt.timedelta(days=1)
    Bin.objects.update(last_count_at=day_ago)
    with history_rewrite_for_tests_and_benchmarks():
        LedgerEntry.objects.update(occurred_at=day_ago)
    return world["a"].customers[0]


def test_issue_by_bin_label_lowers_on_hand_and_writes_ledger(cw):
    """An issue scanned by bin label is accepted, lowers on-hand and leaves a ledger row."""
    b = cw.bins[0]
    resp = post(cw.token, [scan("issue", b.label, quantity=4)])
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert body["accepted"] == 1 and body["duplicates"] == 0 and body["rejected"] == 0
    assert body["results"][0]["status"] == "accepted" and body["results"][0]["error"] is None
    b.refresh_from_db()
    assert b.on_hand == 26
    entry = LedgerEntry.objects.get(bin=b, kind="issue")
    assert (entry.quantity, entry.delta, entry.on_hand_after, entry.device_id) == (
        4,
        -4,
        26,
        cw.device.pk,
    )


def test_codes_sku_barcode_and_customer_part_number_with_location(cw, world):
    """SKU, item barcode and the customer's part number all find the bin at the given location."""
    item = world["a"].items[0]
    barcode = item.barcodes.first().code
    events = [
        scan("receive", item.sku, location="SHELF-A", quantity=1),
        scan("receive", barcode, location="SHELF-A", quantity=2),
        scan("receive", "CPN-0001", location="SHELF-A", quantity=3),
    ]
    body = post(cw.token, events).json()
    assert body["accepted"] == 3, body
    assert Bin.objects.get(pk=cw.bins[0].pk).on_hand == 36


def test_replayed_batch_is_duplicate_and_changes_nothing(cw):
    """Posting the same batch twice stores it once; the second answer says duplicate."""
    events = [
        scan("issue", cw.bins[0].label, quantity=1),
        scan("issue", cw.bins[1].label, quantity=1),
    ]
    assert post(cw.token, events).json()["accepted"] == 2
    again = post(cw.token, events).json()
    assert again["duplicates"] == 2 and again["accepted"] == 0
    assert [r["status"] for r in again["results"]] == ["duplicate", "duplicate"]
    assert ScanEvent.objects.count() == 2
    assert Bin.objects.get(pk=cw.bins[0].pk).on_hand == 29


def test_another_customers_scanner_may_reuse_an_event_id(world, cw):
    """Event ids are unique per customer: customer 1's scanner sending an id customer 0's
    scanner already used is its own event, accepted and applied, not a duplicate."""
    other = world["a"].customers[1]
    event = scan("issue", cw.bins[0].label, quantity=1)
    assert post(cw.token, [event]).json()["accepted"] == 1
    reused = dict(event, code=other.bins[0].label)
    body = post(other.token, [reused]).json()
    assert [r["status"] for r in body["results"]] == ["accepted"]
    assert Bin.objects.get(pk=other.bins[0].pk).on_hand == 29
    assert ScanEvent.objects.filter(event_id=event["event_id"]).count() == 2
    # And for that customer it is now one event: the replay is a duplicate.
    assert post(other.token, [reused]).json()["duplicates"] == 1
    assert Bin.objects.get(pk=other.bins[0].pk).on_hand == 29


def test_same_event_twice_in_one_batch_counts_once(cw):
    event = scan("issue", cw.bins[0].label, quantity=2)
    body = post(cw.token, [event, dict(event)]).json()
    assert [r["status"] for r in body["results"]] == ["accepted", "duplicate"]
    assert Bin.objects.get(pk=cw.bins[0].pk).on_hand == 28


def test_bad_event_rejected_alone_the_rest_stored(cw):
    """A malformed scan among good ones is rejected with its code; the others are stored."""
    good = [scan("issue", cw.bins[0].label, quantity=1) for _ in range(4)]
    bad = scan("issue", cw.bins[0].label, quantity=-3)
    body = post(cw.token, [*good[:2], bad, *good[2:]]).json()
    assert body["accepted"] == 4 and body["rejected"] == 1
    assert body["results"][2] == {
        "event_id": bad["event_id"],
        "status": "rejected",
        "error": {"code": "invalid_quantity", "detail": body["results"][2]["error"]["detail"]},
    }
    assert not ScanEvent.objects.filter(event_id=bad["event_id"]).exists()
    assert Bin.objects.get(pk=cw.bins[0].pk).on_hand == 26


FUTURE = (timezone.now() + dt.timedelta(days=2)).isoformat()


@pytest.mark.parametrize(
    ("event", "code"),
    [
        ({"kind": "issue", "code": "NOPE", "location": "SHELF-A", "quantity": 1}, "unknown_code"),
        (
            {"kind": "issue", "code": "{sku}", "location": "NOWHERE", "quantity": 1},
            "unknown_location",
        ),
        ({"kind": "issue", "code": "{sku}", "quantity": 1}, "missing_location"),
        ({"kind": "issue", "code": "{label}", "quantity": 0}, "invalid_quantity"),
        ({"kind": "issue", "code": "{label}", "quantity": 10_000_001}, "invalid_quantity"),
        ({"kind": "issue", "code": "{label}", "quantity": "5"}, "invalid_quantity"),
        ({"kind": "issue", "code": "{label}", "quantity": 1.5}, "invalid_quantity"),
        ({"kind": "issue", "code": "{label}", "quantity": True}, "invalid_quantity"),
        ({"kind": "issue", "code": "{label}"}, "missing_quantity"),
        ({"kind": "count", "code": "{label}", "quantity": -1}, "invalid_quantity"),
        ({"kind": "kanban", "code": "{label}"}, "not_kanban_bin"),
        ({"kind": "weight", "code": "{label}", "gross_grams": "abc"}, "invalid_weight"),
        ({"kind": "weight", "code": "{label}"}, "missing_weight"),
        ({"kind": "teleport", "code": "{label}"}, "invalid_kind"),
        ({"kind": "issue", "code": "", "quantity": 1}, "missing_code"),
        ({"kind": "issue", "code": 12, "quantity": 1}, "invalid_code"),
        (
            {"kind": "issue", "code": "{label}", "quantity": 1, "occurred_at": FUTURE},
            "occurred_in_future",
        ),
        (
            {"kind": "issue", "code": "{label}", "quantity": 1, "occurred_at": "yesterday"},
            "invalid_occurred_at",
        ),
        (
            {
                "kind": "issue",
                "code": "{label}",
                "quantity": 1,
                "occurred_at": "1999-01-01T00:00:00Z",
            },
            "invalid_occurred_at",
        ),
        (
            {"kind": "issue", "code": "{label}", "quantity": 1, "occurred_at": None},
            "missing_occurred_at",
        ),
        (
            {"kind": "issue", "code": "{label}", "quantity": 1, "event_id": "not-a-uuid"},
            "invalid_event_id",
        ),
        ({"kind": "issue", "code": "{label}", "quantity": 1, "event_id": None}, "missing_event_id"),
    ],
)
def test_each_bad_event_gets_its_code_and_nothing_is_stored(cw, world, event, code):
    raw = scan("issue", "x")
    raw.update(
        {
            k: (
                v.format(sku=world["a"].items[0].sku, label=cw.bins[0].label)
                if isinstance(v, str)
                else v
            )
            for k, v in event.items()
        }
    )
    if "quantity" not in event and raw.get("kind") != "issue":
        raw.pop("quantity", None)
    resp = post(cw.token, [raw])
    assert resp.status_code == 200
    result = resp.json()["results"][0]
    assert (result["status"], result["error"]["code"]) == ("rejected", code), result
    assert ScanEvent.objects.count() == 0 and LedgerEntry.objects.filter(kind="issue").count() == 0


def test_ambiguous_code_is_rejected(cw, world):
    """A customer part number that is another item's SKU names two items."""
    from catalog.services import cross_reference_create

    item0, item1 = world["a"].items[0], world["a"].items[1]
    cross_reference_create(
        scope=world["a"].scope,
        customer_id=cw.customer.pk,
        item_id=item1.pk,
        kind="part_number",
        code=item0.sku,
    )
    body = post(cw.token, [scan("issue", item0.sku, location="SHELF-A", quantity=1)]).json()
    assert body["results"][0]["error"]["code"] == "ambiguous_code"


def test_item_not_stocked_at_location(cw, world):
    body = post(
        cw.token, [scan("issue", world["a"].items[0].sku, location="ROOM", quantity=1)]
    ).json()
    assert body["results"][0]["error"]["code"] == "not_stocked"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, "not_json"),
        (b"", 400, "not_json"),
        (b'"scans"', 400, "missing_scans"),
        (b"{}", 400, "missing_scans"),
        (b'{"scans": {}}', 400, "invalid_scans"),
        (b'{"scans": []}', 400, "empty_batch"),
        (b'{"scans": [NaN]}', 400, "not_json"),
        (b"\xff\xfe", 400, "not_json"),
    ],
)
def test_malformed_envelope(cw, body, status, code):
    resp = bearer(cw.token).post(URL, body, content_type="application/json")
    assert resp.status_code == status
    assert resp.json()["error"]["code"] == code
    assert ScanEvent.objects.count() == 0


def test_oversize_batch_is_413(cw):
    events = [scan("issue", cw.bins[0].label, quantity=1) for _ in range(1001)]
    resp = post(cw.token, events)
    assert resp.status_code == 413
    assert resp.json()["error"]["code"] == "batch_too_large"
    assert ScanEvent.objects.count() == 0


def test_text_content_type_still_parsed(cw):
    import json

    payload = json.dumps({"scans": [scan("issue", cw.bins[0].label, quantity=1)]})
    resp = bearer(cw.token).post(URL, payload, content_type="text/plain")
    assert resp.status_code == 200 and resp.json()["accepted"] == 1


def test_missing_auth_bad_token_and_revoked_token(cw, api):
    from stocking.setup import device_revoke

    events = [scan("issue", cw.bins[0].label, quantity=1)]
    resp = api.post(URL, {"scans": events}, format="json")
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "not_authenticated"
    resp = bearer("cmid_wrong").post(URL, {"scans": events}, format="json")
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "authentication_failed"
    from cmi.scoping import Scope

    device_revoke(
        scope=Scope(vendor_id=cw.customer.vendor_id, role="vendor_admin"), device_id=cw.device.pk
    )
    resp = post(cw.token, events)
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "token_revoked"
    assert ScanEvent.objects.count() == 0


def test_people_and_erp_keys_cannot_post_scans(world):
    from tests.conftest import as_user

    cw = world["a"].customers[0]
    events = [scan("issue", cw.bins[0].label, quantity=1)]
    assert as_user(cw.manager).post(URL, {"scans": events}, format="json").status_code == 403
    assert bearer(world["a"].erp_key).post(URL, {"scans": events}, format="json").status_code == 403


def test_device_cannot_touch_another_customers_or_vendors_bins(world):
    """Labels and locations of other customers are unknown to a scanner: nothing changes."""
    cw = world["a"].customers[0]
    other_customer = world["a"].customers[1]
    other_vendor = world["b"].customers[0]
    events = [
        scan("issue", other_customer.bins[0].label, quantity=1),
        scan("issue", other_vendor.bins[0].label, quantity=1),
        scan("issue", world["b"].items[0].sku, location="SHELF-A", quantity=1),
    ]
    body = post(cw.token, events).json()
    assert [r["error"]["code"] for r in body["results"]] == [
        "unknown_code",
        "unknown_code",
        "unknown_code",
    ]
    assert Bin.objects.get(pk=other_customer.bins[0].pk).on_hand == 30
    assert Bin.objects.get(pk=other_vendor.bins[0].pk).on_hand == 30


def test_site_bound_device_only_posts_to_its_site(world):
    from stocking.setup import device_create, location_create, site_create

    va = world["a"]
    cw = va.customers[0]
    other_site = site_create(
        scope=va.scope, customer_id=cw.customer.pk, code="WEST", name="West plant"
    )
    location_create(scope=va.scope, site_id=other_site.pk, code="WEST-ROOM")
    _, token = device_create(
        scope=va.scope, customer_id=cw.customer.pk, name="West gun", site_id=other_site.pk
    )
    body = post(
        token,
        [
            scan("issue", cw.bins[0].label, quantity=1),
            scan("issue", va.items[0].sku, location="SHELF-A", quantity=1),
        ],
    ).json()
    assert [r["error"]["code"] for r in body["results"]] == [
        "location_not_allowed",
        "location_not_allowed",
    ]


def test_count_sets_on_hand_and_late_issue_is_recorded_but_not_applied(cw):
    """An issue that happened before the bin's last count is already inside that count."""
    b = cw.bins[0]
    now = timezone.now()
    post(
        cw.token,
        [
            scan(
                "count",
                b.label,
                quantity=40,
                occurred_at=(now - dt.timedelta(minutes=5)).isoformat(),
            )
        ],
    )
    late = scan(
        "issue", b.label, quantity=7, occurred_at=(now - dt.timedelta(minutes=10)).isoformat()
    )
    body = post(cw.token, [late]).json()
    assert body["accepted"] == 1
    b.refresh_from_db()
    assert b.on_hand == 40
    entry = LedgerEntry.objects.get(scan_event__event_id=late["event_id"])
    assert (entry.applied, entry.delta, entry.quantity) == (False, 0, 7)


def test_late_count_keeps_what_happened_after_it(cw):
    """A count that arrives after later issues sets on-hand as of its time, then the later issues apply."""
    b = cw.bins[0]
    now = timezone.now()
    post(
        cw.token,
        [
            scan(
                "issue",
                b.label,
                quantity=5,
                occurred_at=(now - dt.timedelta(minutes=1)).isoformat(),
            )
        ],
    )
    post(
        cw.token,
        [
            scan(
                "count",
                b.label,
                quantity=20,
                occurred_at=(now - dt.timedelta(minutes=3)).isoformat(),
            )
        ],
    )
    b.refresh_from_db()
    assert b.on_hand == 15


def test_batch_applied_in_occurred_order_per_bin(cw):
    """Within a batch the count in the middle wins over the issue before it, not the one after."""
    b = cw.bins[0]
    now = timezone.now()
    events = [
        scan("issue", b.label, quantity=3, occurred_at=(now - dt.timedelta(minutes=1)).isoformat()),
        scan(
            "count", b.label, quantity=12, occurred_at=(now - dt.timedelta(minutes=2)).isoformat()
        ),
        scan("issue", b.label, quantity=4, occurred_at=(now - dt.timedelta(minutes=3)).isoformat()),
    ]
    post(cw.token, events)
    b.refresh_from_db()
    assert b.on_hand == 9
    assert list(
        LedgerEntry.objects.filter(bin=b, scan_event__isnull=False)
        .order_by("occurred_at")
        .values_list("applied", flat=True)
    ) == [True, True, True]


def test_weight_becomes_a_count(cw):
    """gross 100 g tare + 23 pieces of 12.5 g (+ 3 g of noise) counts 23."""
    b = cw.bins[0]
    post(cw.token, [scan("weight", b.label, gross_grams=100 + 23 * 12.5 + 3)])
    b.refresh_from_db()
    assert b.on_hand == 23
    assert LedgerEntry.objects.filter(bin=b, kind="weight", quantity=23).exists()


def test_weight_without_setup_is_rejected(cw):
    b = cw.bins[0]
    Bin.objects.filter(pk=b.pk).update(tare_grams=None)
    body = post(cw.token, [scan("weight", b.label, gross_grams=500)]).json()
    assert body["results"][0]["error"]["code"] == "missing_weight_setup"


def test_issue_floors_at_zero_and_ledger_rebuilds_on_hand(cw):
    """Whatever mix of scans, on-hand rebuilt from the ledger equals the live value."""
    b = cw.bins[0]
    now = timezone.now()
    events = []
    for i, (kind, qty) in enumerate(
        [("issue", 12), ("receive", 5), ("issue", 50), ("count", 8), ("receive", 9), ("issue", 2)]
    ):
        events.append(
            scan(
                kind,
                b.label,
                quantity=qty,
                occurred_at=(now - dt.timedelta(minutes=30 - i)).isoformat(),
            )
        )
    post(cw.token, events[:3])
    post(cw.token, events[3:])
    post(
        cw.token,
        [
            scan(
                "count",
                b.label,
                quantity=4,
                occurred_at=(now - dt.timedelta(minutes=40)).isoformat(),
            )
        ],
    )
    b.refresh_from_db()
    assert b.on_hand == 15
    assert on_hand_rebuild(bin_id=b.pk) == b.on_hand
    for other in cw.bins:
        other.refresh_from_db()
        assert on_hand_rebuild(bin_id=other.pk) == other.on_hand


def test_device_last_seen_is_updated(cw):
    assert cw.device.last_seen_at is None
    post(cw.token, [scan("issue", cw.bins[0].label, quantity=1)])
    cw.device.refresh_from_db()
    assert cw.device.last_seen_at is not None


def _device_statements(captured) -> list[str]:
    return [q["sql"] for q in captured if q["sql"].startswith('UPDATE "stocking_scannerdevice"')]


def test_device_last_seen_is_written_only_when_older_than_a_minute(cw):
    """A scanner seen under a minute ago costs no statement on its row (its token lookup
    read last_seen_at); one seen longer ago gets it written, once."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from stocking.models import ScannerDevice

    recently = timezone.now() - dt.timedelta(seconds=20)
    ScannerDevice.objects.filter(pk=cw.device.pk).update(last_seen_at=recently)
    with CaptureQueriesContext(connection) as ctx:
        post(cw.token, [scan("issue", cw.bins[0].label, quantity=1)])
    assert _device_statements(ctx.captured_queries) == []
    cw.device.refresh_from_db()
    assert cw.device.last_seen_at == recently

    long_ago = timezone.now() - dt.timedelta(minutes=2)
    ScannerDevice.objects.filter(pk=cw.device.pk).update(last_seen_at=long_ago)
    with CaptureQueriesContext(connection) as ctx:
        post(cw.token, [scan("issue", cw.bins[0].label, quantity=1)])
    assert len(_device_statements(ctx.captured_queries)) == 1
    cw.device.refresh_from_db()
    assert cw.device.last_seen_at > long_ago + dt.timedelta(minutes=1)


def _seen_now(cw) -> None:
    """The steady state of a scanner that posts often: seen under a minute ago."""
    from stocking.models import ScannerDevice

    ScannerDevice.objects.filter(pk=cw.device.pk).update(last_seen_at=timezone.now())


def test_batch_query_count_does_not_grow(cw, world):
    """A batch costs the same few queries at 10 events as at 500."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    labels = [b.label for b in cw.bins]
    sku = world["a"].items[0].sku
    counts = {}
    for size in (10, 500):
        # Both batches end with a count of zero on a bin that had stock, so each writes
        # its bin.at_zero events (one insert; the next test prices that insert).
        Bin.objects.filter(pk__in=[b.pk for b in cw.bins]).update(on_hand=1_000_000)
        _seen_now(cw)
        events = []
        for i in range(size):
            kind = ("issue", "receive", "count")[i % 3]
            code = labels[i % len(labels)] if i % 2 else sku
            events.append(scan(kind, code, location="SHELF-A", quantity=1 + i % 5))
        events[-1] = scan("count", labels[0], location="SHELF-A", quantity=0)
        with CaptureQueriesContext(connection) as ctx:
            body = post(cw.token, events).json()
        assert body["accepted"] == size
        counts[size] = len(ctx.captured_queries)
    assert counts[10] == counts[500], counts
    assert counts[500] <= 16, (
        counts
    )  # auth, resolve codes (6), lock, writes (the events insert skips duplicates)


def test_bins_reaching_zero_cost_one_insert_whatever_the_batch(cw):
    """A batch that empties bins writes their bin.at_zero events in one insert: the same
    number of queries at 10 events as at 500, one more than a batch that empties none."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from cmi.models import DomainEvent

    labels = [b.label for b in cw.bins]
    counts = {}
    for size in (10, 500):
        Bin.objects.filter(pk__in=[b.pk for b in cw.bins]).update(on_hand=1)
        _seen_now(cw)
        events = [
            scan("issue", labels[i % len(labels)], location="SHELF-A", quantity=1 + i % 5)
            for i in range(size)
        ]
        before = DomainEvent.objects.filter(kind="bin.at_zero").count()
        with CaptureQueriesContext(connection) as ctx:
            body = post(cw.token, events).json()
        assert body["accepted"] == size
        counts[size] = len(ctx.captured_queries)
        emptied = DomainEvent.objects.filter(kind="bin.at_zero").count() - before
        assert emptied == len(labels), "one event per bin per batch"
    assert counts[10] == counts[500], counts
    assert counts[500] <= 17, counts  # the budget above, plus the at_zero events insert


def test_unknown_event_id_echoes_even_when_other_fields_bad(cw):
    eid = str(uuid.uuid4())
    body = post(cw.token, [{"event_id": eid, "kind": "issue"}]).json()
    assert body["results"][0]["event_id"] == eid and body["results"][0]["status"] == "rejected"


def test_non_object_events_rejected(cw):
    body = post(cw.token, [1, "x", None, [], scan("issue", cw.bins[0].label, quantity=1)]).json()
    assert body["rejected"] == 4 and body["accepted"] == 1
    assert {r["error"]["code"] for r in body["results"][:4]} == {"invalid_event"}


@pytest.mark.django_db
def test_bins_lock_reads_what_the_queryset_read(world):
    """The ingest's written-out lock read gives each bin the same values (with the
    item's unit weight, SKU and the site's code) as the queryset it replaced."""
    from decimal import Decimal

    from django.db import transaction
    from django.db.models import F

    from stocking.services import LOCKED_BIN_COLUMNS, _bins_lock

    bins = world["a"].customers[0].bins
    item = bins[0].item
    item.unit_weight_grams = Decimal("12.345")
    item.save(update_fields=["unit_weight_grams"])
    ids = sorted(b.pk for b in bins)
    with transaction.atomic():
        got = _bins_lock(ids)
        want = {
            b.pk: b
            for b in Bin.objects.filter(pk__in=ids)
            .only(*LOCKED_BIN_COLUMNS)
            .annotate(
                unit_weight_grams=F("item__unit_weight_grams"),
                item_sku=F("item__sku"),
                site_code=F("site__code"),
            )
        }
    assert list(got) == ids
    for pk, b in want.items():
        for name in ("unit_weight_grams", "item_sku", "site_code", *LOCKED_BIN_COLUMNS):
            assert getattr(got[pk], name) == getattr(b, name), name
    assert got[bins[0].pk].unit_weight_grams == Decimal("12.345")
