"""The sweep as a command, and its candidate query's cost."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from replenishment.models import OrderLine
from replenishment.services import sweep_candidates
from stocking.models import AT_REORDER_POINT, Bin
from tests.conftest import bearer, scan


@pytest.fixture
def va(world):
    return world["a"]


def set_bins(bins, **values) -> None:
    Bin.objects.filter(pk__in=[b.pk for b in bins]).update(**values)


def sweep(*args) -> str:
    out = io.StringIO()
    call_command("replenish_sweep", *args, stdout=out)
    return out.getvalue()


def test_replenish_sweep_orders_what_the_beat_sweep_would_and_says_how_many(world, va):
    vb = world["b"]
    set_bins(va.customers[0].bins[:2], on_hand=0)
    set_bins([vb.customers[0].bins[0]], on_hand=0)
    kb = va.customers[1].bins[2]
    set_bins([kb], kanban_quantity=12, min_qty=0, max_qty=0)
    resp = bearer(va.customers[1].token).post(
        "/api/v1/scans", {"scans": [scan("kanban", kb.label)]}, format="json"
    )
    assert resp.status_code == 200

    printed = sweep("--vendor", va.vendor.code)
    assert printed.startswith("evaluated 3 bins, ordered 3 bins on 2 orders"), printed
    assert not OrderLine.objects.filter(vendor_id=vb.vendor.pk).exists()

    printed = sweep()
    assert printed.startswith("evaluated 1 bins, ordered 1 bins on 1 orders"), printed
    assert sweep().startswith("evaluated 0 bins, ordered 0 bins on 0 orders")


def test_replenish_sweep_refuses_an_unknown_vendor(world):
    with pytest.raises(CommandError, match="unknown vendor code"):
        sweep("--vendor", "no-such-vendor")


def test_sweep_candidates_cost_two_queries_whatever_the_bins(world, va):
    set_bins(va.customers[0].bins, on_hand=0)
    with CaptureQueriesContext(connection) as few:
        found = sweep_candidates()
    assert sum(len(ids) for ids in found.values()) == len(va.customers[0].bins)
    set_bins([b for c in va.customers for b in c.bins], on_hand=0)
    with CaptureQueriesContext(connection) as many:
        found = sweep_candidates()
    assert sum(len(ids) for ids in found.values()) == sum(len(c.bins) for c in va.customers)
    assert len(few) == len(many) == 2


@pytest.mark.postgres
def test_the_reorder_candidates_are_read_through_the_partial_index(world):
    """On PostgreSQL the min/max half of the candidates is planned on ``bin_at_reorder``
    (forced off the sequential scan so the tiny test table does not hide the choice)."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = Bin.objects.filter(AT_REORDER_POINT, active=True).explain()
    assert "bin_at_reorder" in plan, plan
