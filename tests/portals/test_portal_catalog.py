"""The catalog pages: vendor staff read items, barcodes, customers' codes and bins; the
vendor admin edits through the catalog services; everything outside the scope is 404."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from catalog.models import CrossReference, Item, ItemBarcode
from catalog.services import cross_reference_create, item_create
from cmi.models import Membership
from tests.factories import gtin13, vendor_world
from tests.portals.helpers import grow, signed_in


def item_url(item, name: str = "catalog_item", **kwargs) -> str:
    return reverse(f"portals:{name}", kwargs={"item_id": item.pk, **kwargs})


def listed(resp) -> list[str]:
    return [item.sku for item in resp.context["page"]]


def limit_rep_to(vw, cw) -> None:
    Membership.objects.get(user=vw.rep).assigned_customers.set([cw.customer])


# --- who may open what ---------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin", "rep"])
def test_catalog_and_item_pages_open_for_vendor_staff(a, who):
    """Both vendor roles read the catalog and an item page."""
    client = signed_in(getattr(a, who))
    resp = client.get(reverse("portals:catalog"))
    assert resp.status_code == 200
    assert listed(resp) == [i.sku for i in a.items]
    assert client.get(item_url(a.items[0])).status_code == 200


@pytest.mark.parametrize("who", ["manager", "staff"])
def test_customer_users_get_403_on_the_catalog(a, who):
    """The catalog is the vendor's: customer users are refused every catalog URL."""
    cw = a.customers[0]
    client = signed_in(getattr(cw, who))
    item = a.items[0]
    ref = CrossReference.objects.get(customer=cw.customer)
    assert client.get(reverse("portals:catalog")).status_code == 403
    assert client.get(item_url(item)).status_code == 403
    assert client.post(item_url(item, "catalog_item_edit"), {"description": "x"}).status_code == 403
    assert client.post(item_url(item, "catalog_reference_add"), {}).status_code == 403
    delete = item_url(item, "catalog_reference_delete", reference_id=ref.pk)
    assert client.post(delete).status_code == 403
    assert CrossReference.objects.filter(pk=ref.pk).exists()


def test_anonymous_visitors_are_sent_to_sign_in(db):
    resp = Client().get(reverse("portals:catalog"))
    assert resp.status_code == 302 and resp["Location"].startswith("/login/")


@pytest.mark.parametrize("who", ["admin", "rep"])
def test_another_vendors_item_is_404_on_every_url(a, b, who):
    """Vendor B's item and reference ids open nothing for vendor A's staff: 404, not 403,
    for the roles that may use the URL; and nothing of B's changes."""
    client = signed_in(getattr(a, who))
    theirs = b.items[0]
    their_ref = CrossReference.objects.filter(customer=b.customers[0].customer).first()
    assert client.get(item_url(theirs)).status_code == 404
    if who == "admin":
        good_edit = {"description": "Taken over", "barcodes": ""}
        assert client.post(item_url(theirs, "catalog_item_edit"), good_edit).status_code == 404
        add = {"customer": a.customers[0].customer.pk, "kind": "part_number", "code": "X-1"}
        assert client.post(item_url(theirs, "catalog_reference_add"), add).status_code == 404
        # B's reference through A's own item, and through B's item
        for item in (a.items[0], theirs):
            delete = item_url(item, "catalog_reference_delete", reference_id=their_ref.pk)
            assert client.post(delete).status_code == 404
    assert Item.objects.get(pk=theirs.pk).description == theirs.description
    assert CrossReference.objects.filter(pk=their_ref.pk).exists()
    assert not CrossReference.objects.filter(code="X-1").exists()


def test_unknown_item_ids_are_404(a):
    client = signed_in(a.admin)
    assert (
        client.get(reverse("portals:catalog_item", kwargs={"item_id": 999_999})).status_code == 404
    )
    assert client.get("/catalog/abc/").status_code == 404


# --- the list ------------------------------------------------------------------------------


def test_list_shows_barcodes_and_counts_of_references_and_bins(a):
    """Each item with its barcodes, its customer codes (one per customer for item 0) and
    its bins (one per customer for each item)."""
    resp = signed_in(a.admin).get(reverse("portals:catalog"))
    rows = {item.sku: item for item in resp.context["page"]}
    first = rows[a.items[0].sku]
    assert first.reference_count == 2 and first.bin_count == 2
    assert rows[a.items[1].sku].reference_count == 0
    assert rows[a.items[1].sku].bin_count == 2
    body = resp.content.decode()
    for item in a.items:
        assert item.barcodes.get().code in body


