"""Alerts in the portals and the API: the bell, the notifications page, the settings
page, /api/v1/notifications and /api/v1/subscriptions. Each user sees only their own
notifications (another's id is a 404), choices are checked against the scope, and the
pages and the listener cost a fixed number of queries at two sizes."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cmi import events
from cmi.models import Role
from notify.models import Channel, EmailDelivery, Notification, Subscription
from notify.services import event_hear
from tests.conftest import as_user
from tests.factories import user_make
from tests.notify.kit import hear_all
from tests.portals.helpers import signed_in


def emit_zero(vw, customer: int = 0, index: int = 0):
    cw = vw.customers[customer]
    b = cw.bins[index]
    return events.emit(
        "bin.at_zero",
        vendor_id=vw.vendor.pk,
        customer_id=cw.customer.pk,
        site_id=cw.site.pk,
        subject_type="bin",
        subject_id=b.pk,
        data={"bin_id": b.pk, "label": b.label, "sku": "X", "site": "MAIN", "on_hand": 0,
              "min_qty": 10, "max_qty": 50, "on_order": 0},
    )  # fmt: skip


def notes(world, n: int = 1) -> None:
    for i in range(n):
        emit_zero(world["a"], index=i % 3)
    hear_all(twice=False)


# --- the portal ----------------------------------------------------------------------


def test_the_bell_counts_unread_and_the_page_lists_them(world):
    notes(world, 2)
    cw = world["a"].customers[0]
    client = signed_in(cw.manager)
    bell = client.get("/notifications/bell/")
    assert bell.status_code == 200 and b'data-unread="2"' in bell.content
    page = client.get("/notifications/")
    assert page.status_code == 200
    assert page.content.count(b'class="notification notification--unread"') == 2
    assert b'hx-get="/notifications/bell/"' in page.content  # the bell is in the nav


@pytest.mark.parametrize("role", ["admin", "rep"])
def test_the_vendor_portal_has_the_bell_too(world, role):
    page = signed_in(getattr(world["a"], role)).get("/customers/")
    assert b'hx-get="/notifications/bell/"' in page.content


def test_mark_one_read_then_all(world):
    notes(world, 3)
    cw = world["a"].customers[0]
    client = signed_in(cw.manager)
    first = Notification.objects.filter(user=cw.manager).first()
    assert client.post("/notifications/read/", {"id": first.pk}).status_code == 302
    assert Notification.objects.filter(user=cw.manager, read_at__isnull=True).count() == 2
    client.post("/notifications/read/")
    assert not Notification.objects.filter(user=cw.manager, read_at__isnull=True).exists()
    assert b"data-unread" not in client.get("/notifications/bell/").content


@pytest.mark.parametrize("stranger", ["staff0", "manager1", "b_admin"])
def test_another_users_notification_is_a_404_and_stays_unread(world, stranger):
    """The same customer's staff, another customer's manager, another vendor's admin."""
    notes(world)
    va, vb = world["a"], world["b"]
    mine = Notification.objects.get(user=va.customers[0].manager)
    user = {
        "staff0": va.customers[0].staff,
        "manager1": va.customers[1].manager,
        "b_admin": vb.admin,
    }[stranger]
    assert signed_in(user).post("/notifications/read/", {"id": mine.pk}).status_code == 404
    assert as_user(user).post(f"/api/v1/notifications/{mine.pk}/read").status_code == 404
    assert as_user(user).get(f"/api/v1/notifications/{mine.pk}").status_code == 404
    resp = as_user(user).post("/api/v1/notifications/read", {"ids": [mine.pk]}, format="json")
    assert resp.status_code == 404
    mine.refresh_from_db()
    assert mine.read_at is None
    page = signed_in(user).get("/notifications/")
    assert mine.title.encode() not in page.content or stranger == "staff0"
    assert f'value="{mine.pk}"'.encode() not in page.content


