"""No patient data in findings or logs, even from malformed segments.

A claim is named by its claim id (CLM01) and its position; a finding names a
segment by its id and its position (segment index, byte offset), never by its
content.  The inputs here put a recognizable name and member id where the
tokenizer or pyx12 cannot read them as such: a segment with the wrong element
separator (its whole text is read as its id), a segment terminator inside a
name (a piece of the name is read as the next segment's id), a segment id that
is not one, a segment outside the envelope, a file cut inside such a segment,
and (with pyx12) values that break the implementation guide.  No field of any
finding, and no text of the JSONL or CSV log or of the listing on stderr, may
hold them; a finding's ``segment`` holds a well-formed segment id or "".
"""
from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from scrubber.cli import main
from scrubber.findings import FIELD_NAMES
from scrubber.pipeline import scrub
from scrubber.x12.tokenizer import is_segment_tag, tokenize

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "edi_samples" / "837p-j9307-overbilled.x12"
CLEAN = ROOT / "edi_samples" / "837p-clean.x12"

# the subscriber of both samples: NM1*IL*1*TESTPATIENT*ALPHA****MI*1EG4TE5MK01
NAME_SEGMENT = b"NM1*IL*1*TESTPATIENT*ALPHA****MI*1EG4TE5MK01"
SECRETS = ("TESTPATIENT", "ALPHA", "1EG4TE5MK01", "BRIEN", "TESTGROUPNAME")

SEGMENT_ID = re.compile(r"(?:[A-Z0-9]{2,3})?\Z")
ELEMENT_REF = re.compile(r"(?:[A-Z][A-Z0-9]{1,2}\d{2}(?:-\d+)?)?\Z")

# (name, what replaces the subscriber's NM1, text after it is cut (None: not cut), appended)
MALFORMED = {
    # the wrong element separator: the whole segment is read as its id
    "wrong-separator": b"NM1|IL|1|TESTPATIENT|ALPHA||||MI|1EG4TE5MK01",
    # a segment terminator inside the name: 'BRIENTESTPATIENT' is read as an id
    "terminator-in-name": b"NM1*IL*1*O~BRIENTESTPATIENT*ALPHA****MI*1EG4TE5MK01",
    # an id that is not one
    "bad-id": b"N@1*IL*1*TESTPATIENT*ALPHA****MI*1EG4TE5MK01",
    "lower-case-id": b"nm1*IL*1*TESTPATIENT*ALPHA****MI*1EG4TE5MK01",
    "id-with-a-space": b"NM 1*IL*1*TESTPATIENT*ALPHA****MI*1EG4TE5MK01",
}


def _with(sample: Path, new: bytes) -> bytes:
    data = sample.read_bytes()
    assert NAME_SEGMENT in data
    return data.replace(NAME_SEGMENT, new, 1)


def _inputs() -> dict[str, bytes]:
    out = {name: _with(SAMPLE, new) for name, new in MALFORMED.items()}
    data = SAMPLE.read_bytes()
    # a malformed segment after the interchange (outside any envelope)
    out["outside-envelope"] = data + MALFORMED["wrong-separator"] + b"~\n"
    # the file cut inside a malformed segment, in an open transaction
    cut = _with(SAMPLE, MALFORMED["wrong-separator"])
    out["cut-inside"] = cut[:cut.index(b"1EG4TE5MK01") + len(b"1EG4TE5MK01")]
    return out


INPUTS = _inputs()


def _bad_index(data: bytes) -> int:
    """Our segment_index of the first segment with an ill-formed id."""
    for seg in tokenize(data):
        if seg.index and not seg.is_empty and not is_segment_tag(seg.tag):
            return seg.index
    raise AssertionError("no segment with an ill-formed id")


def assert_no_patient_data(findings) -> None:
    assert findings, "the input must give findings"
    for f in findings:
        record = f.to_dict()
        assert set(record) == set(FIELD_NAMES)
        for key, value in record.items():
            for secret in SECRETS:
                assert secret not in str(value), (key, secret, record)
        assert SEGMENT_ID.match(f.segment), ("segment must be a well-formed id or ''", record)
        assert ELEMENT_REF.match(f.element), ("element must be a reference or ''", record)


def assert_log_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, (secret, text)


# -- the library --------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(INPUTS))
def test_malformed_segment_is_named_by_position_not_content(name):
    data = INPUTS[name]
    result = scrub(data, file="in.837")
    assert_no_patient_data(result.findings)
    bad = [f for f in result.findings if f.code == "ENV008"]
    assert bad, [f.to_dict() for f in result.findings]
    # placed at the segment with the ill-formed id, by position and byte offset
    assert bad[0].segment_index == _bad_index(data)
    assert bad[0].segment == ""
    assert re.search(r"\(byte \d+\)", bad[0].message), bad[0].message


@pytest.mark.parametrize("name", ["bad-id", "lower-case-id", "id-with-a-space"])
def test_an_ill_formed_id_is_not_echoed(name):
    """Even a short ill-formed id (N@1, nm1) is described, not quoted: it may
    be a piece of anything."""
    bad_id = MALFORMED[name].split(b"*", 1)[0].decode()
    for f in scrub(INPUTS[name]).findings:
        assert bad_id not in f.message and f.segment != bad_id, f.to_dict()


