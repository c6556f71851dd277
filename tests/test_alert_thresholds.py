"""Alert thresholds: how many hours a bin is below min with nothing on order, an order
waits for approval, a scanner is silent, before the alert. A customer's own hours win
over the vendor's default, which wins over the NOTIFY_* setting; the checks use each
customer's hours at a fixed number of queries; the API and the portal read and change
them within the scope (another vendor's or an unseen customer's are a 404)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cmi.errors import ApiError
from cmi.models import Customer, DomainEvent, Role, SettingChange
from cmi.scoping import Scope
from notify.checks import checks_vendor
from notify.models import AlertThreshold, ThresholdKind
from notify.thresholds import (
    Source,
    alert_thresholds_set,
    threshold_hours,
    thresholds_effective,
    thresholds_load,
)
from replenishment.models import Order, OrderStatus
from stocking.models import Bin, ScannerDevice
from tests.conftest import as_user
from tests.edi.vectors.fixtures import release
from tests.factories import user_make, vendor_world

pytestmark = pytest.mark.django_db

BELOW = ThresholdKind.BELOW_MIN.value
APPROVAL = ThresholdKind.APPROVAL_WAITING.value
SILENT = ThresholdKind.SCANNER_SILENT.value


def admin_scope(vw) -> Scope:
    return Scope(vendor_id=vw.vendor.pk, role=Role.VENDOR_ADMIN, user_id=vw.admin.pk)


def rep_scope(vw, rep, customer_ids=None) -> Scope:
    return Scope(
        vendor_id=vw.vendor.pk,
        role=Role.VENDOR_REP,
        user_id=rep.pk,
        customer_ids=None if customer_ids is None else frozenset(customer_ids),
    )


def manager_scope(vw, cw) -> Scope:
    return Scope(
        vendor_id=vw.vendor.pk,
        role=Role.CUSTOMER_MANAGER,
        user_id=cw.manager.pk,
        customer_ids=frozenset({cw.customer.pk}),
    )


def codes(call) -> tuple[str, str | None, int]:
    with pytest.raises(ApiError) as err:
        call()
    return err.value.error_code, err.value.field, err.value.status_code


# --- resolution ----------------------------------------------------------------------


def test_hours_come_from_the_customer_then_the_vendor_then_the_setting(world, settings):
    """Nothing set: the setting. A vendor default: it, for every customer. A customer's
    own: it, for that customer only. Cleared: back to the vendor's default."""
    settings.NOTIFY_BELOW_MIN_HOURS = 24
    va = world["a"]
    c0, c1 = (cw.customer.pk for cw in va.customers)
    v = va.vendor.pk
    assert threshold_hours(vendor_id=v, customer_id=c0, kind=BELOW) == 24
    alert_thresholds_set(scope=admin_scope(va), customer_id=None, hours={BELOW: 10})
    assert threshold_hours(vendor_id=v, customer_id=c0, kind=BELOW) == 10
    assert threshold_hours(vendor_id=v, customer_id=None, kind=BELOW) == 10
    alert_thresholds_set(scope=admin_scope(va), customer_id=c0, hours={BELOW: 2})
    assert threshold_hours(vendor_id=v, customer_id=c0, kind=BELOW) == 2
    assert threshold_hours(vendor_id=v, customer_id=c1, kind=BELOW) == 10
    assert threshold_hours(vendor_id=v, customer_id=c0, kind=SILENT) == 24  # setting
    loaded = thresholds_load(vendor_id=v)
    assert loaded.resolve(c0, BELOW) == (2, Source.CUSTOMER)
    assert loaded.resolve(c1, BELOW) == (10, Source.VENDOR)
    assert loaded.resolve(c1, APPROVAL) == (settings.NOTIFY_APPROVAL_HOURS, Source.DEFAULT)
    alert_thresholds_set(scope=admin_scope(va), customer_id=c0, hours={BELOW: None})
    assert threshold_hours(vendor_id=v, customer_id=c0, kind=BELOW) == 10
    # Vendor B is untouched by all of it.
    vb = world["b"]
    assert (
        threshold_hours(vendor_id=vb.vendor.pk, customer_id=vb.customers[0].customer.pk, kind=BELOW)
        == 24
    )


