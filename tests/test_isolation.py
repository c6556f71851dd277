"""Tenant isolation through the HTTP API.

Another vendor's object, and for customer users and limited reps another customer's
object, is a 404 with the standard error shape and changes nothing. Lists never show
another tenant's rows. Ids inside bodies are checked against the caller's scope.
Roles: who may write what, what an ERP key and a scanner token may do, and that every
endpoint needs authentication.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.db import transaction
from django.db.models import Model
from rest_framework.test import APIClient

from catalog.models import CrossReference, Item
from cmi.models import Customer
from cmi.services import api_token_create
from replenishment.models import Order
from replenishment.services import bins_evaluate
from stocking.models import Bin, Location, ScannerDevice, Site
from tests.conftest import as_user, bearer, scan
from tests.factories import vendor_world

API = "/api/v1/"

# --- helpers -----------------------------------------------------------------------


pytestmark = pytest.mark.django_db  # every test runs in a savepoint rolled back after it


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


PROJECT_APPS = ("auth", "cmi", "catalog", "stocking", "replenishment", "edi")


def db_state() -> dict[str, list[dict]]:
    """Every row of every table of the project's apps (users included): equal before and
    after a request means the request changed nothing."""
    return {
        model._meta.label: list(model._base_manager.order_by("pk").values())
        for model in apps.get_models()
        if model._meta.app_label in PROJECT_APPS
    }


def row(obj: Model) -> dict:
    """The object's row as stored now (refreshed from the database)."""
    obj.refresh_from_db()
    return type(obj).objects.filter(pk=obj.pk).values().get()


def call(client, method: str, path: str, body: dict | None = None):
    url = API + path
    if method in ("get", "delete"):
        return getattr(client, method)(url)
    return getattr(client, method)(url, body if body is not None else {}, format="json")


def assert_error(resp, status: int, code: str) -> None:
    assert resp.status_code == status, resp.content
    error = resp.json()["error"]
    assert error["code"] == code, error
    assert set(error) >= {"code", "detail", "field"}


def limit_rep(world):
    """Vendor A's rep, assigned to customer a0 only."""
    rep = world["a"].rep
    rep.membership.assigned_customers.add(world["a"].customers[0].customer)
    return rep


def client_for(world, actor: str):
    a = world["a"]
    cw = a.customers[0]
    if actor == "vendor_admin":
        return as_user(a.admin)
    if actor == "limited_rep":
        return as_user(limit_rep(world))
    if actor == "customer_manager":
        return as_user(cw.manager)
    if actor == "customer_staff":
        return as_user(cw.staff)
    if actor == "erp":
        return bearer(a.erp_key)
    if actor == "device":
        return bearer(cw.token)
    raise AssertionError(actor)


@pytest.fixture
def awaiting(world) -> dict[tuple[str, int], Order]:
    """Every customer of both vendors has one order awaiting approval (bins 0 and 1 at zero)."""
    Customer.objects.update(release_policy="approval")
    out = {}
    for v in ("a", "b"):
        vw = world[v]
        ids = [b.pk for cw in vw.customers for b in cw.bins[:2]]
        Bin.objects.filter(pk__in=ids).update(on_hand=0)
        bins_evaluate(vendor_id=vw.vendor.pk, bin_ids=ids)
        for index, cw in enumerate(vw.customers):
            out[v, index] = Order.objects.get(customer=cw.customer, status="awaiting_approval")
    return out


# --- endpoints that take an id ----------------------------------------------------

Target = Callable[[dict, dict, str, int], Model]

READERS = frozenset({"vendor_admin", "limited_rep", "customer_manager", "customer_staff"})
VENDOR_WRITERS = frozenset({"vendor_admin", "limited_rep"})
MANAGERS = frozenset({"vendor_admin", "limited_rep", "customer_manager"})
SEES_ALL_CUSTOMERS = frozenset({"vendor_admin", "erp"})


def _customer(w, o, v, c):
    return w[v].customers[c].customer


def _item(w, o, v, c):
    return w[v].items[0]


def _xref(w, o, v, c):
    return CrossReference.objects.get(customer=w[v].customers[c].customer)


def _site(w, o, v, c):
    return w[v].customers[c].site


def _location(w, o, v, c):
    return w[v].customers[c].shelf


def _bin(w, o, v, c):
    return w[v].customers[c].bins[2]


def _device(w, o, v, c):
    return w[v].customers[c].device


