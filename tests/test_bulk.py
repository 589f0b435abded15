"""The bulk lane (subscriber loops without drug lines passed as raw bytes)
gives exactly what the ordinary, segment-by-segment way gives."""
from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scrubber.claims.bulk import HEADER, BlockScanner, Run
from scrubber.pipeline import Scrubber
from scrubber.x12.tokenizer import Delimiters, X12Error

from .conftest import corpus_files
from .test_fuzz import mutated

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.generate import generate  # noqa: E402


class Recording(Scrubber):
    """A scrubber that notes what the hierarchy said about each claim it checked."""

    def __init__(self):
        super().__init__()
        self.contexts = []

    def check_claim(self, pending, profile=None):
        c = pending.context
        self.contexts.append((pending.ordinal, c.payer_id, c.payer_name, c.filing_indicator, c.member_id,
                              c.patient_key, c.billing_provider))
        return super().check_claim(pending, profile)


def both(data: bytes):
    fast, slow = Recording(), Recording()
    slow.block_scanner = lambda: None
    out = []
    for s in (fast, slow):
        try:
            r = s.scrub(data)
        except X12Error as exc:
            out.append(("refused", exc.message))
            continue
        out.append((r.corrected, [f.to_dict() for f in r.findings], r.stats.claims, r.stats.segments,
                    r.stats.errors_remaining, s.contexts))
    return out


def generated(kind: str, claims: int, errors: float, seed: int) -> bytes:
    buf = io.StringIO()
    generate(buf, kind, claims, errors, seed)
    return buf.getvalue().encode()


@pytest.mark.parametrize("kind", ["837P", "837I"])
@pytest.mark.parametrize("errors", [0.0, 0.3])
def test_generated_files(kind, errors):
    fast, slow = both(generated(kind, 3000, errors, 5))
    assert fast == slow


def test_samples_and_corpus():
    files = sorted((ROOT / "edi_samples").glob("*.x12")) + corpus_files()
    for path in files:
        fast, slow = both(path.read_bytes())
        assert fast == slow, path.name


def test_small_chunks_still_agree():
    data = generated("837P", 500, 0.2, 9)
    fast, slow = Scrubber(), Scrubber()
    slow.block_scanner = lambda: None
    import scrubber.x12.tokenizer as tokmod

    saved = tokmod.CHUNK_SIZE
    try:
        for size in (64, 1000, 4096):
            tokmod.Tokenizer.__init__.__defaults__ = (size,)
            a, b = fast.scrub(data), slow.scrub(data)
            assert a.corrected == b.corrected == slow.scrub(data).corrected
            assert [f.to_dict() for f in a.findings] == [f.to_dict() for f in b.findings]
    finally:
        tokmod.Tokenizer.__init__.__defaults__ = (saved,)


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(mutated())
def test_mutated_inputs_agree(data):
    fast, slow = both(data)
    assert fast == slow


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(st.integers(0, 10_000), st.integers(0, 60))
def test_generated_with_damage_agree(seed, cut):
    data = bytearray(generated("837P", 40, 0.3, seed))
    # damage a few bytes in the middle of the claims
    for k in range(cut % 4):
        i = (seed * 7919 + k * 104729) % len(data)
        data[i] = (data[i] + cut) % 256
    fast, slow = both(bytes(data))
    assert fast == slow


@pytest.mark.parametrize("kind, old, new, code", [
    ("837P", b"SV1*HC:85025*", b"SV1*HC:85025:JW*", "JWZ004"),  # JW on a non-drug code: a drug line
    ("837P", b"SV1*HC:85025*", b"SV1*HC:85025:25:59:XE:JW*", "JWZ004"),  # JW as the fourth modifier
    ("837P", b"SV1*HC:85025*", b"SV1*HC:85025:25:59:XE:76:JW*", None),  # JW in the description: not a modifier
    ("837I", b"SV2*0450*HC:99283*", b"SV2*0450*HC:99283:JWX:25:JW*", "JWZ004"),  # JWX is not JW; the JW after it is
    ("837P", b"HI*ABK:I10~\n", b"HI*ABK:I10~\n~\n", "ENV007"),  # an empty segment
    ("837P", b"N3*1 ELM ST~\n", b"N3*1 ELM ST~\nx3*bad~\n", "ENV008"),  # an ill-formed segment id
    ("837I", b"SV2*0450*HC:99283*", b"SV2*0450*HC:J9307*", "NDC003"),  # a drug code with no NDC
    ("837P", b"HL*40*1*22*0~", b"HL*900**20*1~\nNM1*85*2*OTHER CLINIC*****XX*1234567893~\nHL*40*900*22*0~",
     None),  # a second billing provider
])
def test_what_the_bulk_lane_must_not_swallow(kind, old, new, code):
    data = generated(kind, 200, 0.0, 3)
    assert old in data
    data = data.replace(old, new, 3)
    fast, slow = both(data)
    assert fast == slow
    if code:
        assert code in {f["code"] for f in fast[1]}


def _drug_loop(data: bytes, n: int = 0) -> tuple[int, int]:
    """Where the ``n``-th subscriber loop with a drug line starts, and its first claim."""
    lin = -1
    for _ in range(n + 1):
        lin = data.index(b"LIN*", lin + 1)
    hl = data.rindex(b"HL*", 0, lin)
    return hl, data.index(b"CLM*", hl)


def test_a_loop_with_a_drug_line_hands_on_its_header():
    data = generated("837P", 200, 0.0, 3)
    hl, clm = _drug_loop(data)
    assert data[hl:clm].count(b"~") == 7  # HL, SBR, NM1, N3, N4, DMG, NM1
    assert BlockScanner(frozenset({"J9307"}))(data, hl, Delimiters.default()) == (clm, 7, HEADER)


def test_the_header_of_the_loop_a_run_stops_at():
    data = generated("837P", 200, 0.0, 3)
    hl, clm = _drug_loop(data, 1)
    before = data.rindex(b"HL*", 0, data.rindex(b"HL*", 0, hl))  # a clean loop before it
    scanner = BlockScanner(frozenset({"J9307"}))
    end, count, run = scanner(data, before, Delimiters.default())
    assert end == hl and run == Run(2)
    assert scanner(data, hl, Delimiters.default()) == (clm, 7, HEADER)


@pytest.mark.parametrize("old, new", [
    (b"N3*1 ELM ST~", b"n3*1 ELM ST~"),  # an ill-formed segment in the header
    (b"CLM*", b"XLM*"),  # no claim before the drug line
])
def test_no_header_for_a_loop_that_is_not_well_formed(old, new):
    data = generated("837P", 200, 0.0, 3)
    hl, clm = _drug_loop(data)
    data = data[:hl] + data[hl:].replace(old, new, 1)
    assert BlockScanner(frozenset({"J9307"}))(data, hl, Delimiters.default()) is None
    fast, slow = both(data)
    assert fast == slow


def test_a_patient_loop_in_the_header_gives_its_claims_the_patient():
    data = (ROOT / "edi_samples" / "837p-clean.x12").read_bytes()
    hl = data.index(b"*22*1~")
    hl = data.rindex(b"HL*", 0, hl)
    clm = data.index(b"CLM*", hl)
    assert b"*23*" in data[hl:clm] and b"NM1*QC*" in data[hl:clm]
    found = BlockScanner(frozenset({"J9307"}))(data, hl, Delimiters.default())
    assert found is not None and found[0] == clm and found[2] == HEADER
    fast, slow = both(data)
    assert fast == slow
    assert fast[-1] and all(key.count("|") == 3 for *_, key, _ in fast[-1])  # member|last|first|birth date
