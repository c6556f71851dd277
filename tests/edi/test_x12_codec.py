"""The X12 codec: the writer derives a correct envelope, the reader checks one, and
the reader never fails with anything but X12Error. Plain Python, no database."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edi.x12 import (
    FunctionalGroup,
    Interchange,
    Segment,
    Separators,
    TransactionSet,
    X12Error,
    X12ErrorCode,
    interchange_parse,
    interchange_serialize,
    text_clean,
)

# No example database: the suite must not leave files behind in the checkout.
FAST = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

ISA = (
    "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       "
    "*250101*1200*U*00401*000000042*0*P*>~"
)
# Positions: ISA 1, GS 2, ST 3, BEG 4, PO1 5, SE 6, GE 7, IEA 8.
VALID = (
    ISA + "GS*PO*SENDER*RECEIVER*20250101*1200*7*X*004010~"
    "ST*850*0001~BEG*00*SA*PO-1**20250101~PO1*1*5*EA*9.5**VP*SKU>1~SE*4*0001~"
    "GE*1*7~IEA*1*000000042~"
)


def _interchange(
    version: str = "00401", separators: Separators | None = None, body: list[Segment] | None = None
) -> Interchange:
    """Two groups (two 850s, one 997) unless `body` replaces the first set's segments."""
    po_body = body or [
        Segment("BEG", ["00", "SA", "PO-1", "", "20250101"]),
        Segment("N1", ["BY", "Acme Hospital"]),
        Segment("PO1", ["1", "5", "EA", "9.5", "", "VP", "SKU-1", "BP", ["C", "12"]]),
        Segment("CTT", ["1", "5"]),
    ]
    return Interchange(
        sender_qualifier="ZZ",
        sender_id="VENDOR",
        receiver_qualifier="01",
        receiver_id="123456789",
        date="250101",
        time="1200",
        control_number=42,
        version=version,
        usage="T",
        ack_requested="1",
        separators=separators or Separators(),
        groups=[
            FunctionalGroup(
                "PO",
                "VENDOR",
                "ERP",
                "20250101",
                "1200",
                7,
                version + "0",
                sets=[
                    TransactionSet("850", "0001", po_body),
                    TransactionSet("850", "0002", [Segment("BEG", ["00", "SA", "PO-2"])]),
                ],
            ),
            FunctionalGroup(
                "FA",
                "VENDOR",
                "ERP",
                "20250101",
                "1200",
                8,
                version + "0",
                sets=[
                    TransactionSet(
                        "997",
                        "0003",
                        [Segment("AK1", ["PO", "7"]), Segment("AK9", ["A", "1", "1", "1"])],
                    )
                ],
            ),
        ],
    )


def _segments(data: bytes, separators: Separators | None = None) -> list[list[str]]:
    seps = separators or Separators()
    text = data.decode().replace("\n", "")
    return [seg.split(seps.element) for seg in text.split(seps.segment) if seg]


# The writer


def test_round_trip_keeps_every_group_set_segment_and_composite():
    """parse(serialize(x)) == x for two groups and three sets, composites and empties included."""
    ic = _interchange()
    assert interchange_parse(interchange_serialize(ic)) == ic


def test_isa_is_exactly_106_characters_with_fixed_width_elements():
    """ISA is padded to its fixed widths and its terminator is the 106th character."""
    data = interchange_serialize(_interchange()).decode()
    assert data.index("~") == 105
    isa = data[:105].split("*")
    assert [len(e) for e in isa[1:]] == [2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1]
    assert isa[6] == "VENDOR         "
    assert isa[11] == "U"
    assert isa[13] == "000000042"
    assert (isa[14], isa[15], isa[16]) == ("1", "T", ">")


def test_trailer_counts_and_control_numbers_are_derived():
    """SE01 counts ST..SE, GE01 sets, IEA01 groups; trailers echo their header's number."""
    segments = _segments(interchange_serialize(_interchange()))
    tags = [s[0] for s in segments]
    assert tags == [
        "ISA", "GS", "ST", "BEG", "N1", "PO1", "CTT", "SE", "ST", "BEG", "SE", "GE",
        "GS", "ST", "AK1", "AK9", "SE", "GE", "IEA",
    ]  # fmt: skip
    assert segments[7][1:] == ["6", "0001"]
    assert segments[10][1:] == ["3", "0002"]
    assert segments[11][1:] == ["2", "7"]
    assert segments[1][6] == "7"
    assert segments[17][1:] == ["1", "8"]
    assert segments[18][1:] == ["2", "000000042"]
    assert segments[8][1] == "850"