def test_effective_rows_say_where_the_hours_come_from(world, settings):
    settings.NOTIFY_SCANNER_SILENT_HOURS = 24
    va = world["a"]
    c0 = va.customers[0].customer.pk
    alert_thresholds_set(scope=admin_scope(va), customer_id=None, hours={SILENT: 12})
    alert_thresholds_set(scope=admin_scope(va), customer_id=c0, hours={BELOW: 3})
    rows = {r.kind: r for r in thresholds_effective(scope=admin_scope(va), customer_id=c0)}
    assert (rows[BELOW].hours, rows[BELOW].source, rows[BELOW].own) == (3, "customer", 3)
    assert (rows[SILENT].hours, rows[SILENT].source, rows[SILENT].own) == (12, "vendor", None)
    assert rows[APPROVAL].source == "default"
    defaults = {r.kind: r for r in thresholds_effective(scope=admin_scope(va), customer_id=None)}
    assert (defaults[SILENT].own, defaults[SILENT].inherited) == (12, 24)
    assert defaults[BELOW].source == "default"


def test_the_database_keeps_one_row_per_customer_and_one_vendor_default(world):
    """Customer empty is the vendor's default: a second default of the same kind is
    refused (NULLs are distinct in a plain unique index), as is a second customer row."""
    va = world["a"]
    c0 = va.customers[0].customer
    AlertThreshold.objects.create(vendor=va.vendor, customer=None, kind=BELOW, hours=5)
    AlertThreshold.objects.create(vendor=va.vendor, customer=c0, kind=BELOW, hours=5)
    for customer in (None, c0):
        with pytest.raises(IntegrityError), transaction.atomic():
            AlertThreshold.objects.create(vendor=va.vendor, customer=customer, kind=BELOW, hours=6)
    with pytest.raises(IntegrityError), transaction.atomic():
        AlertThreshold.objects.create(vendor=va.vendor, customer=c0, kind=SILENT, hours=0)


# --- validation and who may ----------------------------------------------------------


@pytest.mark.parametrize("hours", [0, -1, 721, 2.5, "3", True])
def test_bad_hours_are_refused_with_a_stable_code_and_nothing_is_written(world, hours):
    va = world["a"]
    call = lambda: alert_thresholds_set(  # noqa: E731
        scope=admin_scope(va), customer_id=None, hours={SILENT: 5, BELOW: hours}
    )
    assert codes(call) == ("invalid_threshold_hours", BELOW, 400)
    assert not AlertThreshold.objects.exists()


def test_an_unknown_kind_is_refused_with_a_stable_code(world):
    va = world["a"]
    call = lambda: alert_thresholds_set(  # noqa: E731
        scope=admin_scope(va), customer_id=None, hours={"bin.at_zero": 5}
    )
    assert codes(call) == ("unknown_threshold", "bin.at_zero", 400)
    assert not AlertThreshold.objects.exists()


def test_who_may_change_thresholds_in_the_service(world):
    """Defaults: admins only. A customer's: vendor staff who see it; a rep assigned
    elsewhere and another vendor get 404; the customer's own manager gets 403."""
    va, vb = world["a"], world["b"]
    c0, c1 = va.customers
    rep = rep_scope(va, va.rep, customer_ids=[c1.customer.pk])
    set_ = alert_thresholds_set
    assert codes(lambda: set_(scope=rep, customer_id=None, hours={BELOW: 3}))[2] == 403
    assert codes(lambda: set_(scope=rep, customer_id=c0.customer.pk, hours={BELOW: 3}))[2] == 404
    set_(scope=rep, customer_id=c1.customer.pk, hours={BELOW: 3})
    manager = manager_scope(va, c0)
    assert codes(lambda: set_(scope=manager, customer_id=c0.customer.pk, hours={BELOW: 3}))[2] == (
        403
    )
    assert codes(lambda: set_(scope=manager, customer_id=c1.customer.pk, hours={BELOW: 3}))[2] == (
        404
    )
    other = vb.customers[0].customer.pk
    assert codes(lambda: set_(scope=admin_scope(va), customer_id=other, hours={BELOW: 3}))[2] == 404
    assert list(AlertThreshold.objects.values_list("customer_id", "hours")) == [(c1.customer.pk, 3)]


