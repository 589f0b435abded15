"""Where pyx12's reader silently loses data, the scrubber must not.

Each case builds a small 837P (three claims, one drug line each), damages it
the way a real file gets damaged, and checks that every claim is still seen
by the walker, that the damage is reported, and that the output keeps every
byte that was not deliberately fixed.  Where pyx12 is installed, the test
also shows what pyx12's X12ContextReader returns for the same input."""
from __future__ import annotations

import pytest

from scrubber import scrub
from scrubber.claims import iter_claims
from scrubber.x12.tokenizer import join, tokenize

from .pyx12_oracle import OracleUnavailable, pyx12_service_line_tuples
from .test_tokenizer import isa

HEAD = ("GS*HC*S*R*20261101*1200*{gs}*X*005010X222A1~ST*837*0001*005010X222A1~BHT*0019*00*B1*20261101*1200*CH~"
        "NM1*41*2*BILLING*****46*S1~PER*IC*OFFICE*TE*5555551212~NM1*40*2*CH*****46*R1~"
        "HL*1**20*1~NM1*85*2*CLINIC*****XX*1234567893~N3*1 MAIN ST~N4*TOWN*NY*123451234~REF*EI*123456789~")
CLAIM = ("HL*{hl}*1*22*0~SBR*P*18*G1******MB~NM1*IL*1*DOE*JANE****MI*M{n}~N3*1 ELM ST~N4*TOWN*NY*12345~"
         "DMG*D8*19600101*F~NM1*PR*2*MEDICARE*****PI*MCR~CLM*C{n}*4000***11:B:1*Y*A*Y*Y~HI*ABK:C8440~LX*1~"
         "SV1*HC:J9307:JZ*4000*UN*40***1~DTP*472*D8*20261101~LIN**N4*72893000501~CTP****2*ML~")


def interchange(claims=(1, 2, 3), control=1, el="*", term="~", nl="\n") -> bytes:
    body = HEAD.format(gs=control) + "".join(CLAIM.format(hl=i + 1, n=n) for i, n in enumerate(claims))
    segs = [s for s in body.split("~") if s]
    count = sum(1 for s in segs if not s.startswith("GS")) + 1
    segs += [f"SE*{count}*0001", "GE*1*%d" % control, "IEA*1*%09d" % control]
    text = "".join(s.replace("*", el) + term + nl for s in segs)
    return isa(el, "^", ":", term, "%09d" % control) + nl.encode() + text.encode()


def claim_ids(data: bytes) -> list[str]:
    return [c.claim_id.text for c in iter_claims(tokenize(data))]


def pyx12_claim_ids(data: bytes):
    try:
        return sorted({t[0] for t in pyx12_service_line_tuples(data, strict=False)})
    except OracleUnavailable:
        return None


def test_baseline_both_read_three_claims():
    data = interchange()
    assert claim_ids(data) == ["C1", "C2", "C3"]
    r = scrub(data)
    assert r.corrected == data and r.findings == []
    theirs = pyx12_claim_ids(data)
    assert theirs in (None, ["C1", "C2", "C3"])


def test_empty_segment_loses_nothing():
    data = interchange().replace(b"CTP****2*ML~\nHL*3", b"CTP****2*ML~\n~\nHL*3", 1)
    assert claim_ids(data) == ["C1", "C2", "C3"]
    r = scrub(data)
    assert r.corrected == data  # the empty segment is kept as received, and not counted in SE01
    assert [f.code for f in r.findings] == ["ENV007"]
    theirs = pyx12_claim_ids(data)
    if theirs is not None:
        assert theirs != ["C1", "C2", "C3"]  # pyx12 stops at the empty segment


def test_second_interchange_with_other_delimiters_is_read():
    first = interchange((1, 2), control=1)
    second = interchange((3,), control=2, el="|", term="\n", nl="")
    data = first + second
    assert claim_ids(data) == ["C1", "C2", "C3"]
    r = scrub(data)
    assert r.corrected == data and not [f for f in r.findings if f.severity == "error"]
    theirs = pyx12_claim_ids(data)
    if theirs is not None:
        assert theirs == ["C1", "C2"]  # pyx12 keeps the first ISA's delimiters and drops the rest


def test_truncated_file_keeps_every_byte_and_says_where():
    whole = interchange()
    cut = whole.index(b"LIN**N4*72893000501~\nCTP", whole.index(b"CLM*C3")) + 10
    data = whole[:cut]
    assert claim_ids(data) == ["C1", "C2", "C3"]
    r = scrub(data)
    assert r.corrected == data
    trunc = [f for f in r.findings if f.code == "ENV012"]
    assert trunc and all(f.severity == "error" for f in trunc)
    assert any("ends inside a segment" in f.message for f in trunc)
    theirs = pyx12_claim_ids(data)
    if theirs is not None:
        assert "C3" not in theirs  # pyx12 drops the open claim


def test_missing_iea_is_an_error_not_silence():
    data = interchange().replace(b"IEA*1*000000001~\n", b"")
    assert claim_ids(data) == ["C1", "C2", "C3"]
    r = scrub(data)
    assert r.corrected == data
    assert [f.code for f in r.findings] == ["ENV012"]
    assert "no IEA" in r.findings[0].message


def test_join_of_tokens_is_the_input_for_each_case():
    base = interchange()
    cases = [base.replace(b"HL*3", b"~HL*3"), base[:-25], base.replace(b"IEA*1*000000001~\n", b""),
             base + interchange((4,), control=2, el="|", term="\n", nl="")]
    for data in cases:
        assert join(tokenize(data)) == data


@pytest.mark.parametrize("n", [1, 50])
def test_many_claims_in_one_transaction_stream(n):
    data = interchange(tuple(range(1, n + 1)))
    assert claim_ids(data) == [f"C{i}" for i in range(1, n + 1)]