def test_005010_puts_the_repetition_separator_in_isa11():
    """In 00501 ISA11 is the repetition separator and the reader gets it back."""
    seps = Separators(repetition="^")
    ic = _interchange("00501", seps)
    data = interchange_serialize(ic)
    assert data[:106].decode().split("*")[11:13] == ["^", "00501"]
    parsed = interchange_parse(data)
    assert parsed.separators.repetition == "^"
    assert parsed == ic


@pytest.mark.parametrize(
    ("version", "repetition"), [("00501", None), ("00401", "^")], ids=["5010-none", "4010-set"]
)
def test_repetition_separator_must_match_the_version(version, repetition):
    """00501 needs a repetition separator and 00401 cannot have one."""
    with pytest.raises(X12Error) as exc:
        interchange_serialize(_interchange(version, Separators(repetition=repetition)))
    assert exc.value.code == "invalid_separators"


@pytest.mark.parametrize(
    "seps",
    [Separators(element="*", component="*"), Separators(element="A"), Separators(segment="~~")],
    ids=["duplicate", "alphanumeric", "two-chars"],
)
def test_unusable_separators_are_refused(seps):
    with pytest.raises(X12Error) as exc:
        interchange_serialize(_interchange(separators=seps))
    assert exc.value.code == "invalid_separators"


def test_newline_option_puts_each_segment_on_its_own_line():
    """With newline=True every terminator is followed by \\n, and the reader notices."""
    ic = _interchange(separators=Separators(newline=True))
    lines = interchange_serialize(ic).decode().split("\n")
    assert lines[-1] == ""
    assert all(line.endswith("~") and line.count("~") == 1 for line in lines[:-1])
    assert len(lines[0]) == 106
    assert interchange_parse(interchange_serialize(ic)) == ic


@pytest.mark.parametrize(
    ("value", "element"),
    [("A*B", 2), ("A~B", 2), ("A>B", 2), (["C", "1*2"], 9), (["C", "1>2"], 9)],
)
def test_separator_in_data_raises_with_its_position(value, element):
    """A separator in a value is refused, never escaped, and the error says where."""
    elements = ["1", "5", "EA", "9.5", "", "VP", "SKU-1", "BP", ["C", "12"]]
    elements[element - 1] = value
    body = [Segment("BEG", ["00"]), Segment("PO1", elements)]
    with pytest.raises(X12Error) as exc:
        interchange_serialize(_interchange(body=body))
    err = exc.value
    assert (err.code, err.segment_position, err.segment_tag, err.element_position) == (
        "separator_in_data",
        5,
        "PO1",
        element,
    )


def test_repetition_separator_in_data_raises_in_005010():
    body = [Segment("REF", ["ZZ", "A^B"])]
    with pytest.raises(X12Error) as exc:
        interchange_serialize(_interchange("00501", Separators(repetition="^"), body))
    assert exc.value.code == X12ErrorCode.SEPARATOR_IN_DATA


def test_separator_in_an_isa_field_raises():
    ic = _interchange()
    ic.sender_id = "VEN*DOR"
    with pytest.raises(X12Error) as exc:
        interchange_serialize(ic)
    assert (exc.value.code, exc.value.segment_position, exc.value.element_position) == (
        "separator_in_data",
        1,
        6,
    )


@pytest.mark.parametrize("value", ["Acme\r\nHospital", "Acme\x00", "Acme\x85", "Acme\ud800"])
def test_control_or_unencodable_character_in_data_raises(value):
    """Line breaks would be eaten by readers, and a lone surrogate cannot be encoded."""
    with pytest.raises(X12Error) as exc:
        interchange_serialize(_interchange(body=[Segment("N1", ["BY", value])]))
    assert (exc.value.code, exc.value.element_position) == ("invalid_character", 2)


@pytest.mark.parametrize("tag", ["SE", "ST", "GS", "IEA"])
def test_envelope_segments_in_a_set_body_are_refused(tag):
    """The writer owns the envelope: a hand-made trailer would double it."""
    with pytest.raises(X12Error) as exc:
        interchange_serialize(_interchange(body=[Segment(tag, ["1", "0001"])]))
    assert (exc.value.code, exc.value.segment_tag) == ("invalid_segment", tag)


