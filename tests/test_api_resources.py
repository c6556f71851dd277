"""The resources of /api/v1 through HTTP: happy paths, bad input, auth tokens, filters
and the order workflow (approve with edits, reject, cancel)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from catalog.models import CrossReference, Item, ItemBarcode
from cmi.models import ApiToken, Customer
from cmi.services import api_token_create
from replenishment.models import Order, OrderEvent
from replenishment.services import bins_evaluate
from stocking.models import Bin, BinLevelChange, LedgerEntry, Location, ScannerDevice, Site
from tests.conftest import as_user, bearer, scan
from tests.factories import PASSWORD, gtin13, vendor_world

pytestmark = pytest.mark.django_db  # every test runs in a savepoint rolled back after it

API = "/api/v1/"


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


@pytest.fixture
def a(world):
    return world["a"]


@pytest.fixture
def admin(a):
    return as_user(a.admin)


def assert_error(resp, status: int, code: str, field: str | None = None) -> dict:
    assert resp.status_code == status, resp.content
    error = resp.json()["error"]
    assert error["code"] == code, error
    if field is not None:
        assert error["field"] == field, error
    return error


def ids(resp) -> set[int]:
    assert resp.status_code == 200, resp.content
    return {r["id"] for r in resp.json()["results"]}


# --- customers -------------------------------------------------------------------------


def test_customers_list_and_retrieve(a, admin):
    """A vendor admin lists both customers (by code) and reads one with its policy."""
    resp = admin.get(f"{API}customers")
    assert [c["code"] for c in resp.json()["results"]] == ["acme-c0", "acme-c1"]
    c0 = a.customers[0].customer
    body = admin.get(f"{API}customers/{c0.pk}").json()
    assert body == {
        "id": c0.pk,
        "code": "acme-c0",
        "name": "Customer 0 of acme",
        "account_number": "ACCT0000",
        "release_policy": "auto",
        "cutoff_times": [],
        "timezone": "America/Chicago",
        "consolidation_minutes": 0,
        "consolidation_min_value": "0.00",
    }


def test_vendor_admin_sets_release_policy(a, admin):
    """PATCH customers/{id} by the vendor admin changes policy, cutoffs and zone; unknown
    fields (even `vendor` and `code`) are ignored."""
    c0 = a.customers[0].customer
    resp = admin.patch(
        f"{API}customers/{c0.pk}",
        {
            "release_policy": "scheduled",
            "cutoff_times": ["06:00", "14:30"],
            "timezone": "Europe/Berlin",
            "code": "hijacked",
            "vendor": 999,
        },
        format="json",
    )
    assert resp.status_code == 200, resp.content
    c0.refresh_from_db()
    assert (c0.release_policy, c0.cutoff_times, c0.timezone, c0.code) == (
        "scheduled",
        ["06:00", "14:30"],
        "Europe/Berlin",
        "acme-c0",
    )


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"release_policy": "scheduled"}, "missing_cutoff_times", "cutoff_times"),
        ({"release_policy": "whenever"}, "invalid_choice", "release_policy"),
        ({"timezone": "Mars/Olympus_Mons"}, "invalid_timezone", "timezone"),
        ({"cutoff_times": ["06:00", "25:00"]}, "invalid", "cutoff_times.1"),
        ({"cutoff_times": "06:00"}, "not_a_list", "cutoff_times"),
        ({"name": "x" * 201}, "max_length", "name"),
        ({"name": None}, "null", "name"),
    ],
)
def test_customer_patch_bad_input_is_400_and_changes_nothing(a, admin, body, code, field):
    """Bad customer settings are refused with a stable code and field; the row is unchanged."""
    c0 = a.customers[0].customer
    before = Customer.objects.filter(pk=c0.pk).values().get()
    assert_error(admin.patch(f"{API}customers/{c0.pk}", body, format="json"), 400, code, field)
    assert Customer.objects.filter(pk=c0.pk).values().get() == before


@pytest.mark.parametrize("who", ["rep", "manager"])
def test_only_the_vendor_admin_patches_customers(a, who):
    """A rep or a customer manager may read customers but not change them (403)."""
    user = a.rep if who == "rep" else a.customers[0].manager
    c0 = a.customers[0].customer
    resp = as_user(user).patch(
        f"{API}customers/{c0.pk}", {"release_policy": "approval"}, format="json"
    )
    assert_error(resp, 403, "permission_denied")
    assert Customer.objects.get(pk=c0.pk).release_policy == "auto"


# --- items ---------------------------------------------------------------------------------


def test_item_create_with_barcodes(a, admin):
    """POST items makes the item with its barcodes (kind from the length) in the caller's vendor."""
    code = gtin13(777)
    resp = admin.post(
        f"{API}items",
        {
            "sku": "NUT-M8",
            "description": "Hex nut M8",
            "unit_of_measure": "BX",
            "pack_quantity": 100,
            "unit_price": "1.2500",
            "barcodes": [code, code],
            "vendor": 999,
        },
        format="json",
    )
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert (body["sku"], body["pack_quantity"], body["unit_price"], body["barcodes"]) == (
        "NUT-M8",
        100,
        "1.2500",
        [code],
    )
    item = Item.objects.get(pk=body["id"])
    assert item.vendor_id == a.vendor.pk
    assert list(item.barcodes.values_list("code", "kind")) == [(code, "ean")]


def test_item_patch_replaces_barcodes_and_fields(a, admin):
    """PATCH items changes the given fields only and makes the barcode list exactly the new one."""
    item = a.items[0]
    new = gtin13(888)
    resp = admin.patch(
        f"{API}items/{item.pk}", {"description": "Renamed", "barcodes": [new]}, format="json"
    )
    assert resp.status_code == 200, resp.content
    item.refresh_from_db()
    assert (item.description, item.sku) == ("Renamed", "ACME-SKU-0")
    assert list(ItemBarcode.objects.filter(item=item).values_list("code", flat=True)) == [new]


