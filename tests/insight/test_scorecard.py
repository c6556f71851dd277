"""The service scorecard: each figure on a hand-computed month, targets met and missed,
the vendor's pooled view, snapshots equal to the live computation, and queries that do
not grow with the data."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cmi.errors import ApiError
from cmi.tenancy import scope_for_user
from insight.scorecard.compute import months_back
from insight.scorecard.models import ScorecardCurrent, ScorecardMonth, ScorecardTarget
from insight.scorecard.selectors import month_parse, scorecard_customer, scorecard_vendor
from insight.scorecard.services import (
    scorecard_current_store,
    scorecard_months_snapshot,
    scorecard_target_set,
)
from insight.scorecard.tasks import scorecard_current_refresh, scorecard_snapshot_last_month
from tests.factories import vendor_world
from tests.insight.scorecard_world import EXPECTED_OCTOBER, NOW, OCTOBER, october_build

pytestmark = pytest.mark.django_db


@pytest.fixture
def vw():
    return vendor_world("score")


@pytest.fixture
def cw(vw):
    october_build(vw.customers[0])
    return vw.customers[0]


def card(vw, cw, **extra):
    return scorecard_customer(
        scope=vw.scope, customer_id=cw.customer.pk, month=OCTOBER, now=NOW, **extra
    )


@pytest.mark.parametrize("key", sorted(EXPECTED_OCTOBER))
def test_each_figure_of_the_hand_computed_october(vw, cw, key):
    """Every metric and count of October is the figure worked out by hand in
    tests/insight/scorecard_world.py."""
    assert card(vw, cw).values[key] == EXPECTED_OCTOBER[key]


def test_a_month_with_nothing_to_measure_says_so(vw, cw):
    """August: the bins did not exist and no order moved, so rates are None, not 0%."""
    values = scorecard_customer(
        scope=vw.scope, customer_id=cw.customer.pk, month=dt.date(2026, 8, 1), now=NOW
    ).values
    assert values["fill_rate"] is None and values["on_time_share"] is None
    assert values["bins"] == 0 and values["orders_released"] == 0


def test_trend_lists_the_months_before_oldest_first(vw, cw):
    """Six months ending with the one asked; September sees order D's release only."""
    result = card(vw, cw)
    assert [m for m, _ in result.trend] == months_back(OCTOBER, 6)
    september = dict(result.trend)[dt.date(2026, 9, 1)]
    assert september["orders_released"] == 1
    assert result.trend[-1][1] == result.values


def test_customer_people_see_the_same_numbers_as_the_vendor(vw, cw):
    """One selector: the customer's manager and the vendor's rep get equal figures."""
    manager = scope_for_user(cw.manager)
    rep = scope_for_user(vw.rep)
    mine = scorecard_customer(scope=manager, customer_id=cw.customer.pk, month=OCTOBER, now=NOW)
    theirs = scorecard_customer(scope=rep, customer_id=cw.customer.pk, month=OCTOBER, now=NOW)
    assert mine.values == theirs.values == card(vw, cw).values


def test_another_vendors_or_customers_scorecard_is_not_found(vw, cw):
    """A customer of another vendor, or another customer for a customer's manager: 404."""
    other = vendor_world("elsewhere", customers=1)
    with pytest.raises(ApiError) as err:
        scorecard_customer(
            scope=vw.scope, customer_id=other.customers[0].customer.pk, month=OCTOBER, now=NOW
        )
    assert err.value.status_code == 404
    manager = scope_for_user(cw.manager)
    with pytest.raises(ApiError) as err:
        scorecard_customer(
            scope=manager, customer_id=vw.customers[1].customer.pk, month=OCTOBER, now=NOW
        )
    assert err.value.status_code == 404


def test_targets_are_judged_against_the_actuals(vw, cw):
    """855 p90 target 4 h against 24 h: missed; on time 30% against 33.3%: met; a
    metric without a target is not judged."""
    scope = scope_for_user(vw.rep)
    for metric, value in (("ack_855_p90_hours", "4"), ("on_time_share", "30")):
        scorecard_target_set(
            scope=scope, customer_id=cw.customer.pk, metric=metric, target=Decimal(value)
        )
    rows = {r.metric.key: r for r in card(vw, cw).rows}
    assert (rows["ack_855_p90_hours"].target, rows["ack_855_p90_hours"].met) == (4.0, False)
    assert (rows["on_time_share"].target, rows["on_time_share"].met) == (30.0, True)
    assert rows["fill_rate"].met is None
    scorecard_target_set(
        scope=scope, customer_id=cw.customer.pk, metric="on_time_share", target=None
    )
    assert not ScorecardTarget.objects.filter(metric="on_time_share").exists()