def _order(w, o, v, c):
    return o[v, c]


@dataclass(frozen=True)
class Detail:
    method: str
    path: str
    target: Target
    ok: int
    actors: frozenset[str]
    body: dict | None = None
    per_customer: bool = True  # False: the object belongs to the vendor, not a customer


DETAILS = {
    "customers.retrieve": Detail("get", "customers/{id}", _customer, 200, READERS),
    "customers.partial_update": Detail(
        "patch", "customers/{id}", _customer, 200, frozenset({"vendor_admin"}), {"name": "Renamed"}
    ),
    "items.retrieve": Detail(
        "get", "items/{id}", _item, 200, READERS | {"erp"}, per_customer=False
    ),
    "items.partial_update": Detail(
        "patch", "items/{id}", _item, 200, VENDOR_WRITERS, {"description": "X"}, False
    ),
    "cross-references.retrieve": Detail("get", "cross-references/{id}", _xref, 200, READERS),
    "cross-references.destroy": Detail(
        "delete", "cross-references/{id}", _xref, 204, VENDOR_WRITERS
    ),
    "sites.retrieve": Detail("get", "sites/{id}", _site, 200, READERS),
    "locations.retrieve": Detail("get", "locations/{id}", _location, 200, READERS),
    "bins.retrieve": Detail("get", "bins/{id}", _bin, 200, READERS),
    "bins.partial_update": Detail(
        "patch", "bins/{id}", _bin, 200, VENDOR_WRITERS, {"min": 5, "max": 40}
    ),
    "bins.ledger": Detail("get", "bins/{id}/ledger", _bin, 200, READERS),
    "bins.level_changes": Detail("get", "bins/{id}/level-changes", _bin, 200, READERS),
    "devices.retrieve": Detail("get", "devices/{id}", _device, 200, MANAGERS),
    "devices.revoke": Detail("post", "devices/{id}/revoke", _device, 200, MANAGERS, {}),
    "orders.retrieve": Detail("get", "orders/{id}", _order, 200, READERS),
    "orders.approve": Detail(
        "post", "orders/{id}/approve", _order, 200, frozenset({"customer_manager"}), {}
    ),
    "orders.reject": Detail(
        "post", "orders/{id}/reject", _order, 200, frozenset({"customer_manager"}), {}
    ),
    "orders.cancel": Detail("post", "orders/{id}/cancel", _order, 200, MANAGERS, {}),
}

# Whose object the caller asks for: (vendor, customer index). The caller is of a0.
OWNERS = {"other_vendor": ("b", 0), "other_customer": ("a", 1)}


def _detail_cases():
    for name, detail in DETAILS.items():
        for actor in sorted(detail.actors):
            for owner in OWNERS:
                if owner == "other_customer" and (
                    actor in SEES_ALL_CUSTOMERS or not detail.per_customer
                ):
                    continue
                yield pytest.param(name, actor, owner, id=f"{name}-{actor}-{owner}")


@pytest.mark.parametrize(("endpoint", "actor", "owner"), list(_detail_cases()))
def test_foreign_id_is_404_and_changes_nothing(world, awaiting, endpoint, actor, owner):
    """Another vendor's (or, for customer users and limited reps, another customer's)
    object is not found, in the standard error shape, and no row anywhere changes.
    The same call on the caller's own object succeeds, so the 404 is about the scope."""
    detail = DETAILS[endpoint]
    client = client_for(world, actor)
    foreign = detail.target(world, awaiting, *OWNERS[owner])
    foreign_row = row(foreign)
    before = db_state()

    resp = call(client, detail.method, detail.path.format(id=foreign.pk), detail.body)

    assert_error(resp, 404, "not_found")
    assert row(foreign) == foreign_row
    assert db_state() == before

    own = detail.target(world, awaiting, "a", 0)
    resp = call(client, detail.method, detail.path.format(id=own.pk), detail.body)
    assert resp.status_code == detail.ok, resp.content


@pytest.mark.parametrize("owner", ["same_vendor_other_user", "other_vendor"])
def test_revoking_another_users_personal_token_is_404(world, owner):
    """DELETE auth/token/{id} with someone else's token id is a 404 and the token stays
    active; the caller's own token is revoked with 204."""
    a = world["a"]
    caller = a.customers[0].manager
    other = a.customers[0].staff if owner == "same_vendor_other_user" else world["b"].admin
    theirs, _ = api_token_create(user=other)
    mine, _ = api_token_create(user=caller)
    client = as_user(caller)
    before = db_state()

    assert_error(client.delete(f"{API}auth/token/{theirs.pk}"), 404, "not_found")
    assert row(theirs)["revoked_at"] is None
    assert db_state() == before

    assert client.delete(f"{API}auth/token/{mine.pk}").status_code == 204
    assert row(mine)["revoked_at"] is not None


