"""Replenishment and scans under real concurrency (PostgreSQL row locks, many threads).

Every thread has its own database connection and transaction; a barrier starts them
at the same moment. What must hold whatever the interleaving: no double ordering,
one collecting order per site, each scan event applied once, PO numbers without gaps
or repeats.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from cmi.models import Customer, VendorSequence
from cmi.scoping import Scope
from replenishment.models import Order, OrderLine, OrderStatus
from replenishment.services import bins_evaluate
from stocking import hooks
from stocking.models import Bin, LedgerEntry, ScanEvent, ScannerDevice
from stocking.services import on_hand_rebuild, scan_batch_ingest
from stocking.setup import bin_create, device_create, location_create, site_create
from tests.conftest import scan

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 8


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """The world's users are hashed with MD5 here: PBKDF2 costs seconds per test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def run_together(n: int, work: Callable[[int], Any]) -> list[Any]:
    """Run work(0..n-1) in n threads released at once by a barrier; re-raise any error."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n
    errors: list[BaseException] = []

    def thread_main(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except BaseException as exc:  # reported in the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=contextvars.copy_context().run, args=(thread_main, i))
        for i in range(n)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung (lock wait?)"
    assert not errors, errors
    return results


def set_bins(bins, **values) -> None:
    Bin.objects.filter(pk__in=[b.pk for b in bins]).update(**values)


def device_scope(cw) -> Scope:
    """The scope cmi/tenancy.py builds for a scanner token."""
    d = cw.device
    return Scope(
        vendor_id=d.vendor_id,
        role="device",
        customer_ids=frozenset({d.customer_id}),
        site_id=d.site_id,
        device_id=d.pk,
    )


def more_bins(vw, cw, count: int) -> list[Bin]:
    out: list[Bin] = []
    n = 0
    while len(out) < count:
        loc = location_create(scope=vw.scope, site_id=cw.site.pk, code=f"C{n}")
        n += 1
        for item in vw.items[: count - len(out)]:
            out.append(
                bin_create(
                    scope=vw.scope,
                    location_id=loc.pk,
                    item_id=item.pk,
                    min_qty=10,
                    max_qty=50,
                    on_hand=30,
                )
            )
    return out


@pytest.mark.parametrize("policy", ["auto", "approval", "scheduled"])
def test_same_bin_evaluated_by_eight_threads_orders_once(world, policy):
    """Eight evaluations of one short bin at once: one line, exactly the shortfall, and
    on-order equal to it."""
    va = world["a"]
    cw = va.customers[0]
    Customer.objects.filter(pk=cw.customer.pk).update(release_policy=policy)
    b = cw.bins[1]  # pack 10
    set_bins([b], on_hand=3)  # 47 -> 50

    results = run_together(THREADS, lambda i: bins_evaluate(vendor_id=va.vendor.pk, bin_ids=[b.pk]))

    assert sum(1 for r in results if r) == 1
    line = OrderLine.objects.get(bin_id=b.pk)
    assert line.quantity_ordered == 50
    assert Bin.objects.get(pk=b.pk).on_order == 50
    assert Order.objects.count() == 1
    expected = {
        "auto": OrderStatus.RELEASED,
        "approval": OrderStatus.AWAITING_APPROVAL,
        "scheduled": OrderStatus.DRAFT,
    }[policy]
    assert Order.objects.get().status == expected


def test_same_scan_batch_posted_by_eight_threads_is_applied_once(world):
    """The same events from eight uploads at once: one set of rows, stock changed once,
    accepted summed over the threads == batch size, duplicates == 7 x batch size."""
    cw = world["a"].customers[0]
    b0, b1, b2 = cw.bins
    events = [
        scan("issue", b0.label, quantity=3),
        scan("receive", b0.label, quantity=5),
        scan("issue", b1.label, quantity=2),
        scan("issue", b2.label, quantity=1),
        scan("count", b2.label, quantity=17),
    ]
    scope = device_scope(cw)

    results = run_together(
        THREADS, lambda i: scan_batch_ingest(scope=scope, events=[dict(e) for e in events])
    )

    accepted = sum(r.count("accepted") for r in results)
    duplicates = sum(r.count("duplicate") for r in results)
    assert accepted == len(events)
    assert duplicates == (THREADS - 1) * len(events)
    assert sum(r.count("rejected") for r in results) == 0
    assert ScanEvent.objects.count() == len(events)
    assert LedgerEntry.objects.filter(scan_event__isnull=False).count() == len(events)
    on_hand = {b.pk: Bin.objects.get(pk=b.pk).on_hand for b in cw.bins}
    assert (on_hand[b0.pk], on_hand[b1.pk], on_hand[b2.pk]) == (32, 28, 17)
    for b in cw.bins:
        assert on_hand_rebuild(bin_id=b.pk) == on_hand[b.pk]


def _two_posts_one_holding(first_scope, first_label, second_scope, second_label):
    """A post of `first_scope` stays open (uncommitted) while one of `second_scope`
    runs with a one-second lock_timeout: a lock wait in the second raises instead
    of hanging. Returns the second's result."""
    holding, done = threading.Event(), threading.Event()

    def first() -> None:
        with transaction.atomic():
            scan_batch_ingest(scope=first_scope, events=[scan("issue", first_label, quantity=1)])
            holding.set()
            assert done.wait(timeout=60)

    def second():
        assert holding.wait(timeout=60)
        try:
            with transaction.atomic():
                with connection.cursor() as cur:
                    cur.execute("SET LOCAL lock_timeout = '1s'")
                return scan_batch_ingest(
                    scope=second_scope, events=[scan("issue", second_label, quantity=1)]
                )
        finally:
            done.set()

    return run_together(2, lambda i: (first, second)[i]())[1]


