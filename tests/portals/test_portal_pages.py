"""The portal pages: who sees what, the 404 wall between tenants, and the writes."""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client
from django.urls import reverse

from cmi.models import Membership
from replenishment.models import Order, OrderEvent, OrderLine, OrderStatus
from replenishment.services import order_cancel
from stocking.models import Bin, BinLevelChange
from tests.portals.helpers import awaiting_order, grow, released_order, scans_post, signed_in, url

HX = {"HTTP_HX_REQUEST": "true"}
CUSTOMER_PAGES = ("dashboard", "stock", "orders")


# --- home and roles --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "lands_on"),
    [
        ("manager", "dashboard"),
        ("staff", "dashboard"),
        ("admin", "customers"),
        ("rep", "customers"),
    ],
)
def test_home_sends_each_role_to_its_own_start(a, who, lands_on):
    """Customer users land on their customer's dashboard; vendor staff on the customers."""
    cw = a.customers[0]
    user = getattr(cw, who) if who in ("manager", "staff") else getattr(a, who)
    resp = signed_in(user).get("/")
    expected = url("dashboard", cw) if lands_on == "dashboard" else reverse("portals:customers")
    assert resp.status_code == 302 and resp["Location"] == expected


def test_anonymous_visitors_are_sent_to_sign_in(a):
    """Every portal page asks an anonymous visitor to sign in first, and remembers where."""
    cw = a.customers[0]
    assert Client().get("/")["Location"] == reverse("portals:login")
    resp = Client().get(url("stock", cw))
    assert resp.status_code == 302
    assert resp["Location"].startswith("/login/?next=")


def test_user_without_membership_is_refused(db):
    """A signed-in account that belongs to no vendor has nothing to see: 403."""
    from django.contrib.auth import get_user_model

    loner = get_user_model().objects.create_user(username="loner", password="x-long-password")
    assert signed_in(loner).get("/").status_code == 403


@pytest.mark.parametrize("who", ["manager", "staff", "admin", "rep"])
def test_every_customer_page_is_200_for_each_role(a, who):
    """Dashboard, stock, a bin, orders and an order open for all four roles."""
    cw = a.customers[0]
    order = awaiting_order(a, cw)
    user = getattr(cw, who) if who in ("manager", "staff") else getattr(a, who)
    client = signed_in(user)
    for name in CUSTOMER_PAGES:
        resp = client.get(url(name, cw))
        assert resp.status_code == 200, name
        assert cw.customer.name in resp.content.decode()
    assert client.get(url("bin", cw, bin_id=cw.bins[0].pk)).status_code == 200
    assert client.get(url("order", cw, order_id=order.pk)).status_code == 200


@pytest.mark.parametrize("who", ["admin", "rep"])
def test_customers_list_is_200_for_vendor_staff(a, who):
    resp = signed_in(getattr(a, who)).get(reverse("portals:customers"))
    assert resp.status_code == 200
    names = [c.name for c in resp.context["page"]]
    assert names == sorted(cw.customer.name for cw in a.customers)


@pytest.mark.parametrize("who", ["manager", "staff"])
def test_customers_list_is_403_for_customer_users(a, who):
    """The vendor's view of all its customers is not for a customer."""
    user = getattr(a.customers[0], who)
    assert signed_in(user).get(reverse("portals:customers")).status_code == 403


# --- the wall between tenants ------------------------------------------------------------


def foreign_urls(cw, order, *, levels: bool = True) -> list[str]:
    """Every page of customer `cw` (and one of its bins and orders)."""
    return [
        *(url(name, cw) for name in CUSTOMER_PAGES),
        url("bin", cw, bin_id=cw.bins[0].pk),
        url("order", cw, order_id=order.pk),
        *([url("bin_levels", cw, bin_id=cw.bins[0].pk)] if levels else []),
    ]


