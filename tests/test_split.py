"""--reject-file: claims with errors left go to a second interchange; both are valid."""
from __future__ import annotations

import io

import pytest

from scrubber.claims import iter_claims
from scrubber.pipeline import Scrubber
from scrubber.x12.tokenizer import tokenize

from .pyx12_oracle import OracleUnavailable, pyx12_validate
from .test_tokenizer import isa

HEAD = ("GS*HC*SENDER*RECEIVER*20261101*1200*7*X*005010X222A1~ST*837*0042*005010X222A1~BHT*0019*00*B1*20261101*1200*CH~"
        "NM1*41*2*BILLING*****46*S1~PER*IC*OFFICE*TE*5555551212~NM1*40*2*CLEARINGHOUSE*****46*R1~"
        "HL*1**20*1~NM1*85*2*CLINIC*****XX*1234567893~N3*1 MAIN ST~N4*TOWN*NY*123451234~REF*EI*123456789~")
SUBSCRIBER = ("HL*{hl}*1*22*{child}~SBR*P*{rel}*G1******MB~NM1*IL*1*DOE*JANE****MI*M{hl}~N3*1 ELM ST~"
              "N4*TOWN*NY*12345~DMG*D8*19600101*F~NM1*PR*2*MEDICARE*****PI*MCR~")
PATIENT = "HL*{hl}*{parent}*23*0~PAT*19~NM1*QC*1*DOE*KID~N3*1 ELM ST~N4*TOWN*NY*12345~DMG*D8*20100101*M~"
CLAIM = ("CLM*{cid}*4000***11:B:1*Y*A*Y*Y~HI*ABK:C8440~LX*1~SV1*HC:J9307:JZ*4000*UN*40***1~"
         "DTP*472*D8*20261101~LIN**N4*{ndc}~CTP****2*ML~")
GOOD, BAD = "72893000501", "00173089601"  # a belantamab NDC on J9307: NDC005, not fixable


def build() -> bytes:
    body = HEAD
    body += SUBSCRIBER.format(hl=2, child=0, rel=18) + CLAIM.format(cid="A1", ndc=GOOD) + CLAIM.format(cid="A2", ndc=BAD)
    body += SUBSCRIBER.format(hl=3, child=1, rel="") + PATIENT.format(hl=4, parent=3) + CLAIM.format(cid="B1", ndc=BAD)
    body += SUBSCRIBER.format(hl=5, child=0, rel=18) + CLAIM.format(cid="C1", ndc=GOOD)
    segs = [s for s in body.split("~") if s]
    n = sum(1 for s in segs if not s.startswith("GS")) + 1
    segs += [f"SE*{n}*0042", "GE*1*7", "IEA*1*000000009"]
    return isa(control="000000009") + b"\n" + "".join(s + "~\n" for s in segs).encode()


def split(data: bytes):
    out, rej = io.BytesIO(), io.BytesIO()
    findings = []
    Scrubber().scrub_stream(io.BytesIO(data), out, findings.append, rejects=rej)
    return out.getvalue(), rej.getvalue(), findings


def hl_rows(data: bytes):
    return [tuple(s.elements[1:5]) for s in tokenize(data) if s.tag == "HL"]


def trailer(data: bytes, tag: str) -> list[str]:
    return [s.content.decode() for s in tokenize(data) if s.tag == tag]


def test_claims_are_routed_by_remaining_errors():
    clean, rejects, findings = split(build())
    assert [c.claim_id.text for c in iter_claims(tokenize(clean))] == ["A1", "C1"]
    assert [c.claim_id.text for c in iter_claims(tokenize(rejects))] == ["A2", "B1"]
    assert {f.claim_id for f in findings if f.code == "NDC005"} == {"A2", "B1"}


def test_hierarchy_rebuilt_and_trailers_recounted():
    clean, rejects, _ = split(build())
    assert hl_rows(clean) == [(b"1", b"", b"20", b"1"), (b"2", b"1", b"22", b"0"), (b"3", b"1", b"22", b"0")]
    assert hl_rows(rejects) == [(b"1", b"", b"20", b"1"), (b"2", b"1", b"22", b"0"), (b"3", b"1", b"22", b"1"),
                                (b"4", b"3", b"23", b"0")]
    for data in (clean, rejects):
        segs = list(tokenize(data))
        st = next(i for i, s in enumerate(segs) if s.tag == "ST")
        se = next(i for i, s in enumerate(segs) if s.tag == "SE")
        assert segs[se].elements[1] == str(se - st + 1).encode()
        assert trailer(data, "ST")[0].startswith("ST*837*0042*")  # control numbers kept
        assert trailer(data, "SE")[0].endswith("*0042") and trailer(data, "GE") == ["GE*1*7"]
        assert trailer(data, "IEA") == ["IEA*1*000000009"]


def test_without_errors_the_reject_file_is_empty_and_output_is_the_input():
    data = build().replace(BAD.encode(), GOOD.encode())
    clean, rejects, _ = split(data)
    assert clean == data and rejects == b""


@pytest.mark.parametrize("which", [0, 1])
def test_both_outputs_pass_pyx12(which):
    data = split(build())[which]
    try:
        ok, errors, _ = pyx12_validate(data)
    except OracleUnavailable as exc:
        pytest.skip(str(exc))
    assert ok, errors