def test_item_list_filters(a, admin):
    """items?sku=, ?barcode= and ?search= find the right item."""
    item = a.items[2]
    barcode = item.barcodes.get().code
    assert ids(admin.get(f"{API}items", {"sku": item.sku})) == {item.pk}
    assert ids(admin.get(f"{API}items", {"barcode": barcode})) == {item.pk}
    assert ids(admin.get(f"{API}items", {"search": "m8 X 30"})) == {item.pk}
    assert ids(admin.get(f"{API}items", {"search": "nothing like it"})) == set()


def test_customer_users_and_erp_read_items(a):
    """Every principal of the vendor reads the catalog."""
    expected = {i.pk for i in a.items}
    assert ids(as_user(a.customers[0].staff).get(f"{API}items")) == expected
    assert ids(bearer(a.erp_key).get(f"{API}items")) == expected


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"sku": "ACME-SKU-0", "description": "x"}, 400, "duplicate_sku", "sku"),
        (
            {"sku": "N1", "description": "x", "barcodes": ["4000000000001"]},
            400,
            "invalid_gtin",
            "barcodes",
        ),
        (
            {"sku": "N1", "description": "x", "barcodes": ["{taken}"]},
            400,
            "duplicate_barcode",
            "barcodes",
        ),
        ({"sku": "bad sku!", "description": "x"}, 400, "invalid", "sku"),
        ({"sku": "N1"}, 400, "required", "description"),
        (
            {"sku": "N1", "description": "x", "pack_quantity": "ten"},
            400,
            "invalid",
            "pack_quantity",
        ),
        ({"sku": "N1", "description": "x", "pack_quantity": 0}, 400, "min_value", "pack_quantity"),
        (
            {"sku": "N1", "description": "x", "pack_quantity": 10**18},
            400,
            "max_value",
            "pack_quantity",
        ),
        ({"sku": "N1", "description": "x", "unit_price": "-1"}, 400, "min_value", "unit_price"),
        ({"sku": "N1", "description": "x", "unit_price": "1e40"}, 400, "max_digits", "unit_price"),
        ({"sku": "N1", "description": "x", "unit_price": "NaN"}, 400, "invalid", "unit_price"),
        (
            {"sku": "N1", "description": "x", "unit_weight_grams": 0},
            400,
            "min_value",
            "unit_weight_grams",
        ),
        ({"sku": "N1", "description": "x" * 201}, 400, "max_length", "description"),
        ({"sku": "N" * 49, "description": "x"}, 400, "max_length", "sku"),
        (
            {"sku": "N1", "description": "x", "barcodes": "4006381333931"},
            400,
            "not_a_list",
            "barcodes",
        ),
        (
            {"sku": "N1", "description": "x", "barcodes": [f"CODE{i}" for i in range(21)]},
            400,
            "max_length",
            "barcodes",
        ),
        (
            {"sku": "N1", "description": "nul\x00"},
            400,
            "null_characters_not_allowed",
            "description",
        ),
        ({"sku": ["N1"], "description": "x"}, 400, "invalid", "sku"),
    ],
)
def test_item_create_bad_input(a, admin, body, status, code, field):
    """Bad item input is a 400 with a stable code and the field; no item is written."""
    if body.get("barcodes") == ["{taken}"]:
        body = {**body, "barcodes": [a.items[1].barcodes.get().code]}
    count = Item.objects.count()
    assert_error(admin.post(f"{API}items", body, format="json"), status, code, field)
    assert Item.objects.count() == count


def test_item_patch_to_a_taken_sku_is_400(a, admin):
    """Renaming an item to another item's SKU is refused and changes nothing."""
    item = a.items[0]
    resp = admin.patch(f"{API}items/{item.pk}", {"sku": a.items[1].sku}, format="json")
    assert_error(resp, 400, "duplicate_sku", "sku")
    assert Item.objects.get(pk=item.pk).sku == "ACME-SKU-0"


def test_customer_users_cannot_write_items(a):
    """Customer managers read the catalog but cannot add to it (403)."""
    resp = as_user(a.customers[0].manager).post(
        f"{API}items", {"sku": "X1", "description": "x"}, format="json"
    )
    assert_error(resp, 403, "permission_denied")
    assert not Item.objects.filter(sku="X1").exists()


# --- cross-references -----------------------------------------------------------------------


def test_cross_reference_create_list_delete(a, admin):
    """POST makes a reference, the list filters by customer, DELETE removes it (204)."""
    c1 = a.customers[1].customer
    resp = admin.post(
        f"{API}cross-references",
        {"customer": c1.pk, "item": a.items[2].pk, "kind": "barcode", "code": "CUST-99"},
        format="json",
    )
    assert resp.status_code == 201, resp.content
    made = resp.json()
    assert (made["customer"], made["item"], made["sku"], made["kind"], made["code"]) == (
        c1.pk,
        a.items[2].pk,
        "ACME-SKU-2",
        "barcode",
        "CUST-99",
    )
    listed = ids(admin.get(f"{API}cross-references", {"customer": c1.pk}))
    assert listed == set(CrossReference.objects.filter(customer=c1).values_list("pk", flat=True))
    assert made["id"] in listed and len(listed) == 2
    assert admin.delete(f"{API}cross-references/{made['id']}").status_code == 204
    assert not CrossReference.objects.filter(pk=made["id"]).exists()


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"code": "CPN-0001"}, "duplicate_code", "code"),
        ({"kind": "nickname"}, "invalid_choice", "kind"),
        ({"customer": "first"}, "invalid", "customer"),
        ({"item": -4}, "min_value", "item"),
        ({"item": 10**25}, "unknown_item", "item"),
        ({"code": ""}, "blank", "code"),
    ],
)
def test_cross_reference_bad_input(a, admin, body, code, field):
    """Bad references are 400 with a code; nothing is written."""
    good = {
        "customer": a.customers[0].customer.pk,
        "item": a.items[1].pk,
        "kind": "part_number",
        "code": "CPN-0002",
    }
    count = CrossReference.objects.count()
    resp = admin.post(f"{API}cross-references", {**good, **body}, format="json")
    assert_error(resp, 400, code, field)
    assert CrossReference.objects.count() == count