@pytest.mark.parametrize(
    ("field", "value", "element"),
    [("sender_id", "X" * 16, 6), ("date", "2025-01-01", 9), ("control_number", 0, 13)],
)
def test_isa_values_that_do_not_fit_raise(field, value, element):
    ic = _interchange()
    setattr(ic, field, value)
    with pytest.raises(X12Error) as exc:
        interchange_serialize(ic)
    assert (exc.value.code, exc.value.element_position) == ("invalid_value", element)


def test_text_clean_replaces_separators_and_controls_and_collapses_blanks():
    seps = Separators(repetition="^")
    assert (
        text_clean("  Acme*Hospital~ Ward>3^\r\nBed\t\x00 7  ", seps)
        == "Acme Hospital Ward 3 Bed 7"
    )
    assert text_clean("plain", seps) == "plain"
    assert text_clean("*~>", seps) == ""
    assert text_clean("lone\ud800surrogate\x85", seps) == "lone surrogate"


# The reader: tolerance


def test_hand_made_document_parses():
    ic = interchange_parse(VALID)
    assert (ic.sender_id, ic.receiver_id, ic.control_number) == ("SENDER", "RECEIVER", 42)
    (group,) = ic.groups
    assert (group.functional_id, group.control_number, group.version) == ("PO", 7, "004010")
    (tset,) = group.sets
    assert tset.segments[1] == Segment("PO1", ["1", "5", "EA", "9.5", "", "VP", ["SKU", "1"]])


def test_reader_tolerates_bom_leading_blanks_crlf_and_a_last_segment_without_terminator():
    data = "\ufeff \r\n" + VALID.replace("~", "~\r\n").rstrip("\r\n").removesuffix("~")
    parsed = interchange_parse(data.encode())
    assert parsed.separators.newline
    parsed.separators.newline = False
    assert parsed == interchange_parse(VALID)


def test_reader_takes_separators_from_the_isa():
    """Separators come from ISA: element from the 4th character, component from ISA16,
    terminator from the character after it (here a line feed)."""
    data = VALID.replace("*", "|").replace(">", "\\").replace("~", "\n")
    ic = interchange_parse(data)
    assert (ic.separators.element, ic.separators.component, ic.separators.segment) == (
        "|",
        "\\",
        "\n",
    )
    assert ic.groups[0].sets[0].segments[1].elements[-1] == ["SKU", "1"]


def test_reader_falls_back_to_latin1_for_bytes_that_are_not_utf8():
    data = VALID.replace("PO-1", "PO-\xe9").encode("latin-1")
    assert interchange_parse(data).groups[0].sets[0].segments[0].elements[2] == "PO-\xe9"


# The reader: every envelope error has its code and its place


@pytest.mark.parametrize(
    ("data", "code"),
    [("", "not_x12"), ("hello", "not_x12"), ("GS*PO~", "not_x12"), ("ISA*00*", "isa_invalid")],
)
def test_what_is_not_an_interchange_is_refused(data, code):
    with pytest.raises(X12Error) as exc:
        interchange_parse(data)
    assert exc.value.code == code


@pytest.mark.parametrize(
    ("old", "new", "code", "position", "tag", "element"),
    [
        ("SENDER         ", "SENDER", "isa_invalid", 1, "ISA", 6),
        ("*000000042*", "*00000004X*", "isa_invalid", 1, "ISA", 13),
        (">~GS", ">0GS", "isa_invalid", 1, "ISA", None),
        ("IEA*1*000000042", "IEA*1*000000043", "control_number_mismatch", 8, "IEA", 2),
        ("GE*1*7", "GE*1*8", "control_number_mismatch", 7, "GE", 2),
        ("SE*4*0001", "SE*4*0002", "control_number_mismatch", 6, "SE", 2),
        ("SE*4*0001", "SE*5*0001", "segment_count_mismatch", 6, "SE", 1),
        ("GE*1*7", "GE*2*7", "set_count_mismatch", 7, "GE", 1),
        ("IEA*1*", "IEA*2*", "group_count_mismatch", 8, "IEA", 1),
        ("IEA*1*000000042~", "IEA*1*000000042~BEG*00~", "unexpected_segment", 9, "BEG", None),
        ("~GS*", "~REF*ZZ*1~GS*", "unexpected_segment", 2, "REF", None),
        ("~GE*", "~N1*BY*X~GE*", "unexpected_segment", 7, "N1", None),
        ("IEA*1*000000042~", "", "missing_segment", 8, "IEA", None),
        ("SE*4*0001~", "", "missing_segment", 6, "SE", None),
        ("GE*1*7~", "", "missing_segment", 7, "GE", None),
        ("IEA*1*000000042~", ISA, "missing_segment", 8, "IEA", None),
        ("ST*850*0001", "ST**0001", "missing_element", 3, "ST", 1),
        ("SE*4*", "SE*x*", "invalid_value", 6, "SE", 1),
        ("BEG*", "b@g*", "invalid_segment", 4, "b@g", None),
    ],
)
def test_envelope_errors_are_reported_with_code_and_position(
    old, new, code, position, tag, element
):
    assert old in VALID
    with pytest.raises(X12Error) as exc:
        interchange_parse(VALID.replace(old, new, 1))
    err = exc.value
    assert (err.code, err.segment_position, err.segment_tag, err.element_position) == (
        code,
        position,
        tag,
        element,
    )
    assert code in str(err)


