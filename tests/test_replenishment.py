"""Replenishment: the reorder rule, evaluation, release policies, receipts, the sweep.

What a customer buys CMI for: never running out, never double ordering, whole packs,
orders out within seconds of the scan, and every order visible with its history.
Scans go through the real API with a scanner token; evaluations are called directly
(in production they run after commit on a worker, or in the periodic sweep).
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from cmi.errors import ApiError, Conflict
from cmi.history import history_rewrite_for_tests_and_benchmarks
from cmi.models import Customer, VendorSequence
from cmi.tenancy import scope_for_user
from replenishment.models import Order, OrderEvent, OrderLine, OrderStatus
from replenishment.rules import round_up_to_packs, shortfall
from replenishment.services import (
    bins_evaluate,
    cutoff_passed,
    order_approve,
    order_cancel,
    orders_release_due,
)
from replenishment.tasks import sweep_bins
from stocking.models import Bin, LedgerEntry, ScanEvent
from stocking.setup import bin_create, location_create, site_create
from tests.conftest import bearer, scan

URL = "/api/v1/scans"
CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
UTC = dt.UTC
DEAD_BROKER = "redis://127.0.0.1:1/0"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """The world's users are hashed with MD5 here: PBKDF2 costs seconds per test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# --- helpers ---------------------------------------------------------------------------


def post(token, events):
    return bearer(token).post(URL, {"scans": events}, format="json")


def set_bins(bins, **values) -> None:
    """Change bins behind the services' back, as a stock change nobody evaluated would."""
    Bin.objects.filter(pk__in=[b.pk for b in bins]).update(**values)


def fresh(b) -> Bin:
    return Bin.objects.get(pk=b.pk)


def evaluate(vw, bins) -> list[int]:
    return bins_evaluate(vendor_id=vw.vendor.pk, bin_ids=[b.pk for b in bins])


def policy(cw, name: str, **extra) -> None:
    Customer.objects.filter(pk=cw.customer.pk).update(release_policy=name, **extra)


def line_of(b) -> OrderLine:
    return OrderLine.objects.get(bin_id=b.pk)


def po_serial(po_number: str) -> int:
    return int(po_number[2:])


def extra_site(vw, cw, code: str, *, items=None, min_qty=10, max_qty=50, on_hand=30):
    """Another site of the same customer, with a location and one bin per item."""
    site = site_create(scope=vw.scope, customer_id=cw.customer.pk, code=code, name=code)
    loc = location_create(scope=vw.scope, site_id=site.pk, code=f"{code}-LOC")
    bins = [
        bin_create(
            scope=vw.scope,
            location_id=loc.pk,
            item_id=item.pk,
            min_qty=min_qty,
            max_qty=max_qty,
            on_hand=on_hand,
        )
        for item in (items or vw.items)
    ]
    return site, bins


def more_bins(vw, cw, count: int, *, prefix: str = "X") -> list[Bin]:
    """`count` more bins at the customer's main site (new shelves, every item)."""
    out: list[Bin] = []
    n = 0
    while len(out) < count:
        loc = location_create(scope=vw.scope, site_id=cw.site.pk, code=f"{prefix}{n}")
        n += 1
        for item in vw.items:
            if len(out) < count:
                out.append(
                    bin_create(
                        scope=vw.scope,
                        location_id=loc.pk,
                        item_id=item.pk,
                        min_qty=10,
                        max_qty=50,
                        on_hand=30,
                    )
                )
    return out


@pytest.fixture
def va(world):
    """Vendor A; its bins (min 10, max 50, on hand 30) were counted a day ago."""
    day_ago = timezone.now() - dt.timedelta(days=1)
    Bin.objects.update(last_count_at=day_ago)
    with history_rewrite_for_tests_and_benchmarks():
        LedgerEntry.objects.update(occurred_at=day_ago)
    return world["a"]


@pytest.fixture
def cw(va):
    """Customer 0 of vendor A (release policy auto, America/Chicago)."""
    return va.customers[0]


# --- the rule --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("on_hand", "on_order", "min_qty", "max_qty", "pack", "expected"),
    [
        pytest.param(11, 0, 10, 50, 1, 0, id="position-above-min-orders-nothing"),
        pytest.param(30, 0, 10, 50, 10, 0, id="well-stocked"),
        pytest.param(10, 0, 10, 50, 1, 40, id="position-at-min-orders-up-to-max"),
        pytest.param(0, 0, 10, 50, 1, 50, id="empty"),
        pytest.param(7, 0, 10, 50, 10, 50, id="43-rounds-up-to-5-packs"),
        pytest.param(10, 0, 10, 50, 10, 40, id="exact-packs-not-rounded"),
        pytest.param(9, 0, 10, 50, 7, 42, id="41-rounds-up-to-6-packs-of-7"),
        pytest.param(20, 0, 20, 20, 6, 6, id="min-equals-max-orders-one-pack"),
        pytest.param(20, 0, 20, 20, 1, 1, id="min-equals-max-pack-1-orders-one"),
        pytest.param(5, 6, 10, 50, 1, 0, id="on-order-lifts-position-above-min"),
        pytest.param(5, 5, 10, 50, 1, 40, id="on-order-counts-in-position"),
        pytest.param(0, 40, 10, 50, 10, 0, id="covered-by-open-order"),
        pytest.param(0, 0, 0, 0, 1, 0, id="no-levels-no-order"),
        pytest.param(3, 0, 10, 50, 1, 47, id="pack-1-is-exact"),
    ],
)
def test_shortfall(on_hand, on_order, min_qty, max_qty, pack, expected):
    """Nothing above min; at or below min, back up to max in whole packs, at least one."""
    assert (
        shortfall(
            on_hand=on_hand,
            on_order=on_order,
            min_qty=min_qty,
            max_qty=max_qty,
            pack_multiple=pack,
        )
        == expected
    )