# --- lists ---------------------------------------------------------------------------

LISTS: dict[str, tuple[type[Model], str | None, frozenset[str]]] = {
    # endpoint: (model, its customer field or None for vendor-wide rows, roles that read)
    "customers": (Customer, "id", READERS),
    "items": (Item, None, READERS | {"erp"}),
    "cross-references": (CrossReference, "customer_id", READERS),
    "sites": (Site, "customer_id", READERS),
    "locations": (Location, "customer_id", READERS),
    "bins": (Bin, "customer_id", READERS),
    "devices": (ScannerDevice, "customer_id", MANAGERS),
    "orders": (Order, "customer_id", READERS),
}


def _visible_customers(world, actor: str) -> set[int] | None:
    if actor in SEES_ALL_CUSTOMERS:
        return None
    return {world["a"].customers[0].customer.pk}


def _list_cases():
    for name, (_, _, actors) in LISTS.items():
        for actor in sorted(actors):
            yield pytest.param(name, actor, id=f"{name}-{actor}")


def result_ids(resp) -> set[int]:
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert body["next"] is None, "page_size=500 must hold every row here"
    return {r["id"] for r in body["results"]}


@pytest.mark.parametrize(("endpoint", "actor"), list(_list_cases()))
def test_list_shows_exactly_the_callers_rows(world, awaiting, endpoint, actor):
    """A list holds every row of the caller's vendor (and customer, for customer users and
    limited reps) and none of another vendor's or another customer's."""
    model, customer_field, _ = LISTS[endpoint]
    client = client_for(world, actor)
    mine = model.objects.filter(vendor=world["a"].vendor)
    visible = _visible_customers(world, actor)
    if customer_field and visible is not None:
        mine = mine.filter(**{f"{customer_field}__in": visible})
    expected = set(mine.values_list("pk", flat=True))
    others = set(model.objects.exclude(pk__in=expected).values_list("pk", flat=True))
    assert expected and others  # the test can fail: both sides exist

    got = result_ids(client.get(f"{API}{endpoint}", {"page_size": 500}))

    assert got == expected
    assert not got & others


@pytest.mark.parametrize(
    ("endpoint", "param", "target"),
    [
        ("bins", "customer", _customer),
        ("bins", "site", _site),
        ("bins", "location", _location),
        ("bins", "location_subtree", lambda w, o, v, c: w[v].customers[c].room),
        ("locations", "site", _site),
        ("locations", "parent", lambda w, o, v, c: w[v].customers[c].room),
        ("orders", "customer", _customer),
        ("orders", "site", _site),
        ("cross-references", "customer", _customer),
        ("sites", "customer", _customer),
        ("devices", "customer", _customer),
    ],
)
def test_filter_by_another_vendors_id_finds_nothing(world, awaiting, endpoint, param, target):
    """Filtering a list by another vendor's id never brings that vendor's rows in."""
    client = client_for(world, "vendor_admin")
    foreign = target(world, awaiting, "b", 0)
    resp = client.get(f"{API}{endpoint}", {param: foreign.pk, "page_size": 500})
    assert resp.status_code == 200, resp.content
    assert resp.json()["results"] == []
    own = target(world, awaiting, "a", 0)
    assert result_ids(client.get(f"{API}{endpoint}", {param: own.pk, "page_size": 500}))


@pytest.mark.parametrize(
    ("endpoint", "param"),
    [
        ("sites", "customer"),
        ("devices", "site"),
        ("cross-references", "customer"),
        ("bins", "customer"),
        ("orders", "site"),
    ],
)
def test_filter_by_foreign_id_answers_like_a_missing_id(world, endpoint, param):
    """Another vendor's id in a filter is indistinguishable from an id that does not exist
    (regression: ModelChoiceFilters over the unscoped manager told them apart, fixed in
    8349049)."""
    client = client_for(world, "vendor_admin")
    b0 = world["b"].customers[0]
    foreign = b0.site.pk if param == "site" else b0.customer.pk
    missing = 10**9
    foreign_resp = client.get(f"{API}{endpoint}", {param: foreign})
    missing_resp = client.get(f"{API}{endpoint}", {param: missing})
    assert foreign_resp.status_code == missing_resp.status_code
    assert foreign_resp.json() == missing_resp.json()