def test_a_post_does_not_wait_for_another_post_writing_its_scanner_last_seen(world):
    """Once a minute every post in flight of a scanner finds its last_seen_at old. The
    post writing it holds the row until it commits; another post of the scanner skips
    the write rather than queue behind it, and is stored."""
    cw = world["a"].customers[0]
    long_ago = timezone.now() - dt.timedelta(minutes=5)
    ScannerDevice.objects.filter(pk=cw.device.pk).update(last_seen_at=long_ago)
    scope = device_scope(cw)  # as its token lookup read it: not seen lately

    second = _two_posts_one_holding(scope, cw.bins[0].label, scope, cw.bins[1].label)

    assert second.count("accepted") == 1
    assert ScanEvent.objects.filter(device_id=cw.device.pk).count() == 2
    assert ScannerDevice.objects.get(pk=cw.device.pk).last_seen_at > long_ago


def test_one_event_id_posted_on_different_bins_at_once_is_stored_once(world):
    """Eight threads post the same event id, each on its own bin (they take no common
    bin lock, so the unique (vendor, customer, event id) alone decides): exactly one is
    accepted and changes its bin, the others are duplicates and change nothing."""
    cw = world["a"].customers[0]
    labels = [b.label for b in cw.bins]
    event_id = scan("issue", labels[0], quantity=1)["event_id"]
    before = {b.pk: Bin.objects.get(pk=b.pk).on_hand for b in cw.bins}
    scope = device_scope(cw)

    results = run_together(
        THREADS,
        lambda i: scan_batch_ingest(
            scope=scope,
            events=[{**scan("issue", labels[i % len(labels)], quantity=1), "event_id": event_id}],
        ),
    )

    assert sum(r.count("accepted") for r in results) == 1
    assert sum(r.count("duplicate") for r in results) == THREADS - 1
    assert ScanEvent.objects.filter(event_id=event_id).count() == 1
    assert LedgerEntry.objects.filter(scan_event__isnull=False).count() == 1
    after = {b.pk: Bin.objects.get(pk=b.pk).on_hand for b in cw.bins}
    assert sum(before.values()) - sum(after.values()) == 1
    for b in cw.bins:
        assert on_hand_rebuild(bin_id=b.pk) == after[b.pk]


