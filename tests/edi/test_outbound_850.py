"""Every released order gets an 850 in the outbox, parsable, with the envelope right.

Every 850 these tests write is read back by two parsers: ours (edi.x12) and the
independent `ansi-x12` package, so a mistake shared by our writer and our reader
cannot hide.
"""

from __future__ import annotations

import zoneinfo

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from x12 import parse_x12_interchange, tokenize_x12

from catalog.models import ItemBarcode
from cmi.models import Customer
from edi.documents import interchange_build, partner_separators, purchase_order_segments
from edi.models import Direction, Document, OrderEdiState, TradingPartner
from edi.x12 import Interchange, Segment, TransactionSet, interchange_parse, interchange_serialize
from replenishment.models import Order, OrderLine
from replenishment.services import bins_evaluate, order_cancel
from stocking.models import Bin, Site
from tests.factories import vendor_scope

# --- helpers shared with the other EDI test modules ---------------------------------------


def partner_for(vendor, **extra) -> TradingPartner:
    ids = {
        "isa_sender_id": "CMIPLATFORM",
        "isa_receiver_id": "ERPRECEIVER",
        "gs_sender": "CMIPLAT",
        "gs_receiver": "ERPRCV",
    }
    return TradingPartner.objects.create(vendor=vendor, **{**ids, **extra})


def release(cw) -> int:
    """Empty the customer's bins and evaluate them: one order, released (auto policy)."""
    Bin.objects.filter(pk__in=[b.pk for b in cw.bins]).update(on_hand=0)
    (order_id,) = bins_evaluate(vendor_id=cw.customer.vendor_id, bin_ids=[b.pk for b in cw.bins])
    return order_id


def x12_check(payload: bytes) -> Interchange:
    """Both parsers accept the payload and agree on its control numbers."""
    ours = interchange_parse(payload)
    theirs = parse_x12_interchange(tokenize_x12(payload))
    assert int(theirs.control_number) == ours.control_number
    (group,) = theirs.groups
    assert int(group.control_number) == ours.groups[0].control_number
    assert [t.control_number.decode() for t in group.transactions] == [
        s.control_number for s in ours.groups[0].sets
    ]
    assert [len(t.segments) for t in group.transactions] == [
        len(s.segments) for s in ours.groups[0].sets
    ]
    return ours


def the_set(doc: Document) -> TransactionSet:
    ic = x12_check(bytes(doc.payload))
    (group,) = ic.groups
    (tset,) = group.sets
    return tset


def segments(tset: TransactionSet, tag: str, *first: str) -> list[Segment]:
    """The set's segments with this tag (and these leading elements)."""
    return [s for s in tset.segments if s.tag == tag and s.elements[: len(first)] == list(first)]


@pytest.fixture(autouse=True)
def every_850_is_valid_x12(db):
    """After each test, every outbound 850 it left in the database reads back cleanly.

    Depends on `db`, so it runs before the test's data is rolled back or flushed.
    """
    yield
    payloads = Document.objects.filter(direction=Direction.OUT, transaction_set="850")
    for payload in payloads.values_list("payload", flat=True):
        x12_check(bytes(payload))


# --- this module's fixtures ---------------------------------------------------------------


@pytest.fixture
def released(world):
    va = world["a"]
    partner_for(va.vendor)
    cw = va.customers[0]
    return va, cw, release(cw)


# --- the document ----------------------------------------------------------------------------


def test_release_writes_one_850_that_parses_back(released):
    """A release writes exactly one 850 (BEG01 00) whose envelope echoes the document's
    control numbers; PO1 per line, CTT counting lines and quantities."""
    _va, _cw, order_id = released
    doc = Document.objects.get(order_id=order_id, transaction_set="850")
    ic = x12_check(bytes(doc.payload))
    assert ic.control_number == doc.isa_control and ic.groups[0].control_number == doc.gs_control
    (tset,) = ic.groups[0].sets
    assert tset.control_number == doc.st_control
    tags = [s.tag for s in tset.segments]
    assert tags[:2] == ["BEG", "CUR"] and tags[-1] == "CTT"
    po1 = segments(tset, "PO1")
    assert len(po1) == 3
    beg = tset.segments[0].elements
    assert beg[0] == "00" and beg[1] == "SA" and beg[2].startswith("AC")
    ctt = tset.segments[-1].elements
    assert ctt[0] == "3" and int(ctt[1]) == sum(int(s.elements[1]) for s in po1)
    assert "BP" in po1[0].elements and "CPN-0001" in po1[0].elements
    assert "EN" in po1[0].elements
    assert OrderEdiState.objects.filter(order_id=order_id).count() == 1