def test_changes_are_audited_in_the_settings_history(world):
    va = world["a"]
    c0 = va.customers[0].customer
    alert_thresholds_set(scope=admin_scope(va), customer_id=c0.pk, hours={BELOW: 4})
    alert_thresholds_set(scope=admin_scope(va), customer_id=c0.pk, hours={BELOW: 4})  # no-op
    alert_thresholds_set(scope=admin_scope(va), customer_id=c0.pk, hours={BELOW: None})
    rows = list(
        SettingChange.objects.filter(customer=c0, field=f"alert_hours.{BELOW}")
        .order_by("pk")
        .values_list("before", "after")
    )
    assert rows == [(None, 4), (4, None)]


# --- the checks ------------------------------------------------------------------------


def _below_min(cw) -> Bin:
    b = cw.bins[0]
    Bin.objects.filter(pk=b.pk).update(on_hand=2, on_order=0)
    return b


def _alerted(kind: str, vendor_id: int) -> set[int]:
    return {
        int(sid)
        for sid in DomainEvent.objects.filter(kind=kind, vendor_id=vendor_id).values_list(
            "subject_id", flat=True
        )
    }


def test_a_bin_alerts_at_its_customers_hours_not_the_default(world, settings):
    """Customer A: 2 hours; customer B inherits 24. After 3 hours only A's bin alerts;
    after 25, B's too."""
    settings.NOTIFY_BELOW_MIN_HOURS = 24
    va = world["a"]
    c0, c1 = va.customers
    alert_thresholds_set(scope=admin_scope(va), customer_id=c0.customer.pk, hours={BELOW: 2})
    b0, b1 = _below_min(c0), _below_min(c1)
    now = timezone.now()
    checks_vendor(vendor_id=va.vendor.pk, now=now)
    assert _alerted(BELOW, va.vendor.pk) == set()
    checks_vendor(vendor_id=va.vendor.pk, now=now + dt.timedelta(hours=3))
    assert _alerted(BELOW, va.vendor.pk) == {b0.pk}
    checks_vendor(vendor_id=va.vendor.pk, now=now + dt.timedelta(hours=25))
    assert _alerted(BELOW, va.vendor.pk) == {b0.pk, b1.pk}


def test_approvals_and_scanners_wait_their_customers_hours(world, settings):
    """The vendor default (1 h) for approvals; customer 1 waits 48. A scanner of
    customer 0 silent 30 h alerts only where its customer waits less than that."""
    settings.NOTIFY_APPROVAL_HOURS = 8
    settings.NOTIFY_SCANNER_SILENT_HOURS = 24
    va = world["a"]
    c0, c1 = va.customers
    alert_thresholds_set(scope=admin_scope(va), customer_id=None, hours={APPROVAL: 1})
    alert_thresholds_set(
        scope=admin_scope(va), customer_id=c1.customer.pk, hours={APPROVAL: 48, SILENT: 48}
    )
    Customer.objects.filter(vendor=va.vendor).update(release_policy="approval")
    release(va, 0)
    release(va, 1)
    waiting = dict(
        Order.objects.filter(vendor=va.vendor, status=OrderStatus.AWAITING_APPROVAL).values_list(
            "customer_id", "pk"
        )
    )
    assert set(waiting) == {c0.customer.pk, c1.customer.pk}
    ScannerDevice.objects.filter(pk__in=[c0.device.pk, c1.device.pk]).update(
        last_seen_at=timezone.now() - dt.timedelta(hours=30)
    )
    checks_vendor(vendor_id=va.vendor.pk, now=timezone.now() + dt.timedelta(hours=2))
    assert _alerted("order.approval_overdue", va.vendor.pk) == {waiting[c0.customer.pk]}
    assert _alerted(SILENT, va.vendor.pk) == {c0.device.pk}


