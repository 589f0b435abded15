"""The command line: exit codes, bad input, stdin/stdout, --check/--diff, logs."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from scrubber.cli import main

from .test_tokenizer import interchange

ROOT = Path(__file__).resolve().parents[1]

CLEAN_CLAIM = """ISA*00*          *00*          *ZZ*SUBMITTERID    *ZZ*RECEIVERID     *261101*1200*^*00501*000000101*0*P*:~
GS*HC*SUBMITTERID*RECEIVERID*20261101*1200*101*X*005010X222A1~
ST*837*0001*005010X222A1~
BHT*0019*00*BATCH101*20261101*1200*CH~
NM1*41*2*ONCOLOGY BILLING*****46*SUBMIT01~
PER*IC*BILLING OFFICE*TE*5555551212~
NM1*40*2*ACME CLEARINGHOUSE*****46*RECV01~
HL*1**20*1~
NM1*85*2*ONCOLOGY CLINIC*****XX*1234567893~
N3*123 MAIN ST~
N4*ANYTOWN*NY*123451234~
REF*EI*123456789~
HL*2*1*22*0~
SBR*P*18*GRP001******MB~
NM1*IL*1*DOE*JANE****MI*MEM000000001~
N3*1 ELM ST~
N4*ANYTOWN*NY*12345~
DMG*D8*19600101*F~
NM1*PR*2*MEDICARE PART B*****PI*MCRB01~
CLM*CLAIM001*{clm02}***11:B:1*Y*A*Y*Y~
HI*ABK:C8440~
LX*1~
SV1*HC:J9307{mods}*{charge}*UN*{units}***1~
DTP*472*D8*20261101~
LIN**N4*{ndc}~
CTP****{qty}*ML~
SE*{se01}*0001~
GE*1*101~
IEA*1*000000101~
"""


def claim_file(units="40", charge="4000", qty="2", ndc="72893000501", mods=":JZ", nl="\n") -> bytes:
    text = CLEAN_CLAIM.format(clm02=charge, charge=charge, units=units, qty=qty, ndc=ndc, mods=mods, se01=25)
    return text.replace("\n", nl).encode()


@pytest.fixture
def run(tmp_path):
    def _run(*args, input=None):
        runner = CliRunner()
        result = runner.invoke(main, list(args), input=input, catch_exceptions=False)
        return result

    return _run


def test_clean_file_exit_0_and_byte_identical(tmp_path, run):
    src = tmp_path / "in.837"
    src.write_bytes(claim_file())
    out, log = tmp_path / "out.837", tmp_path / "log.jsonl"
    r = run("scrub", str(src), "-o", str(out), "--log", str(log))
    assert r.exit_code == 0, r.output
    assert out.read_bytes() == src.read_bytes()
    assert log.read_text() == ""


def test_fix_exit_0_input_untouched_and_log_records(tmp_path, run):
    src = tmp_path / "in.837"
    data = claim_file(units="50", charge="5000")  # 2 mL = 40 units: overbilled
    src.write_bytes(data)
    out, log = tmp_path / "out.837", tmp_path / "log.jsonl"
    r = run("scrub", str(src), "-o", str(out), "--log", str(log))
    assert r.exit_code == 0, r.output
    assert src.read_bytes() == data
    fixed = out.read_bytes()
    assert b"SV1*HC:J9307:JZ*4000*UN*40***1~" in fixed
    assert b"CLM*CLAIM001*4000***" in fixed
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(r["code"], r["element"], r["original"], r["corrected"], r["fixed"]) for r in records] == [
        ("UNT001", "SV104", "50", "40", True)]
    rec = records[0]
    assert rec["claim_id"] == "CLAIM001" and rec["line_number"] == "1" and rec["segment_index"] == 23
    assert rec["interchange"] == "000000101" and rec["transaction"] == "0001" and rec["file"] == str(src)
    # no patient data in the log
    assert "DOE" not in log.read_text() and "MEM000000001" not in log.read_text()


def test_errors_remaining_exit_1_and_csv_log(tmp_path, run):
    src = tmp_path / "in.837"
    src.write_bytes(claim_file(ndc="00173089601", mods=""))  # belantamab NDC on J9307
    log = tmp_path / "log.csv"
    r = run("scrub", str(src), "-o", str(tmp_path / "o.837"), "--log", str(log), "--log-format", "csv")
    assert r.exit_code == 1
    rows = list(csv.DictReader(log.open()))
    assert "NDC005" in {row["code"] for row in rows}
    assert list(rows[0]) == ["code", "severity", "message", "file", "interchange", "transaction", "claim_id",
                             "claim_index", "line_number", "segment", "segment_index", "element", "original",
                             "corrected", "fixed", "profile"]


@pytest.mark.parametrize("content, words", [
    (b"\x00\x01\x02\x03" * 100, "binary"),
    (b"", "empty"),
    (b"hello, this is not x12\n", "no ISA"),
    ("ISA*00*".encode("utf-16"), "UTF-16"),
])
def test_unprocessable_input_exit_2_one_line_no_traceback(tmp_path, run, content, words):
    src = tmp_path / "bad.edi"
    src.write_bytes(content)
    out = tmp_path / "out.837"
    r = run("scrub", str(src), "-o", str(out), "--log", str(tmp_path / "log.jsonl"))
    assert r.exit_code == 2
    assert "Traceback" not in r.output
    first = r.output.splitlines()[0]
    assert str(src) in first and words.lower() in first.lower()
    assert not out.exists()
    assert src.read_bytes() == content
    rec = json.loads((tmp_path / "log.jsonl").read_text())
    assert rec["code"] == "FILE001" and rec["file"] == str(src)


def test_batch_goes_on_after_a_bad_file(tmp_path, run):
    good, bad, other = tmp_path / "a.837", tmp_path / "b.bin", tmp_path / "c.837"
    good.write_bytes(claim_file(units="50", charge="5000"))
    bad.write_bytes(b"\x00garbage")
    other.write_bytes(claim_file())
    outdir = tmp_path / "out"
    r = run("scrub", str(good), str(bad), str(other), "--output-dir", str(outdir), "--log", str(tmp_path / "l"))
    assert r.exit_code == 2
    assert sorted(p.name for p in outdir.iterdir()) == ["a.837", "c.837"]
    assert b"*UN*40***1~" in (outdir / "a.837").read_bytes()
    assert (outdir / "c.837").read_bytes() == other.read_bytes()


def test_truncated_file_is_reported_and_kept(tmp_path, run):
    data = claim_file()[:-30]
    src = tmp_path / "t.837"
    src.write_bytes(data)
    out = tmp_path / "o.837"
    r = run("scrub", str(src), "-o", str(out), "--log", str(tmp_path / "l.jsonl"))
    assert r.exit_code == 1
    codes = [json.loads(x)["code"] for x in (tmp_path / "l.jsonl").read_text().splitlines()]
    assert "ENV012" in codes
    assert out.read_bytes() == data  # nothing lost, nothing invented


def test_wrong_delimiters_refused_clearly(tmp_path, run):
    data = claim_file().replace(b"*", b"A", 1)  # ISA element separator is a letter
    src = tmp_path / "d.837"
    src.write_bytes(data)
    r = run("scrub", str(src), "-o", str(tmp_path / "o"))
    assert r.exit_code == 2 and "separator" in r.output and str(src) in r.output


def test_non_837_passes_through_untouched_and_says_so(tmp_path, run):
    """A file with no 837 in it is not lost (it goes out as received), but
    nothing in it was checked: an error a person must look at, exit 1."""
    data = interchange().replace(b"837*0001*005010X222A1", b"835*0001*005010X221A1")
    src = tmp_path / "e.835"
    src.write_bytes(data)
    out, log = tmp_path / "o", tmp_path / "l.jsonl"
    r = run("scrub", str(src), "-o", str(out), "--log", str(log))
    assert r.exit_code == 1
    assert out.read_bytes() == data
    records = [json.loads(x) for x in log.read_text().splitlines()]
    assert [(f["code"], f["severity"], f["segment"], f["segment_index"]) for f in records] == [
        ("TXN001", "info", "ST", 3), ("TXN002", "error", "ST", 3)]
    assert "nothing was checked" in records[1]["message"]


def test_a_non_837_transaction_beside_an_837_is_only_noted(tmp_path, run):
    claims = claim_file()
    other = interchange().replace(b"837*0001*005010X222A1", b"835*0001*005010X221A1")
    src = tmp_path / "mixed.x12"
    src.write_bytes(claims + other)
    out, log = tmp_path / "o", tmp_path / "l.jsonl"
    r = run("scrub", str(src), "-o", str(out), "--log", str(log))
    assert r.exit_code == 0, r.output
    assert out.read_bytes() == claims + other
    assert [json.loads(x)["code"] for x in log.read_text().splitlines()] == ["TXN001"]


def test_stdin_to_stdout(run):
    data = claim_file(units="50", charge="5000", nl="\r\n")
    r = run("scrub", "-", "-o", "-", "--log", os.devnull, input=data)
    assert r.exit_code == 0
    assert b"*UN*40***1~\r\n" in r.stdout_bytes
    assert r.stdout_bytes.count(b"\r\n") == data.count(b"\r\n")


def test_check_and_diff_write_nothing(tmp_path, run):
    src = tmp_path / "in.837"
    src.write_bytes(claim_file(units="50", charge="5000"))
    r = run("scrub", str(src), "--check", "--log", os.devnull)
    assert r.exit_code == 1
    r = run("scrub", str(src), "--diff", "--log", os.devnull)
    assert "-SV1*HC:J9307:JZ*5000*UN*50***1~" in r.output and "+SV1*HC:J9307:JZ*4000*UN*40***1~" in r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.837"]
    clean = tmp_path / "clean.837"
    clean.write_bytes(claim_file())
    assert run("scrub", str(clean), "--check").exit_code == 0


def test_usage_errors_exit_2(tmp_path, run):
    src = tmp_path / "in.837"
    src.write_bytes(claim_file())
    assert run("scrub", str(src)).exit_code == 2  # no output named
    assert run("scrub", str(src), str(src), "-o", "x").exit_code == 2
    assert run("scrub", str(src), "-o", str(src)).exit_code == 2  # would overwrite the input
    assert run("scrub", str(tmp_path / "missing.837"), "-o", str(tmp_path / "o")).exit_code == 2


def test_rules_lists_every_rule(run):
    r = run("rules", "--format", "json")
    rows = json.loads(r.output)
    codes = {row["code"] for row in rows}
    assert {"NDC001", "NDC005", "UNT001", "JWZ001", "COD001", "NOC001", "REV001", "ENV005", "FILE001"} <= codes
    assert all(row["summary"] and row["severity"] in ("error", "warning", "info") for row in rows)


def test_thirty_megabyte_file_in_flat_memory(tmp_path):
    """Issue 2: a generated 837P of about 30 MB scrubs with exit 0 and a peak RSS under 150 MB."""
    sys.path.insert(0, str(ROOT))
    from bench.generate import generate

    big = tmp_path / "big.837"
    with big.open("w", newline="") as fh:
        generate(fh, "837P", claims=90_000)
    assert big.stat().st_size > 28_000_000
    # the scrubber's own peak (RUSAGE_CHILDREN would be the largest of every child this test run has had)
    own_peak = ("import resource, sys\nfrom scrubber.cli import main\ntry:\n    main(sys.argv[1:])\n"
                "except SystemExit as e:\n    code = e.code\n"
                "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\nsys.exit(code)\n")
    proc = subprocess.run([sys.executable, "-c", own_peak, "scrub", str(big), "-o", str(tmp_path / "o.837"),
                           "--log", str(tmp_path / "l.jsonl")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    peak_kb = int(proc.stdout.split()[-1])
    assert 10 * 1024 < peak_kb < 150 * 1024, f"peak RSS {peak_kb // 1024} MB"
    assert (tmp_path / "o.837").stat().st_size == big.stat().st_size


def test_user_crosswalk_is_layered_on_the_bundled_data(tmp_path, run):
    """--crosswalk takes the CMS file as published: latin-1, title preamble, _<YEAR>_CODE, NDC2."""
    src = tmp_path / "in.837"
    src.write_bytes(claim_file(ndc="99999000101", units="20", charge="2000", qty="1"))
    r = run("scrub", str(src), "--check", "--log", str(tmp_path / "a.jsonl"))
    assert "NDC004" in (tmp_path / "a.jsonl").read_text()
    xw = tmp_path / "cms.csv"
    xw.write_bytes("Octobre 2026 ASP NDC-HCPCS Crosswalk \u00e9dition\n,,,\n"
                   "_2026_CODE,Short Description,LABELER NAME,NDC2,Drug Name,HCPCS dosage,PKG SIZE,PKG QTY,"
                   "BILLUNITS,BILLUNITSPKG\n"
                   "J9307,Pralatrexate injection,NEW LABELER \u00c9,99999-0001-01,PRALATREXATE,1 MG,1,1,20,20\n"
                   .encode("latin-1"))
    r = run("scrub", str(src), "--check", "--crosswalk", str(xw), "--log", str(tmp_path / "b.jsonl"))
    assert r.exit_code == 0, r.output
    assert (tmp_path / "b.jsonl").read_text() == ""


def test_bad_crosswalk_exit_2(tmp_path, run):
    src = tmp_path / "in.837"
    src.write_bytes(claim_file())
    xw = tmp_path / "bad.csv"
    xw.write_text("just,some\ncolumns,here\n")
    r = run("scrub", str(src), "--check", "--crosswalk", str(xw))
    assert r.exit_code == 2 and str(xw) in r.output and "Traceback" not in r.output


def test_usage_error_is_one_line_on_stderr():
    proc = subprocess.run([sys.executable, "-m", "scrubber", "scrub", "--bogus", "x"], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("scrubber: ") and "Traceback" not in proc.stderr