@pytest.mark.parametrize(
    ("quantity", "pack", "expected"),
    [(1, 10, 10), (10, 10, 10), (11, 10, 20), (7, 1, 7), (0, 5, 5), (-3, 5, 5), (7, 0, 7)],
)
def test_round_up_to_packs(quantity, pack, expected):
    """Whole packs, rounded up; zero or less still gives one pack; a pack below 1 counts as 1."""
    assert round_up_to_packs(quantity, pack) == expected


@given(
    on_hand=st.integers(0, 5000),
    on_order=st.integers(0, 5000),
    min_qty=st.integers(0, 3000),
    span=st.integers(0, 3000),
    pack=st.integers(1, 500),
)
def test_shortfall_property(on_hand, on_order, min_qty, span, pack):
    """Zero or a positive whole number of packs; an order brings the position to max or
    above, and by less than one pack more than needed (no bin stuffing)."""
    max_qty = min_qty + span
    position = on_hand + on_order
    result = shortfall(
        on_hand=on_hand, on_order=on_order, min_qty=min_qty, max_qty=max_qty, pack_multiple=pack
    )
    assert result >= 0 and result % pack == 0
    assert (result > 0) == (position <= min_qty and max_qty > 0)
    if result > 0:
        assert position + result >= max_qty
        assert result == pack or position + result - pack < max_qty


# --- evaluation --------------------------------------------------------------------------


def test_bin_at_min_gets_line_on_sites_collecting_order(va, cw):
    """A bin at min and one below it get lines, in whole packs, on the site's draft order;
    on-order rises by the ordered quantities."""
    policy(cw, "scheduled", cutoff_times=["10:00"])
    b0, b1, b2 = cw.bins
    set_bins([b0], on_hand=10)
    set_bins([b1], on_hand=3)  # pack 10: 47 -> 50
    (order_id,) = evaluate(va, cw.bins)
    order = Order.objects.get(pk=order_id)
    assert (order.status, order.site_id, order.customer_id) == (
        OrderStatus.DRAFT,
        cw.site.pk,
        cw.customer.pk,
    )
    assert {(ln.bin_id, ln.quantity_ordered, ln.quantity_proposed) for ln in order.lines.all()} == {
        (b0.pk, 40, 40),
        (b1.pk, 50, 50),
    }
    assert (fresh(b0).on_order, fresh(b1).on_order, fresh(b2).on_order) == (40, 50, 0)


def test_evaluating_again_orders_nothing_more(va, cw):
    """The position now includes the order: a second and third evaluation add nothing."""
    policy(cw, "scheduled")
    set_bins(cw.bins, on_hand=0)
    assert len(evaluate(va, cw.bins)) == 1
    before = list(OrderLine.objects.values_list("bin_id", "quantity_ordered").order_by("bin_id"))
    assert evaluate(va, cw.bins) == []
    assert evaluate(va, cw.bins) == []
    assert (
        list(OrderLine.objects.values_list("bin_id", "quantity_ordered").order_by("bin_id"))
        == before
    )
    assert Order.objects.count() == 1
    assert [fresh(b).on_order for b in cw.bins] == [50, 50, 50]


def test_two_bins_of_one_site_share_one_order(va, cw):
    """Evaluated separately, the site's second short bin joins the first one's order."""
    policy(cw, "scheduled")
    b0, _, b2 = cw.bins
    set_bins([b0, b2], on_hand=0)
    first = evaluate(va, [b0])
    second = evaluate(va, [b2])
    assert first == second
    lines = list(OrderLine.objects.filter(order_id=first[0]).order_by("line_number"))
    assert [(ln.bin_id, ln.line_number) for ln in lines] == [(b0.pk, 1), (b2.pk, 2)]


def test_auto_policy_bins_evaluated_together_share_one_order(va, cw):
    """Under auto, what one evaluation finds short at a site goes out as one order."""
    set_bins(cw.bins, on_hand=0)
    (order_id,) = evaluate(va, cw.bins)
    assert OrderLine.objects.filter(order_id=order_id).count() == 3
    assert Order.objects.get(pk=order_id).status == OrderStatus.RELEASED