# --- a vendor rep with assigned customers ------------------------------------------


@pytest.mark.parametrize("endpoint", ["sites", "bins", "orders"])
def test_limited_rep_lists_only_assigned_customers(world, awaiting, endpoint):
    """A rep assigned to customer a0 sees a0's sites, bins and orders, not a1's."""
    model = LISTS[endpoint][0]
    a0, a1 = (cw.customer for cw in world["a"].customers)
    got = result_ids(client_for(world, "limited_rep").get(f"{API}{endpoint}", {"page_size": 500}))
    assert got == set(model.objects.filter(customer=a0).values_list("pk", flat=True))
    assert not got & set(model.objects.filter(customer=a1).values_list("pk", flat=True))


def test_rep_without_assignments_sees_every_customer(world):
    """Assignments narrow a rep's scope; a rep with none sees all of the vendor's customers."""
    got = result_ids(as_user(world["a"].rep).get(f"{API}customers"))
    assert got == {cw.customer.pk for cw in world["a"].customers}


# --- ids inside bodies --------------------------------------------------------------


@dataclass(frozen=True)
class BodyCase:
    path: str
    actor: str
    body: Callable[[dict, str, int], dict]  # (world, vendor, customer) of the foreign object
    code: str


def _bin_body_location(w, v, c):
    return {"location": w[v].customers[c].room.pk, "item": w["a"].items[0].pk}


def _bin_body_item(w, v, c):
    return {"location": w["a"].customers[0].room.pk, "item": w[v].items[0].pk}


def _location_body_site(w, v, c):
    return {"site": w[v].customers[c].site.pk, "code": "NEW-LOC"}


def _location_body_parent(w, v, c):
    return {"site": w["a"].customers[0].site.pk, "parent": w[v].customers[c].room.pk, "code": "N"}


def _xref_body_customer(w, v, c):
    return {
        "customer": w[v].customers[c].customer.pk,
        "item": w["a"].items[1].pk,
        "kind": "part_number",
        "code": "CPN-NEW",
    }


def _xref_body_item(w, v, c):
    return {
        "customer": w["a"].customers[0].customer.pk,
        "item": w[v].items[1].pk,
        "kind": "barcode",
        "code": "CPN-NEW",
    }


def _site_body_customer(w, v, c):
    return {"customer": w[v].customers[c].customer.pk, "code": "NEW", "name": "New plant"}


def _device_body_customer(w, v, c):
    return {"customer": w[v].customers[c].customer.pk, "name": "Scanner 9"}


def _device_body_site(w, v, c):
    return {
        "customer": w["a"].customers[0].customer.pk,
        "site": w[v].customers[c].site.pk,
        "name": "Scanner 9",
    }


BODY_CASES = {
    "bins-location": BodyCase("bins", "vendor_admin", _bin_body_location, "unknown_location"),
    "bins-item": BodyCase("bins", "vendor_admin", _bin_body_item, "unknown_item"),
    "locations-site": BodyCase("locations", "vendor_admin", _location_body_site, "unknown_site"),
    "locations-parent": BodyCase(
        "locations", "vendor_admin", _location_body_parent, "unknown_location"
    ),
    "xref-customer": BodyCase(
        "cross-references", "vendor_admin", _xref_body_customer, "unknown_customer"
    ),
    "xref-item": BodyCase("cross-references", "vendor_admin", _xref_body_item, "unknown_item"),
    "sites-customer": BodyCase("sites", "vendor_admin", _site_body_customer, "unknown_customer"),
    "devices-customer": BodyCase(
        "devices", "vendor_admin", _device_body_customer, "unknown_customer"
    ),
    "devices-site": BodyCase("devices", "vendor_admin", _device_body_site, "unknown_site"),
    "devices-site-manager": BodyCase(
        "devices", "customer_manager", _device_body_site, "unknown_site"
    ),
    # A rep limited to a0 is refused a1's ids the same way.
    "rep-bins-location": BodyCase("bins", "limited_rep", _bin_body_location, "unknown_location"),
    "rep-locations-site": BodyCase("locations", "limited_rep", _location_body_site, "unknown_site"),
    "rep-xref-customer": BodyCase(
        "cross-references", "limited_rep", _xref_body_customer, "unknown_customer"
    ),
    "rep-sites-customer": BodyCase("sites", "limited_rep", _site_body_customer, "unknown_customer"),
    "rep-devices-customer": BodyCase(
        "devices", "limited_rep", _device_body_customer, "unknown_customer"
    ),
}


