"""Every change of a setting that decides what gets ordered is audited (who, when,
before, after, where from) and listed per customer at /customers/{id}/history."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from catalog.services import item_update
from cmi.models import SettingChange
from cmi.services import customer_reps_assign, customer_update
from edi.outbound import partner_replace
from stocking.bulk import bins_adjust_apply
from stocking.setup import bin_levels_update
from tests.conftest import as_user

pytestmark = pytest.mark.django_db

API = "/api/v1/"


def history(client, customer_id: int, query: str = ""):
    return client.get(f"{API}customers/{customer_id}/history{query}")


def test_customer_settings_changed_through_the_api_are_audited_and_listed(world):
    """A PATCH of release policy, cutoffs and time zone leaves one row per field with
    the user, before, after and source api; the history lists them newest first, with
    the bins' creation levels too."""
    a = world["a"]
    cw = a.customers[0]
    admin = as_user(a.admin)
    resp = admin.patch(
        f"{API}customers/{cw.customer.pk}",
        {"release_policy": "scheduled", "cutoff_times": ["10:00"], "timezone": "Europe/Berlin"},
        format="json",
    )
    assert resp.status_code == 200, resp.content
    rows = history(admin, cw.customer.pk, "?object_type=customer").json()
    got = {
        r["field"]: (r["before"], r["after"], r["source"], r["username"]) for r in rows["results"]
    }
    assert got == {
        "release_policy": ("auto", "scheduled", "api", a.admin.username),
        "cutoff_times": ([], ["10:00"], "api", a.admin.username),
        "timezone": ("America/Chicago", "Europe/Berlin", "api", a.admin.username),
    }
    everything = history(admin, cw.customer.pk).json()
    assert everything["count"] == 3 + 3 * 3  # 3 settings + min/max/pack of 3 new bins
    ats = [r["at"] for r in everything["results"]]
    assert ats == sorted(ats, reverse=True)


def test_unchanged_values_write_no_rows(world):
    a = world["a"]
    cw = a.customers[0]
    before = SettingChange.objects.count()
    customer_update(scope=a.scope, customer_id=cw.customer.pk, timezone="America/Chicago")
    bin_levels_update(scope=a.scope, bin_id=cw.bins[0].pk, min_qty=10, max_qty=50)
    assert SettingChange.objects.count() == before


def test_every_entry_point_writes_the_same_audit(world):
    """Bin settings from the API, the bulk adjustment, reps from the settings service,
    items and the partner profile: each leaves rows with its source."""
    a = world["a"]
    cw = a.customers[0]
    b = cw.bins[0]
    resp = as_user(a.rep).patch(
        f"{API}bins/{b.pk}",
        {"lead_time_days": 9, "kanban_quantity": 4, "tare_grams": "55.5", "active": False},
        format="json",
    )
    assert resp.status_code == 200, resp.content
    rows = SettingChange.objects.filter(object_type="bin", object_id=b.pk, source="api")
    assert {r.field: (r.before, r.after) for r in rows} == {
        "lead_time_days": (3, 9),
        "kanban_quantity": (None, 4),
        "tare_grams": ("100.000", "55.500"),
        "active": (True, False),
    }
    assert {r.user_id for r in rows} == {a.rep.pk}

    bins_adjust_apply(
        scope=a.scope, customer_id=cw.customer.pk, levels="min", percent=50, user_id=a.admin.pk
    )
    adjusted = SettingChange.objects.filter(source="adjust", field="min")
    assert adjusted.count() == 2  # the two bins still active
    assert {(r.before, r.after) for r in adjusted} == {(10, 15)}

    customer_reps_assign(scope=a.scope, customer_id=cw.customer.pk, rep_user_ids=[a.rep.pk])
    reps = SettingChange.objects.get(field="reps")
    assert (reps.before, reps.after, reps.customer_id) == ([], [a.rep.pk], cw.customer.pk)

    item_update(scope=a.scope, item_id=a.items[0].pk, pack_quantity=5, source="portal")
    item = SettingChange.objects.get(object_type="item")
    assert (item.field, item.before, item.after, item.customer_id) == ("pack_quantity", 1, 5, None)

    partner_replace(
        scope=a.scope,
        data={
            "isa_sender_id": "ACME",
            "isa_receiver_id": "ERP",
            "gs_sender": "ACME",
            "gs_receiver": "ERP",
        },
    )
    assert SettingChange.objects.filter(object_type="trading_partner", source="api").exists()


