"""Control characters from file names and segment contents never reach the
terminal or the CSV log raw: they are written as visible backslash escapes
(``\\n``, ``\\x1b``, ``\\x00``), so every finding stays on one line.  The JSONL
log keeps the exact text (JSON escapes it).  Printable non-ASCII text is kept."""
from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "edi_samples" / "837p-j9307-overbilled.x12"

# What must never be written raw: C0 (bar the line ends the writers add), DEL,
# C1 and the Unicode line/paragraph separators.
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def escaped(text: str) -> str:
    """The expected display of *text* (an oracle independent of the code under test)."""
    return "".join(repr(c)[1:-1] if RAW_CONTROL.match(c) or c == "\n" else c for c in text)


linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="file names with control characters are a Linux test")


def scrub(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scrubber", "scrub", *args], cwd=cwd, capture_output=True,
                          check=False)


def stderr_lines(proc: subprocess.CompletedProcess) -> list[str]:
    text = proc.stderr.decode("utf-8", "surrogateescape")
    assert not RAW_CONTROL.search(text), text
    assert text.endswith("\n")
    return text[:-1].split("\n")  # split on "\n" only: a raw \r or \x85 would show in the check above


def finding_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if not line.startswith(("scrubber: ", "findings by code: "))]


def csv_rows(path: Path) -> list[dict]:
    text = path.read_text(encoding="utf-8")
    assert not RAW_CONTROL.search(text), text
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert text.count("\n") == len(rows) + 1  # one line per row: no field spans two
    return rows


def jsonl_records(path: Path) -> list[dict]:
    text = path.read_text(encoding="utf-8")
    return [json.loads(line) for line in text.split("\n") if line]


def all_runs(src: str, tmp_path: Path):
    """The text (stderr), CSV and JSONL output of scrubbing *src* with --check."""
    text = scrub(src, "--check", cwd=tmp_path)
    assert text.returncode in (0, 1), text.stderr
    log_csv, log_jsonl = tmp_path / "log.csv", tmp_path / "log.jsonl"
    c = scrub(src, "--check", "--log", str(log_csv), "--log-format", "csv", cwd=tmp_path)
    j = scrub(src, "--check", "--log", str(log_jsonl), cwd=tmp_path)
    assert c.returncode == j.returncode == text.returncode, (c.stderr, j.stderr)
    stderr_lines(c), stderr_lines(j)  # the summary lines: no raw control character either
    return stderr_lines(text), csv_rows(log_csv), jsonl_records(log_jsonl)


def test_printable_escapes_controls_only():
    from scrubber.report.writers import printable

    clean = "caf\u00e9 \u00fcber \u20ac \u65e5\u672c / C:\\path 'quoted' \"x\""
    assert printable(clean) is clean  # the fast path: no copy
    assert printable("") == ""
    assert printable("a\nb\rc\td") == "a\\nb\\rc\\td"
    assert printable("\x1b[31mred\x1b[0m") == "\\x1b[31mred\\x1b[0m"
    assert printable("n\x00ul \x7f \x85 \x9b") == "n\\x00ul \\x7f \\x85 \\x9b"
    assert printable("l\u2028p\u2029") == "l\\u2028p\\u2029"
    assert printable("\u00e9\n\u00e9") == "\u00e9\\n\u00e9"
    for code in [*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029]:
        out = printable(chr(code))
        assert out == repr(chr(code))[1:-1] and out.isprintable() and out.isascii()


@linux_only
@pytest.mark.parametrize("name", ["caf\u00e9\nb.x12", "caf\u00e9\x1b[31mb.x12", "caf\u00e9\x1bb\rc.x12"],
                         ids=["newline", "esc-sequence", "lone-esc-cr"])
def test_file_name_with_control_characters(tmp_path, name):
    (tmp_path / name).write_bytes(SAMPLE.read_bytes())
    text, rows, records = all_runs(name, tmp_path)
    shown = escaped(name)
    assert "caf\u00e9" in shown and shown != name
    findings = finding_lines(text)
    assert len(findings) == len(records) == len(rows) == 3  # exactly one line per finding
    assert all(line.startswith(f"{shown}:") for line in findings), findings
    assert [r["file"] for r in rows] == [shown] * 3
    assert [r["file"] for r in records] == [name] * 3  # JSONL: the exact name
    assert [r["code"] for r in rows] == [r["code"] for r in records]