# --- sites and locations ---------------------------------------------------------------------


def test_site_create_and_list(a, admin):
    """POST sites makes a site for the customer; sites?customer= lists it."""
    c1 = a.customers[1].customer
    resp = admin.post(
        f"{API}sites",
        {"customer": c1.pk, "code": "EAST", "name": "East plant", "state": "OH", "city": "Dayton"},
        format="json",
    )
    assert resp.status_code == 201, resp.content
    site = Site.objects.get(pk=resp.json()["id"])
    assert (site.vendor_id, site.customer_id, site.code, site.state, site.country) == (
        a.vendor.pk,
        c1.pk,
        "EAST",
        "OH",
        "US",
    )
    assert ids(admin.get(f"{API}sites", {"customer": c1.pk})) == {a.customers[1].site.pk, site.pk}


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"code": "MAIN"}, "duplicate_code", "code"),
        ({"code": "has space"}, "invalid", "code"),
        ({"state": "Illinois"}, "max_length", "state"),
        ({"name": ""}, "blank", "name"),
        ({"customer": None}, "null", "customer"),
        ({"customer": 10**25}, "unknown_customer", "customer"),
    ],
)
def test_site_bad_input(a, admin, body, code, field):
    good = {"customer": a.customers[0].customer.pk, "code": "WEST", "name": "West"}
    count = Site.objects.count()
    assert_error(admin.post(f"{API}sites", {**good, **body}, format="json"), 400, code, field)
    assert Site.objects.count() == count


def test_location_create_root_and_child(a, admin):
    """A location without parent is a root (depth 0); a child gets depth 1 and its path
    under the parent, and shows in locations?parent=."""
    site = a.customers[0].site
    root = admin.post(f"{API}locations", {"site": site.pk, "code": "CAGE"}, format="json")
    assert root.status_code == 201, root.content
    child = admin.post(
        f"{API}locations",
        {"site": site.pk, "code": "CAGE-1", "name": "Cage shelf 1", "parent": root.json()["id"]},
        format="json",
    )
    assert child.status_code == 201, child.content
    assert (root.json()["depth"], child.json()["depth"]) == (0, 1)
    assert child.json()["parent"] == root.json()["id"]
    made = Location.objects.get(pk=child.json()["id"])
    assert made.path == f"/{root.json()['id']}/{made.pk}/"
    assert ids(admin.get(f"{API}locations", {"parent": root.json()["id"]})) == {made.pk}


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"code": "SHELF-A"}, "duplicate_code", "code"),
        ({"parent": "{other_site_room}"}, "parent_other_site", "parent"),
        ({"site": "abc"}, "invalid", "site"),
        ({"code": "x" * 33}, "max_length", "code"),
    ],
)
def test_location_bad_input(world, a, admin, body, code, field):
    """Bad locations are 400 with a code (a parent at another site too); nothing is written."""
    if body.get("parent") == "{other_site_room}":
        site = Site.objects.create(
            vendor=a.vendor, customer=a.customers[0].customer, code="SIDE", name="Side"
        )
        body = {"parent": a.customers[0].room.pk}
        good = {"site": site.pk, "code": "NEW"}
    else:
        good = {"site": a.customers[0].site.pk, "code": "NEW"}
    count = Location.objects.count()
    assert_error(admin.post(f"{API}locations", {**good, **body}, format="json"), 400, code, field)
    assert Location.objects.count() == count


# --- bins --------------------------------------------------------------------------------------


def test_bin_create_writes_count_ledger_and_level_audit(a, admin):
    """POST bins makes the bin; a starting on-hand is a count in its ledger, and its first
    levels are in its level changes."""
    cw = a.customers[0]
    resp = admin.post(
        f"{API}bins",
        {"location": cw.room.pk, "item": a.items[1].pk, "min": 20, "max": 80, "on_hand": 7},
        format="json",
    )
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert (body["customer"], body["site"], body["location_code"], body["sku"]) == (
        cw.customer.pk,
        cw.site.pk,
        "ROOM",
        "ACME-SKU-1",
    )
    assert (body["min"], body["max"], body["on_hand"], body["pack_multiple"]) == (20, 80, 7, 10)
    ledger = admin.get(f"{API}bins/{body['id']}/ledger").json()["results"]
    assert [
        (e["kind"], e["quantity"], e["delta"], e["on_hand_after"], e["user"]) for e in ledger
    ] == [("count", 7, 7, 7, a.admin.pk)]
    changes = admin.get(f"{API}bins/{body['id']}/level-changes").json()["results"]
    assert [(c["source"], c["new_min"], c["new_max"], c["username"]) for c in changes] == [
        ("create", 20, 80, a.admin.username)
    ]


def test_min_max_update_is_audited(a):
    """PATCH min/max by a rep changes the bin and writes a level change with who, old and
    new, listed newest first at bins/{id}/level-changes."""
    b = a.customers[0].bins[0]
    client = as_user(a.rep)
    resp = client.patch(f"{API}bins/{b.pk}", {"min": 15, "max": 60}, format="json")
    assert resp.status_code == 200, resp.content
    assert (resp.json()["min"], resp.json()["max"]) == (15, 60)
    b.refresh_from_db()
    assert (b.min_qty, b.max_qty) == (15, 60)
    changes = client.get(f"{API}bins/{b.pk}/level-changes").json()["results"]
    assert len(changes) == 2
    latest = changes[0]
    assert (latest["source"], latest["user"], latest["username"]) == (
        "api",
        a.rep.pk,
        a.rep.username,
    )
    assert (latest["old_min"], latest["new_min"], latest["old_max"], latest["new_max"]) == (
        10,
        15,
        50,
        60,
    )
    assert changes[1]["source"] == "create"


