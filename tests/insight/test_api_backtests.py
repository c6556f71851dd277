"""Backtests and demand policies over the API: vendor staff create, results kept,
other tenants' ids are 404, bad input a 400 with a stable code."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from insight import services
from insight.models import Backtest, DemandPolicy
from tests.conftest import as_user, bearer

API = "/api/v1/"


def _issues(world, days=40):
    c0 = world["a"].customers[0]
    now = timezone.now()
    batch = [
        {
            "event_id": str(uuid.uuid4()),
            "kind": "issue",
            "code": c0.bins[n % 3].label,
            "quantity": 1 + n % 4,
            "occurred_at": (now - dt.timedelta(days=n + 1)).isoformat(),
        }
        for n in range(days)
    ]
    assert bearer(c0.token).post(f"{API}scans", {"scans": batch}, format="json").status_code == 200


def test_backtest_create_run_and_read(world):
    """A backtest is queued, then run (here called as the worker calls it), with a summary
    and per-bin rows for each variant; the customer's own users may read it."""
    a = world["a"]
    c0 = a.customers[0]
    _issues(world)
    res = as_user(a.rep).post(
        f"{API}backtests",
        {
            "customer": c0.customer.pk,
            "days": 30,
            "variants": [
                {"kind": "as_was"},
                {"kind": "recommended"},
                {"kind": "min_pct", "percent": 10},
                {"kind": "target_fill", "target": 0.99},
                {"kind": "levels", "csv": f"bin,min,max\n{c0.bins[0].label},1,5\n"},
            ],
        },
        format="json",
    )
    assert res.status_code == 202, res.content
    body = res.json()
    assert body["status"] == "queued"
    services.backtest_run(backtest_id=body["id"])
    got = as_user(c0.manager).get(f"{API}backtests/{body['id']}").json()
    assert got["status"] == "done" and got["progress"] == 100
    variants = got["result"]["variants"]
    assert [v["kind"] for v in variants] == [
        "as_was",
        "recommended",
        "min_pct",
        "target_fill",
        "levels",
    ]
    for v in variants:
        assert 0 <= v["summary"]["fill"] <= 1
        assert len(v["bins"]) == 3
    as_was = {b["bin"]: b for b in variants[0]["bins"]}
    assert as_was[c0.bins[0].pk]["min"] == 10
    assert {b["bin"]: b["min"] for b in variants[2]["bins"]}[c0.bins[0].pk] == 11
    assert {b["bin"]: (b["min"], b["max"]) for b in variants[4]["bins"]}[c0.bins[0].pk] == (1, 5)
    # Running it again does nothing: it is done.
    assert services.backtest_run(backtest_id=body["id"]) is None


def test_backtest_other_tenant_is_404(world):
    a, b = world["a"], world["b"]
    mine = Backtest.objects.create(vendor=a.vendor, customer=a.customers[0].customer, params={})
    assert as_user(b.admin).get(f"{API}backtests/{mine.pk}").status_code == 404
    assert as_user(a.customers[1].manager).get(f"{API}backtests/{mine.pk}").status_code == 404
    assert as_user(a.customers[0].manager).get(f"{API}backtests/{mine.pk}").status_code == 200
    res = as_user(a.admin).post(
        f"{API}backtests", {"customer": b.customers[0].customer.pk}, format="json"
    )
    assert res.status_code == 404
    res = as_user(a.admin).post(
        f"{API}backtests",
        {"customer": a.customers[0].customer.pk, "bins": [b.customers[0].bins[0].pk]},
        format="json",
    )
    assert res.status_code == 400
    assert res.json()["error"]["code"] == "unknown_bin"


def test_backtest_customer_users_cannot_create(world):
    c0 = world["a"].customers[0]
    res = as_user(c0.manager).post(f"{API}backtests", {"customer": c0.customer.pk}, format="json")
    assert res.status_code == 403


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"days": 3}, "min_value"),
        ({"variants": [{"kind": "nope"}]}, "invalid_choice"),
        ({"variants": [{"kind": "min_pct", "percent": 900}]}, "invalid_percent"),
        ({"variants": [{"kind": "target_fill", "target": 1.5}]}, "invalid_target_fill"),
        ({"variants": [{"kind": "levels", "csv": "a,b\n1,2\n"}]}, "invalid_levels_csv"),
        ({"variants": [{"kind": "levels", "csv": "bin,min,max\nX,5,2\n"}]}, "invalid_levels_csv"),
        ({"variants": [{"kind": "levels"}]}, "invalid_levels_csv"),
    ],
)
def test_backtest_bad_input_is_400_with_code(world, body, code):
    a = world["a"]
    res = as_user(a.rep).post(
        f"{API}backtests", {"customer": a.customers[0].customer.pk, **body}, format="json"
    )
    assert res.status_code == 400
    assert res.json()["error"]["code"] == code
    assert not Backtest.objects.exists()


def test_policy_upsert_list_delete_and_404s(world):
    a, b = world["a"], world["b"]
    c0 = a.customers[0]
    client = as_user(a.rep)
    res = client.post(
        f"{API}demand-policies", {"customer": c0.customer.pk, "target_fill": 0.99}, format="json"
    )
    assert res.status_code == 200, res.content
    again = client.post(
        f"{API}demand-policies", {"customer": c0.customer.pk, "target_fill": 0.97}, format="json"
    )
    assert again.json()["id"] == res.json()["id"]
    assert DemandPolicy.objects.get().target_fill == pytest.approx(0.97)
    pinned = client.post(
        f"{API}demand-policies",
        {"customer": c0.customer.pk, "bin": c0.bins[0].pk, "floor_min": 25},
        format="json",
    )
    assert pinned.status_code == 200
    listed = client.get(f"{API}demand-policies", {"customer": c0.customer.pk}).json()
    assert listed["count"] == 2
    # Another vendor: sees none, deletes none, cannot pin a floor on our bin.
    other = as_user(b.admin)
    assert other.get(f"{API}demand-policies").json()["count"] == 0
    assert other.delete(f"{API}demand-policies/{res.json()['id']}").status_code == 404
    res_other = other.post(
        f"{API}demand-policies",
        {"customer": b.customers[0].customer.pk, "bin": c0.bins[0].pk, "floor_min": 1},
        format="json",
    )
    assert res_other.status_code == 400
    assert res_other.json()["error"]["code"] == "unknown_bin"
    assert (
        other.post(
            f"{API}demand-policies", {"customer": c0.customer.pk, "opt_out": True}, format="json"
        ).status_code
        == 404
    )
    # Customer users neither read nor write policies.
    assert as_user(c0.manager).get(f"{API}demand-policies").status_code == 403
    assert client.delete(f"{API}demand-policies/{pinned.json()['id']}").status_code == 204
    assert DemandPolicy.objects.count() == 1


def test_policy_bad_input(world):
    a = world["a"]
    c0 = a.customers[0]
    res = as_user(a.rep).post(
        f"{API}demand-policies", {"customer": c0.customer.pk, "target_fill": 1.2}, format="json"
    )
    assert res.status_code == 400 and res.json()["error"]["field"] == "target_fill"
    res = as_user(a.rep).post(
        f"{API}demand-policies",
        {"customer": c0.customer.pk, "item": a.items[0].pk, "bin": c0.bins[0].pk},
        format="json",
    )
    assert res.status_code == 400 and res.json()["error"]["code"] == "item_or_bin"
