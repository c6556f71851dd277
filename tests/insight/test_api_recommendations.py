"""The recommendations API: read by everyone in scope, applied by vendor staff only,
through the levels service (audited as "recommendation"); other tenants' ids are 404."""

from __future__ import annotations

import pytest

from catalog.services import item_create
from insight.models import Recommendation
from stocking.models import Bin, BinLevelChange
from stocking.setup import bin_create, bin_levels_update
from tests.conftest import as_user
from tests.insight.helpers import recommendation_make

API = "/api/v1/"


@pytest.fixture
def recs(world):
    a0 = world["a"].customers[0]
    b0 = world["b"].customers[0]
    return {
        "a0": [
            recommendation_make(a0.bins[0], min_qty=12, max_qty=40),
            recommendation_make(a0.bins[1], min_qty=20, max_qty=60),  # pack 10
            recommendation_make(a0.bins[2], min_qty=10, max_qty=50),  # unchanged
        ],
        "a1": [recommendation_make(world["a"].customers[1].bins[0], min_qty=5, max_qty=25)],
        "b0": [recommendation_make(b0.bins[0], min_qty=7, max_qty=21)],
    }


def test_list_filters_by_customer_and_changed_only(world, recs):
    """changed_only leaves out bins whose recommended levels equal their current ones."""
    a = world["a"]
    client = as_user(a.rep)
    customer = a.customers[0].customer.pk
    body = client.get(f"{API}recommendations", {"customer": customer}).json()
    assert {r["bin"] for r in body["results"]} == {r.bin_id for r in recs["a0"]}
    body = client.get(f"{API}recommendations", {"customer": customer, "changed_only": "true"})
    assert {r["bin"] for r in body.json()["results"]} == {
        recs["a0"][0].bin_id,
        recs["a0"][1].bin_id,
    }
    row = body.json()["results"][0]
    assert {"explanation", "computed_at", "current", "recommended", "min", "max"} <= set(row)
    assert row["recommended"]["fill"] == pytest.approx(0.98)


def test_list_never_shows_another_tenant(world, recs):
    """Vendor B's recommendations are invisible to vendor A; a customer user sees its own."""
    a = world["a"]
    body = as_user(a.admin).get(f"{API}recommendations").json()
    ids = {r["bin"] for r in body["results"]}
    assert recs["b0"][0].bin_id not in ids
    body = as_user(a.admin).get(
        f"{API}recommendations", {"customer": world["b"].customers[0].customer.pk}
    )
    assert body.json()["results"] == []
    mine = as_user(a.customers[1].manager).get(f"{API}recommendations").json()
    assert {r["bin"] for r in mine["results"]} == {recs["a1"][0].bin_id}


def test_bin_recommendation_and_404s(world, recs):
    a = world["a"]
    bin_id = recs["a0"][0].bin_id
    got = as_user(a.rep).get(f"{API}bins/{bin_id}/recommendation")
    assert got.status_code == 200
    assert (got.json()["min"], got.json()["max"]) == (12, 40)
    assert (
        as_user(a.customers[0].staff).get(f"{API}bins/{bin_id}/recommendation").status_code == 200
    )
    # Another customer's user, another vendor, a bin without a recommendation: all 404.
    assert (
        as_user(a.customers[1].staff).get(f"{API}bins/{bin_id}/recommendation").status_code == 404
    )
    other = as_user(world["b"].admin).get(f"{API}bins/{bin_id}/recommendation")
    assert other.status_code == 404
    assert other.json()["error"]["code"] == "not_found"
    Recommendation.objects.filter(bin_id=bin_id).delete()
    assert as_user(a.rep).get(f"{API}bins/{bin_id}/recommendation").status_code == 404


