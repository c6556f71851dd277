"""The first hour of a new user (issue 12 §4): kanban bins shown as kanban, the shelf
label on the stock list, time zones, natural location order, and the approval page."""

from __future__ import annotations

import zoneinfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cmi.errors import ApiError
from cmi.models import SettingChange, Vendor
from cmi.scoping import Scope
from cmi.services import vendor_update
from cmi.timezones import REGIONS, time_zone_choices
from replenishment.models import OrderLine, OrderStatus
from replenishment.services import order_approve
from stocking.levels import whole_packs_problem
from stocking.locations import code_sort_key, location_sort_key
from stocking.models import Bin
from stocking.selectors import bin_health_counts, location_list
from stocking.setup import bin_create, location_create
from tests.conftest import as_user
from tests.factories import vendor_scope
from tests.portals.helpers import awaiting_order, grow, released_order, signed_in, url


def _kanban(b: Bin, *, card: int, on_hand: int, on_order: int) -> None:
    Bin.objects.filter(pk=b.pk).update(
        kanban_quantity=card, min_qty=0, max_qty=0, on_hand=on_hand, on_order=on_order
    )


def test_kanban_bins_show_cards_not_broken_min_max(a):
    """A kanban bin (min 0, max 0) with stock is "Kanban", never "Over max"; its row says
    the card quantity and the cards out instead of "0 - 0"."""
    cw = a.customers[0]
    b0 = cw.bins[0]
    _kanban(b0, card=12, on_hand=30, on_order=24)
    client = signed_in(cw.manager)
    resp = client.get(url("stock", cw))
    row = next(b for b in resp.context["page"] if b.pk == b0.pk)
    assert row.status == "kanban"
    body = resp.content.decode()
    assert "Kanban, card of 12" in body
    assert "2 cards out · 2 full on the shelf" in body
    assert b0.pk not in [
        b.pk for b in client.get(url("stock", cw), {"status": "over_max"}).context["page"]
    ]
    assert [b.pk for b in client.get(url("stock", cw), {"status": "kanban"}).context["page"]] == [
        b0.pk
    ]
    page = client.get(url("bin", cw, bin_id=b0.pk)).content.decode()
    assert "Card quantity" in page and "Cards out" in page and ">Over max<" not in page


def test_kanban_bin_at_zero_is_at_zero_and_counts_agree(a):
    """An empty kanban bin is at zero like any bin; the dashboard counts use the same rule."""
    cw = a.customers[0]
    _kanban(cw.bins[0], card=5, on_hand=0, on_order=5)
    _kanban(cw.bins[1], card=5, on_hand=99, on_order=0)
    Bin.objects.filter(pk=cw.bins[2].pk).update(on_hand=80)  # min 10, max 50
    counts = bin_health_counts(scope=vendor_scope(a.vendor), customer_id=cw.customer.pk)
    assert (counts["at_zero"], counts["over_max"], counts["kanban"]) == (1, 1, 2)
    resp = signed_in(cw.manager).get(url("stock", cw), {"status": "at_zero"})
    assert [b.pk for b in resp.context["page"]] == [cw.bins[0].pk]


def test_stock_list_shows_the_shelf_label(a):
    """The code people type at the shelf is on every stock row."""
    cw = a.customers[0]
    body = signed_in(cw.staff).get(url("stock", cw)).content.decode()
    for b in cw.bins:
        assert f'<code class="shelf-label">{b.label}</code>' in body


# --- natural order of locations ---------------------------------------------------------


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        (["S10", "S2", "S1"], ["S1", "S2", "S10"]),
        (["R03", "R01", "R010"], ["R01", "R03", "R010"]),
        (["b", "A", "a1", "A-2", "a10"], ["A", "a1", "A-2", "a10", "b"]),
        (["Z", "9", "10", "100"], ["9", "10", "100", "Z"]),
    ],
)
def test_code_sort_key_orders_codes_naturally(codes, expected):
    """Numbers inside codes compare by value, letters without case, whatever the collation:
    the keys hold only lower-case letters and digits, in the order of plain strings."""
    assert sorted(codes, key=code_sort_key) == expected
    assert all(set(code_sort_key(c)) <= set("0123456789abcdefghijklmnopqrstuvwxyz") for c in codes)