@linux_only
def test_failed_file_name_with_newline_is_one_line(tmp_path):
    name = "bad\nn\u00e4me.x12"
    (tmp_path / name).write_bytes(b"not an interchange")
    log = tmp_path / "log.jsonl"
    proc = scrub(name, "--check", "--log", str(log), cwd=tmp_path)
    assert proc.returncode == 2
    lines = stderr_lines(proc)
    assert lines[0].startswith("scrubber: bad\\nn\u00e4me.x12: "), lines
    assert len(lines) == 2 and lines[1].startswith("scrubber: 1 file(s), 1 not processed")
    assert [r["file"] for r in jsonl_records(log)] == [name]


def test_usage_error_with_newline_in_a_path_is_one_line(tmp_path):
    proc = scrub(str(SAMPLE), "--check", "--log", str(tmp_path / "no\nsuch" / "l.csv"), cwd=tmp_path)
    assert proc.returncode == 2
    lines = stderr_lines(proc)
    assert len(lines) == 1 and lines[0].startswith("scrubber: cannot write the log ") and "no\\nsuch" in lines[0]


# (where, replacement): a raw byte inside an element that a finding quotes
CONTENT_CASES = {
    "nul-in-ndc": (b"LIN**N4*72893000501~", b"LIN**N4*7289300\x000501~"),
    "esc-in-ndc": (b"LIN**N4*72893000501~", b"LIN**N4*7289300\x1b[2J0501~"),
    "esc-in-modifier": (b"SV1*HC:J9307*17671", b"SV1*HC:J9307:J\x1bW*17671"),
    "nul-esc-c1-in-claim-id": (b"CLM*OVER0001*", b"CLM*OV\x1b[2JE\x00R\x85\x9b0\xe9001*"),
}


@pytest.mark.parametrize("case", CONTENT_CASES, ids=list(CONTENT_CASES))
def test_segment_contents_with_control_characters(tmp_path, case):
    old, new = CONTENT_CASES[case]
    data = SAMPLE.read_bytes()
    assert data.count(old) >= 1
    (tmp_path / "in.x12").write_bytes(data.replace(old, new, 1))
    raw = new.decode("latin-1")  # X12 text is read byte for byte
    text, rows, records = all_runs("in.x12", tmp_path)
    findings = finding_lines(text)
    assert len(findings) == len(rows) == len(records) >= 2  # exactly one line per finding
    assert all(line.startswith("in.x12:") for line in findings), findings
    # the JSONL log keeps the exact text: some field quotes the bad element raw
    quoted = [v for r in records for v in r.values() if isinstance(v, str) and RAW_CONTROL.search(v)]
    assert any(v in raw for v in quoted), (quoted, raw)
    # ... and the CSV log holds the same fields, escaped
    for row, rec in zip(rows, records):
        assert row["code"] == rec["code"]
        for key, value in rec.items():
            if isinstance(value, str):
                assert row[key] == escaped(value)


def test_printable_non_ascii_content_is_kept(tmp_path):
    """An accented letter in an element (and in the file name) is printed as it is,
    beside an escaped control character in the same finding."""
    data = SAMPLE.read_bytes().replace(b"CLM*OVER0001*", "CLM*OV\u00c9R\x1b0001*".encode("latin-1"), 1)
    name = "r\u00e9sum\u00e9.x12"
    (tmp_path / name).write_bytes(data)
    text, rows, records = all_runs(name, tmp_path)
    findings = finding_lines(text)
    assert len(findings) == len(rows) == len(records) == 3
    claim = [line for line in findings if "(#1)" in line]
    assert claim and all(line.startswith(f"{name}:") and "claim OV\u00c9R\\x1b0001 (#1)" in line for line in claim)
    assert {r["claim_id"] for r in rows} == {"OV\u00c9R\\x1b0001", "OVER0002"}
    assert {r["claim_id"] for r in records} == {"OV\u00c9R\x1b0001", "OVER0002"}
    assert {r["file"] for r in rows} == {r["file"] for r in records} == {name}


def test_jsonl_escapes_what_line_readers_take_as_a_break():
    """JSON leaves DEL, C1 and U+2028/U+2029 raw; str.splitlines() breaks on
    them.  Each record stays one line and parses back to the same text."""
    import io

    from scrubber.findings import Finding
    from scrubber.report.writers import JsonlWriter

    text = "a\u2028b\u2029c\x85d\x7fe é"
    buf = io.StringIO()
    writer = JsonlWriter(buf)
    writer.write(Finding(code="X", severity="error", message=text, file=text))
    writer.write(Finding(code="Y", severity="error", message="plain"))
    lines = buf.getvalue().splitlines()
    assert len(lines) == 2
    assert json.loads(lines[0])["message"] == text and json.loads(lines[0])["file"] == text
    assert "é" in lines[0]  # printable text stays as it is
