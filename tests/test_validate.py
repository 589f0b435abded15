"""Implementation-guide validation with pyx12 (scrubber.validate)."""
from __future__ import annotations

import concurrent.futures
import io
import logging
import multiprocessing
import os
import re

import pytest

from scrubber.findings import ERROR, FIELD_NAMES, WARNING
from scrubber.validate import CHECKS, REDACTED_SEGMENTS, ack_path_for, validate, validate_file
from scrubber.validate import runner
from scrubber.validate.locate import redact
from scrubber.x12.tokenizer import tokenize

ISA = ("ISA*00*          *00*          *ZZ*SUBMITTERID    *ZZ*RECEIVERID     *240101*1200*^*00501*{icn}*0*T*:~")

# Patient data in the test file: none of it may appear in a finding.
SECRETS = ["DOE", "JOHN", "MEM00000000", "1 ELM ST", "SOMEWHERE", "19600101"]


def claim(n: int, *, last: str = "DOE", unit: str = "ML") -> list[str]:
    return [
        f"HL*{n + 1}*1*22*0~",
        "SBR*P*18*GRP001******CI~",
        f"NM1*IL*1*{last}*JOHN****MI*MEM00000000{n}~",
        "N3*1 ELM ST~",
        "N4*SOMEWHERE*NY*12345~",
        "DMG*D8*19600101*M~",
        "NM1*PR*2*ACME HEALTH PLAN*****PI*PAYER01~",
        f"CLM*PCN{n:09d}*1500***11:B:1*Y*A*Y*Y~",
        "HI*ABK:C8330~",
        "LX*1~",
        "SV1*HC:J9307*1500*UN*10***1~",
        "DTP*472*D8*20240101~",
        "LIN**N4*00069015001~",
        f"CTP****{n}*{unit}~",
    ]


def build_837p(claims: int = 2, *, icn: str = "000000001", version: str = "005010X222A1", fic: str = "HC",
               st01: str = "837", last: str = "DOE", bad_unit_claim: int = 0, nl: str = "\n") -> bytes:
    """A small 837P that pyx12 validates clean (the shape of the shared corpus'
    pyx12-clean-837p.x12)."""
    body = [
        f"ST*{st01}*0001*{version}~",
        "BHT*0019*00*BATCH00001*20240101*1200*CH~",
        "NM1*41*2*ACME BILLING*****46*SUBMIT01~",
        "PER*IC*BILLING OFFICE*TE*5555551212~",
        "NM1*40*2*ACME CLEARINGHOUSE*****46*RECV01~",
        "HL*1**20*1~",
        "NM1*85*2*ONCOLOGY CLINIC*****XX*1234567893~",
        "N3*123 MAIN ST~",
        "N4*ANYTOWN*NY*123451234~",
        "REF*EI*123456789~",
    ]
    for n in range(1, claims + 1):
        body += claim(n, last=last, unit="XX" if n == bad_unit_claim else "ML")
    body.append(f"SE*{len(body) + 1}*0001~")
    segs = [ISA.format(icn=icn), f"GS*{fic}*SUBMITTERID*RECEIVERID*20240101*1200*1*X*{version}~", *body,
            "GE*1*1~", f"IEA*1*{icn}~"]
    return nl.join(segs).encode("latin-1") + nl.encode()


def index_of(data: bytes, content: bytes, nth: int = 1) -> int:
    """Our segment_index of the nth segment with this content."""
    hits = [s.index for s in tokenize(data) if s.content == content]
    return hits[nth - 1]


def ig(findings):
    return [f for f in findings if f.code.startswith("IG")]


# -- the code table -------------------------------------------------------------------
def test_code_table():
    assert list(CHECKS) == ["IG001", "IG002", "IG003", "IG004", "IG005"]
    for code, check in CHECKS.items():
        assert check.code == code and check.name and check.summary and not check.fixable
        assert check.severity in (ERROR, WARNING)
    assert CHECKS["IG004"].severity == WARNING


# -- clean input ------------------------------------------------------------------------
def test_clean_file_has_no_finding_and_an_accepting_999():
    v = validate(build_837p())
    assert v.findings == []
    assert v.ok and v.validated
    assert v.ack_kind == "999"
    text = v.ack.decode("latin-1")
    assert text.startswith("ISA*")
    assert re.search(r"IK5\*A~", text) and re.search(r"AK9\*A\*1\*1\*1~", text)
    assert "AK2*837*0001*005010X222A1~" in text