def test_850_carries_dates_parties_address_lines_and_totals(released):
    """BEG03 is the PO number and BEG05 the customer's release day; DTM*002 is the
    requested delivery date; N1*BY names the customer, N1*ST the site with N3/N4; each
    PO1 has quantity, UOM, price, VP SKU (BP part number where there is one) and a PID*F
    description; CTT totals the lines."""
    _va, cw, order_id = released
    order = Order.objects.select_related("customer", "site").get(pk=order_id)
    lines = list(OrderLine.objects.filter(order=order).select_related("item"))
    tset = the_set(Document.objects.get(order=order))

    (beg,) = segments(tset, "BEG")
    local_day = order.released_at.astimezone(zoneinfo.ZoneInfo(order.customer.timezone))
    assert beg.elements[2] == order.po_number
    assert beg.elements[4] == local_day.strftime("%Y%m%d")
    assert segments(tset, "DTM", "002")[0].elements[1] == (
        order.requested_delivery_date.strftime("%Y%m%d")
    )
    assert segments(tset, "N1", "BY")[0].elements == [
        "BY",
        cw.customer.name,
        "91",
        cw.customer.code,
    ]
    assert segments(tset, "N1", "ST")[0].elements == ["ST", "Main plant", "92", "MAIN"]
    assert segments(tset, "N3")[0].elements == ["1 Industrial Way"]
    assert segments(tset, "N4")[0].elements == ["Springfield", "IL", "62701", "US"]
    # N3 and N4 follow N1*ST: the address belongs to the ship-to.
    tags = [s.tag for s in tset.segments]
    st_at = next(i for i, s in enumerate(tset.segments) if s.elements[:1] == ["ST"])
    assert tags[st_at + 1 : st_at + 3] == ["N3", "N4"]

    by_number = {line.line_number: line for line in lines}
    for po1 in segments(tset, "PO1"):
        line = by_number[int(po1.elements[0])]
        assert int(po1.elements[1]) == line.quantity_ordered
        assert po1.elements[2] == "EA"
        assert float(po1.elements[3]) == float(line.unit_price)
        assert po1.elements[5:7] == ["VP", line.item.sku]
        following = tset.segments[tset.segments.index(po1) + 1]
        assert following.tag == "PID" and following.elements[0] == "F"
        assert following.elements[4] == line.item.description
    (ctt,) = segments(tset, "CTT")
    assert ctt.elements == [str(len(lines)), str(sum(line.quantity_ordered for line in lines))]


def test_po1_product_id_qualifier_follows_the_gtin_length(world):
    """A 12-digit GTIN goes out as UP, 13 as EN, 14 as UK: the ERP looks each up in
    its own table."""
    va = world["a"]
    partner_for(va.vendor)
    codes = {0: "036000291452", 1: "4006381333931", 2: "10036000291459"}
    for index, code in codes.items():
        ItemBarcode.objects.filter(item=va.items[index]).update(code=code)
    cw = va.customers[0]
    tset = the_set(Document.objects.get(order_id=release(cw)))
    by_sku = {s.elements[6]: s.elements for s in segments(tset, "PO1")}
    for index, code in codes.items():
        elements = by_sku[va.items[index].sku]
        qualifier = {12: "UP", 13: "EN", 14: "UK"}[len(code)]
        assert elements[elements.index(code) - 1] == qualifier


# --- control numbers -----------------------------------------------------------------------