@pytest.mark.parametrize(
    ("metric", "value", "code"),
    [
        ("on_time_share", "100.5", "bad_target"),
        ("ack_855_p90_hours", "-1", "bad_target"),
        ("speed_of_light", "1", "unknown_metric"),
    ],
)
def test_bad_targets_are_refused_with_a_code(vw, cw, metric, value, code):
    with pytest.raises(ApiError) as err:
        scorecard_target_set(
            scope=vw.scope, customer_id=cw.customer.pk, metric=metric, target=Decimal(value)
        )
    assert err.value.error_code == code
    assert not ScorecardTarget.objects.exists()


def test_customer_people_cannot_set_targets(vw, cw):
    with pytest.raises(ApiError) as err:
        scorecard_target_set(
            scope=scope_for_user(cw.manager),
            customer_id=cw.customer.pk,
            metric="fill_rate",
            target=Decimal("95"),
        )
    assert err.value.status_code == 403


def test_vendor_view_pools_the_customers(vw, cw):
    """Both customers with the same October: counts double, rates and percentiles (of
    all the ack times together) stay; each row counts its targets met and missed."""
    october_build(vw.customers[1])
    scorecard_target_set(
        scope=vw.scope, customer_id=cw.customer.pk, metric="fill_rate", target=Decimal("90")
    )
    result = scorecard_vendor(scope=vw.scope, month=OCTOBER, now=NOW)
    assert [r.customer.pk for r in result.rows] == [c.customer.pk for c in vw.customers]
    assert (result.rows[0].met, result.rows[0].missed) == (0, 1)
    assert (result.rows[1].met, result.rows[1].missed) == (0, 0)
    for key in ("issues", "bins", "orders_released", "lines", "issues_short"):
        assert result.totals[key] == 2 * EXPECTED_OCTOBER[key], key
    for key in ("fill_rate", "on_time_share", "order_accuracy", "ack_855_p90_hours"):
        assert result.totals[key] == EXPECTED_OCTOBER[key], key
    assert result.totals["inventory_turns"] == EXPECTED_OCTOBER["inventory_turns"]


def test_a_limited_rep_sees_only_assigned_customers(vw, cw):
    """A rep with assigned customers gets a vendor view of those only."""
    vw.rep.membership.assigned_customers.set([cw.customer])
    result = scorecard_vendor(scope=scope_for_user(vw.rep), month=OCTOBER, now=NOW)
    assert [r.customer.pk for r in result.rows] == [cw.customer.pk]


def test_snapshot_equals_the_live_computation_and_is_read(vw, cw):
    """The closed month stored by the snapshot gives the same figures, and the page then
    reads it (a changed snapshot shows); the current month is never stored."""
    live = card(vw, cw).values
    assert scorecard_months_snapshot(vendor_id=vw.vendor.pk, months=[OCTOBER], now=NOW) == 2
    stored = card(vw, cw)
    assert stored.live is False and stored.values == live
    ScorecardMonth.objects.filter(customer=cw.customer).update(values={"asked": 4, "got": 1})
    assert card(vw, cw).values["fill_rate"] == 25.0
    november = dt.date(2026, 11, 1)
    assert scorecard_months_snapshot(vendor_id=vw.vendor.pk, months=[november], now=NOW) == 0


def test_rebuild_command_recomputes_the_snapshots(vw, cw):
    """`manage.py scorecard_rebuild` replaces stored months with what the source says."""
    scorecard_months_snapshot(vendor_id=vw.vendor.pk, months=[OCTOBER], now=NOW)
    ScorecardMonth.objects.update(values={})
    call_command("scorecard_rebuild", months=24, vendor=vw.vendor.code)
    row = ScorecardMonth.objects.get(customer=cw.customer, month=OCTOBER)
    assert row.values["asked"] == 30 and row.values["got"] == 20
    values = card(vw, cw).values
    assert {k: values[k] for k in EXPECTED_OCTOBER} == EXPECTED_OCTOBER


