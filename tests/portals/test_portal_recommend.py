"""Recommended levels and backtests pages: vendor staff act, customer users only read,
other tenants' ids are 404, and the query count does not grow with the rows."""

from __future__ import annotations

import pytest

from catalog.services import item_create
from insight import services
from insight.models import Backtest, DemandPolicy, Recommendation
from stocking.models import Bin, BinLevelChange
from stocking.setup import bin_create
from tests.insight.helpers import recommendation_make
from tests.portals.helpers import signed_in, url


@pytest.fixture
def recs(a):
    c0 = a.customers[0]
    return [
        recommendation_make(c0.bins[0], min_qty=12, max_qty=40),
        recommendation_make(c0.bins[1], min_qty=20, max_qty=60, value_freed=9),
    ]


def test_vendor_sees_recommendations_with_chart_totals_and_buttons(a, recs):
    body = signed_in(a.rep).get(url("recommendations", a.customers[0])).content.decode()
    assert "demand-chart" in body and "<svg" in body
    assert "Apply all 2" in body and "Apply selected" in body
    assert "intermittent demand" in body
    assert "Orders per month" in body
    # Sorted by money freed: the second recommendation (9.00 freed) comes first.
    assert body.index(a.customers[0].bins[1].label) < body.index(a.customers[0].bins[0].label)
    assert "<script>" not in body and "<script " not in body.replace("<script src", "")


def test_customer_users_see_results_not_buttons(a, recs):
    for user in (a.customers[0].manager, a.customers[0].staff):
        res = signed_in(user).get(url("recommendations", a.customers[0]))
        assert res.status_code == 200
        body = res.content.decode()
        assert "demand-chart" in body
        assert "Apply" not in body and "Recompute" not in body
    res = signed_in(a.customers[0].manager).post(
        url("recommendations_apply", a.customers[0]), {"all": "1"}
    )
    assert res.status_code == 403
    assert Bin.objects.get(pk=recs[0].bin_id).min_qty == 10


def test_apply_one_selection_and_all(a, recs):
    c0 = a.customers[0]
    client = signed_in(a.rep)
    # A row's own button applies that row only, even with another row ticked.
    res = client.post(
        url("recommendations_apply", c0), {"one": recs[0].bin_id, "bins": [recs[1].bin_id]}
    )
    assert res.status_code == 302
    assert Bin.objects.get(pk=recs[0].bin_id).min_qty == 12
    assert Bin.objects.get(pk=recs[1].bin_id).min_qty == 10
    res = client.post(url("recommendations_apply", c0), {"bins": ["x"]})
    assert res.status_code == 302 and Bin.objects.get(pk=recs[1].bin_id).min_qty == 10
    client.post(url("recommendations_apply", c0), {"all": "1"})
    assert (
        Bin.objects.get(pk=recs[1].bin_id).min_qty,
        Bin.objects.get(pk=recs[1].bin_id).max_qty,
    ) == (20, 60)
    assert BinLevelChange.objects.filter(source="recommendation").count() == 2


def test_other_tenants_are_404(a, b, recs):
    """Vendor B and customer 1's users cannot open or act on customer a0's pages."""
    c0 = a.customers[0]
    run = Backtest.objects.create(vendor=a.vendor, customer=c0.customer, params={"days": 30})
    for user in (b.admin, a.customers[1].manager):
        client = signed_in(user)
        assert client.get(url("recommendations", c0)).status_code == 404
        assert client.get(url("backtests", c0)).status_code == 404
        assert client.get(url("backtest", c0, backtest_id=run.pk)).status_code == 404
    assert (
        signed_in(b.admin).post(url("recommendations_apply", c0), {"all": "1"}).status_code == 404
    )
    # A backtest of customer a0 opened under customer a1's URL: 404 too.
    assert (
        signed_in(a.rep).get(url("backtest", a.customers[1], backtest_id=run.pk)).status_code == 404
    )
    assert Bin.objects.get(pk=recs[0].bin_id).min_qty == 10


def test_policy_page_saves_target_floor_and_opt_out(a):
    c0 = a.customers[0]
    client = signed_in(a.rep)
    assert client.get(url("demand_policy", c0)).status_code == 200
    client.post(url("demand_policy", c0), {"form": "customer", "target_fill": "99"})
    client.post(
        url("demand_policy", c0),
        {"form": "bin", "label": c0.bins[0].label, "floor_min": "30", "opt_out": "on"},
    )
    own = DemandPolicy.objects.get(customer=c0.customer, bin__isnull=True)
    assert own.target_fill == pytest.approx(0.99)
    pinned = DemandPolicy.objects.get(bin_id=c0.bins[0].pk)
    assert (pinned.floor_min, pinned.opt_out) == (30, True)
    res = client.post(url("demand_policy", c0), {"form": "bin", "label": "NOPE"})
    assert res.status_code == 200 and "No bin with this label" in res.content.decode()
    assert signed_in(c0.manager).get(url("demand_policy", c0)).status_code == 403


def test_backtest_page_create_and_result_with_chart(a):
    c0 = a.customers[0]
    client = signed_in(a.rep)
    res = client.post(
        url("backtests", c0), {"days": "30", "variants": ["as_was", "recommended"], "min_pct": "10"}
    )
    assert res.status_code == 302
    run = Backtest.objects.get()
    assert [v["kind"] for v in run.params["variants"]] == ["as_was", "recommended", "min_pct"]
    page = client.get(res["Location"]).content.decode()
    assert 'http-equiv="refresh"' in page
    services.backtest_run(backtest_id=run.pk)
    page = client.get(res["Location"]).content.decode()
    assert "tradeoff__svg" in page and "All mins +10%" in page
    assert c0.bins[0].item.sku in page
    # The customer's manager reads it, but has no form.
    manager = signed_in(c0.manager)
    assert manager.get(res["Location"]).status_code == 200
    assert "New backtest" not in manager.get(url("backtests", c0)).content.decode()
    assert manager.post(url("backtests", c0), {"days": "30"}).status_code == 403


def test_backtest_form_errors_are_shown(a):
    res = signed_in(a.rep).post(url("backtests", a.customers[0]), {"days": "3"})
    assert res.status_code == 200
    assert not Backtest.objects.exists()


@pytest.mark.parametrize("rows", [2, 30])
def test_recommendations_page_query_count(a, rows, django_assert_max_num_queries):
    c0 = a.customers[0]
    for n in range(rows):
        item = item_create(scope=a.scope, sku=f"PQ-{n}", description="Nut", pack_quantity=1)
        made = bin_create(
            scope=a.scope, location_id=c0.room.pk, item_id=item.pk, min_qty=1, max_qty=5
        )
        recommendation_make(made, min_qty=2, max_qty=9)
    client = signed_in(a.rep)
    with django_assert_max_num_queries(14):
        res = client.get(url("recommendations", c0))
    assert res.status_code == 200
    assert Recommendation.objects.filter(customer=c0.customer).count() == rows
