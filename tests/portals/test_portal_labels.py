"""Bin labels: a printable sheet per location subtree, each label carrying the bin's own
code as a Code 128 or QR symbol drawn on the server; scoped like every customer page."""

from __future__ import annotations

import re

import barcode
import pytest
import segno

from catalog.models import Item
from cmi.models import Membership
from portals.barcodes import CODE128_QUIET, QR_BORDER
from portals.views import labels as labels_view
from stocking.models import Bin
from stocking.setup import location_create
from tests.portals.helpers import grow, signed_in, url

SVG = re.compile(
    r'<svg class="symbol symbol--(?P<kind>\w+)"[^>]*viewBox="0 0 (?P<w>\d+) (?P<h>\d+)"'
    r'[^>]*aria-label="(?:Code 128|QR code) of (?P<text>[^"]+)">'
    r'<rect[^>]*/><path fill="#000" d="(?P<d>[^"]*)"/></svg>'
)
RUN = re.compile(r"M(\d+) (\d+)h(\d+)v(\d+)h-(\d+)z")


def symbols(resp) -> dict[str, re.Match]:
    """The label text of every symbol on the page, with its SVG."""
    return {m["text"]: m for m in SVG.finditer(resp.content.decode())}


def bars_of(svg: re.Match) -> str:
    """Read a Code 128 SVG back into its '1'/'0' modules, quiet zones taken off."""
    modules = ["0"] * (int(svg["w"]) - 2 * CODE128_QUIET)
    for x, y, w, h, back in RUN.findall(svg["d"]):
        assert y == "0" and h == svg["h"] and w == back
        for i in range(int(x) - CODE128_QUIET, int(x) - CODE128_QUIET + int(w)):
            modules[i] = "1"
    return "".join(modules)


def matrix_of(svg: re.Match) -> list[list[int]]:
    """Read a QR SVG back into its matrix of dark (1) and light (0) modules."""
    size = int(svg["w"]) - 2 * QR_BORDER
    matrix = [[0] * size for _ in range(size)]
    for x, y, w, h, back in RUN.findall(svg["d"]):
        assert h == "1" and w == back
        for i in range(int(w)):
            matrix[int(y) - QR_BORDER][int(x) - QR_BORDER + i] = 1
    return matrix


def sheet(client, cw, **params):
    query = {"site": cw.site.pk, "format": "code128", **params}
    return client.get(url("labels", cw), {k: v for k, v in query.items() if v is not None})


# --- who may open it -------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["manager", "admin", "rep"])
def test_label_sheet_opens_for_vendor_staff_and_managers(a, who):
    cw = a.customers[0]
    user = cw.manager if who == "manager" else getattr(a, who)
    resp = sheet(signed_in(user), cw)
    assert resp.status_code == 200
    assert {b.label for b in cw.bins} <= set(symbols(resp))


def test_customer_staff_get_403(a):
    cw = a.customers[0]
    assert signed_in(cw.staff).get(url("labels", cw)).status_code == 403
    assert sheet(signed_in(cw.staff), cw).status_code == 403


@pytest.mark.parametrize("who", ["manager", "admin", "rep"])
def test_another_vendors_or_customers_labels_are_404(a, b, who):
    """Vendor B's customer, and for a customer manager the neighbour customer: 404."""
    cw, neighbour = a.customers
    user = cw.manager if who == "manager" else getattr(a, who)
    client = signed_in(user)
    assert sheet(client, b.customers[0]).status_code == 404
    if who == "manager":
        assert sheet(client, neighbour).status_code == 404


def test_rep_assigned_to_customer_0_gets_404_on_customer_1(a):
    mine, other = a.customers
    Membership.objects.get(user=a.rep).assigned_customers.set([mine.customer])
    client = signed_in(a.rep)
    assert sheet(client, mine).status_code == 200
    assert sheet(client, other).status_code == 404
    assert client.get(url("labels", other)).status_code == 404


def test_another_customers_site_or_location_gives_no_labels(a):
    """Ids of the neighbour's site or shelf in the query string are form errors: no label
    of theirs, no 500."""
    cw, neighbour = a.customers
    client = signed_in(a.admin)
    for params in ({"site": neighbour.site.pk}, {"location": neighbour.shelf.pk}):
        resp = sheet(client, cw, **params)
        assert resp.status_code == 200
        assert resp.context["form"].errors
        assert not resp.context["labels"]
        assert not set(symbols(resp)) & {b.label for b in neighbour.bins}


@pytest.mark.parametrize(
    "params",
    [
        {"site": "x"},
        {"location": "../../"},
        {"format": "pdf417"},
        {"page": "-1"},
        {"site": ""},
    ],
)
def test_bad_query_strings_never_fail(a, params):
    cw = a.customers[0]
    assert sheet(signed_in(cw.manager), cw, **params).status_code == 200


# --- what the sheet holds ---------------------------------------------------------------------


def test_first_visit_shows_the_choice_and_no_labels(a):
    cw = a.customers[0]
    resp = signed_in(cw.manager).get(url("labels", cw))
    assert resp.status_code == 200 and resp.context["page"] is None
    assert not symbols(resp)