def test_beat_task_snapshots_last_month_of_every_vendor(vw, cw):
    """The task run on the 1st stores the month just ended for each customer, once."""
    vendor_world("second", customers=1)
    written = scorecard_snapshot_last_month()
    assert written >= 3
    assert scorecard_snapshot_last_month() == written  # replaced, not added
    assert ScorecardMonth.objects.count() == written


NOVEMBER = dt.date(2026, 11, 1)


def test_current_month_is_stored_and_read_with_its_age(vw, cw):
    """The current month so far, stored at NOW, is what the page reads a little later:
    the live figures of NOW, not recomputed (live is False), as_of says when."""
    live = scorecard_customer(scope=vw.scope, customer_id=cw.customer.pk, month=NOVEMBER, now=NOW)
    assert live.live and live.as_of == NOW
    assert scorecard_current_store(vendor_id=vw.vendor.pk, now=NOW) == len(vw.customers)
    later = NOW + dt.timedelta(minutes=10)
    stored = scorecard_customer(
        scope=vw.scope, customer_id=cw.customer.pk, month=NOVEMBER, now=later
    )
    assert not stored.live and stored.as_of == NOW
    assert stored.values == live.values
    assert [v for _, v in stored.trend[:-1]] == [v for _, v in live.trend[:-1]]
    vendor = scorecard_vendor(scope=vw.scope, month=NOVEMBER, now=later)
    assert vendor.as_of == NOW


def test_a_stored_current_month_is_not_read_once_the_month_is_over(vw, cw):
    """November stored on the 15th; on December 2 November is closed: without its
    snapshot it is computed (live, as of now), never read from the partial row."""
    scorecard_current_store(vendor_id=vw.vendor.pk, now=NOW)
    december = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)
    result = scorecard_customer(
        scope=vw.scope, customer_id=cw.customer.pk, month=NOVEMBER, now=december
    )
    assert result.live and result.as_of == december and result.complete


def test_beat_task_stores_the_current_month_of_every_vendor(vw, cw):
    """The task stores one current row per customer of every vendor; run again, the
    rows are replaced, not added."""
    vendor_world("second", customers=1)
    written = scorecard_current_refresh()
    assert written >= 3
    assert scorecard_current_refresh() == written
    assert ScorecardCurrent.objects.count() == written


def test_the_stored_current_month_takes_fewer_queries_than_computing_it(vw, cw):
    """With the closed months of the trend snapshotted, the page of the current month
    reads a row instead of replaying the month."""
    scorecard_months_snapshot(vendor_id=vw.vendor.pk, months=months_back(NOVEMBER, 6)[:-1], now=NOW)

    def current():
        scorecard_customer(scope=vw.scope, customer_id=cw.customer.pk, month=NOVEMBER, now=NOW)

    live = _count(current)
    scorecard_current_store(vendor_id=vw.vendor.pk, now=NOW)
    stored = _count(current)
    assert stored < live, (stored, live)


@pytest.mark.parametrize("text", ["2026-13", "october", "2026-1-1", "1999-12", "2999-01"])
def test_bad_months_are_refused(text):
    with pytest.raises(ApiError) as err:
        month_parse(text, today=dt.date(2026, 11, 15))
    assert err.value.error_code == "bad_month"


def _count(fn) -> int:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def test_query_counts_do_not_grow_with_customers_bins_or_orders():
    """One customer with October, and three customers with October each and a second
    copy of its orders: the customer page and the vendor page take as many queries."""
    small = vendor_world("qsmall", customers=1)
    october_build(small.customers[0])
    big = vendor_world("qbig", customers=3, items=5)
    for c in big.customers:
        october_build(c)
        october_build(c)  # twice the orders and documents (the ledger is rewritten)
    counts = []
    for world in (small, big):
        cid = world.customers[0].customer.pk
        counts.append(
            (
                _count(
                    lambda w=world, c=cid: scorecard_customer(
                        scope=w.scope, customer_id=c, month=OCTOBER, now=NOW
                    )
                ),
                _count(lambda w=world: scorecard_vendor(scope=w.scope, month=OCTOBER, now=NOW)),
            )
        )
    assert counts[0] == counts[1], counts
    assert counts[0][0] <= 9 and counts[0][1] <= 9, counts