def _body_cases():
    for name, case in BODY_CASES.items():
        owners = ["other_vendor"]
        if case.actor != "vendor_admin" and not name.endswith(("-item",)):
            owners.append("other_customer")
        for owner in owners:
            yield pytest.param(name, owner, id=f"{name}-{owner}")


@pytest.mark.parametrize(("case_name", "owner"), list(_body_cases()))
def test_foreign_id_in_body_is_rejected_and_creates_nothing(world, case_name, owner):
    """A POST naming another vendor's (or another customer's) object in its body is
    refused with a stable code and writes nothing; with the caller's own ids it is created."""
    case = BODY_CASES[case_name]
    client = client_for(world, case.actor)
    before = db_state()

    resp = call(client, "post", case.path, case.body(world, *OWNERS[owner]))

    assert_error(resp, 400, case.code)
    assert db_state() == before
    resp = call(client, "post", case.path, case.body(world, "a", 0))
    assert resp.status_code == 201, resp.content


def test_customer_manager_cannot_create_device_for_another_customer(world):
    """A customer manager's device belongs to their own customer, whatever the body names."""
    a0, a1 = world["a"].customers
    resp = as_user(a0.manager).post(
        f"{API}devices", {"customer": a1.customer.pk, "name": "Sneaky"}, format="json"
    )
    assert resp.status_code == 201, resp.content
    assert resp.json()["customer"] == a0.customer.pk
    assert not ScannerDevice.objects.filter(customer=a1.customer, name="Sneaky").exists()


@pytest.mark.parametrize("owner", ["other_vendor", "other_customer"])
def test_approve_with_line_of_another_order_is_rejected(world, awaiting, owner):
    """Approving one's own order with a line id of another order is a 400 unknown_line;
    neither order, their lines nor the bins change. With its own line id it is approved."""
    mine = awaiting["a", 0]
    theirs = awaiting[OWNERS[owner]]
    line = theirs.lines.first()
    client = client_for(world, "customer_manager")
    before = db_state()

    resp = client.post(
        f"{API}orders/{mine.pk}/approve",
        {"lines": [{"id": line.pk, "quantity": line.quantity_ordered}]},
        format="json",
    )

    assert_error(resp, 400, "unknown_line")
    assert db_state() == before
    own_line = mine.lines.first()
    resp = client.post(
        f"{API}orders/{mine.pk}/approve",
        {"lines": [{"id": own_line.pk, "quantity": own_line.quantity_ordered}]},
        format="json",
    )
    assert resp.status_code == 200, resp.content
    assert resp.json()["status"] == "released"


# --- roles ----------------------------------------------------------------------------


@pytest.mark.parametrize("actor", ["customer_staff", "customer_manager"])
def test_customer_users_cannot_change_min_max(world, actor):
    """PATCH bins by a customer user (staff or manager) is a 403 permission_denied and
    the bin and its audit trail are unchanged."""
    b = world["a"].customers[0].bins[0]
    before_row, before = row(b), db_state()
    resp = client_for(world, actor).patch(f"{API}bins/{b.pk}", {"min": 1, "max": 99}, format="json")
    assert_error(resp, 403, "permission_denied")
    assert row(b) == before_row
    assert db_state() == before


@pytest.mark.parametrize("action", ["approve", "reject", "cancel"])
def test_customer_staff_cannot_decide_orders(world, awaiting, action):
    """Customer staff may read orders but not approve, reject or cancel them (403)."""
    order = awaiting["a", 0]
    client = client_for(world, "customer_staff")
    assert client.get(f"{API}orders/{order.pk}").status_code == 200
    before = db_state()
    assert_error(
        client.post(f"{API}orders/{order.pk}/{action}", {}, format="json"), 403, "permission_denied"
    )
    assert db_state() == before


@pytest.mark.parametrize("actor", ["vendor_admin", "limited_rep"])
def test_vendor_staff_cannot_approve_for_the_customer(world, awaiting, actor):
    """Approval belongs to the customer's manager: vendor staff get 403 and nothing changes."""
    order = awaiting["a", 0]
    before = db_state()
    resp = client_for(world, actor).post(f"{API}orders/{order.pk}/approve", {}, format="json")
    assert_error(resp, 403, "permission_denied")
    assert db_state() == before