def test_control_numbers_are_unique_and_increase_per_vendor(world):
    """ISA13, GS06 and ST02 of a vendor's documents never repeat and rise with the
    outbox cursor; another vendor counts on its own."""
    va, vb = world["a"], world["b"]
    partner_for(va.vendor)
    partner_for(vb.vendor)
    first = release(va.customers[0])
    release(vb.customers[0])
    release(va.customers[1])
    order_cancel(scope=vendor_scope(va.vendor), order_id=first, reason="not needed")
    release(vb.customers[1])

    for vendor in (va.vendor, vb.vendor):
        docs = list(Document.objects.filter(vendor=vendor, direction="out").order_by("cursor"))
        isa = [d.isa_control for d in docs]
        assert isa == sorted(set(isa)), isa
        assert len({d.gs_control for d in docs}) == len(docs)
        assert len({d.st_control for d in docs}) == len(docs)
        for doc in docs:
            ic = x12_check(bytes(doc.payload))
            assert (ic.control_number, ic.groups[0].control_number) == (
                doc.isa_control,
                doc.gs_control,
            )
    assert Document.objects.filter(vendor=va.vendor).count() == 3
    assert [d.isa_control for d in Document.objects.filter(vendor=vb.vendor)] == [1, 2]


def test_cancel_writes_a_new_document_and_leaves_the_first_untouched(released):
    """Cancelling a released order writes a second 850 with BEG01 01 and new control
    numbers; the original stays byte for byte what the ERP may already have."""
    va, _cw, order_id = released
    original = Document.objects.get(order_id=order_id)
    before = bytes(original.payload)
    order_cancel(scope=vendor_scope(va.vendor), order_id=order_id, reason="duplicate")

    first, cancel = Document.objects.filter(order_id=order_id).order_by("cursor")
    assert first.pk == original.pk and bytes(first.payload) == before
    assert (first.purpose, cancel.purpose) == ("00", "01")
    assert cancel.isa_control > first.isa_control and cancel.cursor > first.cursor
    beg = segments(the_set(cancel), "BEG")[0].elements
    assert beg[0] == "01" and beg[2] == Order.objects.get(pk=order_id).po_number
    assert OrderEdiState.objects.filter(order_id=order_id).count() == 1


def test_edi_hooks_are_registered_once_by_name(world):
    """edi/apps.py registers its release, cancel and order-detail hooks under its name:
    running its ready() again replaces them, so a release still writes one 850."""
    from django.apps import apps

    apps.get_app_config("edi").ready()
    apps.get_app_config("edi").ready()
    va = world["a"]
    partner_for(va.vendor)
    order_id = release(va.customers[0])
    assert Document.objects.filter(order_id=order_id, transaction_set="850").count() == 1


def test_no_partner_no_850(world):
    """A vendor without a trading partner profile releases orders without any X12."""
    order_id = release(world["a"].customers[0])
    assert Order.objects.get(pk=order_id).po_number
    assert not Document.objects.exists()


# --- separators in data ----------------------------------------------------------------------


def test_separators_in_names_and_addresses_are_cleaned(world):
    """A customer called "A*B~C" and a site address holding ">" go out with the
    separators replaced by spaces: the payload parses back and every segment keeps its
    elements."""
    va = world["a"]
    partner_for(va.vendor)
    cw = va.customers[0]
    Customer.objects.filter(pk=cw.customer.pk).update(name="A*B~C")
    Site.objects.filter(pk=cw.site.pk).update(address1="Dock 4 > Gate 2", name="Plant ~1*")
    tset = the_set(Document.objects.get(order_id=release(cw)))
    assert segments(tset, "N1", "BY")[0].elements[1] == "A B C"
    assert segments(tset, "N1", "ST")[0].elements[1] == "Plant 1"
    assert segments(tset, "N3")[0].elements == ["Dock 4 Gate 2"]
    assert segments(tset, "PER")[0].elements == ["BD", "A B C"]


def test_005010_envelope_has_repetition_separator_and_gs08_suffix(world):
    """A 005010 partner gets ISA11 "^", ISA12 00501 and GS08 005010VICS; "^" in data is
    cleaned like any separator."""
    va = world["a"]
    partner_for(va.vendor, version="005010", gs08_suffix="VICS", usage="P")
    cw = va.customers[0]
    Customer.objects.filter(pk=cw.customer.pk).update(name="Caret^Co")
    doc = Document.objects.get(order_id=release(cw))
    payload = bytes(doc.payload)
    isa = payload[:106].decode()
    assert isa[82] == "^" and isa[84:89] == "00501" and isa[102] == "P"
    ic = x12_check(payload)
    assert ic.separators.repetition == "^" and ic.version == "00501"
    assert ic.groups[0].version == "005010VICS"
    assert segments(ic.groups[0].sets[0], "N1", "BY")[0].elements[1] == "Caret Co"