def test_bins_of_two_sites_get_two_orders(va, cw):
    """Orders are per site (the ship-to), also for two sites of one customer."""
    policy(cw, "scheduled")
    west, west_bins = extra_site(va, cw, "WEST")
    set_bins([cw.bins[0], west_bins[0]], on_hand=0)
    ids = evaluate(va, [cw.bins[0], west_bins[0]])
    assert len(ids) == 2
    by_site = {o.site_id: o for o in Order.objects.filter(pk__in=ids)}
    assert set(by_site) == {cw.site.pk, west.pk}
    assert OrderLine.objects.get(order=by_site[west.pk]).bin_id == west_bins[0].pk
    assert OrderLine.objects.get(order=by_site[cw.site.pk]).bin_id == cw.bins[0].pk


def test_on_order_from_an_earlier_order_stops_a_new_one(va, cw):
    """A released order still counts: the bin emptying further orders nothing more."""
    b = cw.bins[0]
    set_bins([b], on_hand=10)
    evaluate(va, [b])
    assert fresh(b).on_order == 40
    set_bins([b], on_hand=0)  # position 40 > min 10
    assert evaluate(va, [b]) == []
    assert OrderLine.objects.filter(bin_id=b.pk).count() == 1
    assert Order.objects.count() == 1


def test_on_order_set_before_evaluation_counts(va, cw):
    """on_hand 5 + on_order 6 is above min 10: nothing; on_order 5 makes it 10: order 40."""
    b = cw.bins[0]
    set_bins([b], on_hand=5, on_order=6)
    assert evaluate(va, [b]) == []
    set_bins([b], on_order=5)
    evaluate(va, [b])
    assert line_of(b).quantity_ordered == 40
    assert fresh(b).on_order == 45


def test_kanban_orders_one_kanban_quantity_per_pending_card(va, cw):
    """Two kanban cards scanned through the API order exactly two kanban quantities;
    the cards are then no longer pending, and evaluating again orders nothing."""
    b = cw.bins[2]
    set_bins([b], kanban_quantity=25, min_qty=0, max_qty=0, on_hand=0)
    body = post(cw.token, [scan("kanban", b.label), scan("kanban", b.label)]).json()
    assert body["accepted"] == 2, body
    assert fresh(b).on_hand == 0  # a card changes no stock
    assert ScanEvent.objects.filter(bin_id=b.pk, kanban_pending=True).count() == 2
    (order_id,) = evaluate(va, [b])
    line = line_of(b)
    assert (line.order_id, line.quantity_ordered) == (order_id, 50)
    assert fresh(b).on_order == 50
    assert not ScanEvent.objects.filter(bin_id=b.pk, kanban_pending=True).exists()
    assert evaluate(va, [b]) == []
    assert OrderLine.objects.filter(bin_id=b.pk).count() == 1

    post(cw.token, [scan("kanban", b.label)])
    evaluate(va, [b])
    assert sorted(
        OrderLine.objects.filter(bin_id=b.pk).values_list("quantity_ordered", flat=True)
    ) == [
        25,
        50,
    ]
    assert fresh(b).on_order == 75


def test_weight_scan_leads_to_the_right_order(va, cw):
    """gross = tare 100 g + 7 x 12.5 g counts 7; 43 short of max in packs of 10 orders 50."""
    b = cw.bins[1]
    assert b.pack_multiple == 10
    body = post(
        cw.token, [scan("weight", b.label, gross_grams=str(Decimal(100) + 7 * Decimal("12.5")))]
    ).json()
    assert body["accepted"] == 1, body
    assert fresh(b).on_hand == 7
    evaluate(va, [b])
    assert line_of(b).quantity_ordered == 50
    assert fresh(b).on_order == 50


# --- release policies --------------------------------------------------------------------


def test_auto_release_gives_po_numbers_from_per_vendor_sequences(world, va):
    """Auto: released at once, PO numbers unique and increasing per vendor; another
    vendor's sequence is its own."""
    vb = world["b"]
    c0, c1 = va.customers
    set_bins(c0.bins + c1.bins + vb.customers[0].bins, on_hand=0)
    (first,) = evaluate(va, c0.bins)
    (second,) = evaluate(va, c1.bins)
    (other,) = evaluate(vb, vb.customers[0].bins)
    o1, o2, ob = (Order.objects.get(pk=pk) for pk in (first, second, other))
    for o in (o1, o2, ob):
        assert o.status == OrderStatus.RELEASED and o.released_at is not None
    assert (o1.po_number, o2.po_number) == ("AC0000001", "AC0000002")
    assert ob.po_number == "BO0000001"
    assert VendorSequence.objects.get(vendor=va.vendor, name="po").value == 2
    assert VendorSequence.objects.get(vendor=vb.vendor, name="po").value == 1

    # A later order takes the next number.
    set_bins(c0.bins, on_hand=0, on_order=0)
    (third,) = evaluate(va, c0.bins)
    assert po_serial(Order.objects.get(pk=third).po_number) == 3