@pytest.mark.parametrize(
    ("query", "expected"),
    [("ACME-SKU-2", [2]), ("m7 x 30", [1]), ("hex bolt", [0, 1, 2])],
)
def test_search_by_sku_and_description(a, query, expected):
    resp = signed_in(a.rep).get(reverse("portals:catalog"), {"q": query})
    assert listed(resp) == [a.items[i].sku for i in expected]


def test_search_by_barcode(a):
    """A barcode (or part of one) finds its item and no other."""
    code = a.items[1].barcodes.get().code
    resp = signed_in(a.admin).get(reverse("portals:catalog"), {"q": code[-6:]})
    assert listed(resp) == [a.items[1].sku]


def test_bad_query_strings_never_fail(a):
    """A search too long, a page that is not a number: the page still answers."""
    client = signed_in(a.admin)
    resp = client.get(reverse("portals:catalog"), {"q": "x" * 500, "page": "last-ish"})
    assert resp.status_code == 200
    assert len(listed(resp)) == 3  # the oversized search is dropped, not applied


def test_limited_rep_counts_only_assigned_customers(a):
    """A rep assigned to customer 0 counts that customer's references and bins alone."""
    limit_rep_to(a, a.customers[0])
    resp = signed_in(a.rep).get(reverse("portals:catalog"))
    first = next(i for i in resp.context["page"] if i.pk == a.items[0].pk)
    assert (first.reference_count, first.bin_count) == (1, 1)


def test_list_links_import_for_the_admin_and_export_for_all_vendor_staff(a):
    """The admin gets both CSV links; a rep, who may not import, only the export."""
    admin = signed_in(a.admin).get(reverse("portals:catalog")).content.decode()
    rep = signed_in(a.rep).get(reverse("portals:catalog")).content.decode()
    import_link = f'href="{reverse("portals:catalog_import")}"'
    export_link = f'href="{reverse("portals:catalog_export")}"'
    assert import_link in admin and export_link in admin
    assert import_link not in rep and export_link in rep


# --- the item page -------------------------------------------------------------------------


def test_item_page_shows_fields_barcodes_references_and_bins(a):
    item = a.items[0]
    resp = signed_in(a.admin).get(item_url(item))
    body = resp.content.decode()
    assert item.sku in body and item.description in body
    assert item.barcodes.get().code in body
    refs = list(resp.context["references"])
    assert len(refs) == 2
    assert {r.customer_id for r in refs} == {cw.customer.pk for cw in a.customers}
    bins = list(resp.context["bins"])
    assert {b.pk for b in bins} == {cw.bins[0].pk for cw in a.customers}
    for cw in a.customers:
        bin_link = reverse(
            "portals:bin", kwargs={"customer_id": cw.customer.pk, "bin_id": cw.bins[0].pk}
        )
        assert bin_link in body and cw.customer.name in body


def test_limited_rep_sees_only_assigned_customers_on_the_item_page(a):
    """A rep assigned to customer 0 sees neither customer 1's codes nor its bins."""
    mine, other = a.customers
    CrossReference.objects.filter(customer=other.customer).update(code="OTHER-ONLY-1")
    limit_rep_to(a, mine)
    resp = signed_in(a.rep).get(item_url(a.items[0]))
    assert [r.customer_id for r in resp.context["references"]] == [mine.customer.pk]
    assert [b.pk for b in resp.context["bins"]] == [mine.bins[0].pk]
    body = resp.content.decode()
    assert "OTHER-ONLY-1" not in body and other.customer.name not in body


def test_rep_reads_only(a):
    """A rep sees no edit forms and gets 403 on each edit; nothing changes."""
    item = a.items[0]
    client = signed_in(a.rep)
    body = client.get(item_url(item)).content.decode()
    assert 'id="item-edit"' not in body and 'id="reference-add"' not in body
    assert "Delete" not in body
    ref = CrossReference.objects.filter(item=item).first()
    resp = client.post(item_url(item, "catalog_item_edit"), {"description": "Rep was here"})
    assert resp.status_code == 403
    add = {"customer": a.customers[0].customer.pk, "kind": "part_number", "code": "REP-1"}
    assert client.post(item_url(item, "catalog_reference_add"), add).status_code == 403
    delete = item_url(item, "catalog_reference_delete", reference_id=ref.pk)
    assert client.post(delete).status_code == 403
    item.refresh_from_db()
    assert item.description != "Rep was here"
    assert CrossReference.objects.filter(pk=ref.pk).exists()
    assert not CrossReference.objects.filter(code="REP-1").exists()