# -- an element error -------------------------------------------------------------------
def test_bad_ctp05_is_found_at_the_ctp_segment():
    data = build_837p(3, bad_unit_claim=2)
    v = validate(data, file="in.837")
    assert not v.ok
    [f] = v.findings
    assert f.code == "IG003" and f.severity == ERROR
    assert f.segment == "CTP" and f.element == "CTP05-1"
    assert f.segment_index == index_of(data, b"CTP****2*XX")
    assert f.claim_id == "PCN000000002" and f.claim_index == 2 and f.line_number == "1"
    assert f.interchange == "000000001" and f.transaction == "0001" and f.file == "in.837"
    assert f.original == "XX"
    assert "pyx12 element error 7" in f.message and "CTP05" in f.message
    assert set(f.to_dict()) == set(FIELD_NAMES)
    text = v.ack.decode()
    assert "IK3*CTP*" in text and "IK4*5:1*355*7*XX~" in text and "IK5*R*" in text


def test_segment_index_counts_every_segment_of_the_file():
    """CRLF line breaks, indentation, an empty segment and a BOM before the
    error: pyx12 is not told about them, our numbering still counts."""
    data = build_837p(2, bad_unit_claim=2, nl="\r\n  ")
    data = data.replace(b"HL*3*1*22*0~", b"~HL*3*1*22*0~")  # an empty segment before claim 2
    for variant in (data, b"\xef\xbb\xbf" + data, b"\r\n\r\n" + data):
        [f] = ig(validate(variant).findings)
        assert f.segment_index == index_of(variant, b"CTP****2*XX")
        assert f.claim_id == "PCN000000002"


def test_bom_does_not_stop_pyx12():
    data = build_837p(2, bad_unit_claim=1)
    plain, bom = validate(data), validate(b"\xef\xbb\xbf" + data)
    assert [f.to_dict() for f in bom.findings] == [f.to_dict() for f in plain.findings]
    assert bom.ack_kind == "999" and bom.validated
    assert validate(b"\xef\xbb\xbf" + build_837p()).findings == []


def test_envelope_errors():
    data = build_837p().replace(b"\nSE*", b"\nSE*99", 1)
    [f] = validate(data).findings
    assert f.code == "IG001" and f.segment == "SE" and f.segment_index == index_of(data, b"SE*9939*0001")
    assert "pyx12 transaction error 4" in f.message and f.transaction == "0001"
    bad_date = build_837p().replace(b"*240101*1200*^", b"*241301*1200*^")
    [f] = validate(bad_date).findings
    assert (f.code, f.segment, f.segment_index, f.element, f.original) == ("IG001", "ISA", 1, "ISA09", "241301")


def test_missing_segment_is_reported_where_pyx12_notices_it():
    data = build_837p().replace(b"N3*123 MAIN ST~\n", b"")
    found = validate(data).findings
    missing = [f for f in found if f.code == "IG002"]
    assert len(missing) == 1 and "(N3) missing" in missing[0].message
    assert missing[0].segment_index == index_of(data, b"N4*ANYTOWN*NY*123451234")


# -- no map, unreadable, failures ---------------------------------------------------
@pytest.mark.parametrize("kind", ["837P-A2", "270"])
def test_a_transaction_without_a_map_is_one_clear_warning(kind):
    if kind == "270":
        data = build_837p(version="005010X279A1", fic="HS", st01="270")
        what = "GS01 HS / GS08 005010X279A1"
    else:
        data = build_837p(version="005010X222A2")
        what = "GS01 HC / GS08 005010X222A2"
    v = validate(data)
    [f] = v.findings
    assert f.code == "IG004" and f.severity == WARNING
    assert what in f.message and "not validated" in f.message
    assert f.segment == "GS" and f.segment_index == 2
    assert v.ack == b"" and not v.validated and v.ok


def test_unknown_isa_version_and_not_x12_do_not_crash():
    [f] = validate(build_837p().replace(b"*00501*", b"*00601*")).findings
    assert f.code == "IG004" and "00601" in f.message and f.segment_index == 1
    [f] = validate(b"hello, this is not X12").findings
    assert f.code == "IG001" and "not validated" in f.message
    [f] = validate(b"").findings
    assert f.code == "IG001"