def test_requested_delivery_is_customers_today_plus_longest_lead_time(va):
    """requested_delivery_date = today in the customer's zone + the order's longest lead time.

    Two customers at UTC+14 and UTC-12: whatever the hour, at least one of their local
    dates differs from the UTC date, so a UTC 'today' cannot pass this test."""
    c0, c1 = va.customers
    Customer.objects.filter(pk=c0.customer.pk).update(timezone="Pacific/Kiritimati")
    Customer.objects.filter(pk=c1.customer.pk).update(timezone="Etc/GMT+12")
    for c in (c0, c1):
        set_bins(c.bins, on_hand=0)
        set_bins([c.bins[2]], lead_time_days=9)
    before = timezone.now()
    ids = evaluate(va, c0.bins + c1.bins)
    after = timezone.now()
    by_customer = {o.customer_id: o for o in Order.objects.filter(pk__in=ids)}
    differs = False
    for c, zone in ((c0, "Pacific/Kiritimati"), (c1, "Etc/GMT+12")):
        tz = zoneinfo.ZoneInfo(zone)
        allowed = {(t.astimezone(tz).date() + dt.timedelta(days=9)) for t in (before, after)}
        got = by_customer[c.customer.pk].requested_delivery_date
        assert got in allowed, (zone, got, allowed)
        differs |= got != before.astimezone(UTC).date() + dt.timedelta(days=9)
    assert differs


def test_approval_policy_collects_on_the_awaiting_order(va, cw):
    """Approval: the order waits for a manager; later shortfalls at the site join it."""
    policy(cw, "approval")
    b0, b1, _ = cw.bins
    set_bins([b0], on_hand=10)
    (order_id,) = evaluate(va, [b0])
    order = Order.objects.get(pk=order_id)
    assert (order.status, order.po_number) == (OrderStatus.AWAITING_APPROVAL, None)
    assert fresh(b0).on_order == 40

    set_bins([b1], on_hand=0)
    assert evaluate(va, [b1]) == [order_id]
    order.refresh_from_db()
    assert order.status == OrderStatus.AWAITING_APPROVAL
    assert order.lines.count() == 2
    assert Order.objects.count() == 1
    assert OrderEvent.objects.filter(order=order, kind="submitted").count() == 1


def test_approve_with_edited_whole_packs_releases_and_fixes_on_order(va, cw):
    """A manager raises one line to 60 (6 packs of 10): the order is released with a PO
    number, the line and the bin's on-order follow the edit, the proposal is kept."""
    policy(cw, "approval")
    b0, b1, _ = cw.bins
    set_bins([b0, b1], on_hand=10)
    (order_id,) = evaluate(va, [b0, b1])
    l0, l1 = line_of(b0), line_of(b1)
    assert (l0.quantity_ordered, l1.quantity_ordered) == (40, 40)
    scope = scope_for_user(cw.manager)
    order = order_approve(scope=scope, order_id=order_id, quantities={l1.pk: 60, l0.pk: 40})
    order.refresh_from_db()
    assert order.status == OrderStatus.RELEASED and order.po_number == "AC0000001"
    assert order.approved_by_id == cw.manager.pk and order.approved_at is not None
    l1.refresh_from_db()
    assert (l1.quantity_ordered, l1.quantity_proposed) == (60, 40)
    assert (fresh(b0).on_order, fresh(b1).on_order) == (40, 60)


def test_approve_with_partial_packs_is_refused_and_changes_nothing(va, cw):
    """45 is not a whole number of packs of 10: ApiError not_whole_packs, nothing changes."""
    policy(cw, "approval")
    b1 = cw.bins[1]
    set_bins([b1], on_hand=10)
    (order_id,) = evaluate(va, [b1])
    line = line_of(b1)
    with pytest.raises(ApiError) as err:
        order_approve(scope=scope_for_user(cw.manager), order_id=order_id, quantities={line.pk: 45})
    assert err.value.error_code == "not_whole_packs"
    assert err.value.status_code == 400
    assert Order.objects.get(pk=order_id).status == OrderStatus.AWAITING_APPROVAL
    assert line_of(b1).quantity_ordered == 40
    assert fresh(b1).on_order == 40


def test_approving_a_released_order_is_a_conflict(va, cw):
    """Only an order awaiting approval can be approved (auto released this one)."""
    set_bins([cw.bins[0]], on_hand=0)
    (order_id,) = evaluate(va, [cw.bins[0]])
    with pytest.raises(Conflict) as err:
        order_approve(scope=va.scope, order_id=order_id)
    assert err.value.error_code == "invalid_state" and err.value.status_code == 409


def test_reject_cancels_and_on_order_goes_back(va, cw):
    """Rejecting the awaiting order cancels it; on-order returns to what it was before."""
    policy(cw, "approval")
    b = cw.bins[0]
    set_bins([b], on_hand=5, on_order=5)  # position 10: at min
    (order_id,) = evaluate(va, [b])
    assert fresh(b).on_order == 45
    order = order_cancel(
        scope=scope_for_user(cw.manager), order_id=order_id, reason="too many", rejected=True
    )
    order.refresh_from_db()
    assert (order.status, order.cancel_reason) == (OrderStatus.CANCELLED, "too many")
    assert order.closed_at is not None and order.po_number is None
    assert fresh(b).on_order == 5
    assert OrderEvent.objects.filter(order=order, kind="rejected").exists()