def test_patch_without_level_change_writes_no_audit_row(a, admin):
    """Changing only lead time (or sending the same min/max) writes no level change."""
    b = a.customers[0].bins[0]
    resp = admin.patch(
        f"{API}bins/{b.pk}", {"lead_time_days": 9, "min": 10, "max": 50}, format="json"
    )
    assert resp.status_code == 200, resp.content
    assert Bin.objects.get(pk=b.pk).lead_time_days == 9
    assert BinLevelChange.objects.filter(bin=b).count() == 1  # the creation only


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"min": 60}, "min_above_max", "min"),
        ({"min": 30, "max": 20}, "min_above_max", "min"),
        ({"max": 5}, "min_above_max", "min"),
        ({"min": "ten"}, "invalid", "min"),
        ({"min": -1}, "min_value", "min"),
        ({"min": 1.5}, "invalid", "min"),
        ({"min": True}, "invalid", "min"),
        ({"max": 10**15}, "max_value", "max"),
        ({"max": 10**40}, "max_value", "max"),
        ({"pack_multiple": 0}, "min_value", "pack_multiple"),
        ({"lead_time_days": 366}, "max_value", "lead_time_days"),
        ({"kanban_quantity": 0}, "min_value", "kanban_quantity"),
        ({"tare_grams": "-1"}, "min_value", "tare_grams"),
        ({"tare_grams": "NaN"}, "invalid", "tare_grams"),
        ({"tare_grams": "Infinity"}, "invalid", "tare_grams"),
        ({"active": "maybe"}, "invalid", "active"),
    ],
)
def test_bin_patch_bad_input_is_400_and_changes_nothing(a, admin, body, code, field):
    """Bad levels are refused with a stable code and field; the bin and its audit are unchanged."""
    b = a.customers[0].bins[0]
    before = Bin.objects.filter(pk=b.pk).values().get()
    assert_error(admin.patch(f"{API}bins/{b.pk}", body, format="json"), 400, code, field)
    assert Bin.objects.filter(pk=b.pk).values().get() == before
    assert BinLevelChange.objects.filter(bin=b).count() == 1


def test_bin_patch_ignores_fields_it_does_not_own(world, a, admin):
    """on_hand, on_order, customer and label in a PATCH body are ignored: stock moves by scans."""
    b = a.customers[0].bins[0]
    resp = admin.patch(
        f"{API}bins/{b.pk}",
        {
            "min": 11,
            "on_hand": 999,
            "on_order": 5,
            "customer": world["b"].customers[0].customer.pk,
            "label": "STOLEN",
        },
        format="json",
    )
    assert resp.status_code == 200, resp.content
    b.refresh_from_db()
    assert (b.min_qty, b.on_hand, b.on_order, b.customer_id) == (
        11,
        30,
        0,
        a.customers[0].customer.pk,
    )
    assert b.label != "STOLEN"


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"min": 60, "max": 50}, "min_above_max", "min"),
        ({"min": 5}, "min_above_max", "min"),  # max defaults to 0
        ({"item": "{stocked}"}, "duplicate_bin", "item"),
        ({"label": "{taken}"}, "duplicate_label", "label"),
        ({"label": "lower-case"}, "invalid", "label"),
        ({"on_hand": -3}, "min_value", "on_hand"),
        ({"on_hand": 10**8}, "max_value", "on_hand"),
        ({"location": 10**25}, "unknown_location", "location"),
        ({"location": "here"}, "invalid", "location"),
        ({"item": None}, "null", "item"),
    ],
)
def test_bin_create_bad_input(a, admin, body, code, field):
    """Bad bins are 400 with a code; no bin, ledger row or level change is written."""
    cw = a.customers[0]
    good = {"location": cw.room.pk, "item": a.items[0].pk}
    if body.get("item") == "{stocked}":
        body = {"location": cw.shelf.pk, "item": a.items[0].pk}
    if body.get("label") == "{taken}":
        body = {"label": cw.bins[0].label}
    counts = (Bin.objects.count(), LedgerEntry.objects.count(), BinLevelChange.objects.count())
    assert_error(admin.post(f"{API}bins", {**good, **body}, format="json"), 400, code, field)
    assert (
        Bin.objects.count(),
        LedgerEntry.objects.count(),
        BinLevelChange.objects.count(),
    ) == counts


@pytest.fixture
def stocked(a):
    """a0's bins at 0 (at zero, below min), 5 (below min) and 60 (over max); a1's at 30 (ok)."""
    a0 = a.customers[0]
    for b, on_hand in zip(a0.bins, (0, 5, 60), strict=True):
        Bin.objects.filter(pk=b.pk).update(on_hand=on_hand)
    return a0


def _bin_ids(*bins) -> set[int]:
    return {b.pk for b in bins}


def test_bin_filters(a, admin, stocked):
    """Each bins filter returns exactly the matching bins of the vendor."""
    a0, a1 = a.customers
    cases = {
        "label": (a0.bins[1].label, _bin_ids(a0.bins[1])),
        "location": (a0.shelf.pk, _bin_ids(*a0.bins)),
        "location_code": ("SHELF-A", _bin_ids(*a0.bins, *a1.bins)),
        "location_subtree": (a1.room.pk, _bin_ids(*a1.bins)),
        "sku": ("ACME-SKU-1", _bin_ids(a0.bins[1], a1.bins[1])),
        "customer": (a1.customer.pk, _bin_ids(*a1.bins)),
        "site": (a0.site.pk, _bin_ids(*a0.bins)),
    }
    for param, (value, expected) in cases.items():
        assert ids(admin.get(f"{API}bins", {param: value})) == expected, param
    assert ids(admin.get(f"{API}bins", {"sku": "NO-SUCH"})) == set()


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("at_zero", lambda a0, a1: _bin_ids(a0.bins[0])),
        ("below_min", lambda a0, a1: _bin_ids(a0.bins[0], a0.bins[1])),
        ("over_max", lambda a0, a1: _bin_ids(a0.bins[2])),
        ("ok", lambda a0, a1: _bin_ids(*a1.bins)),
    ],
)
def test_bin_status_filter(a, admin, stocked, status, expected):
    """bins?status= sorts bins by on-hand against min and max."""
    assert ids(admin.get(f"{API}bins", {"status": status})) == expected(*a.customers)


