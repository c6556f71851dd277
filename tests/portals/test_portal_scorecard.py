"""The scorecard pages and API: the customer's manager and the vendor's rep see the same
figures, another tenant's scorecard is a 404 everywhere, targets are set by vendor
staff only, and pages and API take as many queries at two sizes."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cmi.tenancy import scope_for_user
from insight.scorecard.models import ScorecardCurrent, ScorecardTarget
from insight.scorecard.selectors import scorecard_customer
from tests.conftest import as_user
from tests.factories import vendor_world
from tests.insight.scorecard_world import OCTOBER, october_build
from tests.portals.helpers import signed_in, url

API = "/api/v1/"
MONTH = "2026-10"


@pytest.fixture
def built(a):
    october_build(a.customers[0])
    return a


def page(client, cw, name="scorecard", month=MONTH):
    return client.get(url(name, cw) + f"?month={month}")


def test_manager_and_rep_see_the_same_figures(built):
    """The manager's page and the rep's page show October's 66.7% fill rate, 24.0 h
    855 p90 and 50.0% accuracy, and the same data table."""
    cw = built.customers[0]
    mine = page(signed_in(cw.manager), cw)
    theirs = page(signed_in(built.rep), cw)
    assert mine.status_code == theirs.status_code == 200
    for text in (b"66.7%", b"24.0 h", b"50.0%", b"Service scorecard"):
        assert text in mine.content and text in theirs.content
    table = mine.content.split(b'class="table table--compact sc-trend"')[1].split(b"</table>")[0]
    assert table in theirs.content
    assert b"Set a target" in theirs.content and b"Set a target" not in mine.content


def test_api_returns_the_page_numbers(built):
    """GET /scorecard?customer=&month= gives the selector's figures and the six-month trend."""
    cw = built.customers[0]
    body = as_user(cw.manager).get(f"{API}scorecard?customer={cw.customer.pk}&month={MONTH}")
    assert body.status_code == 200, body.content
    data = body.json()
    expected = scorecard_customer(
        scope=scope_for_user(cw.manager), customer_id=cw.customer.pk, month=OCTOBER
    )
    assert {m["key"]: m["actual"] for m in data["metrics"]} == {
        r.metric.key: r.actual for r in expected.rows
    }
    assert data["month"] == MONTH and len(data["trend"]) == 6
    assert data["counts"]["orders_released"] == 3
    assert data["as_of"]  # October has no snapshot here: computed now


def test_api_says_how_old_the_stored_current_month_is(built):
    """The current month is read from the row the beat task stored: `live` is false and
    `as_of` is when it was computed; the vendor endpoint says it too."""
    from insight.scorecard.services import scorecard_current_store

    cw = built.customers[0]
    scorecard_current_store(vendor_id=built.vendor.pk)
    stored = ScorecardCurrent.objects.get(customer=cw.customer)
    data = as_user(built.rep).get(f"{API}scorecard?customer={cw.customer.pk}").json()
    assert data["live"] is False
    assert data["as_of"].replace("Z", "+00:00") == stored.computed_at.isoformat()
    vendor = as_user(built.rep).get(f"{API}scorecard/vendor").json()
    assert vendor["as_of"].replace("Z", "+00:00") == stored.computed_at.isoformat()


def test_rep_sets_a_target_through_the_api_and_the_customer_sees_it(built):
    cw = built.customers[0]
    resp = as_user(built.rep).post(
        f"{API}scorecard/targets",
        {"customer": cw.customer.pk, "metric": "ack_855_p90_hours", "target": "4"},
        format="json",
    )
    assert resp.status_code == 200, resp.content
    data = as_user(cw.manager).get(f"{API}scorecard?customer={cw.customer.pk}&month={MONTH}")
    row = next(m for m in data.json()["metrics"] if m["key"] == "ack_855_p90_hours")
    assert (row["target"], row["met"]) == (4.0, False)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"metric": "fill_rate", "target": "101"}, "bad_target"),
        ({"metric": "nope", "target": "1"}, "invalid_choice"),
        ({"metric": "fill_rate", "target": "x"}, "invalid"),
    ],
)
def test_api_refuses_bad_targets(built, body, code):
    cw = built.customers[0]
    resp = as_user(built.admin).post(
        f"{API}scorecard/targets", {"customer": cw.customer.pk, **body}, format="json"
    )
    assert resp.status_code == 400, resp.content
    assert resp.json()["error"]["code"] == code
    assert not ScorecardTarget.objects.exists()


def test_api_bad_month_and_customer_are_clear_errors(built):
    cw = built.customers[0]
    client = as_user(built.admin)
    resp = client.get(f"{API}scorecard?customer={cw.customer.pk}&month=2026-13")
    assert (resp.status_code, resp.json()["error"]["code"]) == (400, "bad_month")
    resp = client.get(f"{API}scorecard?customer=abc")
    assert resp.status_code == 400 and resp.json()["error"]["field"] == "customer"
    resp = client.get(f"{API}scorecard/vendor?month=1999-01")
    assert (resp.status_code, resp.json()["error"]["code"]) == (400, "bad_month")