def test_apply_selected_bins_goes_through_the_levels_service(world, recs):
    """Applied bins get the recommended levels and an audit row with source recommendation."""
    a = world["a"]
    customer = a.customers[0].customer.pk
    target = recs["a0"][0]
    res = as_user(a.rep).post(
        f"{API}recommendations/apply",
        {"customer": customer, "bins": [target.bin_id]},
        format="json",
    )
    assert res.status_code == 200, res.content
    assert res.json()["applied"] == [target.bin_id]
    found = Bin.objects.get(pk=target.bin_id)
    assert (found.min_qty, found.max_qty) == (12, 40)
    audit = BinLevelChange.objects.get(bin_id=target.bin_id, source="recommendation")
    assert (audit.old_min, audit.old_max, audit.new_min, audit.new_max) == (10, 50, 12, 40)
    assert audit.user_id == a.rep.pk
    target.refresh_from_db()
    assert target.status == "applied"
    other = Bin.objects.get(pk=recs["a0"][1].bin_id)
    assert (other.min_qty, other.max_qty) == (10, 50)


def test_apply_all_of_a_customer_skips_bins_changed_since(world, recs):
    """Without bin ids every pending change is applied; a bin whose levels moved after
    the computation is skipped with levels_changed, not overwritten."""
    a = world["a"]
    first, second = recs["a0"][0], recs["a0"][1]
    bin_levels_update(scope=a.scope, bin_id=second.bin_id, min_qty=11, max_qty=50)
    res = as_user(a.admin).post(
        f"{API}recommendations/apply", {"customer": a.customers[0].customer.pk}, format="json"
    )
    assert res.status_code == 200
    assert res.json()["applied"] == [first.bin_id]
    assert res.json()["skipped"] == [
        {
            "bin": second.bin_id,
            "code": "levels_changed",
            "detail": "Its levels changed since this was computed; recompute first.",
        }
    ]
    assert Bin.objects.get(pk=second.bin_id).min_qty == 11
    # Applying again is a no-op: nothing pending is left for the first bin.
    again = as_user(a.admin).post(
        f"{API}recommendations/apply",
        {"customer": a.customers[0].customer.pk, "bins": [first.bin_id]},
        format="json",
    )
    assert again.json()["applied"] == []
    assert again.json()["skipped"][0]["code"] == "nothing_to_apply"
    assert BinLevelChange.objects.filter(bin_id=first.bin_id, source="recommendation").count() == 1


def test_apply_is_vendor_staff_only(world, recs):
    a0 = world["a"].customers[0]
    for user in (a0.manager, a0.staff):
        res = as_user(user).post(
            f"{API}recommendations/apply", {"customer": a0.customer.pk}, format="json"
        )
        assert res.status_code == 403
    assert Bin.objects.get(pk=recs["a0"][0].bin_id).min_qty == 10


def test_apply_to_another_tenant_is_404_and_changes_nothing(world, recs):
    """Another vendor's customer is 404; another customer's bin ids apply nothing."""
    a, b = world["a"], world["b"]
    res = as_user(a.admin).post(
        f"{API}recommendations/apply", {"customer": b.customers[0].customer.pk}, format="json"
    )
    assert res.status_code == 404
    assert res.json()["error"]["code"] == "unknown_customer"
    res = as_user(a.admin).post(
        f"{API}recommendations/apply",
        {
            "customer": a.customers[0].customer.pk,
            "bins": [recs["a1"][0].bin_id, recs["b0"][0].bin_id],
        },
        format="json",
    )
    assert res.json()["applied"] == []
    assert Bin.objects.get(pk=recs["a1"][0].bin_id).min_qty == 10
    assert Bin.objects.get(pk=recs["b0"][0].bin_id).min_qty == 10


def test_apply_bad_input_is_a_clear_400(world, recs):
    a = world["a"]
    res = as_user(a.admin).post(f"{API}recommendations/apply", {"bins": "x"}, format="json")
    assert res.status_code == 400
    assert res.json()["error"]["field"] in ("customer", "bins")


def test_recompute_queues_and_404s_other_vendor(world):
    a, b = world["a"], world["b"]
    res = as_user(a.rep).post(
        f"{API}recommendations/recompute", {"customer": a.customers[0].customer.pk}, format="json"
    )
    assert res.status_code == 202
    res = as_user(a.rep).post(
        f"{API}recommendations/recompute", {"customer": b.customers[0].customer.pk}, format="json"
    )
    assert res.status_code == 404
    res = as_user(a.customers[0].manager).post(
        f"{API}recommendations/recompute", {"customer": a.customers[0].customer.pk}, format="json"
    )
    assert res.status_code == 403