def test_bin_filters_combine_and_bad_status_is_400(a, admin, stocked):
    """Filters combine with AND; an unknown status is a 400 invalid_choice."""
    a0 = a.customers[0]
    assert ids(admin.get(f"{API}bins", {"status": "below_min", "sku": "ACME-SKU-1"})) == {
        a0.bins[1].pk
    }
    assert_error(admin.get(f"{API}bins", {"status": "empty"}), 400, "invalid_choice", "status")
    assert_error(admin.get(f"{API}bins", {"customer": "one"}), 400, "invalid", "customer")


def test_bin_ledger_lists_scans_newest_first(a, admin):
    """Scans show in bins/{id}/ledger, newest first, with the device that sent them."""
    cw = a.customers[0]
    b = cw.bins[2]
    issue = scan("issue", b.label, quantity=4)
    receive = scan("receive", b.label, quantity=9)  # a later occurred_at
    resp = bearer(cw.token).post(f"{API}scans", {"scans": [receive, issue]}, format="json")
    assert resp.json()["accepted"] == 2, resp.content
    entries = admin.get(f"{API}bins/{b.pk}/ledger").json()["results"]
    assert [(e["kind"], e["delta"], e["device"]) for e in entries[:2]] == [
        ("receive", 9, cw.device.pk),
        ("issue", -4, cw.device.pk),
    ]
    assert entries[0]["on_hand_after"] == 35
    assert entries[2]["kind"] == "count"  # the bin's starting count


# --- devices -----------------------------------------------------------------------------------


def test_manager_adds_scanner_whose_token_scans_until_revoked(a):
    """A customer manager adds a scanner (token shown once); it posts scans; once revoked
    through the API its token is refused with 401 token_revoked."""
    cw = a.customers[0]
    manager = as_user(cw.manager)
    resp = manager.post(
        f"{API}devices", {"name": "Dock scanner", "site": cw.site.pk}, format="json"
    )
    assert resp.status_code == 201, resp.content
    made = resp.json()
    assert made["token"].startswith("cmid_") and made["prefix"] == made["token"][:10]
    assert (made["customer"], made["site"], made["active"]) == (cw.customer.pk, cw.site.pk, True)
    device = ScannerDevice.objects.get(pk=made["id"])
    assert made["token"] not in device.token_hash

    batch = {"scans": [scan("issue", cw.bins[0].label, quantity=1)]}
    assert bearer(made["token"]).post(f"{API}scans", batch, format="json").json()["accepted"] == 1

    resp = manager.post(f"{API}devices/{made['id']}/revoke", {}, format="json")
    assert resp.status_code == 200 and resp.json()["active"] is False
    again = bearer(made["token"]).post(
        f"{API}scans", {"scans": [scan("issue", cw.bins[0].label, quantity=1)]}, format="json"
    )
    assert_error(again, 401, "token_revoked")
    assert Bin.objects.get(pk=cw.bins[0].pk).on_hand == 29


def test_vendor_staff_add_device_for_a_customer(a, admin):
    """Vendor staff name the customer; without one it is a 400 required."""
    c1 = a.customers[1].customer
    resp = admin.post(f"{API}devices", {"customer": c1.pk, "name": "Van 2"}, format="json")
    assert resp.status_code == 201 and resp.json()["customer"] == c1.pk
    assert ids(admin.get(f"{API}devices", {"customer": c1.pk})) == set(
        ScannerDevice.objects.filter(customer=c1).values_list("pk", flat=True)
    )
    assert_error(
        admin.post(f"{API}devices", {"name": "Nobody's"}, format="json"),
        400,
        "required",
        "customer",
    )


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"name": ""}, "blank", "name"),
        ({"name": "n" * 101}, "max_length", "name"),
        ({"site": "main"}, "invalid", "site"),
        ({"site": 10**25}, "unknown_site", "site"),
    ],
)
def test_device_bad_input(a, body, code, field):
    count = ScannerDevice.objects.count()
    resp = as_user(a.customers[0].manager).post(
        f"{API}devices", {"name": "Scanner", **body}, format="json"
    )
    assert_error(resp, 400, code, field)
    assert ScannerDevice.objects.count() == count


# --- personal API tokens -----------------------------------------------------------------------


def login(client: APIClient, username: str, password: str = PASSWORD, **extra):
    return client.post(
        f"{API}auth/token", {"username": username, "password": password}, format="json", **extra
    )


def test_right_password_gives_a_working_bearer_token(a):
    """POST auth/token with the right password is a 201 with a token that then works as
    Bearer, with the user's own scope."""
    cw = a.customers[0]
    resp = login(APIClient(), cw.manager.username)
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["token"].startswith("cmiu_") and body["prefix"] == body["token"][:10]
    token = ApiToken.objects.get(pk=body["id"])
    assert (token.user_id, token.vendor_id, token.revoked_at) == (cw.manager.pk, a.vendor.pk, None)
    bins = bearer(body["token"]).get(f"{API}bins")
    assert ids(bins) == {b.pk for b in cw.bins}


