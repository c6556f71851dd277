"""History is append-only: ledger entries, scan events, order events, level changes and
setting changes are never updated or deleted, and what they describe (bins, orders,
items, customers) cannot be deleted from under them."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError
from django.test import Client

from cmi.history import history_rewrite_for_tests_and_benchmarks
from cmi.models import Customer, SettingChange
from cmi.services import customer_update
from replenishment.models import Order, OrderEvent
from replenishment.services import bins_evaluate
from stocking.models import Bin, BinLevelChange, LedgerEntry, ScanEvent
from tests.conftest import bearer, scan

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(world):
    """Customer 0 of vendor A with a scan, its ledger row, an order with events and a
    level change and a setting change."""
    a = world["a"]
    cw = a.customers[0]
    resp = bearer(cw.token).post(
        "/api/v1/scans", {"scans": [scan("issue", cw.bins[0].label, quantity=25)]}, format="json"
    )
    assert resp.status_code == 200, resp.content
    [order_id] = bins_evaluate(vendor_id=a.vendor.pk, bin_ids=[cw.bins[0].pk])
    customer_update(scope=a.scope, customer_id=cw.customer.pk, timezone="Europe/Berlin")
    return {"a": a, "cw": cw, "order": Order.objects.get(pk=order_id)}


def _root() -> Client:
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client = Client()
    client.force_login(user)
    return client


HISTORY_MODELS = [LedgerEntry, ScanEvent, OrderEvent, BinLevelChange, SettingChange]


@pytest.mark.parametrize("model", HISTORY_MODELS, ids=lambda m: m.__name__)
def test_deleting_what_history_describes_is_refused(history, model):
    """Deleting a history row's bin, order or customer raises ProtectedError and
    deletes nothing (the bin's ledger and min/max history went with it before)."""
    cw = history["cw"]
    before = model.objects.count()
    assert before
    for victim in (cw.bins[0], history["order"], cw.customer):
        with pytest.raises(ProtectedError), transaction.atomic():
            victim.delete()
    assert model.objects.count() == before


@pytest.mark.postgres
@pytest.mark.parametrize("model", HISTORY_MODELS, ids=lambda m: m.__name__)
def test_database_refuses_update_and_delete_of_history(history, model):
    """On PostgreSQL a trigger refuses UPDATE and DELETE of history rows, whoever asks."""
    row = model.objects.order_by("pk").first()
    table = model._meta.db_table
    with (
        pytest.raises(IntegrityError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,  # raw SQL: no Django collector in the way
    ):
        cursor.execute(f"DELETE FROM {table} WHERE id = %s", [row.pk])
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        model.objects.filter(pk=row.pk).update(**_touch(model))
    assert model.objects.filter(pk=row.pk).exists()


def _touch(model) -> dict:
    """An update that changes a history column of each model."""
    return {
        LedgerEntry: {"delta": 999},
        ScanEvent: {"quantity": 999},
        OrderEvent: {"note": "rewritten"},
        BinLevelChange: {"new_max": 999},
        SettingChange: {"field": "rewritten"},
    }[model]


@pytest.mark.postgres
def test_scan_event_kanban_flag_is_the_one_column_that_may_change(history):
    """The kanban card's pending flag is state, cleared when the card is ordered."""
    event = ScanEvent.objects.order_by("pk").first()
    assert ScanEvent.objects.filter(pk=event.pk).update(kanban_pending=True) == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        ScanEvent.objects.filter(pk=event.pk).update(kanban_pending=False, code="X")


@pytest.mark.postgres
def test_rewrite_helper_lets_test_set_up_through_and_only_inside_its_block(history):
    entry = LedgerEntry.objects.order_by("pk").first()
    with history_rewrite_for_tests_and_benchmarks():
        LedgerEntry.objects.filter(pk=entry.pk).update(delta=entry.delta)
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).update(delta=entry.delta)


@pytest.mark.parametrize(
    ("app", "name", "model"),
    [
        ("stocking", "ledgerentry", LedgerEntry),
        ("stocking", "scanevent", ScanEvent),
        ("stocking", "binlevelchange", BinLevelChange),
        ("replenishment", "orderevent", OrderEvent),
        ("cmi", "settingchange", SettingChange),
    ],
)
def test_admin_shows_history_read_only(history, app, name, model):
    """The admin lists and shows history rows, but has no add, change or delete."""
    client = _root()
    row = model.objects.order_by("pk").first()
    assert client.get(f"/admin/{app}/{name}/").status_code == 200
    page = client.get(f"/admin/{app}/{name}/{row.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert client.post(f"/admin/{app}/{name}/{row.pk}/change/", {}).status_code == 403
    assert client.post(f"/admin/{app}/{name}/{row.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.get(f"/admin/{app}/{name}/add/").status_code == 403
    listing = client.post(
        f"/admin/{app}/{name}/",
        {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"},
    )
    assert listing.status_code in (200, 302)
    assert model.objects.filter(pk=row.pk).exists()


@pytest.mark.parametrize(
    ("app", "name", "pick"),
    [
        ("replenishment", "order", lambda h: h["order"]),
        ("stocking", "bin", lambda h: h["cw"].bins[0]),
        ("cmi", "customer", lambda h: h["cw"].customer),
        ("catalog", "item", lambda h: h["a"].items[0]),
    ],
)
def test_admin_delete_of_object_with_history_is_a_clear_refusal(history, app, name, pick):
    """Deleting an order, bin, customer or item with history in the admin answers the
    admin's page naming the protected history, not a 500, and deletes nothing."""
    client = _root()
    obj = pick(history)
    url = f"/admin/{app}/{name}/{obj.pk}/delete/"
    page = client.post(url, {"post": "yes"})
    assert page.status_code in (200, 403), page.status_code
    if page.status_code == 200:
        assert "Cannot delete" in page.content.decode()
    assert type(obj).objects.filter(pk=obj.pk).exists()
    assert Customer.objects.filter(pk=history["cw"].customer.pk).exists()
    assert Bin.objects.filter(pk=history["cw"].bins[0].pk).exists()