def test_customer_staff_cannot_manage_devices(world):
    """Scanners are managed by customer managers and vendor staff: staff get 403."""
    client = client_for(world, "customer_staff")
    device = world["a"].customers[0].device
    assert_error(client.get(f"{API}devices"), 403, "permission_denied")
    assert_error(
        client.post(f"{API}devices/{device.pk}/revoke", {}, format="json"), 403, "permission_denied"
    )
    assert row(device)["revoked_at"] is None


# --- the ERP key -------------------------------------------------------------------------


@pytest.fixture
def erp_orders(world) -> dict[str, Order]:
    """Vendor A: a0 has a released and an awaiting order, a1 a draft; vendor B a released one."""
    a0, a1 = world["a"].customers
    b0 = world["b"].customers[0]
    Bin.objects.filter(pk=a0.bins[0].pk).update(on_hand=0)
    Bin.objects.filter(pk=b0.bins[0].pk).update(on_hand=0)
    bins_evaluate(vendor_id=world["a"].vendor.pk, bin_ids=[a0.bins[0].pk])
    bins_evaluate(vendor_id=world["b"].vendor.pk, bin_ids=[b0.bins[0].pk])
    Customer.objects.filter(pk=a0.customer.pk).update(release_policy="approval")
    Customer.objects.filter(pk=a1.customer.pk).update(release_policy="scheduled")
    Bin.objects.filter(pk__in=[a0.bins[1].pk, a1.bins[0].pk]).update(on_hand=0)
    bins_evaluate(vendor_id=world["a"].vendor.pk, bin_ids=[a0.bins[1].pk, a1.bins[0].pk])
    out = {
        "released": Order.objects.get(customer=a0.customer, status="released"),
        "awaiting": Order.objects.get(customer=a0.customer, status="awaiting_approval"),
        "draft": Order.objects.get(customer=a1.customer, status="draft"),
        "other_vendor": Order.objects.get(customer=b0.customer, status="released"),
    }
    assert out["released"].po_number and out["other_vendor"].po_number
    return out


def test_erp_reads_released_orders_and_items_of_its_vendor_only(world, erp_orders):
    """The ERP key lists and reads its vendor's released orders and items; another
    vendor's order and item are 404."""
    client = client_for(world, "erp")
    assert result_ids(client.get(f"{API}orders", {"page_size": 500})) == {erp_orders["released"].pk}
    resp = client.get(f"{API}orders/{erp_orders['released'].pk}")
    assert resp.status_code == 200 and resp.json()["po_number"] == erp_orders["released"].po_number
    assert_error(client.get(f"{API}orders/{erp_orders['other_vendor'].pk}"), 404, "not_found")
    items = result_ids(client.get(f"{API}items", {"page_size": 500}))
    assert items == {i.pk for i in world["a"].items}
    assert client.get(f"{API}items/{world['a'].items[0].pk}").status_code == 200
    assert_error(client.get(f"{API}items/{world['b'].items[0].pk}"), 404, "not_found")


@pytest.mark.parametrize("status", ["awaiting", "draft"])
def test_erp_never_sees_orders_not_yet_sent(world, erp_orders, status):
    """Drafts and orders awaiting approval are invisible to the ERP: absent from the list
    (also when filtered by status) and 404 by id."""
    client = client_for(world, "erp")
    order = erp_orders[status]
    assert_error(client.get(f"{API}orders/{order.pk}"), 404, "not_found")
    listed = result_ids(client.get(f"{API}orders", {"status": order.status, "page_size": 500}))
    assert listed == set()