@pytest.mark.parametrize("policy", ["approval", "scheduled"])
def test_bins_of_one_site_evaluated_at_once_share_one_collecting_order(world, policy):
    """Eight threads, eight short bins of one site: one collecting order (never two),
    every line on it, numbered 1..8."""
    va = world["a"]
    cw = va.customers[0]
    Customer.objects.filter(pk=cw.customer.pk).update(release_policy=policy)
    bins = cw.bins + more_bins(va, cw, THREADS - len(cw.bins))
    assert len(bins) == THREADS
    set_bins(bins, on_hand=0)

    run_together(THREADS, lambda i: bins_evaluate(vendor_id=va.vendor.pk, bin_ids=[bins[i].pk]))

    order = Order.objects.get(site_id=cw.site.pk)
    assert Order.objects.count() == 1
    lines = list(order.lines.order_by("line_number"))
    assert {ln.bin_id for ln in lines} == {b.pk for b in bins}
    assert [ln.line_number for ln in lines] == list(range(1, THREADS + 1))
    for ln in lines:
        assert ln.quantity_ordered == 50
        assert Bin.objects.get(pk=ln.bin_id).on_order == 50


def test_concurrent_releases_get_distinct_contiguous_po_numbers(world):
    """Eight sites of vendor A and four of vendor B released at once (auto): each
    vendor's PO numbers are distinct and contiguous from 1, its sequence at the count."""
    va, vb = world["a"], world["b"]
    targets: list[tuple[int, int]] = []
    for vw, sites in ((va, 8), (vb, 4)):
        for n in range(sites):
            cw = vw.customers[n % 2]
            site = site_create(scope=vw.scope, customer_id=cw.customer.pk, code=f"S{n}", name="s")
            loc = location_create(scope=vw.scope, site_id=site.pk, code=f"S{n}-LOC")
            b = bin_create(
                scope=vw.scope,
                location_id=loc.pk,
                item_id=vw.items[0].pk,
                min_qty=10,
                max_qty=50,
                on_hand=0,
            )
            targets.append((vw.vendor.pk, b.pk))

    run_together(
        len(targets),
        lambda i: bins_evaluate(vendor_id=targets[i][0], bin_ids=[targets[i][1]]),
    )

    for vw, count, prefix in ((va, 8, "AC"), (vb, 4, "BO")):
        orders = list(Order.objects.filter(vendor=vw.vendor))
        assert len(orders) == count
        assert all(o.status == OrderStatus.RELEASED for o in orders)
        numbers = sorted(int(o.po_number.removeprefix(prefix)) for o in orders)
        assert numbers == list(range(1, count + 1))
        assert VendorSequence.objects.get(vendor=vw.vendor, name="po").value == count


def test_receipts_for_two_lines_of_one_order_at_once_close_it(world):
    """Two scanners receive the two lines of one released order at the same moment:
    every line is received, so the order must end `received`.

    A short pause inside the scan transaction (after the receipt is allocated, before
    commit) stands for a slow commit; it only widens a window that exists anyway."""
    va = world["a"]
    cw = va.customers[0]
    b0, _, b2 = cw.bins
    set_bins([b0, b2], on_hand=10)
    (order_id,) = bins_evaluate(vendor_id=va.vendor.pk, bin_ids=[b0.pk, b2.pk])
    second, _ = device_create(scope=va.scope, customer_id=cw.customer.pk, name="Handheld 2")
    scopes = [
        device_scope(cw),
        Scope(
            vendor_id=va.vendor.pk,
            role="device",
            customer_ids=frozenset({cw.customer.pk}),
            device_id=second.pk,
        ),
    ]
    batches = [[scan("receive", b0.label, quantity=40)], [scan("receive", b2.label, quantity=40)]]

    def slow_commit(**kwargs) -> None:
        time.sleep(0.5)

    hooks._bins_touched.append(slow_commit)
    try:
        results = run_together(2, lambda i: scan_batch_ingest(scope=scopes[i], events=batches[i]))
    finally:
        hooks._bins_touched.remove(slow_commit)

    assert [r.count("accepted") for r in results] == [1, 1]
    assert list(
        OrderLine.objects.filter(order_id=order_id).values_list("quantity_received", flat=True)
    ) == [40, 40]
    assert Bin.objects.get(pk=b0.pk).on_order == 0 and Bin.objects.get(pk=b2.pk).on_order == 0
    assert Order.objects.get(pk=order_id).status == OrderStatus.RECEIVED