def test_vendor_wide_changes_are_in_the_vendor_view_of_every_customer_only(world):
    """A catalog or partner change (no customer) is listed in each customer's history
    for the vendor's people, and never shown to a customer's own people; the other
    vendor's changes appear nowhere."""
    a, b = world["a"], world["b"]
    cw = a.customers[0]
    item_update(scope=a.scope, item_id=a.items[0].pk, pack_quantity=5, source="portal")
    item_update(scope=b.scope, item_id=b.items[0].pk, pack_quantity=7, source="portal")
    for customer in a.customers:
        resp = history(as_user(a.admin), customer.customer.pk, "?object_type=item")
        assert resp.status_code == 200, resp.content
        rows = resp.json()["results"]
        assert [(r["field"], r["before"], r["after"]) for r in rows] == [("pack_quantity", 1, 5)]
    resp = history(as_user(cw.manager), cw.customer.pk, "?object_type=item")
    assert resp.status_code == 200 and resp.json()["results"] == []


def test_history_of_another_vendor_or_customer_is_404(world):
    a, b = world["a"], world["b"]
    admin = as_user(a.admin)
    assert history(admin, b.customers[0].customer.pk).status_code == 404
    manager = as_user(a.customers[0].manager)
    assert history(manager, a.customers[0].customer.pk).status_code == 200
    assert history(manager, a.customers[1].customer.pk).status_code == 404
    assert history(admin, 2**70).status_code == 404


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?source=nowhere", "source"),
        ("?object_type=planet", "object_type"),
        ("?since=yesterday", "since"),
        ("?object_id=-4", "object_id"),
    ],
)
def test_bad_filters_are_400_with_the_field(world, query, field):
    a = world["a"]
    resp = history(as_user(a.admin), a.customers[0].customer.pk, query)
    assert resp.status_code == 400, resp.content
    assert resp.json()["error"]["code"] == "invalid_filter"
    assert resp.json()["error"]["field"] == field


def test_filters_narrow_the_history(world):
    a = world["a"]
    cw = a.customers[0]
    admin = as_user(a.admin)
    bin_levels_update(scope=a.scope, bin_id=cw.bins[0].pk, max_qty=60, source="portal")
    rows = history(admin, cw.customer.pk, f"?object_id={cw.bins[0].pk}&field=max").json()
    assert [(r["before"], r["after"]) for r in rows["results"]] == [(50, 60), (None, 50)]
    rows = history(admin, cw.customer.pk, "?source=portal").json()
    assert rows["count"] == 1
    later = (timezone.now() + dt.timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    assert history(admin, cw.customer.pk, f"?since={later}").json()["count"] == 0


def test_history_query_count_does_not_grow_with_rows(world, django_assert_max_num_queries):
    a = world["a"]
    cw = a.customers[0]
    admin = as_user(a.admin)
    with django_assert_max_num_queries(8) as small:
        assert history(admin, cw.customer.pk).status_code == 200
    for n in range(30):
        bin_levels_update(
            scope=a.scope, bin_id=cw.bins[0].pk, min_qty=n, lead_time_days=n, user_id=a.rep.pk
        )
    with django_assert_max_num_queries(len(small.captured_queries)):
        resp = history(admin, cw.customer.pk)
    assert resp.json()["count"] > 50 and len(resp.json()["results"]) == 50


def test_customer_changed_in_the_admin_is_audited_as_admin(world):
    """The Django admin's customer form saves through the same audit (source admin)."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    a = world["a"]
    customer = a.customers[0].customer
    root = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client = Client()
    client.force_login(root)
    resp = client.post(
        f"/admin/cmi/customer/{customer.pk}/change/",
        {
            "vendor": a.vendor.pk,
            "code": customer.code,
            "name": customer.name,
            "account_number": customer.account_number,
            "release_policy": "approval",
            "cutoff_times": "[]",
            "timezone": customer.timezone,
        },
    )
    assert resp.status_code == 302, resp.content.decode()[:3000]
    change = SettingChange.objects.get(object_type="customer", customer=customer)
    assert (change.field, change.before, change.after) == ("release_policy", "auto", "approval")
    assert (change.source, change.user_id) == ("admin", root.pk)