@pytest.mark.parametrize("who", ["manager", "staff"])
def test_customer_users_get_404_for_other_customers_and_vendors(a, b, who):
    """Another customer of the same vendor, or another vendor's customer: 404 on every
    page, exactly as an id that does not exist."""
    mine = a.customers[0]
    client = signed_in(getattr(mine, who))
    neighbour, stranger = a.customers[1], b.customers[0]
    for vw, cw in ((a, neighbour), (b, stranger)):
        order = awaiting_order(vw, cw)
        # The min/max endpoint is refused to customer users whatever the id (403, below).
        for target in foreign_urls(cw, order, levels=False):
            assert client.get(target).status_code == 404, target


def test_ids_of_another_customer_under_my_own_url_are_404(a, b):
    """My customer id with a neighbour's bin or order id in the path: still 404."""
    mine, neighbour = a.customers[0], a.customers[1]
    order = awaiting_order(a, neighbour)
    client = signed_in(mine.manager)
    assert client.get(url("bin", mine, bin_id=neighbour.bins[0].pk)).status_code == 404
    assert client.get(url("bin", mine, bin_id=b.customers[0].bins[0].pk)).status_code == 404
    assert client.get(url("order", mine, order_id=order.pk)).status_code == 404
    resp = client.post(url("order_approve", mine, order_id=order.pk), {})
    assert resp.status_code == 404
    resp = client.post(url("order_reject", mine, order_id=order.pk), {"reason": "no"})
    assert resp.status_code == 404
    assert OrderLine.objects.filter(order=order).count() == 2
    order.refresh_from_db()
    assert order.status == OrderStatus.AWAITING_APPROVAL


def test_vendor_staff_get_404_for_another_vendors_customer(a, b):
    """Vendor A's admin and rep cannot open any page of vendor B's customers, nor edit them."""
    cw = b.customers[0]
    order = awaiting_order(b, cw)
    for user in (a.admin, a.rep):
        client = signed_in(user)
        for target in foreign_urls(cw, order):
            assert client.get(target, **HX).status_code == 404, target
        resp = client.post(
            url("bin_levels", cw, bin_id=cw.bins[0].pk), {"min_qty": 1, "max_qty": 2}, **HX
        )
        assert resp.status_code == 404
    assert not BinLevelChange.objects.filter(bin=cw.bins[0], source="portal").exists()


def test_rep_with_assigned_customers_sees_only_those(a):
    """A rep assigned to customer 0 sees it alone: customer 1's pages are 404."""
    mine, other = a.customers
    Membership.objects.get(user=a.rep).assigned_customers.set([mine.customer])
    client = signed_in(a.rep)
    listed = [c.pk for c in client.get(reverse("portals:customers")).context["page"]]
    assert listed == [mine.customer.pk]
    assert client.get(url("stock", mine)).status_code == 200
    assert client.get(url("stock", other)).status_code == 404
    assert client.get(url("bin", other, bin_id=other.bins[0].pk)).status_code == 404


# --- stock list --------------------------------------------------------------------------


def listed_bins(resp) -> list[int]:
    return [b.pk for b in resp.context["page"]]


def test_stock_list_shows_every_bin_with_its_location(a):
    cw = a.customers[0]
    resp = signed_in(cw.staff).get(url("stock", cw))
    assert sorted(listed_bins(resp)) == sorted(b.pk for b in cw.bins)
    body = resp.content.decode()
    assert "SHELF-A" in body and "Main plant" in body and "CPN-0001" in body


@pytest.mark.parametrize(
    ("query", "expected_index"),
    [("ACME-SKU-2", [2]), ("m7 x 30", [1]), ("cpn-0001", [0]), ("400", [0, 1, 2])],
)
def test_stock_search_finds_sku_description_part_number_and_barcode(a, query, expected_index):
    """Search matches the SKU, the description, the customer's part number and barcodes."""
    cw = a.customers[0]
    resp = signed_in(cw.staff).get(url("stock", cw), {"q": query})
    assert sorted(listed_bins(resp)) == sorted(cw.bins[i].pk for i in expected_index)


