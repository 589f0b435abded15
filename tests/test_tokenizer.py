"""The x12 layer: lossless tokenizing, delimiters from every ISA, streaming."""
from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scrubber.x12.tokenizer import Delimiters, Tokenizer, X12Error, join, read_isa_delimiters, tokenize

from .conftest import corpus_params


def isa(el="*", rep="^", comp=":", term="~", control="000000001") -> bytes:
    fields = ["00", " " * 10, "00", " " * 10, "ZZ", "SENDER".ljust(15), "ZZ", "RECEIVER".ljust(15),
              "261101", "1200", rep, "00501", control, "0", "P", comp]
    return ("ISA" + el + el.join(fields) + term).encode("latin-1")


def interchange(el="*", rep="^", comp=":", term="~", nl="\n", control="000000001") -> bytes:
    body = [f"GS{el}HC{el}S{el}R{el}20261101{el}1200{el}1{el}X{el}005010X222A1",
            f"ST{el}837{el}0001{el}005010X222A1", f"BHT{el}0019{el}00{el}1{el}20261101{el}1200{el}CH",
            f"SE{el}3{el}0001", f"GE{el}1{el}1", f"IEA{el}1{el}{control}"]
    return isa(el, rep, comp, term, control) + nl.encode() + b"".join(
        (s + term + nl).encode("latin-1") for s in body)


def test_isa_delimiters_read_by_counting_separators():
    d, term_at, fixed = read_isa_delimiters(isa("|", "!", ">", "\n"))
    assert d == Delimiters(b"|", b">", b"!", b"\n")
    assert fixed and term_at == 105


def test_isa_of_wrong_width_is_still_read():
    data = isa().replace(b"SENDER         ", b"SENDER")
    d, _, fixed = read_isa_delimiters(data)
    assert d.element == b"*" and d.segment == b"~" and not fixed


def test_segments_keep_their_bytes_and_positions():
    data = interchange(nl="\r\n")
    segs = list(tokenize(data))
    assert [s.tag for s in segs] == ["ISA", "GS", "ST", "BHT", "SE", "GE", "IEA"]
    assert [s.index for s in segs] == list(range(1, 8))
    assert segs[2].trailer == b"\r\n"
    assert data[segs[3].offset:segs[3].offset + len(segs[3].content)] == segs[3].content
    assert segs[2].element(3) == "005010X222A1"
    assert join(segs) == data


def test_two_interchanges_with_different_delimiters():
    data = interchange() + interchange("|", "!", ">", "\n", "", control="000000002")
    segs = list(tokenize(data))
    assert [s.tag for s in segs] == ["ISA", "GS", "ST", "BHT", "SE", "GE", "IEA"] * 2
    assert segs[7].delims.element == b"|" and segs[8].delims.segment == b"\n"
    assert segs[8].element(8) == "005010X222A1"
    assert join(segs) == data


def test_bom_lead_and_trailing_whitespace_are_kept():
    data = b"\xef\xbb\xbf\n" + interchange() + b"\n\n  "
    segs = list(tokenize(data))
    assert segs[0].lead == b"\xef\xbb\xbf\n" and segs[0].tag == "ISA"
    assert join(segs) == data


def test_empty_segment_is_a_token_not_a_loss():
    data = interchange().replace(b"BHT", b"~BHT", 1)
    segs = list(tokenize(data))
    assert any(s.is_empty for s in segs)
    assert join(segs) == data


def test_truncated_file_keeps_the_partial_segment():
    data = interchange()[:-9]
    tok = Tokenizer(io.BytesIO(data))
    segs = list(tok)
    assert join(segs) == data
    assert any(code == "ENV012" for code, *_ in tok.notes)


@pytest.mark.parametrize("data, words", [
    (b"", "empty"),
    (b"\x00\x01\x02binary\x00" * 10, "binary"),
    ("ISA*00".encode("utf-16"), "UTF-16"),
    (b"GS*HC*A*B~ST*837~", "no ISA"),
    (b"hello world", "no ISA"),
])
def test_not_x12_raises_a_clear_error(data, words):
    with pytest.raises(X12Error) as exc:
        list(tokenize(data))
    assert words.lower() in exc.value.message.lower()


def test_chunk_boundaries_do_not_matter():
    data = interchange(nl="\r\n") + interchange("|", "!", ">", "~", "\n", "000000002")
    whole = [(s.offset, s.content) for s in tokenize(data)]
    for size in (1, 2, 3, 5, 17, 106, 107):
        segs = list(Tokenizer(io.BytesIO(data), chunk_size=size))
        assert [(s.offset, s.content) for s in segs] == whole
        assert join(segs) == data


@pytest.mark.parametrize("path", corpus_params())
def test_corpus_round_trip(path):
    data = path.read_bytes()
    try:
        segs = list(Tokenizer(io.BytesIO(data), chunk_size=64))
    except X12Error:
        pytest.skip("not X12 (no ISA): covered by the bad-input tests")
    assert join(segs) == data


# -- property: tokenize then join is the identity ------------------------------
_DELIMS = st.sampled_from([
    ("*", "^", ":", "~"), ("|", "!", ">", "~"), ("*", "^", ":", "\n"), ("~", "^", "^", "_"),
    ("*", "U", ">", "\x1d"), ("\x1f", "^", "\x1e", "\x1c"),
])
_TEXT = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=255), max_size=30)


@st.composite
def x12_files(draw):
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        el, rep, comp, term = draw(_DELIMS)
        nl = draw(st.sampled_from(["", "\n", "\r\n", "\r", "\n  "]))
        parts.append(isa(el, rep, comp, term).decode("latin-1") + nl)
        for _ in range(draw(st.integers(0, 8))):
            tag = draw(st.sampled_from(["GS", "ST", "CLM", "SV1", "LIN", "CTP", "", "X"]))
            elems = draw(st.lists(_TEXT, max_size=5))
            parts.append(el.join([tag, *elems]) + term + draw(st.sampled_from(["", "\n", "\r\n", " "])))
    data = "".join(parts).encode("latin-1")
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return b"\xef\xbb\xbf" * draw(st.integers(0, 1)) + data


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(x12_files(), st.sampled_from([1, 7, 64, 1 << 20]))
def test_property_tokenize_join_is_identity(data, chunk):
    try:
        segs = list(Tokenizer(io.BytesIO(data), chunk_size=chunk))
    except X12Error:
        return  # truncated before a full ISA: refused, never mangled
    assert join(segs) == data
    assert all(s.index == 0 or s.index == i for i, s in enumerate((s for s in segs if s.index), 1))