# Properties

SEPARATOR_SETS = [
    Separators(),
    Separators(element="|", component="\\", segment="\n"),
    Separators(element="^", component=":", segment="'", newline=True),
    Separators(repetition="^"),
]
CODES = {code.value for code in X12ErrorCode}


@FAST
@given(
    seps=st.sampled_from(SEPARATOR_SETS),
    values=st.lists(st.text(), min_size=1, max_size=6),
    component=st.tuples(st.text(), st.text()),
)
def test_any_cleaned_text_round_trips(seps, values, component):
    """Whatever text a caller has, text_clean makes it safe and the reader gives it back."""
    version = "00501" if seps.repetition else "00401"
    cleaned = [text_clean(value, seps) for value in values]
    composite = [text_clean(part, seps) for part in component]
    ic = _interchange(version, seps, body=[Segment("REF", [*cleaned, composite, "END"])])
    assert interchange_parse(interchange_serialize(ic)) == ic


def _assert_only_x12_error(data: bytes | str) -> None:
    try:
        result = interchange_parse(data)
    except X12Error as err:
        assert err.code in CODES
        assert err.segment_position is None or err.segment_position >= 1
    else:
        assert isinstance(result, Interchange)


@FAST
@given(st.binary(max_size=400))
def test_arbitrary_bytes_raise_only_x12_error(data):
    _assert_only_x12_error(data)


@FAST
@given(st.text(max_size=400))
def test_arbitrary_text_raises_only_x12_error(data):
    _assert_only_x12_error(data)


@FAST
@given(st.text(max_size=300))
def test_arbitrary_text_after_a_valid_isa_raises_only_x12_error(tail):
    """Reaches the envelope code, which random text alone hardly ever does."""
    _assert_only_x12_error(ISA + tail)
    _assert_only_x12_error("ISA" + tail)


@FAST
@given(
    st.lists(
        st.tuples(
            st.integers(0, len(VALID)),
            st.integers(0, 4),
            st.text(alphabet="*~>^:|\r\n 0123456789ISAGESTEXZ\x00\xe9", max_size=4),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_mutated_valid_document_raises_only_x12_error(edits):
    """Deleting, inserting and replacing characters anywhere never escapes as another error."""
    data = VALID
    for start, length, replacement in edits:
        data = data[:start] + replacement + data[start + length :]
    _assert_only_x12_error(data)
    _assert_only_x12_error(data.encode("utf-8"))


# --- one check per document ------------------------------------------------------------------

_VALUE = st.one_of(
    st.text(max_size=6),
    st.lists(st.text(max_size=3), min_size=1, max_size=3),
    st.sampled_from([None, 7, ["A", 3]]),
)


def _outcome(body: list[Segment]) -> tuple:
    try:
        return ("ok", interchange_serialize(_interchange(body=body)))
    except X12Error as exc:
        return (
            "error",
            exc.code,
            exc.message,
            exc.segment_position,
            exc.segment_tag,
            exc.element_position,
        )


@FAST
@given(st.lists(st.lists(_VALUE, max_size=5), min_size=1, max_size=4))
def test_one_check_per_document_judges_exactly_as_the_element_by_element_check(bodies):
    """The writer checks a document's data in one pass and falls back to the check of
    each element only to name a failure: for any values (text with separators and
    controls, composites, non-text), the bytes or the error (code, message, segment,
    element) are those of the element-by-element check."""
    from unittest import mock

    from edi.x12 import writer

    body = [Segment("REF", values) for values in bodies]
    with mock.patch.object(writer, "_all_clean", return_value=False):
        slow = _outcome(body)
    assert _outcome(body) == slow
