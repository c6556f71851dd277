"""Auto release consolidates: a collecting order of an `auto` customer waits for the
customer's window (minutes since the order was started) or its minimum value, and a
bin at zero sends it at once. The scheduled release task lets the held ones go.

Bins of the fixture world: min 10, max 50, on hand 30; prices 0.25, 0.50, 0.75 with
pack multiples 1, 10, 1 (so a bin at 5 orders 45, 50 or 45 units).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from cmi.models import Customer, SettingChange
from replenishment.models import Order, OrderLine, OrderStatus
from replenishment.services import bins_evaluate, orders_release_due
from replenishment.tasks import release_due_orders
from stocking.models import Bin
from tests.conftest import as_user
from tests.factories import vendor_world

API = "/api/v1/"


@pytest.fixture
def vw(db):
    return vendor_world("cons", customers=1, consolidation_minutes=15)


@pytest.fixture
def cw(vw):
    return vw.customers[0]


def at(bins, on_hand: int) -> None:
    Bin.objects.filter(pk__in=[b.pk for b in bins]).update(on_hand=on_hand)


def evaluate(vw, bins) -> list[int]:
    return bins_evaluate(vendor_id=vw.vendor.pk, bin_ids=[b.pk for b in bins])


def settings_of(cw, **values) -> None:
    Customer.objects.filter(pk=cw.customer.pk).update(**values)


def test_new_customers_default_to_a_15_minute_window_and_no_minimum(vw):
    """The defaults an `auto` customer gets without asking."""
    c = Customer.objects.create(vendor=vw.vendor, code="fresh", name="Fresh")
    assert c.consolidation_minutes == 15
    assert c.consolidation_min_value == Decimal("0")


def test_order_is_held_for_the_window_then_released_by_the_task(vw, cw):
    """Below min but not at zero: the order stays a draft for 15 minutes from its start;
    at 14 minutes the release pass leaves it, at 15 it goes with a PO number."""
    at([cw.bins[0]], 5)
    (order_id,) = evaluate(vw, [cw.bins[0]])
    order = Order.objects.get(pk=order_id)
    assert order.status == OrderStatus.DRAFT and order.po_number is None
    started = order.created_at
    assert orders_release_due(now=started + dt.timedelta(minutes=14)) == []
    assert orders_release_due(now=started + dt.timedelta(minutes=15)) == [order_id]
    order.refresh_from_db()
    assert order.status == OrderStatus.RELEASED and order.po_number
    assert orders_release_due(now=started + dt.timedelta(minutes=30)) == []


def test_lines_collect_on_the_held_order(vw, cw):
    """A second bin running low inside the window joins the same order: one order,
    two lines, instead of two one-line orders."""
    at([cw.bins[0]], 5)
    (first,) = evaluate(vw, [cw.bins[0]])
    at([cw.bins[2]], 5)
    (second,) = evaluate(vw, [cw.bins[2]])
    assert first == second
    assert OrderLine.objects.filter(order_id=first).count() == 2
    assert Order.objects.get(pk=first).status == OrderStatus.DRAFT


def test_the_beat_task_releases_orders_whose_window_passed(vw, cw):
    """The scheduled task (run every minute, across vendors) sends a held order once
    its window has passed, and leaves a younger one."""
    at([cw.bins[0]], 5)
    (order_id,) = evaluate(vw, [cw.bins[0]])
    assert release_due_orders() == 0
    Order.objects.filter(pk=order_id).update(created_at=timezone.now() - dt.timedelta(minutes=16))
    assert release_due_orders() == 1
    assert Order.objects.get(pk=order_id).status == OrderStatus.RELEASED


def test_a_bin_at_zero_releases_at_once(vw, cw):
    """Urgent bypass: a bin at zero does not wait for the window."""
    at([cw.bins[0]], 0)
    (order_id,) = evaluate(vw, [cw.bins[0]])
    assert Order.objects.get(pk=order_id).status == OrderStatus.RELEASED


def test_a_bin_reaching_zero_releases_the_held_order(vw, cw):
    """A held order goes the moment a bin at zero joins it, with both lines."""
    at([cw.bins[0]], 5)
    (order_id,) = evaluate(vw, [cw.bins[0]])
    assert Order.objects.get(pk=order_id).status == OrderStatus.DRAFT
    at([cw.bins[2]], 0)
    assert evaluate(vw, [cw.bins[2]]) == [order_id]
    order = Order.objects.get(pk=order_id)
    assert order.status == OrderStatus.RELEASED
    assert order.lines.count() == 2


def test_minimum_value_releases_before_the_window(vw, cw):
    """Minimum 20.00: 45 x 0.25 = 11.25 waits; adding 45 x 0.75 = 33.75 makes 45.00,
    which goes at once."""
    settings_of(cw, consolidation_min_value=Decimal("20.00"))
    at([cw.bins[0]], 5)
    (order_id,) = evaluate(vw, [cw.bins[0]])
    assert Order.objects.get(pk=order_id).status == OrderStatus.DRAFT
    at([cw.bins[2]], 5)
    evaluate(vw, [cw.bins[2]])
    assert Order.objects.get(pk=order_id).status == OrderStatus.RELEASED


def test_minimum_lowered_while_held_lets_the_task_release(vw, cw):
    """An order held for its value goes on the next release pass once the minimum is
    lowered under its value, without waiting for the window."""
    settings_of(cw, consolidation_min_value=Decimal("100.00"), consolidation_minutes=600)
    at([cw.bins[0]], 5)
    (order_id,) = evaluate(vw, [cw.bins[0]])
    assert orders_release_due() == []
    settings_of(cw, consolidation_min_value=Decimal("10.00"))
    assert orders_release_due() == [order_id]


def test_window_zero_releases_at_once(vw, cw):
    """A window of 0 minutes and no minimum: every order goes as soon as it has lines."""
    settings_of(cw, consolidation_minutes=0)
    at([cw.bins[0]], 5)
    (order_id,) = evaluate(vw, [cw.bins[0]])
    assert Order.objects.get(pk=order_id).status == OrderStatus.RELEASED


def test_other_policies_ignore_the_window(vw, cw):
    """Approval and scheduled customers are not released by the consolidation pass."""
    settings_of(cw, release_policy="approval")
    at([cw.bins[0]], 5)
    (order_id,) = evaluate(vw, [cw.bins[0]])
    later = timezone.now() + dt.timedelta(hours=2)
    assert orders_release_due(now=later) == []
    assert Order.objects.get(pk=order_id).status == OrderStatus.AWAITING_APPROVAL


def test_api_sets_the_consolidation_settings_with_an_audit(vw, cw):
    """PATCH /customers/{id}: the vendor admin sets window and minimum; each change is a
    settings-audit row; the answer shows them."""
    admin = as_user(vw.admin)
    resp = admin.patch(
        f"{API}customers/{cw.customer.pk}",
        {"consolidation_minutes": 30, "consolidation_min_value": "250.00"},
        format="json",
    )
    assert resp.status_code == 200, resp.content
    assert resp.json()["consolidation_minutes"] == 30
    assert resp.json()["consolidation_min_value"] == "250.00"
    changes = {
        c.field: (c.before, c.after, c.source)
        for c in SettingChange.objects.filter(customer=cw.customer)
    }
    assert changes["consolidation_minutes"] == (15, 30, "api")
    assert changes["consolidation_min_value"] == ("0.00", "250.00", "api")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"consolidation_minutes": -1}, "consolidation_minutes"),
        ({"consolidation_minutes": 1441}, "consolidation_minutes"),
        ({"consolidation_min_value": "-5"}, "consolidation_min_value"),
        ({"consolidation_min_value": "abc"}, "consolidation_min_value"),
    ],
)
def test_api_refuses_bad_consolidation_settings(vw, cw, body, field):
    """Negative, too long or not a number: 400 naming the field; nothing changes."""
    resp = as_user(vw.admin).patch(f"{API}customers/{cw.customer.pk}", body, format="json")
    assert resp.status_code == 400, resp.content
    assert resp.json()["error"]["field"] == field
    assert not SettingChange.objects.filter(customer=cw.customer, object_type="customer").exists()


def test_rep_cannot_change_the_settings(vw, cw):
    """Only vendor admins set release settings (a rep gets 403)."""
    resp = as_user(vw.rep).patch(
        f"{API}customers/{cw.customer.pk}", {"consolidation_minutes": 5}, format="json"
    )
    assert resp.status_code == 403


def test_portal_settings_form_saves_the_consolidation_settings(vw, cw, client):
    """The customer settings page takes window and minimum and records them as `portal`."""
    client.force_login(vw.admin)
    url = f"/customers/{cw.customer.pk}/settings/"
    page = client.get(url)
    assert b"Consolidation window" in page.content
    resp = client.post(
        url,
        {
            "action": "release",
            "release_policy": "auto",
            "cutoff_times": "",
            "timezone": "America/Chicago",
            "consolidation_minutes": "45",
            "consolidation_min_value": "99.50",
        },
    )
    assert resp.status_code == 302, resp.content[:2000]
    c = Customer.objects.get(pk=cw.customer.pk)
    assert (c.consolidation_minutes, c.consolidation_min_value) == (45, Decimal("99.50"))
    assert SettingChange.objects.filter(
        customer=cw.customer, field="consolidation_minutes", source="portal"
    ).exists()
