"""The RFID page: who may use it, the 404 wall, a reader's one-time token, cards and
their encoding list, re-arming, assigning unknown tags, and its fixed query count."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from stocking import rfid
from stocking.models import Bin, RfidCard, RfidReader, RfidTag, RfidUnknownTag
from tests.portals.helpers import signed_in, url


def kanban(cw, n: int = 0) -> Bin:
    b = cw.bins[n]
    Bin.objects.filter(pk=b.pk).update(kanban_quantity=20, min_qty=0, max_qty=0)
    b.refresh_from_db()
    return b


def unknown_tags(vw, cw, n: int) -> list[RfidUnknownTag]:
    """Unknown EPCs as a cabinet of this customer reported them."""
    reader, _ = rfid.rfid_reader_create(
        scope=vw.scope, customer_id=cw.customer.pk, name="cab", site_id=cw.site.pk, mode="cabinet"
    )
    now = timezone.now()
    return RfidUnknownTag.objects.bulk_create(
        RfidUnknownTag(
            vendor=vw.vendor,
            customer=cw.customer,
            site=cw.site,
            reader=reader,
            epc=f"E2{reader.pk:06d}{i:016X}",
            reason="unknown",
            first_seen_at=now - dt.timedelta(minutes=i),
            last_seen_at=now - dt.timedelta(minutes=i),
        )
        for i in range(n)
    )


@pytest.mark.parametrize(
    ("who", "status"), [("manager", 200), ("admin", 200), ("rep", 200), ("staff", 403)]
)
def test_roles_of_the_rfid_page(a, who, status):
    cw = a.customers[0]
    person = getattr(cw, who) if who in ("manager", "staff") else getattr(a, who)
    client = signed_in(person)
    assert client.get(url("rfid", cw)).status_code == status
    assert client.get(url("rfid_cards_csv", cw)).status_code == status


def test_another_customers_or_vendors_rfid_pages_are_404(a, b):
    """Customer 1's manager, and vendor B's admin, see none of customer 0's RFID pages."""
    cw = a.customers[0]
    card = RfidCard.objects.create(
        vendor=a.vendor,
        customer=cw.customer,
        bin=kanban(cw),
        epc="E2AA00000000000000000001",
        armed=False,
    )
    [tag] = unknown_tags(a, cw, 1)
    for person in (a.customers[1].manager, b.admin):
        client = signed_in(person)
        assert client.get(url("rfid", cw)).status_code == 404
        assert client.get(url("rfid_cards_csv", cw)).status_code == 404
        assert (
            client.post(
                url("rfid_reader_add", cw),
                {"name": "x", "site": cw.site.pk, "mode": "cabinet", "antenna_count": 1},
            ).status_code
            == 404
        )
        assert client.post(url("rfid_card_add", cw), {"bin": card.bin.label}).status_code == 404
        assert client.post(url("rfid_card_rearm", cw, card_id=card.pk)).status_code == 404
        assert (
            client.post(
                url("rfid_unknown_assign", cw), {"tags": [tag.pk], "item": a.items[0].sku}
            ).status_code
            == 404
        )
    # and within the right customer page, another customer's card id is a 404 too
    other = a.customers[1]
    client = signed_in(other.manager)
    assert client.post(url("rfid_card_rearm", other, card_id=card.pk)).status_code == 404
    card.refresh_from_db()
    assert card.armed is False
    assert (
        not RfidReader.objects.exists()
        or RfidReader.objects.filter(customer=other.customer).count() == 0
    )
    assert RfidUnknownTag.objects.get(pk=tag.pk).assigned_at is None


