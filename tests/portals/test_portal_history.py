"""The History tab: a customer's audited setting changes (min/max edits included), for
everyone who may see the customer; another vendor's or customer's history is a 404."""

from __future__ import annotations

import pytest

from cmi.services import customer_update
from stocking.setup import bin_levels_update
from tests.portals.helpers import signed_in, url

pytestmark = pytest.mark.django_db


def test_history_lists_level_and_setting_changes_with_who_and_source(world):
    a = world["a"]
    cw = a.customers[0]
    b = cw.bins[0]
    admin = signed_in(a.admin)
    resp = admin.post(url("bin_levels", cw, bin_id=b.pk), {"min_qty": 12, "max_qty": 60})
    assert resp.status_code == 302
    customer_update(
        scope=a.scope, customer_id=cw.customer.pk, release_policy="approval", source="portal"
    )
    page = signed_in(cw.staff).get(url("history", cw))
    assert page.status_code == 200
    body = page.content.decode()
    assert f"Bin {b.label}" in body and a.admin.username in body
    assert "release_policy" in body and "approval" in body
    assert page.context["page"].paginator.count == 3 + 9  # min, max, policy + creations
    only_bins = signed_in(cw.manager).get(url("history", cw) + "?object_type=customer")
    assert only_bins.context["page"].paginator.count == 1


def test_history_of_another_vendor_or_customer_is_404(world):
    a, b = world["a"], world["b"]
    assert signed_in(a.admin).get(url("history", b.customers[0])).status_code == 404
    staff = signed_in(a.customers[0].staff)
    assert staff.get(url("history", a.customers[1])).status_code == 404


def test_bad_filter_is_a_400_page_not_a_500(world):
    cw = world["a"].customers[0]
    resp = signed_in(world["a"].admin).get(url("history", cw) + "?source=nowhere")
    assert resp.status_code == 400 and "nowhere" in resp.content.decode()


def test_history_page_queries_do_not_grow_with_rows(world, django_assert_max_num_queries):
    a = world["a"]
    cw = a.customers[0]
    client = signed_in(a.admin)
    client.get(url("history", cw))  # warm the session
    with django_assert_max_num_queries(20) as first:
        assert client.get(url("history", cw)).status_code == 200
    for n in range(40):
        bin_levels_update(scope=a.scope, bin_id=cw.bins[0].pk, min_qty=n, user_id=a.rep.pk)
    with django_assert_max_num_queries(len(first.captured_queries)):
        assert client.get(url("history", cw)).status_code == 200