# --- edits by the vendor admin ---------------------------------------------------------------


def test_admin_edits_description_and_barcodes(a):
    """The description changes; a barcode left out is deleted and a new one added."""
    item = a.items[0]
    new_code = gtin13(777)
    client = signed_in(a.admin)
    resp = client.post(
        item_url(item, "catalog_item_edit"),
        {"description": "  Hex bolt M6 x 30 stainless  ", "barcodes": f"{new_code}\n"},
    )
    assert resp.status_code == 302 and resp["Location"] == item_url(item)
    item.refresh_from_db()
    assert item.description == "Hex bolt M6 x 30 stainless"
    assert list(item.barcodes.values_list("code", flat=True)) == [new_code]
    page = client.get(item_url(item)).content.decode()
    assert "saved" in page and new_code in page


@pytest.mark.parametrize(
    ("barcodes", "message"),
    [
        ("4000000000000", "wrong check digit"),  # the service's invalid_gtin
        ("@other", "belongs to another item"),  # the service's duplicate_barcode
        ("X" * 49, "longer than 48"),  # the form's own check
    ],
)
def test_admin_edit_with_bad_barcodes_shows_the_error_and_saves_nothing(a, barcodes, message):
    item = a.items[0]
    if barcodes == "@other":
        barcodes = a.items[1].barcodes.get().code
    before = list(item.barcodes.values_list("code", flat=True))
    resp = signed_in(a.admin).post(
        item_url(item, "catalog_item_edit"), {"description": "Changed", "barcodes": barcodes}
    )
    assert resp.status_code == 400
    assert message in resp.content.decode()
    assert resp.context["edit_form"].errors["barcodes"]
    item.refresh_from_db()
    assert item.description != "Changed"  # the service's transaction rolled it back
    assert list(item.barcodes.values_list("code", flat=True)) == before


def test_admin_edit_needs_a_description(a):
    item = a.items[0]
    resp = signed_in(a.admin).post(item_url(item, "catalog_item_edit"), {"description": "  "})
    assert resp.status_code == 400
    assert resp.context["edit_form"].errors["description"]


def test_edit_urls_take_post_only(a):
    item = a.items[0]
    assert signed_in(a.admin).get(item_url(item, "catalog_item_edit")).status_code == 405


def test_admin_adds_a_customer_code(a):
    item = a.items[1]
    cw = a.customers[1]
    resp = signed_in(a.admin).post(
        item_url(item, "catalog_reference_add"),
        {"customer": cw.customer.pk, "kind": "barcode", "code": " 0099887766 "},
    )
    assert resp.status_code == 302
    ref = CrossReference.objects.get(item=item)
    assert (ref.customer_id, ref.kind, ref.code) == (cw.customer.pk, "barcode", "0099887766")


def test_admin_adding_a_taken_code_gets_the_services_error(a):
    """CPN-0001 already names item 0 at customer 0: the service's duplicate_code is shown
    on the code field and nothing is saved."""
    cw = a.customers[0]
    resp = signed_in(a.admin).post(
        item_url(a.items[1], "catalog_reference_add"),
        {"customer": cw.customer.pk, "kind": "part_number", "code": "CPN-0001"},
    )
    assert resp.status_code == 400
    assert "already a reference of this customer" in resp.content.decode()
    assert resp.context["reference_form"].errors["code"]
    assert not CrossReference.objects.filter(item=a.items[1]).exists()


@pytest.mark.parametrize("customer", ["foreign", "garbage", ""])
def test_admin_adding_a_code_for_a_customer_not_theirs_is_refused(a, b, customer):
    """Vendor B's customer id, a word or nothing: a form error, never a save or a 500."""
    value = b.customers[0].customer.pk if customer == "foreign" else customer
    resp = signed_in(a.admin).post(
        item_url(a.items[1], "catalog_reference_add"),
        {"customer": value, "kind": "part_number", "code": "NEW-1"},
    )
    assert resp.status_code == 400
    assert resp.context["reference_form"].errors["customer"]
    assert not CrossReference.objects.filter(code="NEW-1").exists()


