"""The second wall: row-level security on every tenant table (cmi/rls.py).

A query that forgot its scope, run for one vendor, returns none of another vendor's
rows; a write of another vendor's row is refused by the database; work that spans
vendors (the sweep, scheduled release, overdue flags) says so and still sees all.
These run on PostgreSQL as the restricted app role (`DATABASE_APP_ROLE`, as CI does).
"""

from __future__ import annotations

import os
import uuid

import pytest
from django.apps import apps
from django.db import IntegrityError, ProgrammingError, connection, transaction

from cmi import rls
from cmi.models import Customer, Vendor
from cmi.services import api_token_create
from replenishment.models import Order
from replenishment.tasks import evaluate_bins, release_due_orders, sweep_bins
from stocking.models import Bin
from stocking.setup import bin_levels_update
from tests.conftest import bearer, scan
from tests.edi.vectors import fill, order_values, partner_for
from tests.edi.vectors.fixtures import INBOX, release

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db,
    pytest.mark.skipif(
        not os.environ.get("DATABASE_APP_ROLE"),
        reason="row-level security binds the app role only: set DATABASE_APP_ROLE (CI does)",
    ),
]

PROJECT_APPS = (
    "cmi",
    "catalog",
    "stocking",
    "replenishment",
    "edi",
    "insight",
    "notify",
    "webhooks",
    "portals",
)
# Tables of the project without a vendor: the vendors themselves, the rep's assigned
# customers (a link between two rows that both carry the vendor), and the periodic
# jobs' watermarks (one row per job, across vendors).
NOT_TENANT = {"cmi_vendor", "cmi_membership_assigned_customers", "cmi_jobwatermark"}


def tenant_models() -> list:
    return [
        model
        for model in apps.get_models(include_auto_created=True)
        if model._meta.app_label in PROJECT_APPS
        and not model._meta.proxy
        and model._meta.managed
        and any(f.name == "vendor" for f in model._meta.concrete_fields)
    ]


def project_tables() -> set[str]:
    return {
        model._meta.db_table
        for model in apps.get_models(include_auto_created=True)
        if model._meta.app_label in PROJECT_APPS and not model._meta.proxy and model._meta.managed
    }


