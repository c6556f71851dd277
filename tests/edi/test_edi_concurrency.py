"""Control numbers and outbox cursors under concurrent releases, on PostgreSQL.

Eight threads, each with its own connection, start together on a barrier and
release an order each. Every 850 must get its own ISA13, GS06 and ST02; ISA13 and
the cursor must rise together; and a poller reading the outbox meanwhile must never
skip a cursor that commits after a higher one was seen.
"""

from __future__ import annotations

import contextvars
import threading
import time

import pytest
from django.db import connection
from django.test import override_settings

from cmi.scoping import Scope
from edi.models import Document
from edi.outbound import document_delivery_record, outbox_list
from replenishment.models import Order
from replenishment.services import bins_evaluate, order_cancel
from stocking.models import Bin
from stocking.setup import bin_create, location_create, site_create
from tests.edi.test_outbound_850 import (  # noqa: F401 (the fixture applies here too)
    every_850_is_valid_x12,
    partner_for,
    x12_check,
)
from tests.factories import vendor_scope, vendor_world

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 8
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def run_together(work, count: int = THREADS) -> list:
    """Run work(index) in `count` threads released at once; return results, raise errors."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list[BaseException] = []

    def body(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = work(index)
        except BaseException as exc:  # reported below, with the others
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=contextvars.copy_context().run, args=(body, i))
        for i in range(count)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results


@pytest.fixture
def eight_sites():
    """Vendor acme (auto release, a partner profile) with eight sites of one customer,
    each with one empty bin: eight orders waiting to be released at once."""
    with override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        world = vendor_world("acme", customers=1)
    partner_for(world.vendor)
    cw = world.customers[0]
    bins = []
    for n in range(THREADS):
        site = site_create(
            scope=world.scope, customer_id=cw.customer.pk, code=f"S{n}", name=f"Plant {n}"
        )
        shelf = location_create(scope=world.scope, site_id=site.pk, code=f"L{n}")
        bins.append(
            bin_create(
                scope=world.scope,
                location_id=shelf.pk,
                item_id=world.items[0].pk,
                min_qty=10,
                max_qty=50,
                on_hand=0,
            )
        )
    return world, bins


def test_concurrent_releases_get_unique_increasing_control_numbers(eight_sites):
    """Eight releases at once: eight 850s whose ISA13 are 1..8 with none repeated,
    GS06 and ST02 unique, ISA13 rising with the cursor, each payload echoing its own
    numbers; and eight distinct PO numbers."""
    world, bins = eight_sites
    vendor_id = world.vendor.pk
    run_together(lambda i: bins_evaluate(vendor_id=vendor_id, bin_ids=[bins[i].pk]))

    docs = list(Document.objects.filter(vendor_id=vendor_id, direction="out").order_by("cursor"))
    assert len(docs) == THREADS
    assert [d.isa_control for d in docs] == list(range(1, THREADS + 1))
    assert len({d.gs_control for d in docs}) == THREADS
    assert len({d.st_control for d in docs}) == THREADS
    assert len({d.order_id for d in docs}) == THREADS
    for doc in docs:
        ic = x12_check(bytes(doc.payload))
        assert ic.control_number == doc.isa_control
        assert ic.groups[0].control_number == doc.gs_control
        assert ic.groups[0].sets[0].control_number == doc.st_control
    po_numbers = set(Order.objects.filter(vendor_id=vendor_id).values_list("po_number", flat=True))
    assert len(po_numbers) == THREADS and None not in po_numbers


def test_concurrent_cancels_and_releases_get_unique_increasing_control_numbers(eight_sites):
    """Four cancels and four releases at once. Cancels take no PO-number lock, so only
    the EDI counters' own locks keep their 850s apart: twelve documents in all, ISA13
    1..12 with none repeated and rising with the cursor, GS06 and ST02 unique."""
    world, bins = eight_sites
    vendor_id = world.vendor.pk
    first = [bins_evaluate(vendor_id=vendor_id, bin_ids=[b.pk])[0] for b in bins[:4]]
    scope = vendor_scope(world.vendor)

    def work(index: int):
        if index < 4:
            return order_cancel(scope=scope, order_id=first[index])
        return bins_evaluate(vendor_id=vendor_id, bin_ids=[bins[index].pk])

    run_together(work)
    docs = list(Document.objects.filter(vendor_id=vendor_id, direction="out").order_by("cursor"))
    assert len(docs) == 12
    assert [d.isa_control for d in docs] == list(range(1, 13))
    assert len({d.gs_control for d in docs}) == 12
    assert len({d.st_control for d in docs}) == 12
    assert sorted(d.purpose for d in docs) == ["00"] * 8 + ["01"] * 4


def test_outbox_poller_never_skips_a_cursor_during_concurrent_writes(eight_sites):
    """A poller reading the outbox from its last next_cursor while four cancels and
    three releases commit collects every document exactly once, in cursor order: a
    lower cursor never becomes visible after a higher one."""
    world, bins = eight_sites
    vendor_id = world.vendor.pk
    first = [bins_evaluate(vendor_id=vendor_id, bin_ids=[b.pk])[0] for b in bins[:4]]
    scope, erp = vendor_scope(world.vendor), Scope(vendor_id=vendor_id, role="erp")
    expected = 4 + 4 + 3
    seen: list[int] = []

    def work(index: int):
        if index == 0:  # the poller
            after, deadline = 0, time.monotonic() + 60
            while len(seen) < expected and time.monotonic() < deadline:
                page = outbox_list(scope=erp, after=after, limit=100)
                seen.extend(d.cursor for d in page)
                after = page[-1].cursor if page else after
            return None
        if index <= 4:
            return order_cancel(scope=scope, order_id=first[index - 1])
        return bins_evaluate(vendor_id=vendor_id, bin_ids=[bins[index - 1].pk])

    run_together(work, count=THREADS)
    committed = list(
        Document.objects.filter(vendor_id=vendor_id, direction="out")
        .order_by("cursor")
        .values_list("cursor", flat=True)
    )
    assert len(committed) == expected
    assert seen == committed


def test_concurrent_identical_delivery_reports_write_once(eight_sites):
    """Eight identical `received` reports at once all succeed and leave one delivered_at."""
    world, bins = eight_sites
    Bin.objects.filter(pk=bins[0].pk).update(on_hand=0)
    bins_evaluate(vendor_id=world.vendor.pk, bin_ids=[bins[0].pk])
    doc = Document.objects.get(vendor=world.vendor)
    scope = Scope(vendor_id=world.vendor.pk, role="erp")
    results = run_together(
        lambda i: (
            document_delivery_record(
                scope=scope, document_id=doc.pk, status="received"
            ).delivered_at
        )
    )
    stored = Document.objects.get(pk=doc.pk)
    assert stored.delivery_status == "received"
    assert set(results) == {stored.delivered_at}


@pytest.fixture
def released_order():
    """Vendor acme (a partner profile) released an order of 3 x 50 to its customer."""
    from tests.edi.vectors.fixtures import release

    with override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        world = vendor_world("acme", customers=1)
    partner_for(world.vendor)
    return world, release(world)


def test_concurrent_ship_notices_for_one_order_add_up_exactly(released_order):
    """Eight different 856s for one order at once, each 50 + 1 + 50: every one applies,
    shipped quantities are the exact sums, and the order turns partially shipped once."""
    from replenishment.models import OrderEvent, OrderStatus
    from tests.conftest import bearer
    from tests.edi.vectors import fill, order_values
    from tests.edi.vectors.fixtures import INBOX

    world, order = released_order
    values = order_values(order)
    payloads = [fill("856_sopi.x12", SHIPMENT=f"S{i}", QTY2=1, **values) for i in range(THREADS)]

    def post(index: int) -> int:
        client = bearer(world.erp_key)
        return client.post(
            INBOX, data=payloads[index], content_type="application/edi-x12"
        ).status_code

    assert run_together(post) == [200] * THREADS
    order.refresh_from_db()
    assert order.status == OrderStatus.PARTIALLY_SHIPPED
    shipped = list(order.lines.order_by("line_number").values_list("quantity_shipped", flat=True))
    assert shipped == [50 * THREADS, THREADS, 50 * THREADS]
    changes = OrderEvent.objects.filter(order=order, new_value=OrderStatus.PARTIALLY_SHIPPED)
    assert changes.count() == 1


def test_concurrent_rejecting_855s_cancel_once_and_send_one_cancel_850(released_order):
    """Four 855s refusing the order (BAK02 RJ, each its own ISA13) at once: one cancels
    it and queues the cancel 850; the others find it cancelled and are refused."""
    from replenishment.models import OrderStatus
    from tests.conftest import bearer
    from tests.edi.vectors import fill, order_values
    from tests.edi.vectors.fixtures import INBOX

    world, order = released_order
    payloads = [fill("855_reject.x12", **order_values(order)) for _ in range(4)]

    def post(index: int) -> str:
        client = bearer(world.erp_key)
        resp = client.post(INBOX, data=payloads[index], content_type="application/edi-x12")
        return resp.json()["sets"][0]["status"]

    assert sorted(run_together(post, count=4)) == ["accepted"] + ["rejected"] * 3
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert Document.objects.filter(order=order, transaction_set="850", purpose="01").count() == 1
    assert set(Bin.objects.filter(vendor=world.vendor).values_list("on_order", flat=True)) == {0}