def _shelves(a, cw, codes):
    made = {}
    for code in codes:
        made[code] = location_create(
            scope=a.scope, site_id=cw.site.pk, code=code, parent_id=cw.room.pk
        )
    return made


def test_locations_and_bins_sort_by_code_naturally_in_sql_and_keyset_pages(a):
    """The location choices list R1, R2, R10 under their room; the stock list sorted by
    location lists the bins shelf by shelf in that order, and keyset paging across the
    pages keeps it (every bin once)."""
    cw = a.customers[0]
    codes = ["R10", "R2", "R1", "R03", "S1", "S10", "S2"]
    made = _shelves(a, cw, codes)
    item = a.items[0]
    for code in codes:
        bin_create(scope=a.scope, location_id=made[code].pk, item_id=item.pk, min_qty=1, max_qty=2)
    listed = [
        loc.code
        for loc in location_list(scope=a.scope).filter(customer_id=cw.customer.pk)
        if loc.parent_id == cw.room.pk
    ]
    assert listed == ["R1", "R2", "R03", "R10", "S1", "S2", "S10", "SHELF-A"]

    client = signed_in(cw.manager)
    seen: list[str] = []
    resp = client.get(url("stock", cw), {"sort": "location"})
    while True:
        page = resp.context["page"]
        seen += [b.location.code for b in page]
        if not page.has_next:
            break
        resp = client.get(url("stock", cw), {"sort": "location", "after": page.next_cursor})
    order = ["R1", "R2", "R03", "R10", "S1", "S2", "S10"]
    assert [c for c in seen if c in order] == order
    assert len(seen) == len(cw.bins) + len(codes)


def test_existing_locations_get_their_keys_from_the_migration_rule(a):
    """A child's key starts with its parent's: the tree stays together in the order."""
    cw = a.customers[0]
    from stocking.models import Location

    room = Location.objects.get(pk=cw.room.pk)
    shelf = Location.objects.get(code="SHELF-A", customer_id=cw.customer.pk)
    assert shelf.sort_key == location_sort_key("SHELF-A", room.sort_key)
    assert shelf.sort_key.startswith(room.sort_key)


# --- time zones ----------------------------------------------------------------------


def test_time_zone_choices_are_canonical_zones_grouped_by_region():
    """UTC, then one <optgroup> per region of canonical zones: no US/*, Etc/*, legacy
    single words or old aliases (Asia/Calcutta), but every country's zones (Oslo too)."""
    choices = time_zone_choices()
    assert choices[0] == ("UTC", "UTC")
    groups = dict(choices[1:])
    assert list(groups) == list(REGIONS)
    names = {value for group in groups.values() for value, _ in group}
    assert {"America/Chicago", "Asia/Kolkata", "Europe/Oslo", "America/New_York"} <= names
    assert not names & {"US/Central", "Asia/Calcutta", "Etc/GMT+6", "EST5EDT", "Japan", "GMT"}
    assert 300 < len(names) < 480
    assert ("America/Argentina/Buenos_Aires", "America/Argentina/Buenos Aires") in groups["America"]


def test_a_stored_alias_stays_a_choice():
    """A customer saved with an old name keeps it on the form (not silently replaced)."""
    choices = time_zone_choices("US/Central")
    assert ("US/Central", "US/Central (an older name)") in choices


def test_every_time_zone_select_is_grouped_and_searchable(a):
    """The vendor's and the customer's settings forms both offer the grouped zones, with
    the search script; the old flat list of ~600 names is gone."""
    cw = a.customers[0]
    client = signed_in(a.admin)
    for page in (
        client.get(reverse("portals:settings")),
        client.get(url("customer_settings", cw)),
    ):
        body = page.content.decode()
        assert '<optgroup label="America">' in body and "data-tz-search" in body
        assert "portals/tzpick.js" in body
        assert 'value="US/Central"' not in body