def test_isa_of_the_wrong_width_is_an_envelope_error():
    data = build_837p().replace(b"SUBMITTERID    *", b"SUBMITTERID*", 1)
    v = validate(data)
    assert [f.code for f in v.findings] == ["IG001"]
    assert "pyx12 cannot read" in v.findings[0].message and "not the fixed 106" in v.findings[0].message
    assert v.findings[0].segment_index == 1 and not v.validated


def test_any_other_pyx12_failure_is_one_finding(monkeypatch):
    import pyx12.x12n_document

    def boom(**kwargs):
        kwargs["src_file"].read(10)
        raise RuntimeError("internal")

    monkeypatch.setattr(pyx12.x12n_document, "x12n_document", boom)
    v = validate(build_837p())
    [f] = v.findings
    assert f.code == "IG005" and f.severity == WARNING and "RuntimeError: internal" in f.message
    assert not v.validated and v.ack == b""


def test_json_report_is_used_when_the_error_tree_cannot_be_captured(monkeypatch):
    monkeypatch.setattr(runner, "capture_errh", lambda frame: None)
    data = build_837p(2, bad_unit_claim=1)
    [f] = validate(data).findings
    assert (f.code, f.element, f.segment_index) == ("IG003", "CTP05-1", index_of(data, b"CTP****1*XX"))


# -- several interchanges --------------------------------------------------------------
def test_interchanges_with_other_delimiters_are_validated_each():
    first = build_837p(1, icn="000000001")
    second = build_837p(1, icn="000000002", bad_unit_claim=1)
    second = second.replace(b"*", b"|").replace(b":", b"^").replace(b"~", b"'")
    data = first + second
    v = validate(data)
    [f] = v.findings
    assert f.segment_index == index_of(data, b"CTP||||1|XX") and f.interchange == "000000002"
    assert f.element == "CTP05-1"
    isa13 = re.findall(rb"ISA\*(?:[^*]*\*){12}([^*]*)\*", v.ack)
    assert len(isa13) == 2 and isa13[0] != isa13[1]
    iea02 = re.findall(rb"IEA\*1\*(\d+)~", v.ack)
    assert iea02 == isa13


def test_same_delimiters_give_one_run_and_one_999():
    data = build_837p(1, icn="000000001") + build_837p(1, icn="000000002", bad_unit_claim=1)
    v = validate(data)
    [f] = v.findings
    assert f.interchange == "000000002" and f.segment_index == index_of(data, b"CTP****1*XX")
    assert v.ack.count(b"ISA*") == 1 and v.ack.count(b"AK1*") == 2


# -- patient data -----------------------------------------------------------------------
def test_non_ascii_in_a_name_does_not_crash_and_is_not_quoted():
    data = build_837p(2, last="DO\xe9", bad_unit_claim=2)
    v = validate(data)
    names = [f for f in v.findings if f.segment == "NM1"]
    assert [f.element for f in names] == ["NM103", "NM103"]
    assert all(f.code == "IG003" and "invalid character" in f.message for f in names)
    ctp = [f for f in v.findings if f.segment == "CTP"]
    assert len(ctp) == 1 and ctp[0].segment_index == index_of(data, b"CTP****2*XX")
    for f in v.findings:
        assert "DO\xe9" not in f.message and "DO\xe9" not in f.original


@pytest.mark.parametrize("change", [
    (b"NM1*IL*1*DOE*JOHN", b"NM1*IL*1*" + b"DOE" * 30 + b"*JOHN"),  # too long
    (b"NM1*IL*1*DOE*JOHN", b"NM1*IL*1*DOE*J\xe9HN"),  # bad character
    (b"MI*MEM000000001", b"MI*M"),  # too short
    (b"MI*MEM000000001", b"ZZ*MEM000000001"),  # bad qualifier
    (b"DMG*D8*19600101", b"DMG*D8*19601301"),  # bad date
    (b"N3*1 ELM ST~", b"N3*1 ELM ST*SOMEWHERE*EXTRA~"),  # too many elements
    (b"N4*SOMEWHERE*NY*12345", b"N4*SOMEWHERE*N\xe9*12345"),
    (b"DTP*472*D8*20240101~\nLIN", b"DTP*472*D8*20240101~\nN3*1 ELM ST~\nLIN"),  # unexpected segment
])
def test_patient_values_are_never_quoted(change):
    old, new = change
    data = build_837p(1).replace(old, new, 1)
    v = validate(data)
    assert v.findings, "the change must give a finding"
    for f in v.findings:
        for secret in SECRETS + ["J\xe9HN", "N\xe9"]:
            assert secret not in f.message and secret not in f.original, (secret, f.message)