def test_stock_search_by_full_barcode_finds_one_bin(a):
    cw = a.customers[0]
    code = cw.bins[1].item.barcodes.get().code
    resp = signed_in(cw.staff).get(url("stock", cw), {"q": code})
    assert listed_bins(resp) == [cw.bins[1].pk]


def test_stock_filters_below_min_at_zero_and_over_max(a):
    cw = a.customers[0]
    b0, b1, b2 = cw.bins  # min 10, max 50
    Bin.objects.filter(pk=b0.pk).update(on_hand=0)
    Bin.objects.filter(pk=b1.pk).update(on_hand=5)
    Bin.objects.filter(pk=b2.pk).update(on_hand=80)
    client = signed_in(cw.manager)
    assert sorted(listed_bins(client.get(url("stock", cw), {"status": "below_min"}))) == sorted(
        [b0.pk, b1.pk]
    )
    assert listed_bins(client.get(url("stock", cw), {"status": "at_zero"})) == [b0.pk]
    assert listed_bins(client.get(url("stock", cw), {"status": "over_max"})) == [b2.pk]


def test_stock_filters_by_a_location_and_everything_inside_it(a):
    """Choosing the room keeps the bins on its shelves; choosing one shelf keeps only
    that shelf's; another customer's location id is not a choice and filters nothing.
    The CSV export follows the same filter."""
    import csv
    import io

    from stocking.setup import bin_create, location_create

    cw = a.customers[0]
    other_shelf = location_create(
        scope=a.scope, site_id=cw.site.pk, code="SHELF-B", parent_id=cw.room.pk
    )
    elsewhere = location_create(scope=a.scope, site_id=cw.site.pk, code="CAGE")
    on_b = bin_create(scope=a.scope, location_id=other_shelf.pk, item_id=a.items[0].pk)
    in_cage = bin_create(scope=a.scope, location_id=elsewhere.pk, item_id=a.items[0].pk)
    client = signed_in(cw.staff)
    on_a = sorted(b.pk for b in cw.bins)
    assert sorted(listed_bins(client.get(url("stock", cw), {"location": cw.room.pk}))) == sorted(
        [*on_a, on_b.pk]
    )
    assert sorted(listed_bins(client.get(url("stock", cw), {"location": cw.shelf.pk}))) == on_a
    assert listed_bins(client.get(url("stock", cw), {"location": elsewhere.pk})) == [in_cage.pk]
    foreign = a.customers[1].room.pk
    assert len(listed_bins(client.get(url("stock", cw), {"location": foreign}))) == 5
    body = b"".join(
        client.get(url("stock_csv", cw), {"location": other_shelf.pk}).streaming_content
    )
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert len(rows) == 2 and on_b.label in rows[1]


def test_stock_sorts_by_on_hand_both_ways_and_ignores_bad_values(a):
    cw = a.customers[0]
    for found, on_hand in zip(cw.bins, (40, 5, 20), strict=True):
        Bin.objects.filter(pk=found.pk).update(on_hand=on_hand)
    client = signed_in(cw.staff)
    b0, b1, b2 = (b.pk for b in cw.bins)
    assert listed_bins(client.get(url("stock", cw), {"sort": "on_hand"})) == [b1, b2, b0]
    assert listed_bins(client.get(url("stock", cw), {"sort": "-on_hand"})) == [b0, b2, b1]
    assert client.get(url("stock", cw), {"sort": "'; drop", "status": "nope"}).status_code == 200


def test_stock_htmx_request_returns_only_the_results(a):
    """Filtering in place: an htmx request for the results gets the table, not a page."""
    cw = a.customers[0]
    resp = signed_in(cw.staff).get(
        url("stock", cw), {"q": "ACME-SKU-1"}, HTTP_HX_TARGET="stock-results", **HX
    )
    body = resp.content.decode()
    assert resp.status_code == 200 and "<html" not in body and "<table" in body
    assert 'id="stock-summary"' in body and 'hx-swap-oob="true"' in body
    assert listed_bins(resp) == [cw.bins[1].pk]


