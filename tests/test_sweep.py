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


def _state(vendor_id: int) -> dict:
    """What an evaluation wrote, named by bin labels and sites (ids differ between runs)."""
    from replenishment.models import OrderEvent
    from stocking.models import ScanEvent

    lines = OrderLine.objects.filter(vendor_id=vendor_id).select_related("bin", "order")
    events = OrderEvent.objects.filter(vendor_id=vendor_id).select_related("line__bin", "order")
    return {
        "on_order": dict(Bin.objects.filter(vendor_id=vendor_id).values_list("label", "on_order")),
        "lines": sorted(
            (
                ln.order.site_id,
                ln.order.status,
                ln.line_number,
                ln.bin.label,
                ln.quantity_ordered,
                ln.quantity_proposed,
                ln.unit_price,
                ln.item_id,
                ln.customer_id,
            )
            for ln in lines
        ),
        "events": sorted(
            (e.order.site_id, e.kind, e.old_value, e.new_value, e.line.bin.label if e.line else "")
            for e in events
        ),
        "pending": sorted(
            ScanEvent.objects.filter(vendor_id=vendor_id, kanban_pending=True).values_list(
                "bin__label", flat=True
            )
        ),
    }


@pytest.mark.postgres
def test_set_based_evaluation_writes_what_the_per_bin_one_does(world, va):
    """Packs, kanban cards, an inactive item, a line that grows, a second line on the
    order, bins with nothing to order: the set-based evaluation (PostgreSQL's) writes
    exactly what the per-bin reference writes."""
    from django.db import transaction

    from catalog.models import Item
    from cmi.models import Customer, ReleasePolicy
    from replenishment import services

    c0, c1 = va.customers[0], va.customers[1]
    Customer.objects.filter(pk=c0.customer.pk).update(release_policy=ReleasePolicy.SCHEDULED)
    Customer.objects.filter(pk=c1.customer.pk).update(release_policy=ReleasePolicy.APPROVAL)
    set_bins([c0.bins[0]], on_hand=0, min_qty=10, max_qty=50, pack_multiple=7)
    set_bins([c0.bins[1]], kanban_quantity=12, min_qty=0, max_qty=0)
    for _ in range(2):
        resp = bearer(c0.token).post(
            "/api/v1/scans", {"scans": [scan("kanban", c0.bins[1].label)]}, format="json"
        )
        assert resp.status_code == 200
    set_bins([c0.bins[2]], on_hand=0)
    Item.objects.filter(pk=c0.bins[2].item_id).update(active=False)
    set_bins([c1.bins[0]], on_hand=0, min_qty=10, max_qty=50, pack_multiple=1)
    set_bins([c1.bins[1]], on_hand=40, min_qty=10, max_qty=50)
    set_bins([c1.bins[2]], on_hand=0, min_qty=0, max_qty=0)
    ids = [b.pk for c in (c0, c1) for b in c.bins]
    vendor_id = va.vendor.pk

    def run(evaluate) -> dict:
        with transaction.atomic():
            first = evaluate(vendor_id=vendor_id, ids=ids)
            set_bins([c1.bins[0]], min_qty=500, max_qty=1000)  # its line grows
            set_bins([c1.bins[1]], on_hand=0)  # a second line on the same order
            second = evaluate(vendor_id=vendor_id, ids=ids)
            state = _state(vendor_id)
            state["counts"] = (len(first[0]), first[1], len(second[0]), second[1])
            transaction.set_rollback(True)
        return state

    set_based = run(services._evaluate_set_based)
    per_bin = run(services._evaluate_per_bin)
    assert set_based == per_bin
    assert set_based["counts"] == (2, 3, 1, 2)
    assert len(set_based["lines"]) == 4 and set_based["pending"] == []


def test_a_sweep_costs_two_queries_and_a_fixed_number_per_chunk_whatever_the_bins(world, va):
    """5 bins or 50 below min, one chunk each: the same queries (two to find the
    candidates, the rest the chunk's evaluation and release); 50 bins in two chunks of
    25: the candidates' two and twice one chunk's."""
    from replenishment.services import sweep_run
    from tests.test_replenishment import more_bins

    c0, c1 = va.customers
    small = c0.bins + more_bins(va, c0, 5 - len(c0.bins))
    large = c1.bins + more_bins(va, c1, 50 - len(c1.bins))
    chunked = more_bins(va, c1, 50, prefix="Y")

    def swept(bins, **kwargs) -> int:
        set_bins(bins, on_hand=0)
        with CaptureQueriesContext(connection) as ctx:
            result = sweep_run(vendor_id=va.vendor.pk, **kwargs)
        assert result.bins_ordered == len(bins), result
        return len(ctx)

    few, many = swept(small), swept(large)
    assert few == many, (few, many)
    per_chunk = many - 2
    # In a test: the chunk's savepoint and release included. SQLite runs the per-bin
    # reference evaluation, a few reads more (still none per bin).
    assert per_chunk <= (18 if connection.vendor == "postgresql" else 22), per_chunk
    assert swept(chunked, chunk=25) == 2 + 2 * per_chunk