def the_works(vw) -> None:
    """Rows of this vendor in every tenant table: a released order with its 850,
    an 855-free 856 and 810 from its ERP, scans, a min/max change, a rep's token."""
    partner_for(vw.vendor)
    order = release(vw)
    erp = bearer(vw.erp_key)
    values = order_values(order)
    for payload in (
        fill("856_sopi.x12", SHIPMENT="SHP-1", QTY2=50, **values),
        fill("810_implied.x12", INVOICE="INV-1", QTY2=50, TDS="8250", **values),
    ):
        resp = erp.post(INBOX, data=payload, content_type="application/edi-x12")
        assert resp.status_code == 200, resp.json()
    cw = vw.customers[1]
    resp = bearer(cw.token).post(
        "/api/v1/scans", {"scans": [scan("issue", cw.bins[0].label, quantity=1)]}, format="json"
    )
    assert resp.json()["results"][0]["status"] == "accepted"
    b = cw.bins[2]
    bin_levels_update(scope=vw.scope, bin_id=b.pk, min_qty=b.min_qty, max_qty=b.max_qty + 1)
    api_token_create(user=vw.rep)
    # recommended levels: a policy, the recommendations, a queued backtest
    from insight import services as insight

    insight.policy_set(scope=vw.scope, customer_id=cw.customer.pk, bin_id=b.pk, floor_min=1)
    insight.recommendations_compute(vendor_id=vw.vendor.pk, customer_id=cw.customer.pk)
    insight.backtest_create(scope=vw.scope, customer_id=cw.customer.pk, params={"days": 28})
    # the scorecard: a target, and last month's snapshot
    import datetime as _dt
    from decimal import Decimal as _Decimal

    from insight.scorecard import services as scorecard

    scorecard.scorecard_target_set(
        scope=vw.scope, customer_id=cw.customer.pk, metric="fill_rate", target=_Decimal("95")
    )
    scorecard.scorecard_months_snapshot(
        vendor_id=vw.vendor.pk, months=[_dt.date(2000, 1, 1)], customer_ids=[cw.customer.pk]
    )
    scorecard.scorecard_current_store(vendor_id=vw.vendor.pk, customer_ids=[cw.customer.pk])
    # RFID: a drop box, a kanban card it ordered, a cabinet whose cycles count, issue
    # and list an unknown tag, and a rep's assigning of it (every rfid table)
    rfid_the_works(vw, cw)
    # the usage aggregates (per bin, per item and site, per site, each issued bin's recent
    # windows), from the ledger rows above
    from insight.analytics.build import usage_catch_up

    usage_catch_up()
    # a domain event (cmi/events.py)
    from cmi import events

    event = events.emit(
        "recommendations.ready",
        vendor_id=vw.vendor.pk,
        customer_id=cw.customer.pk,
        data={"count": 1},
    )
    # alerts (notify/): the event heard (notifications, outbox), a choice, a digest, a watch
    from cmi.scoping import Scope
    from cmi.tasks import events_dispatch
    from notify import services as notify_services
    from notify.models import EmailDelivery, Watch
    from notify.tasks import digests_collect

    events_dispatch(vw.vendor.pk, event.pk)
    notify_services.subscriptions_set(
        scope=Scope(vendor_id=vw.vendor.pk, role="vendor_admin", user_id=vw.admin.pk),
        choices=[notify_services.Choice("bin.at_zero", "email", True, digest=True)],
    )
    EmailDelivery.objects.filter(vendor_id=vw.vendor.pk).update(status="digest")
    digests_collect(vendor_id=vw.vendor.pk, day=b.created_at.date())
    Watch.objects.create(
        vendor=vw.vendor, kind="scanner.silent", subject_id=b.pk, since=b.created_at
    )
    # alert thresholds: the vendor's default and one customer's own
    from notify.thresholds import alert_thresholds_set

    admin_scope = Scope(vendor_id=vw.vendor.pk, role="vendor_admin", user_id=vw.admin.pk)
    alert_thresholds_set(scope=admin_scope, customer_id=None, hours={"scanner.silent": 12})
    alert_thresholds_set(
        scope=admin_scope, customer_id=cw.customer.pk, hours={"bin.below_min_unordered": 2}
    )
    # a webhook endpoint that hears it, its delivery and one attempt (a public address:
    # the SSRF guard is on; nothing is sent, the attempt is recorded as if answered)
    from django.utils import timezone

    from webhooks import outbound
    from webhooks import services as webhooks

    webhooks.endpoint_create(scope=vw.scope, url="https://93.184.215.14/cmi-hook")
    event = events.emit(
        "import.finished",
        vendor_id=vw.vendor.pk,
        customer_id=cw.customer.pk,
        data={"import_id": 1, "rows": 3, "errors": 0},
    )
    assert webhooks.deliveries_for_event(event) == 1
    delivery = webhooks.delivery_claim(vendor_id=vw.vendor.pk, delivery_id=event_delivery_id(event))
    webhooks.delivery_record(
        delivery_id=delivery.pk, at=timezone.now(), outcome=outbound.Outcome(204, 12, "")
    )


def event_delivery_id(event) -> int:
    from webhooks.models import WebhookDelivery

    return WebhookDelivery.objects.get(event=event).pk