def _pager_link(resp, rel: str) -> str:
    found = re.search(
        rf'<a class="btn btn--small" href="([^"]*)"[^>]*rel="{rel}"', resp.content.decode()
    )
    assert found, f"no {rel} link"
    return html.unescape(found.group(1))


def test_stock_list_pages_by_fifty(a):
    """60 bins: 50 on the first page, 10 on the second, reached by the Next link (a
    keyset cursor, not a page number); Previous leads back to the same 50."""
    cw = a.customers[0]
    grow(a, cw, bins=60)
    client = signed_in(cw.staff)
    first = client.get(url("stock", cw))
    second = client.get(url("stock", cw) + _pager_link(first, "next"))
    assert len(listed_bins(first)) == 50 and len(listed_bins(second)) == 10
    assert not set(listed_bins(first)) & set(listed_bins(second))
    assert 'rel="next"' not in second.content.decode()
    back = client.get(url("stock", cw) + _pager_link(second, "prev"))
    assert listed_bins(back) == listed_bins(first)


@pytest.mark.parametrize("sort", ["sku", "-sku", "on_hand", "-on_hand", "location", "-location"])
def test_stock_keyset_pages_follow_every_sort(a, sort):
    """Walking Next to the end, in any sort, lists every bin once, in the sort's order
    (the same as one unpaged read); walking Previous back gives the pages in reverse."""
    cw = a.customers[0]
    grow(a, cw, bins=120)
    client = signed_in(cw.staff)
    whole = list(stock_query_all(cw, sort))
    pages = [client.get(url("stock", cw), {"sort": sort})]
    while 'rel="next"' in pages[-1].content.decode():
        pages.append(client.get(url("stock", cw) + _pager_link(pages[-1], "next")))
    assert len(pages) == 3
    assert [pk for p in pages for pk in listed_bins(p)] == whole
    resp = pages[-1]
    for expected in reversed(pages[:-1]):
        resp = client.get(url("stock", cw) + _pager_link(resp, "prev"))
        assert listed_bins(resp) == listed_bins(expected)


def stock_query_all(cw, sort: str) -> list[int]:
    from portals.views.stock import ORDERING

    fields = ORDERING[sort.lstrip("-")]
    if sort.startswith("-"):
        fields = tuple(f"-{f}" for f in fields)
    return list(
        Bin.objects.filter(customer_id=cw.customer.pk)
        .order_by(*fields)
        .values_list("pk", flat=True)
    )


def test_stock_cursor_of_another_customer_restarts_at_the_first_page(a):
    """A cursor is a bin id: one not in this customer's list (or garbage) is ignored."""
    cw, other = a.customers[0], a.customers[1]
    client = signed_in(cw.staff)
    first = listed_bins(client.get(url("stock", cw)))
    for cursor in (other.bins[0].pk, "x", "-1", "9" * 30):
        for key in ("after", "before"):
            resp = client.get(url("stock", cw), {key: cursor})
            assert resp.status_code == 200 and listed_bins(resp) == first


# --- min/max ---------------------------------------------------------------------------------


def levels_of(found: Bin) -> tuple[int, int]:
    fresh = Bin.objects.get(pk=found.pk)
    return fresh.min_qty, fresh.max_qty


@pytest.mark.parametrize("who", ["manager", "staff"])
def test_customer_users_cannot_change_min_max(a, who):
    """No edit control for customer users, and a POST to the endpoint is refused (403)
    with the bin and its audit unchanged."""
    cw = a.customers[0]
    target = cw.bins[0]
    client = signed_in(getattr(cw, who))
    page = client.get(url("stock", cw)).content.decode()
    assert url("bin_levels", cw, bin_id=target.pk) not in page
    bin_page = client.get(url("bin", cw, bin_id=target.pk)).content.decode()
    assert 'name="min_qty"' not in bin_page
    before = BinLevelChange.objects.count()
    for extra in ({}, HX):
        resp = client.post(
            url("bin_levels", cw, bin_id=target.pk), {"min_qty": 1, "max_qty": 2}, **extra
        )
        assert resp.status_code == 403
    assert client.get(url("bin_levels", cw, bin_id=target.pk), **HX).status_code == 403
    assert levels_of(target) == (10, 50)
    assert BinLevelChange.objects.count() == before