def _checks_queries(vw) -> int:
    checks_vendor(vendor_id=vw.vendor.pk, now=timezone.now())  # seen: the clocks start
    with CaptureQueriesContext(connection) as ctx:
        checks_vendor(vendor_id=vw.vendor.pk, now=timezone.now() + dt.timedelta(hours=100))
    return len(ctx.captured_queries)


def test_the_checks_read_thresholds_at_a_fixed_number_of_queries(db):
    """2 customers or 6, each with its own hours, bins below min, orders waiting and
    silent scanners: the same number of queries (thresholds read once per vendor)."""
    counts = []
    for code, n in (("small", 2), ("large", 6)):
        vw = vendor_world(code, customers=n, policy="approval")
        for i in range(n):
            release(vw, i)  # an order waiting for approval per customer
        for i, cw in enumerate(vw.customers):
            alert_thresholds_set(
                scope=admin_scope(vw),
                customer_id=cw.customer.pk,
                hours={BELOW: i + 1, APPROVAL: i + 2, SILENT: i + 3},
            )
            for b in cw.bins:
                Bin.objects.filter(pk=b.pk).update(on_hand=1, on_order=0)
        alert_thresholds_set(scope=admin_scope(vw), customer_id=None, hours={SILENT: 5})
        ScannerDevice.objects.filter(vendor=vw.vendor).update(
            last_seen_at=timezone.now() - dt.timedelta(hours=200)
        )
        counts.append(_checks_queries(vw))
        assert _alerted(BELOW, vw.vendor.pk)
        assert _alerted(SILENT, vw.vendor.pk)
        assert _alerted("order.approval_overdue", vw.vendor.pk)
    assert counts[0] == counts[1], counts


# --- the API -------------------------------------------------------------------------

VENDOR_URL = "/api/v1/alert-thresholds"


def customer_url(customer_id: int) -> str:
    return f"/api/v1/customers/{customer_id}/alert-thresholds"


def test_vendor_defaults_are_read_by_staff_and_changed_by_admins(world, settings):
    settings.NOTIFY_BELOW_MIN_HOURS = 24
    va = world["a"]
    resp = as_user(va.rep).get(VENDOR_URL)
    assert resp.status_code == 200
    body = resp.json()
    assert body["customer"] is None
    row = next(t for t in body["thresholds"] if t["kind"] == BELOW)
    assert (row["hours"], row["source"], row["own"]) == (24, "default", None)
    assert as_user(va.rep).patch(VENDOR_URL, {"hours": {BELOW: 5}}, format="json").status_code == (
        403
    )
    for who in (va.customers[0].manager, va.customers[0].staff):
        assert as_user(who).get(VENDOR_URL).status_code == 403
        assert as_user(who).patch(VENDOR_URL, {"hours": {BELOW: 5}}, format="json").status_code == (
            403
        )
    resp = as_user(va.admin).patch(VENDOR_URL, {"hours": {BELOW: 5}}, format="json")
    assert resp.status_code == 200, resp.json()
    row = next(t for t in resp.json()["thresholds"] if t["kind"] == BELOW)
    assert (row["hours"], row["source"], row["own"], row["inherited"]) == (5, "vendor", 5, 24)
    # Vendor B sees only its own defaults.
    row = next(
        t
        for t in as_user(world["b"].admin).get(VENDOR_URL).json()["thresholds"]
        if t["kind"] == BELOW
    )
    assert row["source"] == "default"


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"hours": {BELOW: 0}}, "invalid_threshold_hours", BELOW),
        ({"hours": {BELOW: 721}}, "invalid_threshold_hours", BELOW),
        ({"hours": {BELOW: "soon"}}, "invalid_threshold_hours", f"hours.{BELOW}"),
        ({"hours": {"bin.at_zero": 3}}, "unknown_threshold", "bin.at_zero"),
    ],
)
def test_the_api_refuses_bad_thresholds_with_stable_codes(world, body, code, field):
    va = world["a"]
    resp = as_user(va.admin).patch(customer_url(va.customers[0].customer.pk), body, format="json")
    assert resp.status_code == 400
    assert (resp.json()["error"]["code"], resp.json()["error"]["field"]) == (code, field)
    assert not AlertThreshold.objects.exists()