def rfid_the_works(vw, cw) -> None:
    import datetime as dt

    from django.utils import timezone
    from epcpy.epc_schemes.sgtin import SGTIN, SGTINFilterValue

    from stocking import rfid
    from stocking.models import Bin

    kanban = cw.bins[1]
    Bin.objects.filter(pk=kanban.pk).update(kanban_quantity=10, min_qty=0, max_qty=0)
    box, box_token = rfid.rfid_reader_create(
        scope=vw.scope, customer_id=cw.customer.pk, name="box", site_id=cw.site.pk, mode="drop_box"
    )
    card = rfid.rfid_card_create(
        scope=vw.scope,
        customer_id=cw.customer.pk,
        bin_label=kanban.label,
        epc=f"E2{vw.vendor.pk:022X}",
    )
    _, cab_token = rfid.rfid_reader_create(
        scope=vw.scope, customer_id=cw.customer.pk, name="cab", site_id=cw.site.pk, mode="cabinet"
    )
    gtin = vw.items[0].barcodes.first().code.zfill(14)
    tags = [
        SGTIN.from_gtin_plus_serial(gtin, str(n), 7).hex(
            binary_coding_scheme=SGTIN.BinaryCodingScheme.SGTIN_96,
            filter_value=SGTINFilterValue.POS_ITEM,
        )
        for n in (1, 2)
    ]
    stray = f"E3{vw.vendor.pk:022X}"
    now = timezone.now()
    for token, cycle, epcs in (
        (box_token, "b1", [card.epc]),
        (cab_token, "c1", tags),
        (cab_token, "c2", [tags[0], stray]),
    ):
        now += dt.timedelta(seconds=1)
        body = {
            "cycle_id": cycle,
            "started_at": (now - dt.timedelta(minutes=5)).isoformat(),
            "ended_at": (now - dt.timedelta(minutes=4)).isoformat(),
            "antennas": [1],
            "epcs": [{"epc": e} for e in epcs],
        }
        resp = bearer(token).post("/api/v1/rfid/reads", body, format="json")
        assert resp.status_code == 200 and resp.json()["applied"] >= 1, resp.content
    unknown = rfid.unknown_tag_list(scope=vw.scope, customer_id=cw.customer.pk)
    rfid.rfid_unknown_assign(
        scope=vw.scope,
        customer_id=cw.customer.pk,
        tag_ids=[u.pk for u in unknown],
        item_id=vw.items[0].pk,
    )
    assert box.pk


@pytest.fixture
def both(world):
    for vw in world.values():
        the_works(vw)
    return world


def test_the_app_connects_as_a_role_that_row_level_security_binds():
    """Not a superuser, no BYPASSRLS: the policies hold for every query the app runs."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        )
        user, superuser, bypass = cursor.fetchone()
    assert user == os.environ["DATABASE_APP_ROLE"]
    assert (superuser, bypass) == (False, False)


def test_every_tenant_table_has_its_vendor_and_a_forced_policy():
    """Each project table carries vendor_id (but the listed few), and each of those has
    row-level security enabled, forced on the owner, with the tenant policy."""
    tenant_tables = {m._meta.db_table for m in tenant_models()}
    assert project_tables() - tenant_tables == NOT_TENANT
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, "
            "count(p.policyname) FILTER (WHERE p.policyname = %s) "
            "FROM pg_class c LEFT JOIN pg_policies p ON p.tablename = c.relname "
            "WHERE c.relname = ANY(%s) GROUP BY 1, 2, 3",
            [rls.POLICY, sorted(tenant_tables)],
        )
        rows = {name: (enabled, forced, policies) for name, enabled, forced, policies in cursor}
    assert set(rows) == tenant_tables
    assert {name for name, state in rows.items() if state != (True, True, 1)} == set()


def test_an_unscoped_query_for_one_vendor_returns_only_its_rows(both):
    """`Model.objects.all()` with no filter, run for vendor A, is vendor A's rows and all
    of them, in every tenant table; both vendors have rows in each (else it proves nothing)."""
    va, vb = both["a"].vendor.pk, both["b"].vendor.pk
    expected = {}
    for model in tenant_models():
        per_vendor = {
            v: model._default_manager.filter(vendor_id=v).count() for v in (va, vb)
        }  # system mode: the test's own
        assert per_vendor[va] and per_vendor[vb], f"{model.__name__} has no rows for a vendor"
        expected[model] = per_vendor
    for vendor_id in (va, vb):
        with rls.vendor(vendor_id):
            for model, per_vendor in expected.items():
                seen = list(model._default_manager.values_list("vendor_id", flat=True))
                assert set(seen) == {vendor_id}, model.__name__
                assert len(seen) == per_vendor[vendor_id], model.__name__


def test_with_no_vendor_set_nothing_is_seen(world):
    """Work that never said whom it runs for sees no tenant row at all (fails closed)."""
    assert Bin.objects.count() > 0
    with rls.running_as(rls.NOBODY):
        assert Bin.objects.count() == 0
        assert Customer.objects.count() == 0
        assert Vendor.objects.count() == 2  # not tenant-owned


def test_writing_another_vendors_row_is_refused_by_the_database(world):
    """Run for vendor A, a row that names vendor B cannot be inserted, and B's rows
    cannot be updated or deleted (they are not there)."""
    va, vb = world["a"].vendor, world["b"].vendor
    with rls.vendor(va.pk):
        with pytest.raises(ProgrammingError, match="row-level security"), transaction.atomic():
            Customer.objects.create(vendor=vb, code="sneak", name="sneak")
        assert Bin.objects.filter(vendor=vb).update(on_hand=999) == 0
        assert Bin.objects.filter(vendor=vb).delete()[0] == 0
    assert not Bin.objects.filter(on_hand=999).exists()


def test_a_request_runs_for_its_scope_and_leaves_nothing_behind(world):
    """A scanner's request of vendor B is answered from B's rows; after it, the same
    connection run for nobody sees nothing: the request's vendor did not stay."""
    cw = world["b"].customers[0]
    resp = bearer(cw.token).post(
        "/api/v1/scans", {"scans": [scan("issue", cw.bins[0].label, quantity=1)]}, format="json"
    )
    assert resp.json()["results"][0]["status"] == "accepted"
    with rls.running_as(rls.NOBODY):
        assert Bin.objects.count() == 0
    with rls.vendor(world["a"].vendor.pk):
        assert set(Bin.objects.values_list("vendor_id", flat=True)) == {world["a"].vendor.pk}