@pytest.mark.parametrize("who", ["admin", "rep"])
def test_vendor_staff_edit_min_max_in_place_and_it_is_audited(a, who):
    """htmx: GET swaps in the form row, POST saves through bin_levels_update (source
    portal, the user recorded) and answers with the row showing the new levels."""
    cw = a.customers[0]
    target = cw.bins[0]
    user = getattr(a, who)
    client = signed_in(user)
    form_row = client.get(url("bin_levels", cw, bin_id=target.pk), **HX).content.decode()
    assert form_row.startswith("<tr") and 'name="min_qty"' in form_row and 'value="10"' in form_row
    resp = client.post(
        url("bin_levels", cw, bin_id=target.pk), {"min_qty": 12, "max_qty": 60}, **HX
    )
    body = resp.content.decode()
    assert resp.status_code == 200 and "12 – 60" in body and "Saved" in body
    assert levels_of(target) == (12, 60)
    change = BinLevelChange.objects.get(bin=target, source="portal")
    assert (change.old_min, change.new_min, change.old_max, change.new_max) == (10, 12, 50, 60)
    assert change.user_id == user.pk
    history = signed_in(cw.staff).get(url("bin", cw, bin_id=target.pk))
    assert change in history.context["level_changes"]
    assert user.username in history.content.decode()


@pytest.mark.parametrize(
    ("posted", "message"),
    [
        ({"min_qty": 60, "max_qty": 50}, "Min must not be above max."),
        ({"min_qty": 10, "max_qty": 55}, "Max must be a whole number of packs of 10."),
        ({"min_qty": -1, "max_qty": 50}, "greater than or equal to 0"),
        ({"min_qty": "", "max_qty": 50}, "This field is required."),
    ],
)
def test_invalid_min_max_is_shown_inline_and_changes_nothing(a, posted, message):
    """The bin with packs of 10: the error comes back in the row's form, nothing is saved."""
    cw = a.customers[0]
    target = cw.bins[1]
    assert target.pack_multiple == 10
    resp = signed_in(a.admin).post(url("bin_levels", cw, bin_id=target.pk), posted, **HX)
    body = resp.content.decode()
    assert resp.status_code == 200 and message in body and 'aria-invalid="true"' in body
    assert levels_of(target) == (10, 50)
    assert not BinLevelChange.objects.filter(bin=target, source="portal").exists()


def test_min_max_form_without_javascript_redirects_to_the_bin_page(a):
    """A plain POST (no htmx) saves and redirects to the bin page, where the change is
    listed; an invalid one re-renders the bin page with the error (400)."""
    cw = a.customers[0]
    target = cw.bins[2]
    client = signed_in(a.rep)
    resp = client.post(url("bin_levels", cw, bin_id=target.pk), {"min_qty": 5, "max_qty": 25})
    assert resp.status_code == 302 and resp["Location"] == url("bin", cw, bin_id=target.pk)
    page = client.get(resp["Location"]).content.decode()
    assert "Min/max of ACME-SKU-2 saved." in page and 'id="level-changes"' in page
    bad = client.post(url("bin_levels", cw, bin_id=target.pk), {"min_qty": 30, "max_qty": 25})
    assert bad.status_code == 400 and "Min must not be above max." in bad.content.decode()
    assert levels_of(target) == (5, 25)


# --- bin page ----------------------------------------------------------------------------------


def test_bin_page_draws_the_on_hand_history_and_lists_scans(a):
    """The chart is an SVG drawn on the server from the ledger; the scan log lists scans."""
    cw = a.customers[0]
    target = cw.bins[0]
    scans_post(a, cw, [(target, "issue", 5), (target, "issue", 7), (target, "count", 20)])
    resp = signed_in(cw.staff).get(url("bin", cw, bin_id=target.pk))
    body = resp.content.decode()
    assert body.count('<svg class="chart__svg') == 2  # a wide and a narrow drawing
    assert resp.context["moves_shown"] == 4  # the starting count and three scans
    chart = dict(resp.context["charts"])["wide"]
    assert (chart.first, chart.last, chart.low, chart.high) == (30, 20, 18, 30)
    assert [s.kind for s in resp.context["scans"]] == ["count", "issue", "issue"]
    assert "Handheld 1" in body and "<script" not in body.split("</head>")[1]