def test_vendor_admin_sets_the_vendor_time_zone_audited(a):
    """The settings page saves the vendor's zone through vendor_update; the change is in
    the settings audit; a bad zone is the form's error, never a 500."""
    client = signed_in(a.admin)
    resp = client.post(
        reverse("portals:settings"), {"action": "zone", "timezone": "America/Denver"}
    )
    assert resp.status_code == 302
    assert Vendor.objects.get(pk=a.vendor.pk).timezone == "America/Denver"
    change = SettingChange.objects.get(object_type="vendor", object_id=a.vendor.pk)
    assert (change.field, change.before, change.after, change.source) == (
        "timezone",
        "UTC",
        "America/Denver",
        "portal",
    )
    bad = client.post(reverse("portals:settings"), {"action": "zone", "timezone": "Mars/Base"})
    assert bad.status_code == 400 and "valid choice" in bad.content.decode()


def test_only_vendor_admins_change_the_vendor_time_zone(a):
    """A rep cannot open the settings page; the service refuses anyone but an admin."""
    assert (
        signed_in(a.rep)
        .post(reverse("portals:settings"), {"action": "zone", "timezone": "Asia/Tokyo"})
        .status_code
        == 403
    )
    rep_scope = Scope(vendor_id=a.vendor.pk, role="vendor_rep")
    with pytest.raises(ApiError):
        vendor_update(scope=rep_scope, timezone="Asia/Tokyo")
    assert Vendor.objects.get(pk=a.vendor.pk).timezone == "UTC"


def test_vendor_pages_show_times_in_the_vendors_zone_and_say_so(a):
    """The vendor orders list and the order page show times in the vendor's zone and name
    it; the customer's own pages stay in the customer's zone (America/Chicago)."""
    cw = a.customers[0]
    Vendor.objects.filter(pk=a.vendor.pk).update(timezone="Asia/Tokyo")
    order = released_order(a, cw, cw.bins[:1])
    client = signed_in(a.admin)
    listed = client.get(reverse("portals:vendor_orders")).content.decode()
    local = timezone.localtime(order.created_at, zoneinfo.ZoneInfo("Asia/Tokyo"))
    assert "Times in Asia/Tokyo." in listed
    assert local.strftime("%H:%M") in listed
    detail = client.get(reverse("portals:vendor_order", args=[order.pk])).content.decode()
    assert "times in Asia/Tokyo" in detail
    customer_page = client.get(url("orders", cw)).content.decode()
    assert "times in America/Chicago" in customer_page


# --- approval of an order ----------------------------------------------------------------


def test_approval_page_shows_prices_amounts_and_the_total(a):
    """The manager sees each line's unit price and amount and the order total, in the
    bar with the approve and reject buttons."""
    cw = a.customers[0]
    order = awaiting_order(a, cw)
    lines = list(OrderLine.objects.filter(order=order).order_by("line_number"))
    resp = signed_in(cw.manager).get(url("order", cw, order_id=order.pk))
    body = resp.content.decode()
    total = sum(line.unit_price * line.quantity_ordered for line in lines)
    assert resp.context["total"] == total
    assert f'<strong id="order-total">{total:.2f}</strong>' in body
    assert 'class="approve-bar"' in body and 'form="reject-form"' in body
    for line in lines:
        assert f"{line.unit_price:.2f}" in body
        assert f"{line.unit_price * line.quantity_ordered:.2f}" in body