@pytest.mark.parametrize(
    ("username", "password"),
    [("{manager}", "wrong-password"), ("nobody-by-that-name", PASSWORD), ("{manager}", "")],
)
def test_wrong_credentials_are_401_invalid_credentials(a, username, password):
    """A wrong password or an unknown user is a 401 invalid_credentials and makes no token."""
    username = a.customers[0].manager.username if username == "{manager}" else username
    resp = login(APIClient(), username, password)
    if password == "":
        assert_error(resp, 400, "blank", "password")
    else:
        assert_error(resp, 401, "invalid_credentials")
    assert not ApiToken.objects.exists()


def test_user_without_membership_or_inactive_gets_no_token(a):
    """Someone with a password but no membership, or a deactivated user, gets 401."""
    loner = get_user_model().objects.create_user(username="loner", password=PASSWORD)
    assert_error(login(APIClient(), loner.username), 401, "invalid_credentials")
    staff = a.customers[0].staff
    get_user_model().objects.filter(pk=staff.pk).update(is_active=False)
    assert_error(login(APIClient(), staff.username), 401, "invalid_credentials")


def test_login_is_throttled_after_ten_attempts(a):
    """The 11th attempt within a minute from one address is a 429 throttled, even with the
    right password."""
    assert settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["auth_token"] == "10/min"
    client = APIClient()
    username = a.customers[0].manager.username
    for _ in range(10):
        assert login(client, username, "guess").status_code == 401
    assert_error(login(client, username), 429, "throttled")
    assert not ApiToken.objects.exists()


def test_login_throttle_cannot_be_dodged_with_x_forwarded_for(a):
    """Changing X-Forwarded-For does not give a password guesser a fresh allowance."""
    client = APIClient()
    username = a.customers[0].manager.username
    for n in range(10):
        login(client, username, "guess", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
    resp = login(client, username, "guess", HTTP_X_FORWARDED_FOR="203.0.113.99")
    assert_error(resp, 429, "throttled")


def test_revoked_personal_token_is_401_token_revoked(a):
    """DELETE auth/token/{id} revokes the token (204); it is then refused with 401
    token_revoked, while another token of the same user still works."""
    user = a.customers[0].manager
    doomed, doomed_plain = api_token_create(user=user)
    _, kept_plain = api_token_create(user=user)
    assert bearer(doomed_plain).delete(f"{API}auth/token/{doomed.pk}").status_code == 204
    assert_error(bearer(doomed_plain).get(f"{API}bins"), 401, "token_revoked")
    assert bearer(kept_plain).get(f"{API}bins").status_code == 200


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        ("{not json", "application/json", 400, "not_json"),
        ('{"username": "x"}', "application/json", 400, "required"),
        (
            '{"username": "x", "password": 5, "name": "' + "n" * 101 + '"}',
            "application/json",
            400,
            "max_length",
        ),
        ('["x", "y"]', "application/json", 400, "invalid"),
    ],
)
def test_login_bad_body(a, body, content_type, status, code):
    """Malformed login bodies are 4xx with a code, never a 500."""
    resp = APIClient().post(f"{API}auth/token", body, content_type=content_type)
    assert_error(resp, status, code)


# --- bodies that are not JSON, absurd sizes ---------------------------------------------------


def _targets(a):
    cw = a.customers[0]
    return {
        "items": ("post", f"{API}items"),
        "item": ("patch", f"{API}items/{a.items[0].pk}"),
        "customer": ("patch", f"{API}customers/{cw.customer.pk}"),
        "bins": ("post", f"{API}bins"),
        "bin": ("patch", f"{API}bins/{cw.bins[0].pk}"),
        "sites": ("post", f"{API}sites"),
        "locations": ("post", f"{API}locations"),
        "cross-references": ("post", f"{API}cross-references"),
        "devices": ("post", f"{API}devices"),
        "auth/token": ("post", f"{API}auth/token"),
    }


@pytest.mark.parametrize(
    "target",
    [
        "items",
        "item",
        "customer",
        "bins",
        "bin",
        "sites",
        "locations",
        "cross-references",
        "devices",
        "auth/token",
    ],
)
@pytest.mark.parametrize("body", ["{not json", '{"min": NaN}', "\xff\xfe", ""])
def test_non_json_body_is_400_not_json(a, admin, target, body):
    """A body that is not JSON (or a bare NaN constant) is a 400 not_json (an empty body
    is a 400 for a missing field), and nothing is written."""
    method, url = _targets(a)[target]
    before = (
        Item.objects.count(),
        Bin.objects.count(),
        Site.objects.count(),
        ApiToken.objects.count(),
    )
    resp = getattr(admin, method)(url, body.encode("latin-1"), content_type="application/json")
    if body == "" and method == "patch":
        assert resp.status_code == 200, resp.content  # an empty PATCH changes nothing
    elif body == "":
        assert resp.status_code == 400, resp.content
        assert resp.json()["error"]["code"] == "required"
    else:
        assert_error(resp, 400, "not_json")
    assert (
        Item.objects.count(),
        Bin.objects.count(),
        Site.objects.count(),
        ApiToken.objects.count(),
    ) == before


def test_error_in_first_list_element_names_its_index(a, admin):
    """An invalid first cutoff time is reported on field cutoff_times.0."""
    resp = admin.patch(
        f"{API}customers/{a.customers[0].customer.pk}", {"cutoff_times": ["25:00"]}, format="json"
    )
    assert_error(resp, 400, "invalid", "cutoff_times.0")


def test_unsupported_content_type_is_415(a, admin):
    """A form body where JSON is expected is parsed or refused, never a 500."""
    resp = admin.generic("POST", f"{API}items", "sku=X", content_type="text/plain")
    assert_error(resp, 415, "unsupported_media_type")


def test_huge_body_is_refused_without_a_server_error(a, admin):
    """A 3 MB description is a 4xx (too long), not a 500 or a stored row."""
    resp = admin.post(f"{API}items", {"sku": "HUGE", "description": "x" * 3_000_000}, format="json")
    assert 400 <= resp.status_code < 500, resp.status_code
    assert not Item.objects.filter(sku="HUGE").exists()