def test_redact_keeps_references_and_masks_values():
    [nm1] = [s for s in tokenize(b"ISA*00*          *00*          *ZZ*A              *ZZ*B              *240101*1200*^*"
                                   b"00501*000000001*0*T*:~NM1*IL*1*JO*X~") if s.tag == "NM1"]
    msg = redact('Data element "Subscriber Last Name" (NM103) is too short: len("JO") = 2 < 3 (min_len) (JO)',
                 "JO", nm1)
    assert "JO" not in msg and "(NM103)" in msg and "(min_len)" in msg
    assert redact("Segment NM1*IL not found.  Started at /X", None, nm1) == "Segment NM1 not found.  Started at /X"
    assert REDACTED_SEGMENTS >= {"NM1", "N3", "N4", "DMG"}


def test_pyx12_log_records_do_not_reach_the_application_log():
    """pyx12 logs each bad value; an application's root handler must not get them."""
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            seen.append(record.getMessage())

    root = logging.getLogger()
    handler, level = Keep(logging.DEBUG), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        validate(build_837p(1, last="SECRETNAME\xe9"))
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    assert not any("SECRETNAME" in m for m in seen)
    assert logging.getLogger("pyx12").propagate is False


# -- API --------------------------------------------------------------------------------
def test_stream_input_and_validate_file(tmp_path):
    data = build_837p(2, bad_unit_claim=1)
    stream = io.BytesIO(b"xx" + data)
    stream.seek(2)
    assert [f.to_dict() for f in validate(stream).findings] == [f.to_dict() for f in validate(data).findings]
    path = tmp_path / "claims.837"
    path.write_bytes(data)
    ack_dir = tmp_path / "acks"
    ack_dir.mkdir()
    target = ack_path_for(str(path), str(ack_dir))
    assert target == str(ack_dir / "claims.837.999")
    v = validate_file(str(path), ack_path=target)
    assert v.findings[0].file == str(path)
    assert (ack_dir / "claims.837.999").read_bytes() == v.ack
    assert [p.name for p in ack_dir.iterdir()] == ["claims.837.999"]  # no temporary file left


def test_profile_selection_and_severity():
    from scrubber.profiles import DEFAULT

    data = build_837p(2, bad_unit_claim=1).replace(b"N3*123 MAIN ST~\n", b"")
    profile = DEFAULT._replace(name="strict", severities={"IG003": WARNING}, ignore=("IG001",))
    found = validate(data, profile=profile).findings
    assert {f.code for f in found} == {"IG002", "IG003"}
    assert all(f.profile == "strict" for f in found)
    assert [f.severity for f in found if f.code == "IG003"] == [WARNING]


def _codes_and_places(data: bytes):
    return [(f.code, f.segment_index, f.element) for f in validate(data).findings]


def test_safe_in_threads_and_processes():
    inputs = [build_837p(2, bad_unit_claim=1), build_837p(2), build_837p(1, version="005010X222A2"),
              build_837p(3, bad_unit_claim=3)]
    expected = [_codes_and_places(d) for d in inputs]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        assert list(pool.map(_codes_and_places, inputs)) == expected
    ctx = multiprocessing.get_context("spawn" if os.name == "nt" else "fork")
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=ctx) as pool:
        assert list(pool.map(_codes_and_places, inputs)) == expected


def test_pyx12_errors_count_for_the_exit_code_and_the_summary(tmp_path):
    """An error only pyx12 finds (a name longer than NM103 allows) is an
    error that remains: exit 1, counted in the summary."""
    from click.testing import CliRunner

    from scrubber.cli import main

    from pathlib import Path

    data = (Path(__file__).resolve().parents[1] / "edi_samples" / "837p-clean.x12").read_bytes()
    start = data.index(b"NM1*IL*1*") + len(b"NM1*IL*1*")
    end = data.index(b"*", start)
    src = tmp_path / "long-name.x12"
    src.write_bytes(data[:start] + b"X" * 71 + data[end:])
    plain = CliRunner().invoke(main, ["scrub", str(src), "-o", str(tmp_path / "a.x12")])
    assert plain.exit_code == 0, plain.output  # the scrubber's own rules have nothing to say
    r = CliRunner().invoke(main, ["scrub", str(src), "-o", str(tmp_path / "b.x12"), "--validate"])
    assert r.exit_code == 1, r.output
    assert "1 error(s) remain" in r.output and "IG" in r.output.splitlines()[-1]