def test_admin_adding_a_code_of_an_unknown_kind_is_refused(a):
    cw = a.customers[0]
    resp = signed_in(a.admin).post(
        item_url(a.items[1], "catalog_reference_add"),
        {"customer": cw.customer.pk, "kind": "nickname", "code": "NEW-2"},
    )
    assert resp.status_code == 400
    assert not CrossReference.objects.filter(code="NEW-2").exists()


def test_admin_deletes_a_customer_code(a):
    item = a.items[0]
    ref = CrossReference.objects.get(item=item, customer=a.customers[1].customer)
    resp = signed_in(a.admin).post(item_url(item, "catalog_reference_delete", reference_id=ref.pk))
    assert resp.status_code == 302
    assert not CrossReference.objects.filter(pk=ref.pk).exists()
    assert CrossReference.objects.filter(item=item).count() == 1


def test_a_reference_is_deleted_only_through_its_own_item(a):
    """A reference of item 0 posted under item 1's URL is 404 and stays."""
    ref = CrossReference.objects.filter(item=a.items[0]).first()
    resp = signed_in(a.admin).post(
        item_url(a.items[1], "catalog_reference_delete", reference_id=ref.pk)
    )
    assert resp.status_code == 404
    assert CrossReference.objects.filter(pk=ref.pk).exists()


# --- queries -------------------------------------------------------------------------------


def sized_catalog(code: str, *, items: int, bins: int):
    """A vendor with `items` items, `bins` bins at customer 0 and a code per item at each
    of its two customers."""
    vw = vendor_world(code, items=items)
    grow(vw, vw.customers[0], bins=bins)
    for n, item in enumerate(vw.items[1:], start=1):
        for cw in vw.customers:
            cross_reference_create(
                scope=vw.scope,
                customer_id=cw.customer.pk,
                item_id=item.pk,
                kind="part_number",
                code=f"P-{n}",
            )
    extra = item_create(scope=vw.scope, sku=f"{code}-EXTRA", description="Washer", barcodes=[])
    vw.items.append(extra)
    return vw


def count_queries(django_assert_max_num_queries, client, target: str, budget: int) -> int:
    with django_assert_max_num_queries(budget) as queries:
        assert client.get(target).status_code == 200
    return len(queries)


# Session, user, membership (and a rep's assigned customers), then the page's own reads.
CATALOG_BUDGET = {"admin": 7, "rep": 8}  # + count, page, barcodes, bins per item
# + item, barcodes, codes (count, page), bins (count, page), and the admin's customer choices
ITEM_BUDGET = {"admin": 10, "rep": 10}


@pytest.mark.parametrize("who", ["admin", "rep"])
def test_catalog_query_count_does_not_grow(db, django_assert_max_num_queries, who):
    """3 items with 6 bins, or 12 items with 60 bins and 22 codes: the same queries."""
    small = sized_catalog("csmall", items=3, bins=3)
    large = sized_catalog("clarge", items=12, bins=60)
    counts = []
    for vw in (small, large):
        client = signed_in(getattr(vw, who))
        counts.append(
            count_queries(
                django_assert_max_num_queries,
                client,
                reverse("portals:catalog"),
                CATALOG_BUDGET[who],
            )
        )
    assert counts[0] == counts[1]
    big_page = signed_in(large.admin).get(reverse("portals:catalog")).context["page"]
    assert len(big_page) == 13 and sum(i.bin_count for i in big_page) == 60 + 12


@pytest.mark.parametrize("who", ["admin", "rep"])
def test_item_page_query_count_does_not_grow(db, django_assert_max_num_queries, who):
    """An item in 3 bins or in many, with its codes: the same queries."""
    small = sized_catalog("ismall", items=3, bins=3)
    large = sized_catalog("ilarge", items=3, bins=45)
    counts = []
    for vw in (small, large):
        client = signed_in(getattr(vw, who))
        counts.append(
            count_queries(
                django_assert_max_num_queries, client, item_url(vw.items[1]), ITEM_BUDGET[who]
            )
        )
    assert counts[0] == counts[1]
    resp = signed_in(large.admin).get(item_url(large.items[1]))
    assert resp.context["bins"].paginator.count == 16  # 15 shelves at customer 0, 1 at customer 1
    assert ItemBarcode.objects.filter(item=large.items[1]).exists()