@pytest.mark.parametrize("rows", [3, 40])
def test_list_query_count_does_not_grow(world, rows, django_assert_max_num_queries):
    """A page of 40 recommendations costs the queries of a page of 3."""
    a = world["a"]
    c0 = a.customers[0]
    for n in range(rows):
        item = item_create(scope=a.scope, sku=f"QC-{n}", description="Washer", pack_quantity=1)
        made = bin_create(
            scope=a.scope, location_id=c0.room.pk, item_id=item.pk, min_qty=1, max_qty=10
        )
        recommendation_make(made, min_qty=2, max_qty=20)
    with django_assert_max_num_queries(6):
        res = as_user(a.rep).get(f"{API}recommendations", {"customer": c0.customer.pk})
    assert res.status_code == 200
    assert res.json()["count"] == rows


def test_dismiss_api_and_apply_all_leaves_dismissed(world, recs):
    """A dismissed recommendation is not applied by "apply all"; customers cannot dismiss;
    another vendor's bin is not dismissed."""
    a = world["a"]
    c0 = a.customers[0]
    target = recs["a0"][0]
    res = as_user(a.rep).post(
        f"{API}recommendations/dismiss",
        {"customer": c0.customer.pk, "bins": [target.bin_id, recs["b0"][0].bin_id]},
        format="json",
    )
    assert res.status_code == 200
    assert res.json() == {"dismissed": [target.bin_id]}
    denied = as_user(c0.manager).post(
        f"{API}recommendations/dismiss", {"customer": c0.customer.pk, "bins": [1]}, format="json"
    )
    assert denied.status_code == 403
    as_user(a.rep).post(f"{API}recommendations/apply", {"customer": c0.customer.pk}, format="json")
    assert Bin.objects.get(pk=target.bin_id).min_qty == 10
    assert Bin.objects.get(pk=recs["a0"][1].bin_id).min_qty == 20


def test_recompute_keeps_dismissed_until_the_levels_change(world):
    """Recomputing the same levels keeps a dismissal; new demand that moves the levels
    brings the recommendation back as pending."""
    import datetime as dt
    import uuid

    from django.utils import timezone

    from insight import services as insight_services
    from tests.conftest import bearer

    a = world["a"]
    c0 = a.customers[0]
    bin_id = c0.bins[2].pk
    Bin.objects.filter(pk=bin_id).update(created_at=timezone.now() - dt.timedelta(days=90))
    insight_services.recommendations_compute(
        vendor_id=a.vendor.pk, customer_id=c0.customer.pk, bin_ids=[bin_id]
    )
    insight_services.recommendations_dismiss(
        scope=a.scope, customer_id=c0.customer.pk, bin_ids=[bin_id]
    )
    insight_services.recommendations_compute(
        vendor_id=a.vendor.pk, customer_id=c0.customer.pk, bin_ids=[bin_id]
    )
    assert Recommendation.objects.get(bin_id=bin_id).status == "dismissed"
    before = Recommendation.objects.get(bin_id=bin_id)
    now = timezone.now()
    batch = [
        {
            "event_id": str(uuid.uuid4()),
            "kind": kind,
            "code": c0.bins[2].label,
            "quantity": 25,
            "occurred_at": (now - dt.timedelta(days=n + 1, hours=h)).isoformat(),
        }
        for n in range(60)
        for kind, h in (("receive", 2), ("issue", 1))
    ]
    assert bearer(c0.token).post(f"{API}scans", {"scans": batch}, format="json").status_code == 200
    insight_services.recommendations_compute(
        vendor_id=a.vendor.pk, customer_id=c0.customer.pk, bin_ids=[bin_id]
    )
    after = Recommendation.objects.get(bin_id=bin_id)
    assert (after.min_qty, after.max_qty) != (before.min_qty, before.max_qty)
    assert after.status == "pending"