def test_a_quantity_that_is_not_whole_packs_gets_the_rule_message_next_to_its_field(a):
    """45 of packs of 10: the pack rule's own message is on that line's field (with
    aria-describedby), the total follows what was typed, and nothing is approved."""
    cw = a.customers[0]
    order = awaiting_order(a, cw)
    line0, line1 = OrderLine.objects.filter(order=order).order_by("line_number")
    resp = signed_in(cw.manager).post(
        url("order_approve", cw, order_id=order.pk),
        {f"qty_{line0.pk}": line0.quantity_ordered, f"qty_{line1.pk}": 45},
    )
    assert resp.status_code == 400
    message = whole_packs_problem(45, 10, line_number=2)
    assert message == "Line 2: 45 is not a whole number of packs of 10."
    body = resp.content.decode()
    field_error = f'<p class="field__error" id="id_qty_{line1.pk}_error">{message}</p>'
    assert field_error in body
    assert f'aria-describedby="id_qty_{line1.pk}_error"' in body
    assert (
        resp.context["total"] == line0.unit_price * line0.quantity_ordered + line1.unit_price * 45
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.AWAITING_APPROVAL


def test_the_pack_rule_is_the_services_too(a):
    """The service refuses with the same message (the API's error detail)."""
    cw = a.customers[0]
    order = awaiting_order(a, cw)
    line1 = OrderLine.objects.get(order=order, line_number=2)
    with pytest.raises(ApiError) as refused:
        order_approve(scope=vendor_scope(a.vendor), order_id=order.pk, quantities={line1.pk: 45})
    assert refused.value.detail == whole_packs_problem(45, 10, line_number=2)
    assert whole_packs_problem(40, 10) == "" and whole_packs_problem(0, 10) == ""


def test_an_order_keeps_one_visible_name_from_draft_to_received(a):
    """Awaiting approval it is "Order N"; approved and sent it is still "Order N" (its PO
    number shown beside it), on the order page, the orders list and the bin page."""
    cw = a.customers[0]
    order = awaiting_order(a, cw)
    client = signed_in(cw.manager)
    name = f"Order {order.pk}"
    before = client.get(url("order", cw, order_id=order.pk)).content.decode()
    assert f"<h1>{name} " in before and "not sent to the vendor yet" in before
    line0, line1 = OrderLine.objects.filter(order=order).order_by("line_number")
    client.post(
        url("order_approve", cw, order_id=order.pk),
        {f"qty_{line0.pk}": line0.quantity_ordered, f"qty_{line1.pk}": line1.quantity_ordered},
    )
    order.refresh_from_db()
    assert order.po_number
    after = client.get(url("order", cw, order_id=order.pk)).content.decode()
    assert f"<h1>{name} " in after and f"PO {order.po_number}" in after
    listed = client.get(url("orders", cw), {"show": "all"}).content.decode()
    assert f">{name}</a>" in listed and f"PO {order.po_number}" in listed
    bin_page = client.get(url("bin", cw, bin_id=line0.bin_id)).content.decode()
    assert f">{name}</a>" in bin_page


# --- the API's bins search is the stock page's -----------------------------------------


def test_bins_api_q_finds_what_the_stock_page_finds(a, b):
    """`GET /api/v1/bins?q=` uses the stock page's search: the customer's part number,
    a shelf label, a SKU fragment; another vendor's codes find nothing."""
    cw = a.customers[0]
    api = as_user(a.admin)

    def found(text: str) -> set[int]:
        resp = api.get("/api/v1/bins", {"q": text})
        assert resp.status_code == 200, resp.content
        return {row["id"] for row in resp.json()["results"]}

    def on_page(text: str) -> set[int]:
        return {
            bin.pk for bin in signed_in(a.admin).get(url("stock", cw), {"q": text}).context["page"]
        }

    # Each customer calls its first item CPN-0001; the page is one customer's.
    assert found("CPN-0001") == {c.bins[0].pk for c in a.customers}
    assert on_page("CPN-0001") == {cw.bins[0].pk}
    assert found(cw.bins[1].label) == {cw.bins[1].pk} == on_page(cw.bins[1].label)
    assert found("SKU-2") == {c.bins[2].pk for c in a.customers}
    assert found(b.customers[0].bins[0].label) == set()
    assert api.get("/api/v1/bins", {"q": "x" * 101}).status_code == 400


def test_bins_api_q_costs_the_same_queries_at_two_sizes(a, django_assert_max_num_queries):
    """The search is subqueries, not per-row reads: 3 bins or 40, the same query count."""
    cw = a.customers[0]
    api = as_user(a.admin)
    with CaptureQueriesContext(connection) as small:
        assert api.get("/api/v1/bins", {"q": "SKU"}).status_code == 200
    grow(a, cw, bins=40)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert api.get("/api/v1/bins", {"q": "SKU"}).status_code == 200