def test_customer_thresholds_api_permissions_and_404s(world):
    """Vendor staff change; an assigned rep only its customers (else 404); the
    customer's people read theirs and get 403 on change, 404 on another customer's;
    another vendor's customer is a 404 for everyone."""
    va, vb = world["a"], world["b"]
    c0, c1 = va.customers
    patch = {"hours": {BELOW: 2}}
    resp = as_user(va.admin).patch(customer_url(c0.customer.pk), patch, format="json")
    assert resp.status_code == 200, resp.json()
    row = next(t for t in resp.json()["thresholds"] if t["kind"] == BELOW)
    assert (row["hours"], row["source"]) == (2, "customer")
    assert resp.json()["customer"] == c0.customer.pk

    assigned = user_make(va.vendor, Role.VENDOR_REP)
    assigned.membership.assigned_customers.add(c1.customer)
    assert as_user(assigned).get(customer_url(c0.customer.pk)).status_code == 404
    assert as_user(assigned).patch(
        customer_url(c0.customer.pk), patch, format="json"
    ).status_code == (404)
    assert as_user(assigned).patch(
        customer_url(c1.customer.pk), patch, format="json"
    ).status_code == (200)
    assert (
        as_user(va.rep).patch(customer_url(c0.customer.pk), patch, format="json").status_code == 200
    )

    for who in (c0.manager, c0.staff):
        resp = as_user(who).get(customer_url(c0.customer.pk))
        assert resp.status_code == 200
        assert resp.json()["thresholds"][0]["kind"] == BELOW
        assert as_user(who).patch(
            customer_url(c0.customer.pk), patch, format="json"
        ).status_code == (403)
        assert as_user(who).get(customer_url(c1.customer.pk)).status_code == 404
        assert as_user(who).patch(
            customer_url(c1.customer.pk), patch, format="json"
        ).status_code == (404)

    theirs = vb.customers[0].customer.pk
    for who in (va.admin, va.rep, c0.manager):
        assert as_user(who).get(customer_url(theirs)).status_code == 404
        assert as_user(who).patch(customer_url(theirs), patch, format="json").status_code == 404
    assert as_user(va.admin).get(customer_url(2**62)).status_code == 404
    assert AlertThreshold.objects.filter(vendor=vb.vendor).count() == 0


def test_clearing_a_customers_hours_inherits_the_vendor_default(world):
    va = world["a"]
    c0 = va.customers[0].customer.pk
    as_user(va.admin).patch(VENDOR_URL, {"hours": {SILENT: 6}}, format="json")
    as_user(va.admin).patch(customer_url(c0), {"hours": {SILENT: 2}}, format="json")
    resp = as_user(va.admin).patch(customer_url(c0), {"hours": {SILENT: None}}, format="json")
    row = next(t for t in resp.json()["thresholds"] if t["kind"] == SILENT)
    assert (row["hours"], row["source"], row["own"], row["inherited"]) == (6, "vendor", None, 6)


# --- the portal ------------------------------------------------------------------------


def _settings_url() -> str:
    from django.urls import reverse

    return reverse("portals:settings")


