"""Golden before/after tests over edi_samples/.

For every sample ``edi_samples/<name>.x12`` the command line is run from the
repository root, exactly as a user would (``scrubber scrub edi_samples/<name>.x12
-o OUT --log LOG``), and:

* the corrected bytes equal ``edi_samples/expected/<name>.out``;
* the log records equal ``edi_samples/expected/<name>.log.jsonl`` (parsed JSON,
  compared as lists of dicts; the ``file`` key holds the relative path);
* the exit code is the one documented in ``edi_samples/README.md``;
* scrubbing the expected output again changes nothing and fixes nothing;
* the input file is not modified;
* pyx12 validates the corrected file (when ``tests/pyx12_oracle.py`` is there);
* the corrected file passes arithmetic checks made here, without the
  scrubber: SE01 counts the segments, CLM02 is the sum of the line charges,
  LX01 runs 1..n, billed units are positive, and a pralatrexate (20 mg/mL,
  J9307 = 1 mg) line bills CTP04 mL x 20 units, rounded up when administered
  and down when discarded (JW).

The expected files were reviewed by hand against docs/domain.md.  Where the
scrubber is known to be wrong, the expected file holds the *correct* output
(written by hand) and the affected checks are marked ``xfail(strict=True)``
with the bug, so they start failing (XPASS) as soon as the bug is fixed.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import re
import sys
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # plain `pytest` (not `python -m pytest`) from elsewhere
    sys.path.insert(0, str(ROOT))

from click.testing import CliRunner  # noqa: E402

from scrubber.cli import main  # noqa: E402

SAMPLES_DIR = ROOT / "edi_samples"
EXPECTED_DIR = SAMPLES_DIR / "expected"

# sample -> documented exit code (edi_samples/README.md)
SAMPLES = {
    "837p-payer-policy": 1,
    "837p-units-not-a-number": 1,
    "837p-clean": 0,
    "837p-j9307-worked-example": 0,
    "837p-j9307-undocumented-waste": 0,
    "837p-j9307-waste-two-dates": 0,
    "837p-j9307-fractional-jw": 0,
    "837p-j9307-overbilled": 0,
    "837p-j9307-overbilled-two-lines": 0,
    "837p-units-fraction-basis-duplicate": 0,
    "837p-jw-jz-modifiers": 1,
    "837p-ndc-format-qualifier-quantity": 1,
    "837p-ndc-ctp-zero": 1,
    "837p-belantamab-ndc-under-j9307": 1,
    "837p-belantamab-j9037-noc": 1,
    "837i-j9307-outpatient": 0,
    "837p-two-interchanges-crlf": 0,
}

# samples that must come out byte for byte as they went in, with an empty log
UNCHANGED = ("837p-clean", "837p-j9307-worked-example")

# Known scrubber bugs: sample -> (checks that fail because of it, the bug).
KNOWN_BUGS: dict[str, tuple[set, str]] = {}

# pyx12 errors that stay in a corrected file because they are errors a person must fix
PYX12_EXPECTED_ERRORS = {
    "837p-ndc-format-qualifier-quantity": [
        'Mandatory segment "Drug Quantity" (CTP) missing',  # LIN with no CTP (NDC006)
        "(XX) is not a valid code for Code Qualifier (CTP05-01)",  # CTP05 XX (NDC006)
    ],
    "837p-units-not-a-number": ['"Service Unit Count" (SV104) is type R, contains an invalid character'],  # UNT004
}

# arithmetic problems that stay in a corrected file because only a person can fix them
ARITHMETIC_EXPECTED = {
    "837p-units-not-a-number": ["CLEAN0002 line 1: units 0",  # SV104 '2O' (UNT004)
                                "CLEAN0002 line 1: 0 units for 1 mL (rounded up: 20)"],
}

# pralatrexate NDCs (docs/domain.md section 2): all 20 mg/mL, J9307 = 1 mg
PRALATREXATE_NDCS = {"72893000301", "72893000501", "48818000101", "48818000102", "65219055001", "43598034211"}


def params(check: str) -> list:
    out = []
    for name in SAMPLES:
        bug = KNOWN_BUGS.get(name)
        marks = [pytest.mark.xfail(reason=bug[1], strict=True)] if bug and check in bug[0] else []
        out.append(pytest.param(name, marks=marks, id=name))
    return out


# ----------------------------------------------------------------------------- running
@dataclass
class Run:
    exit_code: int
    corrected: bytes
    log: list[dict]
    stderr: str
    input_before: str
    input_after: str


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read_log(path: Path) -> list[dict]:
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def scrub_cli(rel_input: str, workdir: Path, tag: str) -> Run:
    """Run `scrubber scrub <rel_input> -o ... --log ...` from the repository root."""
    src = ROOT / rel_input
    out = workdir / f"{tag}.out"
    log = workdir / f"{tag}.log.jsonl"
    before = _sha(src)
    with contextlib.chdir(ROOT):
        result = CliRunner().invoke(main, ["scrub", rel_input, "-o", str(out), "--log", str(log)])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, out.read_bytes() if out.exists() else b"", _read_log(log),
               getattr(result, "stderr", ""), before, _sha(src))


_RUNS: dict[str, Run] = {}


@pytest.fixture(scope="session")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("golden")


@pytest.fixture
def run(workdir):
    def get(name: str) -> Run:
        if name not in _RUNS:
            _RUNS[name] = scrub_cli(f"edi_samples/{name}.x12", workdir, name)
        return _RUNS[name]
    return get


def expected_out(name: str) -> bytes:
    return (EXPECTED_DIR / f"{name}.out").read_bytes()


# ----------------------------------------------------------------------------- the goldens
@pytest.mark.parametrize("name", params("bytes"))
def test_corrected_bytes(run, name):
    got = run(name).corrected
    want = expected_out(name)
    assert got == want, _first_difference(got, want)


@pytest.mark.parametrize("name", params("log"))
def test_log_records(run, name):
    path = EXPECTED_DIR / f"{name}.log.jsonl"
    if not path.exists():
        pytest.skip(f"no reviewed log for {name}: {KNOWN_BUGS.get(name, ('', 'missing'))[1]}")
    assert run(name).log == _read_log(path)


@pytest.mark.parametrize("name", params("exit"))
def test_exit_code(run, name):
    r = run(name)
    assert r.exit_code == SAMPLES[name], r.stderr


@pytest.mark.parametrize("name", params("input"))
def test_input_not_modified(run, name):
    r = run(name)
    assert r.input_after == r.input_before


@pytest.mark.parametrize("name", params("idempotence"))
def test_rescrub_of_expected_output_is_stable(workdir, name):
    """The corrected file, scrubbed again: same bytes, nothing fixed, same exit class."""
    again = scrub_cli(f"edi_samples/expected/{name}.out", workdir, f"{name}.again")
    assert again.corrected == expected_out(name), _first_difference(again.corrected, expected_out(name))
    fixed = [(f["code"], f["claim_id"], f["line_number"]) for f in again.log if f["fixed"]]
    assert fixed == []
    assert again.exit_code == SAMPLES[name]


@pytest.mark.parametrize("name", UNCHANGED)
def test_unchanged_samples_golden_is_the_input(name):
    assert expected_out(name) == (SAMPLES_DIR / f"{name}.x12").read_bytes()
    assert _read_log(EXPECTED_DIR / f"{name}.log.jsonl") == []


def test_every_rule_code_is_shown_by_a_reviewed_sample():
    from scrubber.rules import RULES

    shown = {rec["code"] for p in EXPECTED_DIR.glob("*.log.jsonl") for rec in _read_log(p)}
    missing = sorted(set(RULES.codes()) - shown)
    assert missing == [], f"rule codes with no reviewed sample: {missing}"


def test_fixable_rules_show_a_fix_and_the_logs_name_their_file():
    from scrubber.rules import RULES

    fixed = set()
    for p in EXPECTED_DIR.glob("*.log.jsonl"):
        name = p.name[: -len(".log.jsonl")]
        for rec in _read_log(p):
            assert rec["file"] == f"edi_samples/{name}.x12"
            if rec["fixed"]:
                fixed.add(rec["code"])
    fixable = {r.code for r in RULES if r.fixable}
    assert fixable - fixed == set()


# ----------------------------------------------------------------------------- pyx12
def _oracle():
    try:
        from tests.pyx12_oracle import OracleUnavailable, pyx12_validate
    except ImportError:
        try:
            from pyx12_oracle import OracleUnavailable, pyx12_validate  # type: ignore[no-redef]
        except ImportError as exc:
            pytest.skip(f"tests/pyx12_oracle.py not available: {exc}")
    return pyx12_validate, OracleUnavailable


def split_interchanges(data: bytes) -> list[bytes]:
    """pyx12 reads the delimiters of the first ISA only, so each interchange
    is validated on its own."""
    starts = [m.start() for m in re.finditer(rb"(?:^|(?<=[\r\n]))ISA", data)]
    return [data[a:b] for a, b in zip(starts, starts[1:] + [len(data)])]


@pytest.mark.parametrize("name", params("pyx12"))
def test_pyx12_validates_corrected_file(run, name):
    pyx12_validate, unavailable = _oracle()
    errors = []
    for chunk in split_interchanges(run(name).corrected):
        try:
            ok, errs, _ack = pyx12_validate(chunk)
        except unavailable as exc:
            pytest.skip(f"pyx12 cannot validate {name}: {exc}")
        errors += errs
    want = PYX12_EXPECTED_ERRORS.get(name, [])
    assert len(errors) == len(want), errors
    for err, text in zip(errors, want):
        assert text in err, errors


# ----------------------------------------------------------------------------- arithmetic
def segments(data: bytes) -> list[list[list[str]]]:
    """The file as segments of elements of components, delimiters read from each ISA."""
    text = data.decode("latin-1")
    out = []
    pos = 0
    while True:
        i = text.find("ISA", pos)
        if i < 0:
            break
        e, c, t = text[i + 3], text[i + 104], text[i + 105]
        end = text.find(f"{t}", text.find(f"IEA{e}", i))
        for raw in text[i:end + 1].split(t):
            raw = raw.strip("\r\n \t")
            if raw:
                out.append([el.split(c) for el in raw.split(e)])
        pos = end + 1
    return out


def _d(text: str) -> Decimal:
    """A number of the file; one that is not a number counts as 0 (then
    reported as units of 0)."""
    try:
        return Decimal(text)
    except ArithmeticError:
        return Decimal(0)


def arithmetic_problems(data: bytes) -> list[str]:
    problems = []
    segs = segments(data)
    st_at = None
    claim = None  # [clm segment, [lines]]
    claims = []
    for n, seg in enumerate(segs):
        tag = seg[0][0]
        if tag == "ST":
            st_at = n
        elif tag == "SE":
            count = n - st_at + 1
            if int(seg[1][0]) != count:
                problems.append(f"SE01 {seg[1][0]} but {count} segments in ST {seg[2][0]}")
        if tag in ("HL", "CLM", "SE"):
            claim = None
        if tag == "CLM":
            claim = [seg, []]
            claims.append(claim)
        elif claim is not None and tag == "LX":
            claim[1].append({"lx": seg[1][0]})
        elif claim is not None and claim[1] and tag in ("SV1", "SV2"):
            line = claim[1][-1]
            comp = seg[1] if tag == "SV1" else seg[2]
            line.update(code=comp[1], mods=comp[2:6], charge=_d((seg[2] if tag == "SV1" else seg[3])[0]),
                        units=_d((seg[4] if tag == "SV1" else seg[5])[0]))
        elif claim is not None and claim[1] and tag == "LIN":
            claim[1][-1]["ndc"] = seg[3][0]
        elif claim is not None and claim[1] and tag == "CTP":
            claim[1][-1]["qty"] = seg[4][0]
            claim[1][-1]["unit"] = seg[5][0] if len(seg) > 5 else ""
    for clm, lines in claims:
        cid = clm[1][0]
        total = sum((ln["charge"] for ln in lines), Decimal(0))
        if _d(clm[2][0]) != total:
            problems.append(f"{cid}: CLM02 {clm[2][0]} but the lines sum to {total}")
        numbers = [ln["lx"] for ln in lines]
        if numbers != [str(i) for i in range(1, len(lines) + 1)]:
            problems.append(f"{cid}: LX01 {numbers}")
        for ln in lines:
            if ln["units"] <= 0:
                problems.append(f"{cid} line {ln['lx']}: units {ln['units']}")
            if ln.get("code") != "J9307" or ln.get("ndc") not in PRALATREXATE_NDCS or ln.get("unit") != "ML":
                continue
            mg = _d(ln["qty"]) * 20
            if mg <= 0:
                continue
            jw = "JW" in ln["mods"]
            want = mg.to_integral_value(ROUND_FLOOR if jw else ROUND_CEILING)
            if ln["units"] != want:
                problems.append(f"{cid} line {ln['lx']}: {ln['units']} units for {ln['qty']} mL "
                                f"({'JW, rounded down' if jw else 'rounded up'}: {want})")
    return problems


@pytest.mark.parametrize("name", params("arithmetic"))
def test_corrected_file_arithmetic(run, name):
    assert arithmetic_problems(run(name).corrected) == ARITHMETIC_EXPECTED.get(name, [])


@pytest.mark.parametrize("name", list(SAMPLES))
def test_expected_file_arithmetic(name):
    """The reviewed goldens themselves satisfy the domain arithmetic (but
    for the errors only a person can fix)."""
    assert arithmetic_problems(expected_out(name)) == ARITHMETIC_EXPECTED.get(name, [])


def test_arithmetic_check_can_fail():
    data = (EXPECTED_DIR / "837p-j9307-worked-example.out").read_bytes()
    broken = data.replace(b"CTP****0.85*ML", b"CTP****0.9*ML").replace(b"\nSE*", b"\nSE*1", 1)
    problems = arithmetic_problems(broken)
    assert any("17 units for 0.9 mL" in p for p in problems)
    assert any(p.startswith("SE01 1") for p in problems)


# ----------------------------------------------------------------------------- helpers
def _first_difference(got: bytes, want: bytes) -> str:
    g, w = got.splitlines(), want.splitlines()
    for i, (a, b) in enumerate(zip(g, w)):
        if a != b:
            return f"first difference at line {i + 1}: got {a!r}, want {b!r}"
    return f"lengths differ: got {len(g)} lines, want {len(w)} lines"
