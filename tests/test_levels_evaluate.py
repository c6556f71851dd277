"""A change of min/max hands the bins to replenishment at once (after commit), through
the same evaluate_bins task a scan enqueues: raising a min orders now, not at the next
sweep. Proven on the real broker, for the in-place edit, the CSV import and the bulk
adjustment."""

from __future__ import annotations

import pytest

from cmi.celery import app
from cmi.csvin import csv_read
from stocking.bulk import BIN_COLUMNS, BIN_REQUIRED, bins_adjust_apply, bins_import_apply
from stocking.setup import bin_levels_update, location_create
from tests.conftest import queue_purge

pytestmark = pytest.mark.django_db


def published(queue: str) -> list[tuple[int, list[int]]]:
    """The (vendor id, bin ids) of every evaluate_bins message on the queue."""
    found = []
    with app.connection_for_write() as conn:
        while (message := conn.default_channel.basic_get(queue, no_ack=True)) is not None:
            if message.headers["task"] == "cmi.tasks.events_dispatch":
                continue  # the import's domain event (import.finished), not an evaluation
            assert message.headers["task"] == "replenishment.tasks.evaluate_bins"
            args, _, _ = message.decode()
            found.append((args[0], args[1]))
    return found


@pytest.fixture
def queue(celery_test_queue):
    name = celery_test_queue["queue"]
    queue_purge(name)
    yield name
    queue_purge(name)


def test_an_in_place_min_max_change_is_evaluated(world, queue, django_capture_on_commit_callbacks):
    a = world["a"]
    target = a.customers[0].bins[0]
    with django_capture_on_commit_callbacks(execute=True):
        bin_levels_update(scope=a.scope, bin_id=target.pk, min_qty=20, max_qty=50)
    assert published(queue) == [(a.vendor.pk, [target.pk])]


def test_an_unchanged_save_enqueues_nothing(world, queue, django_capture_on_commit_callbacks):
    a = world["a"]
    target = a.customers[0].bins[0]
    with django_capture_on_commit_callbacks(execute=True):
        bin_levels_update(scope=a.scope, bin_id=target.pk, min_qty=10, max_qty=50)
    assert published(queue) == []


def test_an_import_evaluates_the_changed_and_the_new_bins(
    world, queue, django_capture_on_commit_callbacks
):
    a = world["a"]
    cw = a.customers[0]
    shelf = location_create(scope=a.scope, site_id=cw.site.pk, code="NEW", parent_id=cw.room.pk)
    text = (
        "site,location,sku,min,max,pack_multiple\n"
        f"MAIN,SHELF-A,{cw.bins[0].item.sku},12,60,1\n"
        f"MAIN,NEW,{a.items[0].sku},5,20,1\n"
    )
    with django_capture_on_commit_callbacks(execute=True):
        plan = bins_import_apply(
            scope=a.scope,
            customer_id=cw.customer.pk,
            table=csv_read(text, required=BIN_REQUIRED, optional=BIN_COLUMNS),
        )
    assert plan.totals["create"] == 1 and plan.totals["change"] == 1
    created = cw.customer.bins.get(location=shelf).pk
    touched = sorted(pk for _, ids in published(queue) for pk in ids)
    assert touched == sorted([cw.bins[0].pk, created])


def test_a_bulk_adjustment_evaluates_every_changed_bin(
    world, queue, django_capture_on_commit_callbacks
):
    a = world["a"]
    cw = a.customers[0]
    with django_capture_on_commit_callbacks(execute=True):
        plan = bins_adjust_apply(
            scope=a.scope, customer_id=cw.customer.pk, levels="min", percent=50
        )
    assert len(plan.changes) == 3
    touched = sorted(pk for _, ids in published(queue) for pk in ids)
    assert touched == sorted(b.pk for b in cw.bins)