def test_reject_is_only_for_awaiting_orders(va, cw):
    """A released order cannot be rejected (it can be cancelled)."""
    set_bins([cw.bins[0]], on_hand=0)
    (order_id,) = evaluate(va, [cw.bins[0]])
    with pytest.raises(Conflict) as err:
        order_cancel(scope=va.scope, order_id=order_id, rejected=True)
    assert err.value.error_code == "invalid_state"


@pytest.fixture
def scheduled(va, cw):
    """Customer 0 on the scheduled policy, cutoff 10:00 Chicago; one draft order whose
    creation is placed at 09:00 CDT on 2 June 2025 (14:00 UTC)."""
    policy(cw, "scheduled", cutoff_times=["10:00"], timezone="America/Chicago")
    set_bins([cw.bins[0]], on_hand=0)
    (order_id,) = evaluate(va, [cw.bins[0]])
    created = dt.datetime(2025, 6, 2, 9, 0, tzinfo=CHICAGO)
    Order.objects.filter(pk=order_id).update(created_at=created)
    return order_id


def test_scheduled_order_stays_draft_before_the_cutoff(scheduled):
    """09:59 Chicago, before the 10:00 cutoff: nothing is released."""
    order = Order.objects.get(pk=scheduled)
    assert order.status == OrderStatus.DRAFT and order.po_number is None
    now = dt.datetime(2025, 6, 2, 14, 59, tzinfo=UTC)  # 09:59 CDT
    assert orders_release_due(now=now) == []
    assert Order.objects.get(pk=scheduled).status == OrderStatus.DRAFT


def test_scheduled_order_released_after_the_cutoff_once(scheduled, cw):
    """10:01 Chicago: released with a PO number; running again releases nothing more."""
    now = dt.datetime(2025, 6, 2, 15, 1, tzinfo=UTC)  # 10:01 CDT
    assert orders_release_due(now=now) == [scheduled]
    order = Order.objects.get(pk=scheduled)
    assert order.status == OrderStatus.RELEASED and order.po_number == "AC0000001"
    assert orders_release_due(now=now) == []
    assert orders_release_due(now=now + dt.timedelta(days=1)) == []
    assert Order.objects.get(pk=scheduled).po_number == "AC0000001"


def test_scheduled_order_made_after_todays_cutoff_waits_for_tomorrows(scheduled):
    """Created 10:30 Chicago: not due at 16:00 that day, due at 10:00 the next day."""
    Order.objects.filter(pk=scheduled).update(
        created_at=dt.datetime(2025, 6, 2, 10, 30, tzinfo=CHICAGO)
    )
    assert orders_release_due(now=dt.datetime(2025, 6, 2, 16, 0, tzinfo=CHICAGO)) == []
    assert orders_release_due(now=dt.datetime(2025, 6, 3, 10, 0, tzinfo=CHICAGO)) == [scheduled]


def _utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("created", "now", "cutoffs", "expected"),
    [
        pytest.param(
            _utc(2025, 6, 2, 14, 0), _utc(2025, 6, 2, 14, 59), ["10:00"], False, id="before"
        ),
        pytest.param(
            _utc(2025, 6, 2, 14, 0), _utc(2025, 6, 2, 15, 0), ["10:00"], True, id="at-cutoff"
        ),
        pytest.param(
            _utc(2025, 6, 2, 15, 0),
            _utc(2025, 6, 2, 20, 0),
            ["10:00"],
            False,
            id="created-at-the-cutoff-itself",
        ),
        pytest.param(
            _utc(2025, 6, 2, 12, 0),
            _utc(2025, 6, 2, 18, 30),
            ["06:00", "14:00"],
            False,
            id="between-two-cutoffs",
        ),
        pytest.param(
            _utc(2025, 6, 2, 12, 0),
            _utc(2025, 6, 2, 19, 0),
            ["06:00", "14:00"],
            True,
            id="second-cutoff",
        ),
        pytest.param(
            _utc(2025, 5, 1, 12, 0), _utc(2025, 6, 2, 14, 0), ["10:00"], True, id="weeks-old"
        ),
        # 9 March 2025: Chicago springs forward at 02:00; 10:00 CDT is 15:00 UTC, not 16:00.
        pytest.param(
            _utc(2025, 3, 8, 17, 0),
            _utc(2025, 3, 9, 14, 59),
            ["10:00"],
            False,
            id="spring-forward-before",
        ),
        pytest.param(
            _utc(2025, 3, 8, 17, 0),
            _utc(2025, 3, 9, 15, 30),
            ["10:00"],
            True,
            id="spring-forward-after",
        ),
        # 2 November 2025: Chicago falls back at 02:00; 10:00 CST is 16:00 UTC, not 15:00.
        pytest.param(
            _utc(2025, 11, 1, 16, 0),
            _utc(2025, 11, 2, 15, 30),
            ["10:00"],
            False,
            id="fall-back-before",
        ),
        pytest.param(
            _utc(2025, 11, 1, 16, 0),
            _utc(2025, 11, 2, 16, 0),
            ["10:00"],
            True,
            id="fall-back-after",
        ),
    ],
)
def test_cutoff_passed(created, now, cutoffs, expected):
    """True when a cutoff, local time in the customer's zone, fell in (created_at, now];
    correct on both sides of daylight-saving changes."""
    assert (
        cutoff_passed(created_at=created, now=now, cutoff_times=cutoffs, tz_name="America/Chicago")
        is expected
    )
    # The same instants written in the customer's own zone give the same answer.
    assert (
        cutoff_passed(
            created_at=created.astimezone(CHICAGO),
            now=now.astimezone(CHICAGO),
            cutoff_times=cutoffs,
            tz_name="America/Chicago",
        )
        is expected
    )