# --- orders ------------------------------------------------------------------------------------


def test_orders_list_shows_the_customers_orders_by_state(a):
    cw = a.customers[0]
    order = awaiting_order(a, cw)
    client = signed_in(cw.staff)
    assert [o.pk for o in client.get(url("orders", cw)).context["page"]] == [order.pk]
    assert [o.pk for o in client.get(url("orders", cw), {"show": "closed"}).context["page"]] == []
    tabs = {key: n for key, _, n in client.get(url("orders", cw)).context["tabs"]}
    assert tabs == {"open": 1, "awaiting": 1, "closed": 0, "all": 1}


def test_manager_approves_with_an_edited_quantity_through_the_form(a):
    """The approval form sends the edited quantity (6 packs of 10) to order_approve: the
    order is released, the line changed, and the history shows the manager's edit."""
    cw = a.customers[0]
    order = awaiting_order(a, cw)
    line0, line1 = OrderLine.objects.filter(order=order).order_by("line_number")
    assert Bin.objects.get(pk=line1.bin_id).pack_multiple == 10
    client = signed_in(cw.manager)
    page = client.get(url("order", cw, order_id=order.pk)).content.decode()
    assert f'name="qty_{line1.pk}"' in page and "Approve and send" in page
    resp = client.post(
        url("order_approve", cw, order_id=order.pk),
        {f"qty_{line0.pk}": line0.quantity_ordered, f"qty_{line1.pk}": 60},
    )
    assert resp.status_code == 302 and resp["Location"] == url("order", cw, order_id=order.pk)
    order.refresh_from_db()
    line1.refresh_from_db()
    assert order.status == OrderStatus.RELEASED and order.po_number
    assert (line1.quantity_ordered, line1.quantity_proposed) == (60, 50)
    edit = OrderEvent.objects.get(order=order, kind="quantity_changed")
    assert (edit.old_value, edit.new_value, edit.user_id) == ("50", "60", cw.manager.pk)
    detail = client.get(resp["Location"]).content.decode()
    assert "Order approved and sent to the vendor as" in detail
    assert "Quantity changed" in detail and "badge--side-customer" in detail


def test_approval_refused_by_the_service_shows_its_message_next_to_the_form(a):
    """45 is not whole packs of 10: the service's ApiError detail is shown in the form
    (400) and the order still waits, unchanged."""
    cw = a.customers[0]
    order = awaiting_order(a, cw)
    line0, line1 = OrderLine.objects.filter(order=order).order_by("line_number")
    resp = signed_in(cw.manager).post(
        url("order_approve", cw, order_id=order.pk),
        {f"qty_{line0.pk}": line0.quantity_ordered, f"qty_{line1.pk}": 45},
    )
    body = resp.content.decode()
    assert resp.status_code == 400
    assert "Line 2: 45 is not a whole number of packs of 10." in body
    assert 'value="45"' in body  # what the manager typed is kept
    order.refresh_from_db()
    assert order.status == OrderStatus.AWAITING_APPROVAL
    assert OrderLine.objects.get(pk=line1.pk).quantity_ordered == 50


def test_manager_rejects_with_a_reason(a):
    cw = a.customers[0]
    order = awaiting_order(a, cw)
    resp = signed_in(cw.manager).post(
        url("order_reject", cw, order_id=order.pk), {"reason": "we moved this line"}
    )
    assert resp.status_code == 302
    order.refresh_from_db()
    assert (order.status, order.cancel_reason) == (OrderStatus.CANCELLED, "we moved this line")
    assert OrderEvent.objects.filter(order=order, kind="rejected", user=cw.manager).exists()


