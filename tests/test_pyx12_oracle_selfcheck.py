"""Self-checks of tests/pyx12_oracle.py (the pyx12 4.0.0 reference).

These pin down what pyx12 itself does, so that a change in pyx12 (or in the
oracle) shows up here rather than as a mysterious scrubber test failure.
They never import the scrubber package.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pyx12")

try:  # tests/ as a package, or tests/ on sys.path (pytest rootdir-less mode)
    from tests.pyx12_oracle import (  # noqa: E402
        OracleUnavailable,
        pyx12_service_line_tuples,
        pyx12_validate,
    )
except ImportError:  # pragma: no cover
    from pyx12_oracle import (  # type: ignore[no-redef]  # noqa: E402
        OracleUnavailable,
        pyx12_service_line_tuples,
        pyx12_validate,
    )

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
FILES = CORPUS / "files"
SYNTH = CORPUS / "synthetic"


def corpus_file(name: str) -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"shared X12 corpus not present at {CORPUS}")
    p = (SYNTH if name.startswith("pyx12-clean") else FILES) / name
    if not p.is_file():
        pytest.skip(f"corpus file missing: {p}")
    return p


# --------------------------------------------------------------------------
# a minimal 837P built in the test, so the lossy-behaviour checks do not need
# the corpus.  pyx12 validates it with no errors (checked below).
# --------------------------------------------------------------------------
def mk837p(n_claims: int = 3, e: str = "*", t: str = "~\n", icn: str = "000000001") -> bytes:
    head = [
        f"GS{e}HC{e}SUBMITTERID{e}RECEIVERID{e}20240101{e}1200{e}1{e}X{e}005010X222A1",
        f"ST{e}837{e}0001{e}005010X222A1",
        f"BHT{e}0019{e}00{e}BATCH00001{e}20240101{e}1200{e}CH",
        f"NM1{e}41{e}2{e}ACME BILLING{e*5}46{e}SUBMIT01",
        f"PER{e}IC{e}JANE DOE{e}TE{e}5555551212",
        f"NM1{e}40{e}2{e}ACME CLEARINGHOUSE{e*5}46{e}RECV01",
        f"HL{e}1{e}{e}20{e}1",
        f"NM1{e}85{e}2{e}ONCOLOGY CLINIC{e*5}XX{e}1234567893",
        f"N3{e}123 MAIN ST",
        f"N4{e}ANYTOWN{e}NY{e}123451234",
        f"REF{e}EI{e}123456789",
    ]
    body = []
    for i in range(1, n_claims + 1):
        body += [
            f"HL{e}{i + 1}{e}1{e}22{e}0",
            f"SBR{e}P{e}18{e}GRP001{e * 6}CI",
            f"NM1{e}IL{e}1{e}DOE{e}JOHN{e * 4}MI{e}MEM00000000{i}",
            f"N3{e}1 ELM ST",
            f"N4{e}ANYTOWN{e}NY{e}12345",
            f"DMG{e}D8{e}19600101{e}M",
            f"NM1{e}PR{e}2{e}ACME HEALTH PLAN{e * 5}PI{e}PAYER01",
            f"CLM{e}PCN{i}{e}1500{e * 3}11:B:1{e}Y{e}A{e}Y{e}Y",
            f"HI{e}ABK:C8330",
            f"LX{e}1",
            f"SV1{e}HC:J9307{e}1500{e}UN{e}10{e * 3}1",
            f"DTP{e}472{e}D8{e}20240101",
            f"LIN{e}{e}N4{e}0006901500{i}",
            f"CTP{e * 4}{i}{e}ML",
        ]
    se_count = len(head) - 1 + len(body) + 1  # ST..SE inclusive
    isa = (
        f"ISA{e}00{e}          {e}00{e}          {e}ZZ{e}SUBMITTERID    {e}ZZ{e}RECEIVERID     "
        f"{e}240101{e}1200{e}^{e}00501{e}{icn}{e}0{e}T{e}:"
    )
    segs = [isa] + head + body + [f"SE{e}{se_count}{e}0001", f"GE{e}1{e}1", f"IEA{e}1{e}{icn}"]
    return (t.join(segs) + t).encode("latin-1")


def tuples_for(n: int) -> list[tuple]:
    return [(f"PCN{i}", "1", "J9307", f"0006901500{i}", str(i), "ML") for i in range(1, n + 1)]


def test_minimal_837p_is_clean_and_read_fully():
    data = mk837p(3)
    assert pyx12_service_line_tuples(data) == tuples_for(3)
    ok, errors, ack = pyx12_validate(data)
    assert ok and errors == []
    assert b"ST*999*0001*005010X231~" in ack
    assert b"IK5*A~" in ack and b"AK9*A*1*1*1~" in ack


# ---------------------------------------------------------------- lossy reads
def test_lossy_empty_segment_stops_reading_silently():
    # `~~` after claim 2's CTP: RawX12File treats the empty segment as EOF.
    data = mk837p(3).replace(b"CTP****2*ML~\n", b"CTP****2*ML~~\n")
    # claim 2 is dropped as well: iter_segments never yields an open 2300
    assert pyx12_service_line_tuples(data) == tuples_for(1)
    ok, errors, ack = pyx12_validate(data)
    assert not ok
    # only the missing trailers are reported, nothing about the empty segment
    assert [e.split(": ", 1)[1][:6] for e in errors] == ["isa 02", "gs 3: ", "st 2: "]
    assert b"IK5*R*2~" in ack


def test_lossy_second_interchange_with_other_delimiters_is_dropped():
    first = mk837p(2)  # '*' and '~\n'
    second = mk837p(1, e="|", t="\n", icn="000000002").replace(b"PCN1", b"PCNX")
    assert pyx12_service_line_tuples(second) == [("PCNX", "1", "J9307", "00069015001", "1", "ML")]
    both = first + second
    # delimiters come from the first ISA only; no '~' in the second -> gone
    assert pyx12_service_line_tuples(both) == tuples_for(2)
    ok, errors, _ = pyx12_validate(both)
    assert ok and errors == []  # and validation does not notice either


def test_lossy_truncated_file_drops_last_claim_without_error():
    data = mk837p(3)
    cut = data[: data.index(b"LIN**N4*00069015003") + 8]  # mid-segment in claim 3
    assert pyx12_service_line_tuples(cut) == tuples_for(2)
    ok, errors, ack = pyx12_validate(cut)
    assert not ok and len(errors) == 3  # IEA, GE, SE missing; nothing else
    assert all("missing" in e for e in errors)


def test_lossy_missing_iea_reader_silent_validator_reports_but_acks_accepted():
    data = mk837p(2)
    no_iea = data[: data.index(b"IEA*")]
    assert pyx12_service_line_tuples(no_iea) == tuples_for(2)
    ok, errors, ack = pyx12_validate(no_iea)
    assert not ok
    assert errors == ['1:ISA: isa 023: Mandatory segment "Interchange Control Trailer" (IEA=000000001) missing']
    assert b"IK5*A~" in ack and b"AK9*A*1*1*1~" in ack  # the 999 still says accepted


def test_no_map_raises_oracle_unavailable():
    data = mk837p(1).replace(b"005010X222A1", b"005010X222A2")
    with pytest.raises(OracleUnavailable, match="Map not found"):
        pyx12_service_line_tuples(data)
    with pytest.raises(OracleUnavailable, match="Map not found"):
        pyx12_validate(data)


def test_bom_and_non_isa_start():
    data = b"\xef\xbb\xbf" + mk837p(1)
    with pytest.raises(OracleUnavailable, match="does not begin with 'ISA'"):
        pyx12_service_line_tuples(data)
    assert pyx12_service_line_tuples(data, strip_bom=True) == tuples_for(1)
    ok, errors, ack = pyx12_validate(data)
    assert (ok, ack) == (False, b"") and "does not begin with 'ISA'" in errors[0]
    assert pyx12_validate(data, strip_bom=True)[0]


def test_non_ascii_byte_is_read_as_latin1():
    data = mk837p(1).replace(b"JANE DOE", b"JAN\xc9 DOE")
    assert pyx12_service_line_tuples(data) == tuples_for(1)


# ------------------------------------------------------------------ corpus
SYNTHETIC = {
    "pyx12-clean-837p.x12": 5,
    "pyx12-clean-837i.x12": 5,
    "pyx12-clean-837p-dependent.x12": 6,
}


@pytest.mark.parametrize("name,n", sorted(SYNTHETIC.items()))
def test_synthetic_files_validate_clean(name, n):
    path = corpus_file(name)
    ok, errors, ack = pyx12_validate(path)
    assert ok and errors == []
    assert b"005010X231" in ack and b"IK5*A~" in ack
    assert len(pyx12_service_line_tuples(path)) == n


def test_synthetic_837p_values():
    got = pyx12_service_line_tuples(corpus_file("pyx12-clean-837p.x12"))
    assert got[0] == ("PCN000000001", "1", "J9307", "00069015001", "1", "ML")
    assert [t[3] for t in got] == [
        "00069015001", "12345678901", "55150012345", "63323012301", "70121123401",
    ]


def test_synthetic_837i_uses_sv202():
    got = pyx12_service_line_tuples(corpus_file("pyx12-clean-837i.x12"))
    assert all(t[2] for t in got)


# pyx12 4.0.0 X12ContextReader tuple counts on 5010 corpus 837s (strict mode)
READABLE_5010 = {
    "imsweb__x12-parser__src_test_resources_837_5010_x12_no_errors.txt": 2,
    "imsweb__x12-parser__src_test_resources_837_5010_x12_complex.txt": 10,
    "imsweb__x12-parser__src_test_resources_837_5010_x12_multiple_isa.txt": 4,
    "imsweb__x12-parser__src_test_resources_837_5010_x12_multiple_gs.txt": 6,
    "imsweb__x12-parser__src_test_resources_837_5010_x12_valid_different_separators.txt": 2,
    "imsweb__x12-parser__src_test_resources_837_5010_x223-test.txt": 1,
    "albmarin__badX12__tests_files_edi_X222-drug-administered-in-the-physician-office.edi": 2,
    "albmarin__badX12__tests_files_edi_X222-home-infusion-therapy-pharmacy-"
    "_adjudicated-with-HCPCS-in-loop-2400-or-NDC-in-loop-2410_.edi": 6,
    "Silvenga__vscode-edi-x12-support__docs_odd-separator.edi": 2,
    "UHIN__x12-parser-library__tests_test-files_837.edi": 1,
}


@pytest.mark.parametrize("name,n", sorted(READABLE_5010.items()))
def test_corpus_tuple_counts(name, n):
    assert len(pyx12_service_line_tuples(corpus_file(name))) == n


def test_corpus_drug_example_values():
    got = pyx12_service_line_tuples(
        corpus_file("albmarin__badX12__tests_files_edi_X222-drug-administered-in-the-physician-office.edi")
    )
    assert [t[2:] for t in got if t[3]] == [("J1550", "00026063512", "10", "ML")]


UNAVAILABLE = {
    # GS08 with no pyx12 map
    "LinuxForHealth__x12__src_tests_resources_837_005010X222A2_demo.drug.example10.1.837": "Map not found",
    "LinuxForHealth__x12__demo-file_demo.837i": "Map not found",
    # UTF-8 BOM before ISA
    "Inteligenz__X12Parser__tests_OopFactory.X12.Tests.Unit_Parsing__SampleEdiFiles_INS__837P__5010_MedicaidExample.txt": "begin with 'ISA'",
    # ISA not 106 chars -> ISA12 read at the wrong offset
    "imsweb__x12-parser__src_test_resources_837_5010_x12_bad_first_line.txt": "Version Number is unknown",
    # SV1 without LX: pyx12 files it as an HI of the 2300 (strict refuses)
    "imsweb__x12-parser__src_test_resources_837_5010_x12_missing_required_loops_mult_repeats.txt": "mis-filed",
    # 837I content under an X222A1 GS08: CL1/SV2 mis-filed, bogus 2400 loops
    "jjw07006__zX12__samples_837i_example.x12": "mis-filed",
}


@pytest.mark.parametrize("name,why", sorted(UNAVAILABLE.items()))
def test_corpus_unavailable(name, why):
    with pytest.raises(OracleUnavailable, match=why):
        pyx12_service_line_tuples(corpus_file(name))


def test_non_strict_returns_pyx12_view():
    path = corpus_file(
        "imsweb__x12-parser__src_test_resources_837_5010_x12_missing_required_loops_mult_repeats.txt"
    )
    assert len(pyx12_service_line_tuples(path, strict=False)) == 3  # 5 SV1 in the file


def test_validate_reports_positions_on_broken_file():
    ok, errors, ack = pyx12_validate(
        corpus_file("imsweb__x12-parser__src_test_resources_837_5010_x12_segment_errors.txt")
    )
    assert not ok
    assert '10:N3: seg 3: Mandatory segment "Billing Provider Address" (N3) missing' in errors
    assert "12:REF: seg 5: Segment REF exceeded max count.  Found 2, should have 1" in errors
    assert b"IK3*N3*8**3~" in ack and b"IK5*R*4*5~" in ack


def test_validate_835_5010_and_270_no_map():
    ok, errors, ack = pyx12_validate(corpus_file("albmarin__badX12__tests_files_edi_X221-era-sample.edi"))
    assert ok and b"AK1*HP*" in ack
    with pytest.raises(OracleUnavailable, match="005010X279A1"):
        pyx12_validate(corpus_file("LinuxForHealth__x12__demo-file_demo-single-line.270"))