def test_vendor_api_lists_customers_and_pooled_totals(built):
    resp = as_user(built.rep).get(f"{API}scorecard/vendor?month={MONTH}")
    assert resp.status_code == 200, resp.content
    data = resp.json()
    assert [c["customer"] for c in data["customers"]] == [c.customer.pk for c in built.customers]
    assert data["totals"]["fill_rate"] == 66.7


def test_another_tenants_scorecard_is_a_404_in_the_api(built, b):
    """Vendor B's customer for vendor A's admin, and customer 1 for customer 0's manager:
    404 with the standard error; a target for them is refused the same way."""
    other_vendor = b.customers[0].customer.pk
    other_customer = built.customers[1].customer.pk
    for user, cid in ((built.admin, other_vendor), (built.customers[0].manager, other_customer)):
        resp = as_user(user).get(f"{API}scorecard?customer={cid}&month={MONTH}")
        assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found"
    resp = as_user(built.admin).post(
        f"{API}scorecard/targets",
        {"customer": other_vendor, "metric": "fill_rate", "target": "90"},
        format="json",
    )
    assert resp.status_code == 404
    assert not ScorecardTarget.objects.exists()


def test_roles_of_the_api(built):
    """Customer staff may not read the scorecard; managers may not set targets or read
    the vendor-wide view."""
    cw = built.customers[0]
    assert as_user(cw.staff).get(f"{API}scorecard?customer={cw.customer.pk}").status_code == 403
    manager = as_user(cw.manager)
    assert manager.get(f"{API}scorecard/vendor").status_code == 403
    resp = manager.post(
        f"{API}scorecard/targets",
        {"customer": cw.customer.pk, "metric": "fill_rate", "target": "90"},
        format="json",
    )
    assert resp.status_code == 403


def test_another_tenants_scorecard_pages_are_404(built, b):
    """The scorecard and its printable page: another vendor's customer, and another
    customer for a manager, are 404; the vendor page is refused to a manager."""
    for name in ("scorecard", "scorecard_print"):
        assert page(signed_in(built.admin), b.customers[0], name).status_code == 404
        assert (
            page(signed_in(built.customers[0].manager), built.customers[1], name).status_code == 404
        )
    manager = signed_in(built.customers[0].manager)
    assert manager.get(reverse("portals:scorecards")).status_code == 403


def test_rep_sets_a_target_on_the_page_and_manager_cannot(built):
    cw = built.customers[0]
    target = url("scorecard", cw) + f"?month={MONTH}"
    resp = signed_in(built.rep).post(target, {"metric": "on_time_share", "target": "30"})
    assert resp.status_code == 302
    shown = page(signed_in(cw.manager), cw)
    assert b"30.0%" in shown.content and b"1 met" in shown.content
    resp = signed_in(cw.manager).post(target, {"metric": "on_time_share", "target": "99"})
    assert resp.status_code == 403
    assert ScorecardTarget.objects.get().target == 30


def test_bad_target_on_the_page_is_said_and_nothing_saved(built):
    cw = built.customers[0]
    resp = signed_in(built.admin).post(
        url("scorecard", cw), {"metric": "fill_rate", "target": "150"}
    )
    assert resp.status_code == 400
    assert b"percentage at most 100" in resp.content
    assert not ScorecardTarget.objects.exists()


def test_bad_month_on_the_page_shows_this_month_with_the_problem(built):
    resp = page(signed_in(built.admin), built.customers[0], month="2026-99")
    assert resp.status_code == 400 and b"month must be YYYY-MM" in resp.content


def test_printable_and_vendor_pages(built):
    cw = built.customers[0]
    printed = page(signed_in(cw.manager), cw, "scorecard_print")
    assert printed.status_code == 200
    assert b"Service scorecard: " in printed.content and b"66.7%" in printed.content
    assert b"How each figure is measured" in printed.content
    vendor = signed_in(built.rep).get(reverse("portals:scorecards") + f"?month={MONTH}")
    assert vendor.status_code == 200
    assert cw.customer.name.encode() in vendor.content and b"All customers" in vendor.content


def _queries(client, path) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path).status_code == 200
    return len(ctx.captured_queries)


def test_pages_and_api_take_as_many_queries_at_two_sizes(db):
    """One customer with October, against three customers each with two Octobers of
    orders and five bins: every scorecard page and endpoint, the same count."""
    small = vendor_world("psmall", customers=1)
    october_build(small.customers[0])
    big = vendor_world("pbig", customers=3, items=5)
    for c in big.customers:
        october_build(c)
        october_build(c)
    counts = []
    for world in (small, big):
        cw = world.customers[0]
        rep, api = signed_in(world.rep), as_user(world.rep)
        counts.append(
            [
                _queries(rep, url("scorecard", cw) + f"?month={MONTH}"),
                _queries(rep, url("scorecard_print", cw) + f"?month={MONTH}"),
                _queries(rep, reverse("portals:scorecards") + f"?month={MONTH}"),
                _queries(api, f"{API}scorecard?customer={cw.customer.pk}&month={MONTH}"),
                _queries(api, f"{API}scorecard/vendor?month={MONTH}"),
            ]
        )
    assert counts[0] == counts[1], counts