def _customer_settings_url(customer_id: int) -> str:
    from django.urls import reverse

    return reverse("portals:customer_settings", kwargs={"customer_id": customer_id})


def test_the_settings_page_saves_the_vendor_defaults(world):
    from tests.portals.helpers import signed_in

    va = world["a"]
    client = signed_in(va.admin)
    page = client.get(_settings_url()).content.decode()
    assert "Alert thresholds" in page and 'name="thresholds-below_min"' in page
    resp = client.post(
        _settings_url(),
        {"action": "thresholds", "thresholds-below_min": "6", "thresholds-scanner_silent": ""},
        follow=True,
    )
    assert resp.status_code == 200
    assert "Alert thresholds saved." in resp.content.decode()
    assert list(AlertThreshold.objects.values_list("customer_id", "kind", "hours")) == [
        (None, BELOW, 6)
    ]


def test_the_customer_settings_page_overrides_and_clears_to_inherit(world):
    from tests.portals.helpers import signed_in

    va = world["a"]
    c0 = va.customers[0].customer
    alert_thresholds_set(scope=admin_scope(va), customer_id=None, hours={SILENT: 9})
    client = signed_in(va.admin)
    url = _customer_settings_url(c0.pk)
    assert "your default" in client.get(url).content.decode()
    body = {"action": "thresholds", "thresholds-scanner_silent": "3"}
    resp = client.post(url, body, follow=True)
    assert f"Alert thresholds of {c0.name} saved." in resp.content.decode()
    assert threshold_hours(vendor_id=va.vendor.pk, customer_id=c0.pk, kind=SILENT) == 3
    client.post(url, {"action": "thresholds", "thresholds-scanner_silent": ""})
    assert threshold_hours(vendor_id=va.vendor.pk, customer_id=c0.pk, kind=SILENT) == 9
    assert not AlertThreshold.objects.filter(customer=c0).exists()


@pytest.mark.parametrize(
    ("value", "message"),
    [("0", "Hours are a whole number from 1 to 720."), ("soon", "Enter a whole number.")],
)
def test_bad_hours_on_the_page_are_shown_next_to_the_field(world, value, message):
    from tests.portals.helpers import signed_in

    va = world["a"]
    url = _customer_settings_url(va.customers[0].customer.pk)
    resp = signed_in(va.admin).post(url, {"action": "thresholds", "thresholds-below_min": value})
    assert resp.status_code == 400
    page = resp.content.decode()
    assert f'<p class="field__error" id="id_thresholds-below_min_error">{message}</p>' in page
    assert not AlertThreshold.objects.exists()


def test_another_vendors_customer_thresholds_page_is_404(world):
    from tests.portals.helpers import signed_in

    va, vb = world["a"], world["b"]
    url = _customer_settings_url(vb.customers[0].customer.pk)
    client = signed_in(va.admin)
    assert client.get(url).status_code == 404
    body = {"action": "thresholds", "thresholds-below_min": "2"}
    assert client.post(url, body).status_code == 404
    assert not AlertThreshold.objects.exists()


def test_the_api_reads_thresholds_at_a_fixed_number_of_queries(db):
    """The customer's and the vendor's thresholds answer in the same number of queries
    with 2 customers and no rows as with 8 customers each holding its own."""
    counts = []
    for code, n, rows in (("small", 2, False), ("large", 8, True)):
        vw = vendor_world(code, customers=n)
        if rows:
            alert_thresholds_set(scope=admin_scope(vw), customer_id=None, hours={BELOW: 5})
            for cw in vw.customers:
                alert_thresholds_set(
                    scope=admin_scope(vw), customer_id=cw.customer.pk, hours={SILENT: 3}
                )
        client = as_user(vw.admin)
        sizes = []
        for target in (VENDOR_URL, customer_url(vw.customers[0].customer.pk)):
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(target).status_code == 200
            sizes.append(len(ctx.captured_queries))
        counts.append(sizes)
    assert counts[0] == counts[1], counts