# --- receipts -------------------------------------------------------------------------------


def test_receipt_lowers_on_order_and_closes_a_fully_received_order(va, cw):
    """A receipt covering every line makes the order received; a partial one leaves it
    released. Each receipt raises quantity_received and lowers on-order."""
    b0, _, b2 = cw.bins
    set_bins([b0, b2], on_hand=10)
    (order_id,) = evaluate(va, [b0, b2])
    assert (fresh(b0).on_order, fresh(b2).on_order) == (40, 40)

    body = post(cw.token, [scan("receive", b0.label, quantity=25)]).json()
    assert body["accepted"] == 1, body
    assert (line_of(b0).quantity_received, fresh(b0).on_order, fresh(b0).on_hand) == (25, 15, 35)
    assert Order.objects.get(pk=order_id).status == OrderStatus.RELEASED

    post(cw.token, [scan("receive", b0.label, quantity=15)])
    assert (line_of(b0).quantity_received, fresh(b0).on_order) == (40, 0)
    assert Order.objects.get(pk=order_id).status == OrderStatus.RELEASED  # b2 still open

    post(cw.token, [scan("receive", b2.label, quantity=40)])
    order = Order.objects.get(pk=order_id)
    assert order.status == OrderStatus.RECEIVED and order.closed_at is not None
    assert fresh(b2).on_order == 0
    assert OrderEvent.objects.filter(order=order, kind="received").count() == 1


def test_one_batch_receiving_every_line_closes_the_order(va, cw):
    """Both lines received in one batch: the order is received at once."""
    b0, _, b2 = cw.bins
    set_bins([b0, b2], on_hand=10)
    (order_id,) = evaluate(va, [b0, b2])
    post(
        cw.token,
        [scan("receive", b0.label, quantity=40), scan("receive", b2.label, quantity=40)],
    )
    assert Order.objects.get(pk=order_id).status == OrderStatus.RECEIVED
    assert (fresh(b0).on_order, fresh(b2).on_order) == (0, 0)


def test_receipt_goes_to_the_oldest_order_first(va, cw):
    """Two released orders for one bin: a receipt fills the older one, the rest goes to
    the newer one."""
    b = cw.bins[0]
    set_bins([b], on_hand=10)
    (first,) = evaluate(va, [b])  # 40
    set_bins([b], min_qty=60, max_qty=100)  # position 50 <= 60: order 50 more
    (second,) = evaluate(va, [b])
    assert first != second and fresh(b).on_order == 90

    post(cw.token, [scan("receive", b.label, quantity=45)])
    l1 = OrderLine.objects.get(order_id=first)
    l2 = OrderLine.objects.get(order_id=second)
    assert (l1.quantity_received, l2.quantity_received) == (40, 5)
    assert Order.objects.get(pk=first).status == OrderStatus.RECEIVED
    assert Order.objects.get(pk=second).status == OrderStatus.RELEASED
    assert fresh(b).on_order == 45


def test_receipt_larger_than_open_does_not_drive_on_order_negative(va, cw):
    """100 received against 40 open: the line is full, on-order is 0, on-hand takes all."""
    b = cw.bins[0]
    set_bins([b], on_hand=10)
    (order_id,) = evaluate(va, [b])
    body = post(cw.token, [scan("receive", b.label, quantity=100)]).json()
    assert body["accepted"] == 1
    b = fresh(b)
    assert (b.on_order, b.on_hand) == (0, 110)
    assert line_of(b).quantity_received == 40
    assert Order.objects.get(pk=order_id).status == OrderStatus.RECEIVED


def test_receipt_without_open_order_leaves_on_order_alone(va, cw):
    """Goods with no outstanding order raise on-hand only."""
    b = cw.bins[0]
    post(cw.token, [scan("receive", b.label, quantity=5)])
    assert (fresh(b).on_hand, fresh(b).on_order) == (35, 0)


# --- cancel -------------------------------------------------------------------------------


def test_cancel_released_order_removes_its_open_quantity_from_on_order(va, cw):
    """Cancelling takes only the cancelled order's open quantity off on-order."""
    b = cw.bins[0]
    set_bins([b], on_hand=10)
    (first,) = evaluate(va, [b])  # 40
    set_bins([b], min_qty=60, max_qty=100)
    (second,) = evaluate(va, [b])  # 50
    post(cw.token, [scan("receive", b.label, quantity=10)])  # first: 10 of 40 received
    assert fresh(b).on_order == 80
    order = order_cancel(scope=va.scope, order_id=first, reason="wrong item")
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert fresh(b).on_order == 50  # the second order's 50 only
    assert Order.objects.get(pk=second).status == OrderStatus.RELEASED
    assert OrderEvent.objects.filter(order_id=first, kind="cancelled").exists()


