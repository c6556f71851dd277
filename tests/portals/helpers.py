"""Helpers of the portal tests: signed-in clients, orders in a given state, scans, size."""

from __future__ import annotations

import uuid

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cmi.models import Customer
from cmi.scoping import Scope
from replenishment.models import Order
from replenishment.services import bins_evaluate
from stocking.models import Bin, Location
from stocking.services import scan_batch_ingest
from stocking.setup import bin_create, location_create


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(name: str, cw, **kwargs) -> str:
    return reverse(f"portals:{name}", kwargs={"customer_id": cw.customer.pk, **kwargs})


def policy(cw, name: str) -> None:
    Customer.objects.filter(pk=cw.customer.pk).update(release_policy=name)


def awaiting_order(vw, cw, bins=None) -> Order:
    """The customer switched to approval and some of its bins emptied: one order waits."""
    policy(cw, "approval")
    bins = list(bins or cw.bins[:2])
    Bin.objects.filter(pk__in=[b.pk for b in bins]).update(on_hand=0)
    (order_id,) = bins_evaluate(vendor_id=vw.vendor.pk, bin_ids=[b.pk for b in bins])
    order = Order.objects.get(pk=order_id)
    assert order.status == "awaiting_approval"
    return order


def released_order(vw, cw, bins) -> Order:
    """An order sent at once (the auto policy) for emptied bins."""
    policy(cw, "auto")
    Bin.objects.filter(pk__in=[b.pk for b in bins]).update(on_hand=0)
    (order_id,) = bins_evaluate(vendor_id=vw.vendor.pk, bin_ids=[b.pk for b in bins])
    return Order.objects.get(pk=order_id)


def scans_post(vw, cw, events: list[tuple]) -> None:
    """Scans from the customer's handheld, through the same service as the scan API:
    (bin, kind, quantity) happening now, or (bin, kind, quantity, occurred_at)."""
    scope = Scope(
        vendor_id=vw.vendor.pk,
        role="device",
        customer_ids=frozenset({cw.customer.pk}),
        device_id=cw.device.pk,
    )
    batch = []
    for found, kind, quantity, *when in events:
        event = {
            "event_id": str(uuid.uuid4()),
            "kind": kind,
            "code": found.label,
            "occurred_at": (when[0] if when else timezone.now()).isoformat(),
        }
        if quantity is not None:
            event["quantity"] = quantity
        batch.append(event)
    result = scan_batch_ingest(scope=scope, events=batch)
    assert all(r.status == "accepted" for r in result.results), result.as_dict()


def grow(vw, cw, *, bins: int) -> list[Bin]:
    """New shelves in the customer's stock room, every item on each, until it has `bins`
    bins; on-hand varies so that every status occurs."""
    have = Bin.objects.filter(customer_id=cw.customer.pk).count()
    shelves = Location.objects.filter(customer_id=cw.customer.pk).count()
    made: list[Bin] = []
    while have + len(made) < bins:
        shelf = location_create(
            scope=vw.scope, site_id=cw.site.pk, code=f"G{shelves:03d}", parent_id=cw.room.pk
        )
        shelves += 1
        for item in vw.items:
            if have + len(made) >= bins:
                break
            n = have + len(made)
            made.append(
                bin_create(
                    scope=vw.scope,
                    location_id=shelf.pk,
                    item_id=item.pk,
                    min_qty=10,
                    max_qty=50,
                    pack_multiple=item.pack_quantity,
                    on_hand=(n * 7) % 70,
                )
            )
    return made