def test_labels_cover_the_locations_whole_subtree(a):
    """The room holds SHELF-A, which holds the three bins; a second shelf under the room
    adds its own. Choosing the room labels both shelves, choosing SHELF-A only its own."""
    cw = a.customers[0]
    extra = grow(a, cw, bins=5)  # a new shelf G002 under the room, two bins
    client = signed_in(a.admin)
    room = symbols(sheet(client, cw, location=cw.room.pk))
    shelf = symbols(sheet(client, cw, location=cw.shelf.pk))
    assert set(room) == {b.label for b in cw.bins + extra}
    assert set(shelf) == {b.label for b in cw.bins}


def test_only_active_bins_get_labels(a):
    """An inactive bin's label would be refused by the scan API: it is not printed."""
    cw = a.customers[0]
    Bin.objects.filter(pk=cw.bins[0].pk).update(active=False)
    assert set(symbols(sheet(signed_in(a.admin), cw))) == {b.label for b in cw.bins[1:]}


def test_each_label_has_the_code_sku_description_location_and_levels(a):
    cw = a.customers[0]
    deep = location_create(scope=a.scope, site_id=cw.site.pk, code="BIN-7", parent_id=cw.shelf.pk)
    Bin.objects.filter(pk=cw.bins[2].pk).update(location=deep, min_qty=12, max_qty=48)
    Item.objects.filter(pk=cw.bins[2].item_id).update(description="Very long description " * 5)
    resp = sheet(signed_in(a.admin), cw)
    body = resp.content.decode()
    found = next(lab for lab in resp.context["labels"] if lab.bin.pk == cw.bins[2].pk)
    assert found.location_path == "ROOM › SHELF-A › BIN-7"
    item = found.bin.item
    for text in (found.bin.label, item.sku, "ROOM › SHELF-A › BIN-7", "Min 12 · Max 48"):
        assert text in body
    assert "Very long description " * 5 not in body  # truncated
    assert "Very long description Very long description" in body


def test_sheet_is_capped_and_paginated(a, monkeypatch):
    """At most SHEET_SIZE labels on a sheet; the rest are on the next, and the page says so."""
    cw = a.customers[0]
    monkeypatch.setattr(labels_view, "SHEET_SIZE", 2)
    client = signed_in(a.admin)
    first = sheet(client, cw)
    second = sheet(client, cw, page=2)
    assert len(symbols(first)) == 2 and len(symbols(second)) == 1
    assert "sheet 1 of 2, 2 labels per sheet" in first.content.decode()
    assert set(symbols(first)) | set(symbols(second)) == {b.label for b in cw.bins}


def test_the_page_has_a_print_button_and_a_print_stylesheet(a):
    cw = a.customers[0]
    body = sheet(signed_in(a.admin), cw).content.decode()
    assert 'id="print-labels"' in body and "labels.css" in body and "labels.js" in body


# --- the symbols encode the label ------------------------------------------------------------


def test_code128_symbol_is_the_librarys_encoding_of_the_label(a):
    """Each bar pattern read back from the SVG is python-barcode's Code 128 of that
    bin's label, and two labels give two different patterns."""
    cw = a.customers[0]
    found = symbols(sheet(signed_in(a.admin), cw, format="code128"))
    patterns = set()
    for b in cw.bins:
        svg = found[b.label]
        assert svg["kind"] == "code128"
        bars = bars_of(svg)
        assert bars == barcode.Code128(b.label).build()[0]
        assert bars.startswith("11010") and bars.endswith("1100011101011")  # start, stop
        patterns.add(bars)
    assert len(patterns) == len(cw.bins)


def test_qr_symbol_is_segnos_encoding_of_the_label(a):
    """Each QR read back from the SVG is segno's symbol for that bin's label: same version
    and size, same modules; and two labels give two different symbols."""
    cw = a.customers[0]
    found = symbols(sheet(signed_in(a.admin), cw, format="qr"))
    matrices = []
    for b in cw.bins:
        svg = found[b.label]
        assert svg["kind"] == "qr"
        expected = segno.make_qr(b.label, error="m")
        assert expected.version == 1  # 8 label characters fit the smallest symbol
        assert int(svg["w"]) == int(svg["h"]) == expected.symbol_size(border=QR_BORDER)[0]
        matrix = matrix_of(svg)
        assert matrix == [list(row) for row in expected.matrix]
        matrices.append(matrix)
    assert matrices[0] != matrices[1]


def test_a_label_that_code128_cannot_carry_says_so(a):
    """A label with a character outside ASCII cannot be drawn as Code 128: the label
    says to print QR, and QR carries it."""
    cw = a.customers[0]
    Bin.objects.filter(pk=cw.bins[0].pk).update(label="BÉ-1")
    client = signed_in(a.admin)
    resp = sheet(client, cw, format="code128")
    assert resp.status_code == 200
    assert "cannot be drawn as Code 128" in resp.content.decode()
    assert "BÉ-1" in symbols(sheet(client, cw, format="qr"))


# --- queries --------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["code128", "qr"])
def test_sheet_query_count_does_not_grow(a, django_assert_max_num_queries, fmt):
    """3 labels or 60: session, user, membership, customer, sites, locations, count, page."""
    small, large = a.customers
    grow(a, large, bins=60)
    client = signed_in(a.admin)
    counts = []
    for cw in (small, large):
        with django_assert_max_num_queries(8) as queries:
            resp = sheet(client, cw, format=fmt)
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert len(symbols(resp)) == 60