def test_wrong_separator_message_names_the_plausible_id_and_the_separator():
    [f] = [f for f in scrub(INPUTS["wrong-separator"]).findings if f.code == "ENV008"]
    assert "'NM1'" in f.message and "'|'" in f.message and "'*'" in f.message
    assert f.segment == "" and f.original == ""


def test_envelope_values_that_are_not_counts_or_control_numbers_are_not_quoted():
    data = SAMPLE.read_bytes()
    se = re.search(rb"\nSE\*(\d+)\*0001~", data)
    data = data[:se.start()] + b"\nSE*TESTPATIENT*1EG4TE5MK01~" + data[se.end():]
    result = scrub(data)
    assert {"ENV004", "ENV005"} <= {f.code for f in result.findings}
    assert_no_patient_data(result.findings)


# -- the command line: JSONL and CSV logs, and the listing on stderr -----------------
def _run(*args) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    text = result.output
    try:
        text += result.stderr
    except ValueError:  # an older click that mixes stderr into output
        pass
    return result.exit_code, text


def _records(log: Path, fmt: str) -> list[dict]:
    text = log.read_text(encoding="utf-8")
    if fmt == "jsonl":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
@pytest.mark.parametrize("name", sorted(INPUTS))
def test_cli_logs_hold_no_patient_data(tmp_path, name, fmt):
    src = tmp_path / "in.837"
    src.write_bytes(INPUTS[name])
    log = tmp_path / f"log.{fmt}"
    code, listing = _run("scrub", str(src), "--check", "--log", str(log), "--log-format", fmt)
    assert code in (0, 1), listing
    assert_log_clean(listing)
    assert_log_clean(log.read_text(encoding="utf-8"))
    records = _records(log, fmt)
    assert "ENV008" in {r["code"] for r in records}
    for r in records:
        assert SEGMENT_ID.match(r["segment"]), r
    # without --log the findings are listed on stderr
    code, listing = _run("scrub", str(src), "--check")
    assert "ENV008" in listing
    assert_log_clean(listing)


# -- pyx12 validation ------------------------------------------------------------------
def _pyx12():
    try:
        import pyx12  # noqa: F401
    except ImportError:
        pytest.skip("pyx12 is not installed: the IG findings cannot be made")


def _validation_inputs() -> dict[str, bytes]:
    out = {name: _with(CLEAN, new) for name, new in MALFORMED.items()}
    data = CLEAN.read_bytes()
    # a 71-character last name (NM103) and a 69-character group or policy number (SBR03)
    long_name = b"NM1*IL*1*" + (b"TESTPATIENT" * 7)[:71] + b"*ALPHA****MI*1EG4TE5MK01"
    long_group = b"SBR*P*18*" + (b"TESTGROUPNAME" * 6)[:69] + b"*******MB"
    assert b"SBR*P*18*******MB" in data
    out["long-values"] = _with(CLEAN, long_name).replace(b"SBR*P*18*******MB", long_group, 1)
    # a name where a code belongs (HL04), and a member id in a date (DMG02)
    hl = re.search(rb"HL\*2\*1\*22\*0~", data)
    assert hl
    out["values-out-of-place"] = (data[:hl.start()] + b"HL*2*1*22*TESTPATIENT~" + data[hl.end():]).replace(
        b"DMG*D8*", b"DMG*D8*1EG4TE5MK01", 1)
    return out


VALIDATION_INPUTS = _validation_inputs()


@pytest.mark.parametrize("name", sorted(VALIDATION_INPUTS))
def test_validation_findings_hold_no_patient_data(name):
    _pyx12()
    from scrubber.validate import validate

    v = validate(VALIDATION_INPUTS[name], file="in.837")
    ig = [f for f in v.findings if f.code.startswith("IG")]
    assert ig, "the change must give an IG finding"
    assert_no_patient_data(ig)
    # pyx12's description and the element reference stay
    for f in ig:
        assert f.message.startswith("pyx12 "), f.message


def test_validation_keeps_the_element_reference_and_the_length():
    _pyx12()
    from scrubber.validate import validate

    found = validate(VALIDATION_INPUTS["long-values"]).findings
    by_element = {f.element: f for f in found}
    assert "NM103" in by_element and "SBR03" in by_element, [f.to_dict() for f in found]
    assert "(NM103) is too long" in by_element["NM103"].message and "= 71 > 60" in by_element["NM103"].message
    assert "(SBR03) is too long" in by_element["SBR03"].message and "= 69 > 50" in by_element["SBR03"].message
    assert_no_patient_data(found)


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
@pytest.mark.parametrize("name", ["wrong-separator", "long-values", "values-out-of-place"])
def test_cli_validate_logs_hold_no_patient_data(tmp_path, name, fmt):
    _pyx12()
    src = tmp_path / "in.837"
    src.write_bytes(VALIDATION_INPUTS[name])
    log = tmp_path / f"log.{fmt}"
    code, listing = _run("scrub", str(src), "-o", str(tmp_path / "out.837"), "--validate", "--log", str(log),
                         "--log-format", fmt)
    assert code in (0, 1), listing
    text = log.read_text(encoding="utf-8")
    assert "IG00" in text
    assert_log_clean(listing)
    assert_log_clean(text)
    for r in _records(log, fmt):
        assert SEGMENT_ID.match(r["segment"]), r
        assert ELEMENT_REF.match(r["element"]), r