def test_the_settings_page_shows_defaults_and_saves_choices(world):
    cw = world["a"].customers[0]
    client = signed_in(cw.manager)
    page = client.get("/notifications/settings/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="bin.at_zero__email" aria-label="Bin at zero: by mail" checked' in html
    assert "delivery.failed" not in html  # vendor-wide: not for a customer's people
    form = {"bin.at_zero__in_app": "on", "order.shipped__email": "on",
            "order.shipped__digest": "on", "order.shipped__site": str(cw.site.pk)}  # fmt: skip
    assert client.post("/notifications/settings/", form).status_code == 302
    subs = {(s.kind, s.channel): s for s in Subscription.objects.filter(user=cw.manager)}
    assert subs[("bin.at_zero", Channel.EMAIL)].enabled is False
    assert subs[("bin.at_zero", Channel.IN_APP)].enabled is True
    shipped = subs[("order.shipped", Channel.EMAIL)]
    assert (shipped.enabled, shipped.digest, shipped.site_id) == (True, True, cw.site.pk)
    emit_zero(world["a"])
    hear_all()
    assert not EmailDelivery.objects.filter(user=cw.manager).exists()
    assert Notification.objects.filter(user=cw.manager).count() == 1


def test_a_choice_narrowed_to_another_customer_or_site_is_refused(world):
    """A manager cannot name a site of another customer; a rep assigned to customer 1
    cannot name customer 0; another vendor's ids likewise. Nothing is saved."""
    va, vb = world["a"], world["b"]
    manager = va.customers[0].manager
    for site in (va.customers[1].site, vb.customers[0].site):
        resp = signed_in(manager).post(
            "/notifications/settings/", {"bin.at_zero__site": str(site.pk)}
        )
        assert resp.status_code == 404
    rep = user_make(va.vendor, Role.VENDOR_REP)
    rep.membership.assigned_customers.add(va.customers[1].customer)
    for customer in (va.customers[0].customer, vb.customers[0].customer):
        resp = signed_in(rep).post(
            "/notifications/settings/", {"bin.at_zero__customer": str(customer.pk)}
        )
        assert resp.status_code == 404
        resp = as_user(rep).put(
            "/api/v1/subscriptions",
            {"subscriptions": [{"kind": "bin.at_zero", "channel": "email", "enabled": True,
                                "customer": customer.pk}]},
            format="json",
        )  # fmt: skip
        assert resp.status_code == 404
    assert not Subscription.objects.exists()


def test_a_narrowed_choice_hears_only_its_customer(world):
    """A rep who narrowed bin-at-zero mail to customer 1 gets none for customer 0."""
    va = world["a"]
    resp = as_user(va.rep).put(
        "/api/v1/subscriptions",
        {"subscriptions": [{"kind": "bin.at_zero", "channel": "email", "enabled": True,
                            "customer": va.customers[1].customer.pk}]},
        format="json",
    )  # fmt: skip
    assert resp.status_code == 200
    row = next(r for r in resp.json() if (r["kind"], r["channel"]) == ("bin.at_zero", "email"))
    assert row["explicit"] and row["customer"] == va.customers[1].customer.pk
    emit_zero(va, customer=0)
    emit_zero(va, customer=1)
    hear_all()
    assert list(
        EmailDelivery.objects.filter(user=va.rep).values_list("event__customer_id", flat=True)
    ) == [va.customers[1].customer.pk]


# --- the API ---------------------------------------------------------------------------


def test_the_api_lists_only_the_tokens_users_notifications(world):
    notes(world, 2)
    va = world["a"]
    mine = as_user(va.customers[0].manager).get("/api/v1/notifications").json()
    assert mine["count"] == 2
    assert {r["kind"] for r in mine["results"]} == {"bin.at_zero"}
    assert as_user(va.customers[1].manager).get("/api/v1/notifications").json()["count"] == 0
    assert as_user(world["b"].admin).get("/api/v1/notifications").json()["count"] == 0
    unread = as_user(va.customers[0].manager).get("/api/v1/notifications?unread=true").json()
    assert unread["count"] == 2
    marked = as_user(va.customers[0].manager).post("/api/v1/notifications/read", {}, format="json")
    assert marked.json() == {"marked": 2}
    unread = as_user(va.customers[0].manager).get("/api/v1/notifications?unread=true").json()
    assert unread["count"] == 0


def test_machines_have_no_notifications(world):
    from tests.conftest import bearer

    assert bearer(world["a"].customers[0].token).get("/api/v1/notifications").status_code == 403
    assert bearer(world["a"].erp_key).get("/api/v1/subscriptions").status_code == 403


def test_bad_subscription_input_is_a_clear_400(world):
    va = world["a"]
    client = as_user(va.customers[0].manager)
    for body in (
        {"subscriptions": [{"kind": "bin.exploded", "channel": "email", "enabled": True}]},
        {"subscriptions": [{"kind": "bin.at_zero", "channel": "pigeon", "enabled": True}]},
        {"subscriptions": "all"},
    ):
        resp = client.put("/api/v1/subscriptions", body, format="json")
        assert resp.status_code == 400, body
        assert resp.json()["error"]["code"]
    resp = client.put(
        "/api/v1/subscriptions",
        {"subscriptions": [{"kind": "delivery.failed", "channel": "email", "enabled": True}]},
        format="json",
    )
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "unknown_kind"


# --- query counts ------------------------------------------------------------------------


def _count(fn) -> int:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def test_the_notifications_page_and_bell_cost_the_same_at_two_sizes(world):
    va = world["a"]
    small, large = va.customers[0].manager, va.customers[0].staff
    Notification.objects.all().delete()
    for user, n in ((small, 2), (large, 40)):
        for i in range(n):
            event = emit_zero(va, index=i % 3)
            Notification.objects.create(
                vendor=va.vendor, user=user, event=event, kind=event.kind, title=f"n{i}"
            )
    counts = {}
    for user in (small, large):
        client = signed_in(user)
        client.get("/notifications/")  # warm the session
        counts[user.pk] = (
            _count(lambda c=client: c.get("/notifications/")),
            _count(lambda c=client: c.get("/notifications/bell/")),
            _count(lambda c=client: c.get("/notifications/settings/")),
            _count(lambda u=user: as_user(u).get("/api/v1/notifications")),
        )
    assert counts[small.pk] == counts[large.pk]
    page, bell, settings_page, api = counts[small.pk]
    assert page <= 7 and bell <= 5 and settings_page <= 8 and api <= 7, counts[small.pk]


def test_the_listener_costs_the_same_for_few_and_many_listeners(world):
    """Vendor A with its own people, and with 30 more reps and managers: hearing one
    event is the same number of queries."""
    va = world["a"]
    first = emit_zero(va)
    small = _count(lambda: event_hear(first))
    for _ in range(15):
        user_make(va.vendor, Role.VENDOR_REP)
        user_make(va.vendor, Role.CUSTOMER_MANAGER, va.customers[0].customer)
    second = emit_zero(va, index=1)
    large = _count(lambda: event_hear(second))
    assert EmailDelivery.objects.filter(event=second).count() > 30
    assert small == large, (small, large)
    assert large <= 8


def test_a_customers_people_see_the_hours_their_alerts_wait(world):
    """The customer's own hours (set by the vendor) on the alert settings page, read only;
    the vendor's people set them on the customer's settings page, not here."""
    from django.conf import settings

    from notify.thresholds import alert_thresholds_set

    va = world["a"]
    cw = va.customers[0]
    alert_thresholds_set(scope=va.scope, customer_id=cw.customer.pk, hours={"scanner.silent": 3})
    html = signed_in(cw.staff).get("/notifications/settings/").content.decode()
    assert "How long before an alert" in html
    rows = dict(
        re.findall(
            r'data-label="Alert">([^<]+)</td><td data-label="Hours" class="num">(\d+)<', html
        )
    )
    assert rows == {
        "Bin below min with nothing on order": str(settings.NOTIFY_BELOW_MIN_HOURS),
        "Order still awaiting approval": str(settings.NOTIFY_APPROVAL_HOURS),
        "Scanner silent": "3",
    }
    assert 'name="hours' not in html  # nothing to change here
    vendor_page = signed_in(va.rep).get("/notifications/settings/").content.decode()
    assert "How long before an alert" not in vendor_page


@pytest.mark.parametrize("ids", [[2**63], [2**70], [1, 2**64]])
def test_an_id_no_database_column_holds_is_a_clear_400(world, ids):
    """SQLite cannot even bind such a number (it answered 500): refused with the field."""
    user = world["a"].customers[0].manager
    resp = as_user(user).post("/api/v1/notifications/read", {"ids": ids}, format="json")
    assert resp.status_code == 400
    [problem] = resp.json()["error"]["fields"]
    assert problem["field"].startswith("ids.") and problem["code"] == "max_value"