def test_cancelling_a_received_order_is_a_conflict(va, cw):
    """A received order is closed: cancel answers 409 invalid_state and changes nothing."""
    b = cw.bins[0]
    set_bins([b], on_hand=10)
    (order_id,) = evaluate(va, [b])
    post(cw.token, [scan("receive", b.label, quantity=40)])
    assert Order.objects.get(pk=order_id).status == OrderStatus.RECEIVED
    with pytest.raises(Conflict) as err:
        order_cancel(scope=va.scope, order_id=order_id)
    assert err.value.error_code == "invalid_state" and err.value.status_code == 409
    assert Order.objects.get(pk=order_id).status == OrderStatus.RECEIVED
    assert fresh(b).on_order == 0


# --- the sweep -----------------------------------------------------------------------------


def test_sweep_orders_for_bins_nobody_evaluated_and_is_idempotent(world, va, cw):
    """Bins that dropped below min without any task running (and a waiting kanban card)
    are found and ordered by the sweep, for every vendor; a second sweep does nothing."""
    vb = world["b"]
    other = vb.customers[1]
    set_bins([cw.bins[0]], on_hand=2)
    set_bins([other.bins[1]], on_hand=0)
    kb = va.customers[1].bins[2]
    set_bins([kb], kanban_quantity=12, min_qty=0, max_qty=0)
    post(va.customers[1].token, [scan("kanban", kb.label)])
    assert Order.objects.count() == 0

    assert sweep_bins() == 3
    assert line_of(cw.bins[0]).quantity_ordered == 48
    assert line_of(other.bins[1]).quantity_ordered == 50
    assert line_of(kb).quantity_ordered == 12
    assert all(o.status == OrderStatus.RELEASED for o in Order.objects.all())

    assert sweep_bins() == 0
    assert OrderLine.objects.count() == 3


# --- history ------------------------------------------------------------------------------


def test_order_history_records_every_step(va, cw):
    """created, line_added, submitted, quantity_changed (old and new, by whom),
    approved and released (with the PO number) are in the order's history."""
    policy(cw, "approval")
    b0, b1, _ = cw.bins
    set_bins([b0], on_hand=10)
    (order_id,) = evaluate(va, [b0])
    set_bins([b1], on_hand=10)
    evaluate(va, [b1])
    l1 = line_of(b1)
    order_approve(scope=scope_for_user(cw.manager), order_id=order_id, quantities={l1.pk: 70})
    events = list(OrderEvent.objects.filter(order_id=order_id).order_by("at", "id"))
    kinds = [e.kind for e in events]
    assert kinds == [
        "created",
        "line_added",
        "submitted",
        "line_added",
        "quantity_changed",
        "approved",
        "released",
    ]
    changed = events[4]
    assert (changed.line_id, changed.old_value, changed.new_value, changed.user_id) == (
        l1.pk,
        "40",
        "70",
        cw.manager.pk,
    )
    assert events[1].new_value == "40" and events[1].line_id == line_of(b0).pk
    assert events[-1].new_value == Order.objects.get(pk=order_id).po_number
    assert events[5].user_id == cw.manager.pk


def test_line_increase_is_recorded(va, cw):
    """A bin already on the collecting order that is short again grows its line, on record."""
    policy(cw, "scheduled")
    b = cw.bins[0]
    set_bins([b], on_hand=10)
    (order_id,) = evaluate(va, [b])
    set_bins([b], min_qty=50)  # position 50 <= min 50 = max: one more pack
    evaluate(va, [b])
    assert line_of(b).quantity_ordered == 41
    event = OrderEvent.objects.get(order_id=order_id, kind="line_increased")
    assert (event.old_value, event.new_value) == ("40", "41")


# --- after commit: the broker ----------------------------------------------------------------


def _queue_name(fixture_value) -> str:
    """The queue a scan's evaluation goes to (the fixture gives it, or a dict holding it)."""
    return fixture_value["evaluate_queue"] if isinstance(fixture_value, dict) else fixture_value


def _queue_size(name: str) -> int:
    from cmi.celery import app

    with app.connection_for_write() as conn:
        return conn.default_channel.queue_declare(queue=name).message_count


def _queue_take(name: str):
    from cmi.celery import app

    with app.connection_for_write() as conn:
        return conn.default_channel.basic_get(name, no_ack=True)


