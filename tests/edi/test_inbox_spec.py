"""The table checker alone: structure, loops and element rules, with the AK3/AK4
codes a 997 reports them by. No database."""

from __future__ import annotations

from edi.inbound import po_ack855, ship_notice856
from edi.inbound.spec import set_check
from edi.x12 import Segment


def _check(segments: list[Segment], spec=po_ack855.SPEC, version: str = "004010"):
    return [
        (
            e.code,
            e.segment,
            e.segment_position,
            e.element_position,
            e.segment_error,
            e.element_error,
            e.fatal,
        )
        for e in set_check(spec, segments, version)
    ]


BAK = Segment("BAK", ["00", "AC", "PO1", "20251122"])
PO1 = Segment("PO1", ["1", "5", "EA", "1.5", "", "VP", "SKU"])
ACK = Segment("ACK", ["IA", "5", "EA"])


def test_a_sound_set_has_no_errors():
    assert _check([BAK, PO1, ACK, PO1, ACK, Segment("CTT", ["2"])]) == []


def test_a_missing_required_segment_is_reported_where_it_was_expected():
    assert _check([PO1, ACK]) == [("missing_segment", "BAK", 2, None, "3", None, True)]


def test_a_segment_out_of_order_is_code_7():
    errors = _check([Segment("DTM", ["017", "20251201"]), BAK])
    assert ("segment_out_of_order", "BAK", 3, None, "7", None, True) in errors


def test_a_segment_over_its_maximum_use_is_code_5():
    assert _check([BAK, BAK]) == [("segment_over_max", "BAK", 3, None, "5", None, True)]


def test_a_loop_over_its_maximum_is_code_4():
    ctt = Segment("CTT", ["1"])
    assert _check([BAK, ctt, ctt]) == [("loop_over_max", "CTT", 4, None, "4", None, True)]


def test_a_segment_the_set_does_not_use_is_a_note():
    assert _check([BAK, Segment("MSG", ["hello"])]) == [
        ("unexpected_segment", "MSG", 3, None, "2", None, False)
    ]


def test_element_rules():
    segments = [
        Segment("BAK", ["00", "AC", "P" * 23, "20250230", "", "", "", "", "", "", "", "extra"]),
        Segment("PO1", ["1", "5x", "EA", "-1.50", "", "VP"]),
        Segment("ACK", ["IA", "5", "EA", "068", "20251201"]),
        Segment("DTM", ["017", "20251201", "2561"]),
    ]
    errors = {(e[1], e[3]): (e[0], e[5]) for e in _check(segments)}
    assert errors[("BAK", 3)] == ("too_long", "5")
    assert errors[("BAK", 4)] == ("invalid_date", "8")
    assert errors[("BAK", 12)] == ("too_many_elements", "3")
    assert errors[("PO1", 2)] == ("invalid_character", "6")
    assert errors[("PO1", 7)] == ("conditional_element_missing", "2")
    assert ("PO1", 4) not in errors  # sign and decimal point do not count toward length
    assert errors[("DTM", 3)] == ("invalid_time", "9")


def test_a_composite_where_a_simple_element_belongs_is_an_invalid_character():
    errors = _check([Segment("BAK", ["00", ["A", "C"], "PO", "20251122"])])
    assert errors == [("invalid_character", "BAK", 2, 2, "8", "6", True)]


def test_an_empty_required_element_is_code_1():
    errors = _check([Segment("BAK", ["00", "", "PO", "20251122"])])
    assert errors == [("missing_element", "BAK", 2, 2, "8", "1", True)]


def test_005010_widens_ref02():
    ref = Segment("REF", ["VN", "X" * 45])
    assert _check([BAK, ref]) == [("too_long", "REF", 3, 2, "8", "5", True)]
    assert _check([BAK, ref], version="005010") == []


def test_hl_loops_repeat_and_keep_their_segments():
    segments = [
        Segment("BSN", ["00", "S1", "20251123", "1015"]),
        Segment("HL", ["1", "", "S"]),
        Segment("TD5", ["B", "2", "UPSN"]),
        Segment("HL", ["2", "1", "O"]),
        Segment("PRF", ["PO1"]),
        Segment("HL", ["3", "2", "I"]),
        Segment("LIN", ["1", "VP", "SKU"]),
        Segment("SN1", ["", "5", "EA"]),
        Segment("HL", ["4", "2", "X"]),
    ]
    assert _check(segments, ship_notice856.SPEC) == [("invalid_code", "HL", 10, 3, "8", "7", True)]


def test_an_856_without_hl_misses_its_required_loop():
    errors = _check([Segment("BSN", ["00", "S1", "20251123", "1015"])], ship_notice856.SPEC)
    assert errors == [("missing_segment", "HL", 3, None, "3", None, True)]