@pytest.mark.parametrize("path", ["items", "scans"])
def test_deeply_nested_json_is_400_not_json(world, path):
    """A 40 kB body of 20 000 nested arrays is a 400 not_json, not a 500."""
    client = bearer(world["a"].customers[0].token) if path == "scans" else as_user(world["a"].admin)
    client.raise_request_exception = False
    body = "[" * 20_000 + "]" * 20_000
    resp = client.generic("POST", f"{API}{path}", body, content_type="application/json")
    assert_error(resp, 400, "not_json")


@pytest.mark.parametrize(
    "query",
    ["page=0", "page=abc", "page=999", "page_size=-1", "page_size=abc", "page_size=100000"],
)
def test_bad_paging_is_never_a_server_error(admin, query):
    """Paging parameters out of range give a page or a 404 not_found."""
    resp = admin.get(f"{API}bins?{query}")
    assert resp.status_code in (200, 404), resp.content
    if resp.status_code == 404:
        assert resp.json()["error"]["code"] == "not_found"


# --- orders --------------------------------------------------------------------------------


@pytest.fixture
def awaiting(a) -> Order:
    """a0 approves its orders; its three bins went to zero: one order of three lines
    (50, 50 and 50 in packs of 1, 10 and 1) awaits approval."""
    cw = a.customers[0]
    Customer.objects.filter(pk=cw.customer.pk).update(release_policy="approval")
    Bin.objects.filter(pk__in=[b.pk for b in cw.bins]).update(on_hand=0)
    [order_id] = bins_evaluate(vendor_id=a.vendor.pk, bin_ids=[b.pk for b in cw.bins])
    order = Order.objects.get(pk=order_id)
    assert order.status == "awaiting_approval"
    return order


def _line_for(order: Order, b: Bin):
    return order.lines.get(bin=b)


def test_approve_with_edited_quantity_releases_the_order(a, awaiting):
    """Approving with an edited line (whole packs) changes that line's quantity and its
    bin's on-order, releases the order with a PO number, and records who did it."""
    cw = a.customers[0]
    packed = cw.bins[1]  # packs of 10
    line = _line_for(awaiting, packed)
    assert (line.quantity_ordered, Bin.objects.get(pk=packed.pk).on_order) == (50, 50)

    resp = as_user(cw.manager).post(
        f"{API}orders/{awaiting.pk}/approve",
        {"lines": [{"id": line.pk, "quantity": 30}]},
        format="json",
    )

    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert body["status"] == "released"
    assert body["po_number"].startswith("AC") and len(body["po_number"]) == 9
    assert body["approved_at"] and body["released_at"] and body["requested_delivery_date"]
    by_id = {row["id"]: row for row in body["lines"]}
    assert (by_id[line.pk]["quantity_ordered"], by_id[line.pk]["quantity_proposed"]) == (30, 50)
    line.refresh_from_db()
    assert line.quantity_ordered == 30
    assert [Bin.objects.get(pk=b.pk).on_order for b in cw.bins] == [50, 30, 50]
    order = Order.objects.get(pk=awaiting.pk)
    assert (order.status, order.approved_by_id, order.po_number) == (
        "released",
        cw.manager.pk,
        body["po_number"],
    )
    kinds = [(e["kind"], e["username"]) for e in body["events"]]
    assert ("quantity_changed", cw.manager.username) in kinds
    assert ("approved", cw.manager.username) in kinds and ("released", cw.manager.username) in kinds


@pytest.mark.parametrize(
    ("quantity", "status", "code"),
    [
        (25, 400, "not_whole_packs"),
        (-10, 400, "min_value"),
        ("many", 400, "invalid"),
        (10**9, 400, "max_value"),
    ],
)
def test_approve_with_bad_quantity_changes_nothing(a, awaiting, quantity, status, code):
    """A quantity that is not whole packs (or not a valid number) is refused; the order
    still awaits approval and no quantity or on-order moved."""
    cw = a.customers[0]
    line = _line_for(awaiting, cw.bins[1])
    events = OrderEvent.objects.filter(order=awaiting).count()
    resp = as_user(cw.manager).post(
        f"{API}orders/{awaiting.pk}/approve",
        {"lines": [{"id": line.pk, "quantity": quantity}]},
        format="json",
    )
    assert_error(resp, status, code)
    assert Order.objects.get(pk=awaiting.pk).status == "awaiting_approval"
    assert order_line_quantities(awaiting) == [50, 50, 50]
    assert [Bin.objects.get(pk=b.pk).on_order for b in cw.bins] == [50, 50, 50]
    assert OrderEvent.objects.filter(order=awaiting).count() == events


def order_line_quantities(order: Order) -> list[int]:
    return list(order.lines.order_by("line_number").values_list("quantity_ordered", flat=True))


def test_approve_everything_to_zero_is_refused(a, awaiting):
    """Approving with every line at zero is a 400 empty_order: reject instead."""
    cw = a.customers[0]
    lines = [{"id": line.pk, "quantity": 0} for line in awaiting.lines.all()]
    resp = as_user(cw.manager).post(
        f"{API}orders/{awaiting.pk}/approve", {"lines": lines}, format="json"
    )
    assert_error(resp, 400, "empty_order", "lines")
    assert order_line_quantities(awaiting) == [50, 50, 50]


def test_approve_twice_is_409(a, awaiting):
    """Only an order awaiting approval can be approved: the second approve is a 409."""
    client = as_user(a.customers[0].manager)
    assert client.post(f"{API}orders/{awaiting.pk}/approve", {}, format="json").status_code == 200
    po = Order.objects.get(pk=awaiting.pk).po_number
    assert_error(
        client.post(f"{API}orders/{awaiting.pk}/approve", {}, format="json"), 409, "invalid_state"
    )
    assert Order.objects.get(pk=awaiting.pk).po_number == po