def test_scans_enqueue_an_evaluation_after_commit(
    va, cw, celery_test_queue, django_capture_on_commit_callbacks
):
    """After the scans commit, an evaluate_bins task for the touched bins at their
    reorder point is really published to the broker (this session's queue; nothing
    is mocked). A bin still above its min costs no evaluation."""
    from tests.conftest import queue_purge

    queue = _queue_name(celery_test_queue)
    queue_purge(queue)
    assert _queue_size(queue) == 0
    b0, b1, _ = cw.bins
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        resp = post(
            cw.token, [scan("issue", b0.label, quantity=25), scan("issue", b1.label, quantity=1)]
        )
    assert resp.status_code == 200 and resp.json()["accepted"] == 2
    assert len(callbacks) >= 1
    assert _queue_size(queue) == 1
    message = _queue_take(queue)
    assert message.headers["task"] == "replenishment.tasks.evaluate_bins"
    args, kwargs, _ = message.decode()
    b1.refresh_from_db()
    assert b1.on_hand + b1.on_order > b1.min_qty  # b1 stays above its reorder point
    assert args == [va.vendor.pk, [b0.pk]] and kwargs == {}


def test_scans_that_leave_every_bin_above_min_enqueue_nothing(
    cw, celery_test_queue, django_capture_on_commit_callbacks
):
    from tests.conftest import queue_purge

    queue = _queue_name(celery_test_queue)
    queue_purge(queue)
    _, b1, _ = cw.bins
    with django_capture_on_commit_callbacks(execute=True):
        resp = post(cw.token, [scan("issue", b1.label, quantity=1)])
    assert resp.status_code == 200 and resp.json()["accepted"] == 1
    assert _queue_size(queue) == 0


def test_scans_are_accepted_while_the_broker_is_down_and_the_sweep_orders(
    va, cw, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    """With the broker unreachable the scans still answer 200 and change stock; the
    failed enqueue is logged, and the sweep orders for the bins afterwards."""
    from cmi.celery import app

    saved_url = app.conf.broker_url
    saved_pool, saved_producers = app._pool, app.amqp._producer_pool
    # CELERY_BROKER_URL in the environment wins over app.conf (celery's Settings.broker_url).
    monkeypatch.setenv("CELERY_BROKER_URL", DEAD_BROKER)
    monkeypatch.delenv("CELERY_BROKER_WRITE_URL", raising=False)
    app.conf.broker_url = DEAD_BROKER
    app._pool = None
    app.amqp._producer_pool = None
    b = cw.bins[0]
    try:
        assert app.conf.broker_write_url == DEAD_BROKER
        with (
            caplog.at_level(logging.WARNING, logger="cmi.broker"),
            django_capture_on_commit_callbacks(execute=True) as callbacks,
        ):
            resp = post(cw.token, [scan("issue", b.label, quantity=25)])
        assert resp.status_code == 200
        assert resp.json()["accepted"] == 1
        assert len(callbacks) >= 1
        assert any("could not publish" in r.getMessage() for r in caplog.records)
    finally:
        if app._pool is not None:
            app._pool.force_close_all(close_pool=False)
        monkeypatch.undo()
        app.conf.broker_url = saved_url
        app._pool, app.amqp._producer_pool = saved_pool, saved_producers
    assert app.conf.broker_url == saved_url
    assert fresh(b).on_hand == 5
    assert Order.objects.count() == 0
    assert sweep_bins() == 1
    assert line_of(b).quantity_ordered == 45
    assert fresh(b).on_order == 45


# --- cost ----------------------------------------------------------------------------------


def test_evaluation_query_count_does_not_grow_with_bins(va):
    """Evaluating 50 short bins costs the same queries as 5 (one site each, auto release)."""
    c0, c1 = va.customers
    small = c0.bins + more_bins(va, c0, 2)
    large = c1.bins + more_bins(va, c1, 47)
    assert (len(small), len(large)) == (5, 50)
    set_bins(small + large, on_hand=0)
    VendorSequence.objects.get_or_create(vendor_id=va.vendor.pk, name="po")
    with CaptureQueriesContext(connection) as q5:
        (o5,) = evaluate(va, small)
    with CaptureQueriesContext(connection) as q50:
        (o50,) = evaluate(va, large)
    assert OrderLine.objects.filter(order_id=o5).count() == 5
    assert OrderLine.objects.filter(order_id=o50).count() == 50
    assert len(q5) == len(q50), (len(q5), len(q50))


def test_a_release_takes_its_po_number_in_one_statement(va):
    """The PO counter is read, advanced and locked to commit by one upsert, the first
    release of a vendor included (it creates the counter)."""
    c0 = va.customers[0]
    set_bins(c0.bins, on_hand=0)
    with CaptureQueriesContext(connection) as ctx:
        (order_id,) = evaluate(va, c0.bins)
    counters = [q["sql"] for q in ctx.captured_queries if "vendorsequence" in q["sql"]]
    assert len(counters) == 1, counters
    po = Order.objects.get(pk=order_id).po_number
    assert po.endswith("0000001")
    assert VendorSequence.objects.get(vendor_id=va.vendor.pk, name="po").value == 1


def test_unknown_bins_and_other_vendors_bins_are_ignored(world, va):
    """Ids of another vendor's bins or of no bin order nothing."""
    other = world["b"].customers[0].bins[0]
    set_bins([other], on_hand=0)
    assert bins_evaluate(vendor_id=va.vendor.pk, bin_ids=[other.pk, 10**9]) == []
    assert bins_evaluate(vendor_id=va.vendor.pk, bin_ids=[]) == []
    assert Order.objects.count() == 0