def test_004010_envelope_has_u_in_isa11(released):
    """The default 004010 partner gets ISA11 "U" and GS08 004010."""
    _va, _cw, order_id = released
    payload = bytes(Document.objects.get(order_id=order_id).payload)
    assert payload[82:83] == b"U" and payload[84:89] == b"00401"
    assert x12_check(payload).groups[0].version == "004010"


# --- property: any text at all ---------------------------------------------------------------

# Printable ASCII punctuation, less "." and "-", which the profile refuses (prices
# and SKUs hold them).
SEPARATOR_CHARS = "!\"#$%&'()*+,/:;<=>?@[\\]^_`{|}~"


@settings(
    max_examples=150,
    deadline=None,
    database=None,  # the suite leaves no files behind in the checkout
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    name=st.text(),
    site_name=st.text(),
    address1=st.text(),
    address2=st.text(),
    city=st.text(),
    separators=st.lists(st.sampled_from(SEPARATOR_CHARS), min_size=4, max_size=4, unique=True),
    version=st.sampled_from(["004010", "005010"]),
)
def test_any_text_in_names_and_addresses_still_parses(
    released, name, site_name, address1, address2, city, separators, version
):
    """Whatever text the customer name, site name and address hold, and whatever the
    partner's separators, the 850 parses back (with both parsers) and its BEG, PO1 and
    CTT carry the PO number, the line count and the quantities unchanged.

    The 850 is built by the same functions the release calls, from the order as
    loaded, with the text set in memory: every example costs no database write, and
    text a database would refuse (NUL) is tried too.
    """
    va, _cw, order_id = released
    order = Order.objects.select_related("customer", "site").get(pk=order_id)
    lines = list(OrderLine.objects.filter(order=order).select_related("item"))
    order.customer.name = name
    order.site.name, order.site.address1, order.site.address2 = site_name, address1, address2
    order.site.city = city
    element, component, segment, repetition = separators
    partner = TradingPartner(
        vendor_id=va.vendor.pk,
        isa_sender_id="CMIPLATFORM",
        isa_receiver_id="ERPRECEIVER",
        gs_sender="CMIPLAT",
        gs_receiver="ERPRCV",
        version=version,
        element_separator=element,
        component_separator=component,
        segment_terminator=segment,
        repetition_separator=repetition,
    )
    body = purchase_order_segments(
        order=order, lines=lines, separators=partner_separators(partner), purpose="00"
    )
    payload = interchange_serialize(
        interchange_build(
            partner=partner,
            set_id="850",
            segments=body,
            isa=123,
            gs=45,
            st_control="0006",
            now=order.released_at,
        )
    )
    tset = x12_check(payload).groups[0].sets[0]
    assert segments(tset, "BEG")[0].elements[2] == order.po_number
    po1 = segments(tset, "PO1")
    assert [int(s.elements[1]) for s in po1] == [line.quantity_ordered for line in lines]
    assert segments(tset, "CTT")[0].elements == [
        str(len(lines)),
        str(sum(line.quantity_ordered for line in lines)),
    ]


def test_document_write_from_the_database_survives_hostile_text(released):
    """The same through the database: names full of separators, line breaks and
    control characters are stored, released and written as a parsable 850."""
    va, cw, order_id = released
    hostile = "Acme*~>^\r\n\t\x07 Ltd \u2028 Ünïcødé 🚚"
    with transaction.atomic():
        Customer.objects.filter(pk=cw.customer.pk).update(name=hostile)
        Site.objects.filter(pk=cw.site.pk).update(name=hostile, address1=hostile[:55])
    order_cancel(scope=vendor_scope(va.vendor), order_id=order_id)
    cancel = Document.objects.get(order_id=order_id, purpose="01")
    # 004010 has no repetition separator, so "^" is data there.
    assert segments(the_set(cancel), "N1", "BY")[0].elements[1] == "Acme ^ Ltd Ünïcødé 🚚"