@pytest.mark.parametrize("who", ["staff", "admin", "rep"])
def test_only_customer_managers_approve_or_reject(a, who):
    """Staff and vendor users see no approval form; their POSTs are 403 and change nothing."""
    cw = a.customers[0]
    order = awaiting_order(a, cw)
    user = getattr(cw, who) if who == "staff" else getattr(a, who)
    client = signed_in(user)
    page = client.get(url("order", cw, order_id=order.pk)).content.decode()
    assert "Approve and send" not in page and "Waiting for a manager" in page
    assert client.post(url("order_approve", cw, order_id=order.pk), {}).status_code == 403
    assert client.post(url("order_reject", cw, order_id=order.pk), {}).status_code == 403
    order.refresh_from_db()
    assert order.status == OrderStatus.AWAITING_APPROVAL


def test_approving_an_order_no_longer_awaiting_shows_the_conflict(a):
    """Someone else acted first: the service's message is shown, nothing else happens."""
    cw = a.customers[0]
    order = awaiting_order(a, cw)
    lines = list(OrderLine.objects.filter(order=order))
    order_cancel(scope=a.scope, order_id=order.pk, reason="vendor stopped it")
    resp = signed_in(cw.manager).post(
        url("order_approve", cw, order_id=order.pk),
        {f"qty_{line.pk}": line.quantity_ordered for line in lines},
    )
    assert resp.status_code == 400
    assert "Only an order awaiting approval can be approved" in resp.content.decode()


def test_order_history_shows_changes_made_by_the_vendor(a):
    """An order the vendor's rep cancelled says so in the history, with the rep's side."""
    cw = a.customers[0]
    order = awaiting_order(a, cw)
    from cmi.tenancy import scope_for_user

    order_cancel(scope=scope_for_user(a.rep), order_id=order.pk, reason="duplicate")
    resp = signed_in(cw.staff).get(url("order", cw, order_id=order.pk))
    body = resp.content.decode()
    kinds = [e.kind for e in resp.context["events"]]
    assert kinds[:3] == ["created", "line_added", "line_added"] and kinds[-1] == "cancelled"
    assert a.rep.username in body and "badge--side-vendor" in body and "duplicate" in body


# --- dashboard and customers list --------------------------------------------------------------


def test_dashboard_counts_what_needs_attention(a):
    cw = a.customers[0]
    b0, b1, b2 = cw.bins
    Bin.objects.filter(pk=b2.pk).update(on_hand=99)
    scans_post(a, cw, [(b0, "issue", 30), (b1, "issue", 25)])  # b0 at zero, b1 below min
    order = awaiting_order(a, a.customers[0], bins=[b0])
    resp = signed_in(cw.staff).get(url("dashboard", cw))
    ctx = resp.context
    assert (ctx["counts"]["at_zero"], ctx["counts"]["below_min"], ctx["counts"]["over_max"]) == (
        1,
        2,
        1,
    )
    assert [o.pk for o in ctx["awaiting"]] == [order.pk] and ctx["awaiting_total"] == 1
    assert dict(ctx["open_orders"])[OrderStatus.AWAITING_APPROVAL] == 1
    assert len(ctx["scans"]) == 2 and ctx["silent"] == []


def test_dashboard_lists_scanners_silent_for_a_day(a):
    """A scanner added a day ago and never heard from, or last heard 25 hours ago, is
    listed as silent; one added just now has not had its day yet."""
    import datetime as dt

    from django.utils import timezone

    from stocking.models import ScannerDevice

    cw = a.customers[0]
    resp = signed_in(cw.manager).get(url("dashboard", cw))
    assert resp.context["silent"] == []
    ScannerDevice.objects.filter(pk=cw.device.pk).update(
        created_at=timezone.now() - dt.timedelta(hours=25)
    )
    resp = signed_in(cw.manager).get(url("dashboard", cw))
    assert [d.pk for d in resp.context["silent"]] == [cw.device.pk]
    ScannerDevice.objects.filter(pk=cw.device.pk).update(
        last_seen_at=timezone.now() - dt.timedelta(hours=25)
    )
    assert len(signed_in(cw.manager).get(url("dashboard", cw)).context["silent"]) == 1
    ScannerDevice.objects.filter(pk=cw.device.pk).update(last_seen_at=timezone.now())
    assert signed_in(cw.manager).get(url("dashboard", cw)).context["silent"] == []