def _write_calls(world, orders) -> list[tuple[str, str, dict]]:
    a0 = world["a"].customers[0]
    xref = CrossReference.objects.filter(customer=a0.customer).first()
    order = orders["released"].pk
    return [
        ("post", "items", {"sku": "ERP-1", "description": "From the ERP"}),
        ("patch", f"items/{world['a'].items[0].pk}", {"description": "Changed"}),
        ("patch", f"customers/{a0.customer.pk}", {"name": "Changed"}),
        ("post", "sites", {"customer": a0.customer.pk, "code": "ERP", "name": "x"}),
        ("post", "locations", {"site": a0.site.pk, "code": "ERP"}),
        ("post", "bins", {"location": a0.room.pk, "item": world["a"].items[0].pk}),
        ("patch", f"bins/{a0.bins[2].pk}", {"min": 1, "max": 2}),
        (
            "post",
            "cross-references",
            {"customer": a0.customer.pk, "item": 1, "kind": "barcode", "code": "E1"},
        ),
        ("delete", f"cross-references/{xref.pk}", {}),
        ("post", "devices", {"customer": a0.customer.pk, "name": "ERP scanner"}),
        ("post", f"devices/{a0.device.pk}/revoke", {}),
        ("post", f"orders/{order}/cancel", {}),
        ("post", f"orders/{orders['awaiting'].pk}/approve", {}),
        ("post", f"orders/{orders['awaiting'].pk}/reject", {}),
        ("post", "scans", {"scans": [scan("issue", a0.bins[2].label, quantity=1)]}),
    ]


def test_erp_key_cannot_write_anything(world, erp_orders):
    """Every write through the API with an ERP key is a 403 and changes nothing."""
    client = client_for(world, "erp")
    before = db_state()
    for method, path, body in _write_calls(world, erp_orders):
        resp = call(client, method, path, body)
        assert resp.status_code == 403, (method, path, resp.content)
        assert resp.json()["error"]["code"] == "permission_denied"
    assert db_state() == before


@pytest.mark.parametrize(
    "path", ["customers", "sites", "locations", "bins", "devices", "cross-references"]
)
def test_erp_key_cannot_read_stock_or_customers(world, path):
    """The ERP key reads orders and items only; the other resources are 403."""
    assert_error(client_for(world, "erp").get(f"{API}{path}"), 403, "permission_denied")


# --- the scanner token -------------------------------------------------------------------


def _endpoint_calls(world, token_id: int, order_id: int) -> list[tuple[str, str, dict | None]]:
    """Every endpoint but the login, with ids of customer a0 (vendor A)."""
    a = world["a"]
    a0 = a.customers[0]
    xref = CrossReference.objects.filter(customer=a0.customer).first()
    return [
        ("delete", f"auth/token/{token_id}", None),
        ("get", "customers", None),
        ("get", f"customers/{a0.customer.pk}", None),
        ("patch", f"customers/{a0.customer.pk}", {"name": "x"}),
        ("get", "items", None),
        ("post", "items", {"sku": "N-1", "description": "x"}),
        ("get", f"items/{a.items[0].pk}", None),
        ("patch", f"items/{a.items[0].pk}", {"description": "x"}),
        ("get", "cross-references", None),
        (
            "post",
            "cross-references",
            {"customer": a0.customer.pk, "item": a.items[1].pk, "kind": "barcode", "code": "Z1"},
        ),
        ("get", f"cross-references/{xref.pk}", None),
        ("delete", f"cross-references/{xref.pk}", None),
        ("get", "sites", None),
        ("post", "sites", {"customer": a0.customer.pk, "code": "S2", "name": "x"}),
        ("get", f"sites/{a0.site.pk}", None),
        ("get", "locations", None),
        ("post", "locations", {"site": a0.site.pk, "code": "L2"}),
        ("get", f"locations/{a0.shelf.pk}", None),
        ("get", "bins", None),
        ("post", "bins", {"location": a0.room.pk, "item": a.items[0].pk}),
        ("get", f"bins/{a0.bins[0].pk}", None),
        ("patch", f"bins/{a0.bins[0].pk}", {"min": 1, "max": 2}),
        ("get", f"bins/{a0.bins[0].pk}/ledger", None),
        ("get", f"bins/{a0.bins[0].pk}/level-changes", None),
        ("get", "devices", None),
        ("post", "devices", {"customer": a0.customer.pk, "name": "x"}),
        ("get", f"devices/{a0.device.pk}", None),
        ("post", f"devices/{a0.device.pk}/revoke", {}),
        ("post", "scans", {"scans": [scan("issue", a0.bins[0].label, quantity=1)]}),
        ("get", "orders", None),
        ("get", f"orders/{order_id}", None),
        ("post", f"orders/{order_id}/approve", {}),
        ("post", f"orders/{order_id}/reject", {}),
        ("post", f"orders/{order_id}/cancel", {}),
    ]


