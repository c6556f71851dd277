"""One levels rule (stocking.levels) for every entry point: the API, the portal, the
import, the bulk adjustment and the admin refuse the same levels with the same code."""

from __future__ import annotations

import pytest
from django.test import Client

from stocking.levels import Levels, LevelsCode, levels_problems
from stocking.models import Bin, BinLevelChange
from tests.conftest import as_user

pytestmark = pytest.mark.django_db

API = "/api/v1/"


def test_levels_problems_is_pure_and_names_each_problem():
    """Every problem is listed with its stable code and field; good levels give none."""
    assert levels_problems(Levels(10, 50, 10)) == []
    codes = {(p.code, p.field) for p in levels_problems(Levels(-1, 55, 10))}
    assert codes == {(LevelsCode.INVALID_MIN, "min"), (LevelsCode.NOT_WHOLE_PACKS, "max")}
    assert [p.code for p in levels_problems(Levels(5, 4, 0))] == [
        LevelsCode.INVALID_PACK_MULTIPLE,
        LevelsCode.MIN_ABOVE_MAX,
    ]


def test_api_patch_max_between_packs_is_refused_like_the_portal(world):
    """PATCH /bins/{id} {"max": 55} on a bin packed by 10 is a 400 not_whole_packs and
    changes nothing (it answered 200 while the portal and the import refused it)."""
    a = world["a"]
    b = a.customers[0].bins[1]
    assert b.pack_multiple == 10
    resp = as_user(a.admin).patch(f"{API}bins/{b.pk}", {"max": 55}, format="json")
    assert resp.status_code == 400, resp.content
    assert resp.json()["error"]["code"] == "not_whole_packs"
    assert resp.json()["error"]["field"] == "max"
    assert Bin.objects.get(pk=b.pk).max_qty == 50
    assert BinLevelChange.objects.filter(bin=b).count() == 1  # the creation only


def test_api_pack_change_that_leaves_max_between_packs_is_refused(world):
    a = world["a"]
    b = a.customers[0].bins[0]  # pack 1, max 50
    resp = as_user(a.admin).patch(f"{API}bins/{b.pk}", {"pack_multiple": 12}, format="json")
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "not_whole_packs"


def test_api_bin_create_max_between_packs_is_refused(world):
    a = world["a"]
    cw = a.customers[0]
    item = a.items[1]
    resp = as_user(a.admin).post(
        f"{API}bins",
        {"location": cw.room.pk, "item": item.pk, "min": 5, "max": 55},
        format="json",
    )
    assert resp.status_code == 400, resp.content
    assert resp.json()["error"]["code"] == "not_whole_packs"


def test_admin_bin_change_uses_the_rule_and_is_audited(world):
    """The Django admin refuses max 55 for pack 10 on the form, and a good change goes
    through the service: audited with source "admin"."""
    from django.contrib.auth import get_user_model

    a = world["a"]
    b = a.customers[0].bins[1]
    root = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client = Client()
    client.force_login(root)
    url = f"/admin/stocking/bin/{b.pk}/change/"
    form = {
        "min_qty": 10,
        "max_qty": 55,
        "pack_multiple": 10,
        "lead_time_days": 3,
        "kanban_quantity": "",
        "tare_grams": "100",
        "active": "on",
    }
    bad = client.post(url, form)
    assert bad.status_code == 200 and "not_whole_packs" in bad.content.decode()
    assert Bin.objects.get(pk=b.pk).max_qty == 50
    good = client.post(url, {**form, "max_qty": 60})
    assert good.status_code == 302, good.content.decode()[:2000]
    change = BinLevelChange.objects.filter(bin=b).order_by("-id").first()
    assert (change.source, change.new_max, change.user_id) == ("admin", 60, root.pk)