def test_customers_list_shows_each_customers_health(a):
    """Bins below min and at zero, orders awaiting approval and the last scan, per customer."""
    c0, c1 = a.customers
    scans_post(a, c0, [(c0.bins[0], "issue", 30)])
    awaiting_order(a, c1, bins=[c1.bins[2]])
    Bin.objects.filter(pk=c1.bins[1].pk).update(on_hand=3)
    rows = {c.pk: c for c in signed_in(a.admin).get(reverse("portals:customers")).context["page"]}
    first, second = rows[c0.customer.pk], rows[c1.customer.pk]
    assert (first.bin_count, first.at_zero, first.below_min, first.awaiting) == (3, 1, 1, 0)
    assert first.last_scan is not None and second.last_scan is None
    assert (second.at_zero, second.below_min, second.awaiting) == (1, 2, 1)


def test_customers_list_counts_orders_awaiting_the_vendors_acknowledgment(a):
    """An order sent to the vendor and not acknowledged yet is counted for its customer
    and links to the vendor's orders filtered to it; once acknowledged it is not."""
    from replenishment.models import Order, OrderStatus

    c0, c1 = a.customers
    order = released_order(a, c0, [c0.bins[0]])
    assert order.status == OrderStatus.RELEASED
    resp = signed_in(a.rep).get(reverse("portals:customers"))
    rows = {c.pk: c for c in resp.context["page"]}
    assert (rows[c0.customer.pk].unacknowledged, rows[c1.customer.pk].unacknowledged) == (1, 0)
    link = f"{reverse('portals:vendor_orders')}?customer={c0.customer.pk}&amp;status=released"
    assert link in resp.content.decode()
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.ACKNOWLEDGED)
    rows = {c.pk: c for c in signed_in(a.rep).get(reverse("portals:customers")).context["page"]}
    assert rows[c0.customer.pk].unacknowledged == 0


def test_orders_keyset_pages_walk_every_order_once(a, monkeypatch):
    """Orders page newest first by a cursor (two a page here): Next to the end lists each
    order once, ties of created_at broken by id; Previous walks back; another customer's
    order id as a cursor starts at the first page."""
    from portals.views import orders as orders_view

    monkeypatch.setattr(orders_view, "PAGE_SIZE", 2)
    cw, other = a.customers[0], a.customers[1]
    bins = grow(a, cw, bins=8)[:5]
    made = [released_order(a, cw, [b]) for b in bins]
    same = made[0].created_at
    Order.objects.filter(pk__in=[o.pk for o in made[1:3]]).update(created_at=same)
    expected = list(
        Order.objects.filter(customer_id=cw.customer.pk)
        .order_by("-created_at", "-pk")
        .values_list("pk", flat=True)
    )
    assert len(expected) == 5
    client = signed_in(cw.staff)
    pages = [client.get(url("orders", cw), {"show": "all"})]
    while 'rel="next"' in pages[-1].content.decode():
        pages.append(client.get(url("orders", cw) + _pager_link(pages[-1], "next")))
    assert [len(p.context["page"].object_list) for p in pages] == [2, 2, 1]
    assert [o.pk for p in pages for o in p.context["page"]] == expected
    back = client.get(url("orders", cw) + _pager_link(pages[-1], "prev"))
    assert [o.pk for o in back.context["page"]] == [o.pk for o in pages[1].context["page"]]
    foreign = released_order(a, other, [other.bins[0]])
    resp = client.get(url("orders", cw), {"show": "all", "after": foreign.pk})
    assert [o.pk for o in resp.context["page"]] == expected[:2]