def test_scanner_token_may_only_post_scans(world, awaiting):
    """A device token gets 403 permission_denied on every endpoint but POST scans, which
    it may call; nothing changes through the refused calls."""
    cw = world["a"].customers[0]
    token, _ = api_token_create(user=cw.manager)
    client = client_for(world, "device")
    before = db_state()
    refused = [c for c in _endpoint_calls(world, token.pk, awaiting["a", 0].pk) if c[1] != "scans"]
    for method, path, body in refused:
        resp = call(client, method, path, body)
        assert resp.status_code == 403, (method, path, resp.content)
        assert resp.json()["error"]["code"] == "permission_denied"
    assert db_state() == before

    resp = call(client, "post", "scans", {"scans": [scan("issue", cw.bins[2].label, quantity=1)]})
    assert resp.status_code == 200 and resp.json()["accepted"] == 1


@pytest.mark.parametrize("owner", ["other_vendor", "other_customer"])
def test_scanner_cannot_touch_another_tenants_bin(world, owner):
    """A scan naming another customer's or vendor's bin label is rejected as unknown and
    leaves that bin, and every other row, as it was."""
    foreign = _bin(world, {}, *OWNERS[owner])
    foreign_row, before = row(foreign), db_state()
    resp = bearer(world["a"].customers[0].token).post(
        f"{API}scans", {"scans": [scan("issue", foreign.label, quantity=5)]}, format="json"
    )
    assert resp.status_code == 200, resp.content
    assert resp.json()["results"][0]["error"]["code"] == "unknown_code"
    assert row(foreign) == foreign_row
    state = db_state()
    # the scanner's own last_seen_at is the one thing a rejected batch may touch
    for rows in (state["stocking.ScannerDevice"], before["stocking.ScannerDevice"]):
        for r in rows:
            r.pop("last_seen_at")
    assert state == before


# --- authentication -----------------------------------------------------------------------


@pytest.fixture
def endpoint_calls(world, awaiting):
    token, _ = api_token_create(user=world["a"].customers[0].manager)
    return _endpoint_calls(world, token.pk, awaiting["a", 0].pk)


def test_every_endpoint_needs_authentication(world, endpoint_calls):
    """Without credentials every endpoint (but the login itself) answers 401
    not_authenticated, and nothing changes."""
    anonymous = APIClient()
    before = db_state()
    for method, path, body in endpoint_calls:
        resp = call(anonymous, method, path, body)
        assert resp.status_code == 401, (method, path, resp.content)
        assert resp.json()["error"]["code"] == "not_authenticated", (method, path)
        assert resp["WWW-Authenticate"] == "Bearer"
    assert db_state() == before


@pytest.mark.parametrize(
    "token", ["cmiu_not-a-real-token", "cmid_not-a-real-token", "cmik_nope", "garbage"]
)
def test_unknown_bearer_token_is_401(world, token):
    """A bearer token that matches nothing is refused with 401 authentication_failed."""
    assert_error(bearer(token).get(f"{API}bins"), 401, "authentication_failed")


BIG = "9" * 25
ID_FILTERS = [
    ("bins", "customer"),
    ("bins", "site"),
    ("bins", "location"),
    ("bins", "location_subtree"),
    ("locations", "customer"),
    ("locations", "site"),
    ("locations", "parent"),
    ("orders", "customer"),
    ("orders", "site"),
    ("sites", "customer"),
    ("devices", "site"),
    ("cross-references", "item"),
]


@pytest.mark.parametrize(("endpoint", "param"), ID_FILTERS)
@pytest.mark.parametrize("value", [BIG, "-1", "1.5", "abc"])
def test_id_filter_out_of_range_is_400_not_a_server_error(world, endpoint, param, value):
    """An id filter that no integer column can hold (beyond 64 bits, negative, not whole)
    is a 400 naming the parameter, never a 500 (regression: SQLite raised OverflowError on
    huge foreign-key ids before 8349049)."""
    client = client_for(world, "vendor_admin")
    client.raise_request_exception = False
    resp = client.get(f"{API}{endpoint}", {param: value})
    assert resp.status_code == 400, resp.content
    assert resp.json()["error"]["field"] == param


@pytest.mark.parametrize("path", ["bins", "customers", "orders", "items", "auth/token"])
def test_absurd_id_in_a_path_is_404(world, path):
    """An id beyond 64 bits in a path is a 404 not_found, never a 500."""
    client = client_for(world, "vendor_admin")
    client.raise_request_exception = False
    method = "delete" if path == "auth/token" else "get"
    assert_error(getattr(client, method)(f"{API}{path}/{BIG}"), 404, "not_found")