def test_adding_a_reader_shows_its_token_once_and_it_posts_cycles(a):
    cw = a.customers[0]
    client = signed_in(cw.manager)
    resp = client.post(
        url("rfid_reader_add", cw),
        {
            "name": "Crib cabinet",
            "site": cw.site.pk,
            "mode": "cabinet",
            "antenna_count": 2,
            "location": cw.shelf.pk,
        },
    )
    assert resp.status_code == 201 and resp["Cache-Control"] == "no-store"
    token = resp.context["created"][1]
    assert token.encode() in resp.content
    reader = RfidReader.objects.get()
    assert (reader.mode, reader.antenna_count, reader.location_id) == ("cabinet", 2, cw.shelf.pk)
    assert token.encode() not in client.get(url("rfid", cw)).content
    bad = client.post(url("rfid_reader_add", cw), {"name": "", "site": cw.site.pk, "mode": "laser"})
    assert bad.status_code == 400


def test_cards_are_added_listed_exported_and_re_armed(a):
    cw = a.customers[0]
    b = kanban(cw)
    client = signed_in(a.rep)
    resp = client.post(
        url("rfid_card_add", cw), {"bin": b.label, "epc": "e2bb00000000000000000001"}
    )
    assert resp.status_code == 302
    resp = client.post(url("rfid_card_add", cw), {"bin": b.label})  # a new EPC is made
    assert resp.status_code == 302
    assert client.post(url("rfid_card_add", cw), {"bin": cw.bins[1].label}).status_code == 400
    assert (
        client.post(url("rfid_card_add", cw), {"bin": b.label, "epc": "nothex"}).status_code == 400
    )
    cards = list(RfidCard.objects.order_by("pk"))
    assert len(cards) == 2 and cards[0].epc == "E2BB00000000000000000001"
    rows = list(
        csv.reader(
            io.StringIO(
                b"".join(client.get(url("rfid_cards_csv", cw)).streaming_content).decode(
                    "utf-8-sig"
                )
            )
        )
    )
    assert rows[0][:3] == ["epc_hex", "bin_label", "item_sku"]
    assert {(r[0], r[1], r[2]) for r in rows[1:]} == {(c.epc, b.label, b.item.sku) for c in cards}
    RfidCard.objects.filter(pk=cards[0].pk).update(armed=False)
    assert client.post(url("rfid_card_rearm", cw, card_id=cards[0].pk)).status_code == 302
    cards[0].refresh_from_db()
    assert cards[0].armed and cards[0].armed_at is not None


def test_assigning_unknown_tags_from_the_page_counts_them(a):
    cw = a.customers[0]
    tags = unknown_tags(a, cw, 3)
    client = signed_in(a.rep)
    page = client.get(url("rfid", cw))
    assert tags[0].epc.encode() in page.content
    resp = client.post(
        url("rfid_unknown_assign", cw), {"tags": [t.pk for t in tags[:2]], "item": "NO-SUCH"}
    )
    assert resp.status_code == 400 and b"No such item" in resp.content
    resp = client.post(
        url("rfid_unknown_assign", cw), {"tags": [t.pk for t in tags[:2]], "item": a.items[2].sku}
    )
    assert resp.status_code == 302
    assert RfidTag.objects.filter(bin=cw.bins[2], present=True).count() == 2
    b = Bin.objects.get(pk=cw.bins[2].pk)
    assert b.on_hand == 2  # the bin's first tags: a count
    assert RfidUnknownTag.objects.filter(assigned_at__isnull=True).count() == 1


def _page_queries(vw, cw, n: int) -> int:
    b = kanban(cw)
    for i in range(n):
        RfidCard.objects.create(
            vendor=vw.vendor,
            customer=cw.customer,
            bin=b,
            epc=f"E2CC{cw.customer.pk:04d}{i:016X}",
            armed=bool(i % 2),
        )
    unknown_tags(vw, cw, n)
    client = signed_in(vw.rep)
    client.get(url("rfid", cw))  # the session and caches warm
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url("rfid", cw)).status_code == 200
    return len(ctx.captured_queries)


def test_the_rfid_page_costs_the_same_queries_at_any_size(a):
    assert _page_queries(a, a.customers[0], 3) == _page_queries(a, a.customers[1], 40)
