"""Query counts of list endpoints: a page of 50 rows costs as many queries as a page of 5.

Each list gets at least 50 rows of its own, is read with page_size=5 and page_size=50,
and the two counts must be equal; the page of 50 also has an absolute budget.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.services import cross_reference_create, item_create
from cmi.models import Customer
from cmi.services import api_token_create
from replenishment.models import Order
from replenishment.services import bins_evaluate
from stocking.models import Bin
from stocking.setup import (
    bin_create,
    bin_levels_update,
    device_create,
    location_create,
    site_create,
)
from tests.conftest import bearer
from tests.factories import gtin13, vendor_world

pytestmark = pytest.mark.django_db  # every test runs in a savepoint rolled back after it

API = "/api/v1/"
ROWS = 50


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """conftest's world (vendors a and b, two customers each), built once for this module.

    It is made inside a transaction that is rolled back when the module ends, and each
    test runs in its own savepoint inside it (pytestmark above), so every test starts
    from the same rows without paying for the world again.
    """
    with django_db_blocker.unblock(), transaction.atomic():
        yield {"a": vendor_world("acme"), "b": vendor_world("bolt")}
        transaction.set_rollback(True)


# --- rows: each builder gives customer a0 (and so vendor A) at least ROWS rows ---------------


def grow_customers(world) -> str:
    a = world["a"]
    Customer.objects.bulk_create(
        [Customer(vendor=a.vendor, code=f"qc-{i}", name=f"Customer {i}") for i in range(ROWS)]
    )
    return "customers"


def grow_items(world) -> str:
    a = world["a"]
    for i in range(ROWS):
        item_create(
            scope=a.scope,
            sku=f"QC-{i}",
            description="Washer",
            barcodes=[gtin13(90_000 + i), f"ALT-{i}"],
        )
    return "items"


def grow_cross_references(world) -> str:
    a = world["a"]
    for i in range(ROWS):
        cross_reference_create(
            scope=a.scope,
            customer_id=a.customers[0].customer.pk,
            item_id=a.items[i % 3].pk,
            kind="part_number",
            code=f"QC-{i}",
        )
    return "cross-references"


def grow_sites(world) -> str:
    a = world["a"]
    for i in range(ROWS):
        site_create(
            scope=a.scope, customer_id=a.customers[0].customer.pk, code=f"S{i}", name=f"Site {i}"
        )
    return "sites"


def grow_locations(world) -> str:
    a = world["a"]
    cw = a.customers[0]
    for i in range(ROWS):
        location_create(scope=a.scope, site_id=cw.site.pk, code=f"L{i}", parent_id=cw.room.pk)
    return "locations"


def grow_bins(world) -> str:
    a = world["a"]
    cw = a.customers[0]
    for i in range(ROWS):
        location = location_create(scope=a.scope, site_id=cw.site.pk, code=f"L{i}")
        bin_create(
            scope=a.scope,
            location_id=location.pk,
            item_id=a.items[i % 3].pk,
            min_qty=5,
            max_qty=20,
            on_hand=i,
            user_id=a.admin.pk,
        )
    return "bins"


def grow_devices(world) -> str:
    a = world["a"]
    cw = a.customers[0]
    for i in range(ROWS):
        device_create(
            scope=a.scope, customer_id=cw.customer.pk, name=f"Scanner {i}", site_id=cw.site.pk
        )
    return "devices"


def grow_orders(world) -> str:
    """Ten sites of a0 with three bins each, evaluated five times: 50 released orders of
    three lines each."""
    a = world["a"]
    customer_id = a.customers[0].customer.pk
    bin_ids = []
    for s in range(10):
        site = site_create(scope=a.scope, customer_id=customer_id, code=f"QS{s}", name="Plant")
        location = location_create(scope=a.scope, site_id=site.pk, code=f"QL{s}")
        bin_ids += [
            bin_create(
                scope=a.scope, location_id=location.pk, item_id=item.pk, min_qty=5, max_qty=20
            ).pk
            for item in a.items
        ]
    for _ in range(ROWS // 10):
        Bin.objects.filter(pk__in=bin_ids).update(on_hand=0, on_order=0)
        assert len(bins_evaluate(vendor_id=a.vendor.pk, bin_ids=bin_ids)) == 10
    assert Order.objects.filter(customer_id=customer_id, status="released").count() == ROWS
    return "orders"


def grow_ledger(world) -> str:
    """50 scans on one bin, posted by its scanner."""
    cw = world["a"].customers[0]
    b = cw.bins[0]
    events = [
        {
            "event_id": str(uuid.uuid4()),
            "kind": "receive",
            "code": b.label,
            "quantity": 1,
            "occurred_at": timezone.now().isoformat(),
        }
        for _ in range(ROWS)
    ]
    resp = bearer(cw.token).post(f"{API}scans", {"scans": events}, format="json")
    assert resp.json()["accepted"] == ROWS
    return f"bins/{b.pk}/ledger"


def grow_level_changes(world) -> str:
    """50 min changes on one bin, by two different users."""
    a = world["a"]
    b = a.customers[0].bins[0]
    for i in range(ROWS):
        bin_levels_update(
            scope=a.scope,
            bin_id=b.pk,
            min_qty=10 + i % 2,
            user_id=(a.admin if i % 2 else a.rep).pk,
        )
    return f"bins/{b.pk}/level-changes"


# --- who asks ----------------------------------------------------------------------------


def token_of(world, who: str) -> str:
    """A bearer token, so each request authenticates the same way (one lookup)."""
    a = world["a"]
    if who == "erp":
        return a.erp_key
    if who == "limited_rep":
        a.rep.membership.assigned_customers.add(a.customers[0].customer)
        user = a.rep
    else:
        user = {"vendor_admin": a.admin, "customer_manager": a.customers[0].manager}[who]
    return api_token_create(user=user)[1]


@dataclass(frozen=True)
class ListCase:
    grow: Callable[[dict], str]
    # Queries for a page, all included: the token, the count (page-number pagination
    # only; orders use a cursor), the rows, and one per prefetched relation.
    budget: int


CASES = {
    "customers": ListCase(grow_customers, 3),
    "items": ListCase(grow_items, 4),  # + barcodes
    "cross-references": ListCase(grow_cross_references, 3),
    "sites": ListCase(grow_sites, 3),
    "locations": ListCase(grow_locations, 3),
    "bins": ListCase(grow_bins, 3),
    "devices": ListCase(grow_devices, 3),
    "orders": ListCase(grow_orders, 3),  # no count; + lines with their items and bins
    "ledger": ListCase(grow_ledger, 4),  # + the bin itself
    "level-changes": ListCase(grow_level_changes, 4),  # + the bin itself
}
# A rep with assigned customers costs one more query: the assignments, read once.
EXTRA = {"limited_rep": 1}

PRINCIPALS = {
    "items": ["vendor_admin", "erp"],
    "bins": ["vendor_admin", "limited_rep", "customer_manager"],
    "orders": ["vendor_admin", "limited_rep", "erp"],
    "ledger": ["vendor_admin", "customer_manager"],
}


def _cases():
    for name in CASES:
        for who in PRINCIPALS.get(name, ["vendor_admin"]):
            yield pytest.param(name, who, id=f"{name}-{who}")


def page(client, path: str, size: int) -> tuple[int, int]:
    """(queries, rows) of one page of `size`."""
    with CaptureQueriesContext(connection) as queries:
        resp = client.get(f"{API}{path}", {"page_size": size})
    assert resp.status_code == 200, resp.content
    return len(queries), len(resp.json()["results"])


@pytest.mark.parametrize(("endpoint", "who"), list(_cases()))
def test_list_query_count_does_not_grow_with_rows(
    world, endpoint, who, django_assert_max_num_queries
):
    """Pages of 5 and of 50 rows cost the same number of queries, within the budget."""
    case = CASES[endpoint]
    path = case.grow(world)
    client = bearer(token_of(world, who))

    small, small_rows = page(client, path, 5)
    with django_assert_max_num_queries(case.budget + EXTRA.get(who, 0)):
        large, large_rows = page(client, path, ROWS)

    assert (small_rows, large_rows) == (5, ROWS)
    assert large == small, f"{endpoint}: {small} queries for 5 rows, {large} for {ROWS}"