def test_duplicate_line_in_approval_is_400(a, awaiting):
    line = awaiting.lines.first()
    resp = as_user(a.customers[0].manager).post(
        f"{API}orders/{awaiting.pk}/approve",
        {"lines": [{"id": line.pk, "quantity": 10}, {"id": line.pk, "quantity": 20}]},
        format="json",
    )
    assert_error(resp, 400, "duplicate_line")


def test_reject_cancels_and_releases_on_order(a, awaiting):
    """Rejecting an order awaiting approval cancels it and takes its lines off on-order."""
    cw = a.customers[0]
    resp = as_user(cw.manager).post(
        f"{API}orders/{awaiting.pk}/reject", {"reason": "Not this week"}, format="json"
    )
    assert resp.status_code == 200, resp.content
    assert (resp.json()["status"], resp.json()["cancel_reason"]) == ("cancelled", "Not this week")
    assert resp.json()["po_number"] is None
    assert [Bin.objects.get(pk=b.pk).on_order for b in cw.bins] == [0, 0, 0]


@pytest.mark.parametrize("who", ["admin", "rep", "manager"])
def test_cancel_released_order_lowers_on_order(a, awaiting, who):
    """Cancelling a released order (vendor staff or the customer manager) closes it and
    takes its open quantities off the bins' on-order."""
    cw = a.customers[0]
    as_user(cw.manager).post(f"{API}orders/{awaiting.pk}/approve", {}, format="json")
    assert [Bin.objects.get(pk=b.pk).on_order for b in cw.bins] == [50, 50, 50]
    user = {"admin": a.admin, "rep": a.rep, "manager": cw.manager}[who]
    resp = as_user(user).post(
        f"{API}orders/{awaiting.pk}/cancel", {"reason": "Duplicate"}, format="json"
    )
    assert resp.status_code == 200, resp.content
    order = Order.objects.get(pk=awaiting.pk)
    assert (order.status, order.cancel_reason) == ("cancelled", "Duplicate")
    assert order.closed_at is not None
    assert [Bin.objects.get(pk=b.pk).on_order for b in cw.bins] == [0, 0, 0]
    assert_error(
        as_user(user).post(f"{API}orders/{awaiting.pk}/cancel", {}, format="json"),
        409,
        "invalid_state",
    )


@pytest.fixture
def two_orders(a) -> dict[str, Order]:
    """a0: a released order (auto policy); a1: an order awaiting approval."""
    a0, a1 = a.customers
    Customer.objects.filter(pk=a1.customer.pk).update(release_policy="approval")
    Bin.objects.filter(pk__in=[a0.bins[0].pk, a1.bins[0].pk]).update(on_hand=0)
    bins_evaluate(vendor_id=a.vendor.pk, bin_ids=[a0.bins[0].pk, a1.bins[0].pk])
    return {
        "released": Order.objects.get(customer=a0.customer),
        "awaiting": Order.objects.get(customer=a1.customer),
    }


def test_orders_list_filters(a, admin, two_orders):
    """orders?status=, ?customer=, ?site= and ?updated_after= select the right orders."""
    released, awaiting = two_orders["released"], two_orders["awaiting"]
    a0, a1 = a.customers
    assert released.status == "released" and awaiting.status == "awaiting_approval"
    assert ids(admin.get(f"{API}orders", {"status": "released"})) == {released.pk}
    assert ids(admin.get(f"{API}orders?status=released&status=awaiting_approval")) == {
        released.pk,
        awaiting.pk,
    }
    assert ids(admin.get(f"{API}orders", {"status": "draft"})) == set()
    assert ids(admin.get(f"{API}orders", {"customer": a1.customer.pk})) == {awaiting.pk}
    assert ids(admin.get(f"{API}orders", {"site": a0.site.pk})) == {released.pk}

    long_ago = timezone.now() - dt.timedelta(days=2)
    Order.objects.filter(pk=released.pk).update(updated_at=long_ago)
    since = (long_ago + dt.timedelta(days=1)).isoformat()
    assert ids(admin.get(f"{API}orders", {"updated_after": since})) == {awaiting.pk}
    assert_error(
        admin.get(f"{API}orders", {"updated_after": "yesterday"}), 400, "invalid", "updated_after"
    )
    assert_error(admin.get(f"{API}orders", {"status": "lost"}), 400, "invalid_choice", "status")


def test_orders_cursor_pages_walk_every_order_once_oldest_change_first(a, admin):
    """Cursor pages of 2 visit each order exactly once, in updated_at order."""
    made = []
    for cw in a.customers:
        for b in cw.bins:
            Bin.objects.filter(pk=b.pk).update(on_hand=0, on_order=0)
            made += bins_evaluate(vendor_id=a.vendor.pk, bin_ids=[b.pk])
    assert len(made) == 6
    seen, url = [], f"{API}orders?page_size=2"
    while url:
        body = admin.get(url).json()
        assert len(body["results"]) <= 2
        seen += [(o["updated_at"], o["id"]) for o in body["results"]]
        url = body["next"]
    assert sorted(o for _, o in seen) == sorted(made)
    assert seen == sorted(seen)
    assert_error(admin.get(f"{API}orders", {"cursor": "garbage"}), 404, "not_found")


def test_order_detail_has_lines_and_history(a, admin, two_orders):
    """orders/{id} shows lines (with bin, SKU and pack) and the events of the order."""
    order = two_orders["released"]
    b = a.customers[0].bins[0]
    body = admin.get(f"{API}orders/{order.pk}").json()
    [line] = body["lines"]
    assert (line["bin"], line["bin_label"], line["sku"], line["quantity_ordered"]) == (
        b.pk,
        b.label,
        "ACME-SKU-0",
        50,
    )
    assert [e["kind"] for e in body["events"]] == ["created", "line_added", "released"]