def test_tasks_run_for_their_vendor_or_say_they_span_vendors(world):
    """Started with no vendor (as in a worker), the evaluation runs for the vendor it is
    given, and the sweep finds and orders both vendors' bins."""
    va, vb = world["a"], world["b"]
    a_bins = [b.pk for b in va.customers[0].bins]
    b_bins = [b.pk for b in vb.customers[0].bins]
    Bin.objects.filter(pk__in=a_bins + b_bins).update(on_hand=0)
    with rls.running_as(rls.NOBODY):
        assert len(evaluate_bins(va.vendor.pk, a_bins)) == 1
        # Asked for B's bins while running for A, it finds none of them.
        with rls.vendor(va.vendor.pk):
            assert Bin.objects.filter(pk__in=b_bins).count() == 0
        assert sweep_bins() >= 1
        release_due_orders()
    assert Order.objects.filter(vendor=vb.vendor).count() == 1


def test_scan_event_ids_are_unique_per_customer_in_the_database(world):
    """The constraint is (vendor, customer, event_id): the same id twice for one
    customer is refused, for another customer it is a different event."""
    from stocking.models import ScanEvent

    c0, c1 = world["a"].customers
    event_id = uuid.uuid4()
    base = {"vendor": world["a"].vendor, "event_id": event_id, "kind": "issue", "code": "x"}
    from django.utils import timezone

    now = timezone.now()
    ScanEvent.objects.create(
        customer=c0.customer, bin=c0.bins[0], occurred_at=now, received_at=now, **base
    )
    ScanEvent.objects.create(
        customer=c1.customer, bin=c1.bins[0], occurred_at=now, received_at=now, **base
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        ScanEvent.objects.create(
            customer=c0.customer, bin=c0.bins[1], occurred_at=now, received_at=now, **base
        )


def test_the_admin_site_spans_vendors_for_a_superuser_only(world, client):
    """Operators work across vendors in the admin (system mode); a staff user without
    superuser rights sees no tenant rows there."""
    from django.contrib.auth import get_user_model

    labels = [world[v].customers[0].bins[0].label for v in ("a", "b")]
    root = get_user_model().objects.create_superuser("root", "root@example.com", "pw-root-1")
    client.force_login(root)
    page = client.get("/admin/stocking/bin/?all=").content.decode()
    assert all(label in page for label in labels)
    client.logout()

    from django.contrib.auth.models import Permission

    staff = get_user_model().objects.create_user("ops", "ops@example.com", "pw-ops-1")
    staff.is_staff = True
    staff.save()
    staff.user_permissions.add(Permission.objects.get(codename="view_bin"))
    client.force_login(staff)
    resp = client.get("/admin/stocking/bin/?all=")
    assert resp.status_code == 200
    assert not any(label in resp.content.decode() for label in labels)
