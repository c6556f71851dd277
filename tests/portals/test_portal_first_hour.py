"""The first hour of a new user (issue 12 §4): kanban bins shown as kanban, the shelf
label on the stock list, time zones, natural location order, and the approval page."""

from __future__ import annotations

import pytest

from stocking.models import Bin
from stocking.selectors import bin_health_counts
from tests.factories import vendor_scope
from tests.portals.helpers import signed_in, url


def _kanban(b: Bin, *, card: int, on_hand: int, on_order: int) -> None:
    Bin.objects.filter(pk=b.pk).update(
        kanban_quantity=card, min_qty=0, max_qty=0, on_hand=on_hand, on_order=on_order
    )


def test_kanban_bins_show_cards_not_broken_min_max(a):
    """A kanban bin (min 0, max 0) with stock is "Kanban", never "Over max"; its row says
    the card quantity and the cards out instead of "0 – 0"."""
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
