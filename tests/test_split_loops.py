"""--reject-file: an HL loop that never gets a claim is not lost.

With a reject output, :class:`scrubber.output.SplitOutput` holds each HL loop
until a claim under it is written, then writes the loop chain to the clean or
the rejects output.  A loop that ends with no claim written under it (its CLM
missing or damaged, say) must still go somewhere: to the clean output, in
place, with the loops above it.
"""
from __future__ import annotations

import io
import re
from collections import Counter
from pathlib import Path

from scrubber.claims import iter_claims
from scrubber.pipeline import Scrubber
from scrubber.x12.tokenizer import tokenize

SAMPLES = Path(__file__).resolve().parent.parent / "edi_samples"
ENVELOPE = {"ISA", "GS", "ST", "SE", "GE", "IEA"}


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def drop_clm(data: bytes, claim_id: str) -> bytes:
    """``data`` without the CLM segment of ``claim_id`` (the rest of that claim
    is no longer recognized as a claim)."""
    out, n = re.subn(rb"CLM\*" + re.escape(claim_id.encode()) + rb"\*[^~]*~\r?\n?", b"", data)
    assert n == 1
    return out


def split(data: bytes) -> tuple[bytes, bytes]:
    out, rej = io.BytesIO(), io.BytesIO()
    Scrubber().scrub_stream(io.BytesIO(data), out, lambda f: None, rejects=rej)
    return out.getvalue(), rej.getvalue()


def direct(data: bytes) -> bytes:
    """The output without reject mode: every segment, in input order."""
    out = io.BytesIO()
    Scrubber().scrub_stream(io.BytesIO(data), out, lambda f: None)
    return out.getvalue()


def segments(data: bytes) -> list:
    return list(tokenize(data)) if data else []  # (an empty output has no interchange)


def body(data: bytes) -> Counter:
    """The multiset of segment contents outside the envelopes and HLs."""
    return Counter(s.content for s in segments(data) if s.tag not in ENVELOPE and s.tag != "HL")


def parts(data: bytes) -> tuple[list, list[tuple], Counter]:
    """``data`` cut into its transaction headers (ST up to the first HL), its
    HL loops and its claims.  A loop is (HL03, HL04, its segments up to its
    first claim or the next HL): its contents, whatever its HL numbers.
    Claims are the multiset of segments from each CLM to the next HL."""
    headers: list[list] = []
    found: list[list] = []
    claims: Counter = Counter()
    where = None
    for s in segments(data):
        tag = s.tag
        if tag == "ST":
            headers.append([])
            where = headers[-1]
        elif tag == "HL":
            found.append([s.element(3), s.element(4)])
            where = found[-1]
        elif tag == "CLM":
            where = claims
        elif tag in ENVELOPE:
            where = None
        if where is claims:
            claims[s.content] += 1
        elif where is not None and tag != "HL":
            where.append(s.content)
    return headers, [tuple(f) for f in found], claims


def loops(data: bytes) -> list[tuple]:
    return parts(data)[1]


def check_interchange(data: bytes) -> None:
    """One valid interchange: counts in SE01, GE01, IEA01 right; HL numbered
    1..n per transaction, each parent an earlier HL of its transaction."""
    segs = list(tokenize(data))
    tags = [s.tag for s in segs]
    assert tags[0] == "ISA" and tags[1] == "GS" and tags[-2:] == ["GE", "IEA"]
    assert tags.count("ISA") == 1 and tags.count("ST") == tags.count("SE") >= 1
    assert segs[-1].element(1) == str(tags.count("GS"))
    assert segs[-2].element(1) == str(tags.count("ST"))
    st = None
    for i, s in enumerate(segs):
        if s.tag == "ST":
            st, ids = i, []
        elif s.tag == "SE":
            assert s.element(1) == str(i - st + 1), "SE01 is not the transaction's segment count"
        elif s.tag == "HL":
            assert s.element(1) == str(len(ids) + 1)
            assert s.element(2) == "" or s.element(2) in ids
            ids.append(s.element(1))


def check_nothing_lost(data: bytes, clean: bytes, rejects: bytes) -> None:
    reference = direct(data)  # every segment, fixed as in reject mode, in input order
    # every one of its segments is in one of the two outputs, and nothing else is
    assert set(body(clean) + body(rejects)) == set(body(reference))
    headers, received, claims = parts(reference)
    outputs = [parts(out) for out in (clean, rejects) if out]
    # the claims' segments are each in exactly one output
    assert sum((p[2] for p in outputs), Counter()) == claims
    # every HL loop is in one of them: a loop without child loops in exactly
    # one, a parent loop at most once per output
    got = [lp for p in outputs for lp in p[1]]
    assert set(got) == set(received)
    for loop in received:
        n = got.count(loop)
        assert (n == 1) if loop[1] == "0" else (1 <= n <= len(outputs))
    for out, (hdrs, lps, _) in zip([o for o in (clean, rejects) if o], outputs):
        check_interchange(out)
        assert hdrs == headers  # each output has the transaction header
        assert max(Counter(lps).values()) == 1


def test_a_loop_whose_clm_is_missing_stays_in_the_clean_output():
    data = drop_clm(sample("837p-clean.x12"), "CLEAN0002")
    clean, rejects = split(data)
    assert rejects == b""
    assert b"TESTDEPENDENT" in clean
    check_nothing_lost(data, clean, rejects)
    received = Counter(s.content for s in tokenize(data) if s.tag not in ENVELOPE)
    assert Counter(s.content for s in tokenize(clean) if s.tag not in ENVELOPE) == received
    # nothing to reject and nothing reordered: the clean output is the input, SE01 recounted
    assert [s.content for s in tokenize(clean) if s.tag != "SE"] == [
        s.content for s in tokenize(data) if s.tag != "SE"]
    assert loops(clean) == loops(data)


def _subscriber(loop: tuple) -> bytes:
    return next(c for c in loop[2:] if c.startswith(b"NM1*IL*"))


def test_a_loop_without_a_claim_between_a_rejected_claim_and_a_clean_one():
    # HL4 holds NDC0003 (rejected), HL5 loses its CLM, HL6 holds NDC0005 (clean)
    data = drop_clm(sample("837p-ndc-format-qualifier-quantity.x12"), "NDC0004")
    clean, rejects = split(data)
    assert [c.claim_id.text for c in iter_claims(tokenize(rejects))] == ["NDC0003", "NDC0006"]
    assert [c.claim_id.text for c in iter_claims(tokenize(clean))] == ["NDC0001", "NDC0002", "NDC0005"]
    check_nothing_lost(data, clean, rejects)
    # the claimless loop (patient PI) is in the clean output, in input order
    order = [_subscriber(lp) for lp in loops(data) if lp[0] == "22"]
    in_clean = [_subscriber(lp) for lp in loops(clean) if lp[0] == "22"]
    assert [m for m in order if m in in_clean] == in_clean
    assert [m.split(b"*")[4] for m in in_clean] == [b"ALPHA", b"XI", b"PI", b"RHO"]
    # its segments (what was the claim) sit between NDC0002's and NDC0005's
    text = clean.decode()
    assert text.index("CLM*NDC0002*") < text.index("*TESTPATIENT*PI*") < text.index(
        "LIN**UP*72893000301~") < text.index("CLM*NDC0005*")


def test_a_loop_without_a_claim_after_a_rejected_one_is_written_in_place():
    # MODS0002 (HL3) is rejected, HL4 loses its CLM, MODS0004 (HL5) is rejected too
    data = drop_clm(sample("837p-jw-jz-modifiers.x12"), "MODS0003")
    clean, rejects = split(data)
    assert rejects and [c.claim_id.text for c in iter_claims(tokenize(clean))] == ["MODS0001", "MODS0005"]
    check_nothing_lost(data, clean, rejects)
    in_clean = [_subscriber(lp) for lp in loops(clean) if lp[0] == "22"]
    order = [_subscriber(lp) for lp in loops(data) if lp[0] == "22"]
    assert len(in_clean) == 3 and [m for m in order if m in in_clean] == in_clean


def test_a_claimless_child_loop_and_its_claimed_sibling():
    # a subscriber with two patient loops: the first loses its CLM, the second
    # keeps its claim; then a subscriber whose CLM is gone, at the end
    data = sample("837p-clean.x12")
    segs = data.split(b"~\n")
    hl4 = segs.index(b"HL*4*3*23*0")
    se = next(i for i, s in enumerate(segs) if s.startswith(b"SE*"))
    patient = segs[hl4:se]
    second = [b"HL*5*3*23*0"] + [s.replace(b"GAMMA", b"DELTA").replace(b"CLEAN0002", b"CLEAN0003")
                                 for s in patient[1:]]
    last = [b"HL*6*1*22*0", b"SBR*P*18*******MB", b"NM1*IL*1*TESTLAST*OMEGA****MI*1EG4TE5MK99",
            b"HI*ABK:C8440", b"LX*1", b"SV1*HC:96409*250*UN*1***1", b"DTP*472*D8*20260302"]
    segs = segs[:se] + second + last + segs[se:]
    data = drop_clm(b"~\n".join(segs), "CLEAN0002")
    clean, rejects = split(data)
    assert rejects == b""
    check_nothing_lost(data, clean, rejects)
    assert [s.content for s in tokenize(clean) if s.tag not in ("SE", "HL")] == [
        s.content for s in tokenize(data) if s.tag not in ("SE", "HL")]
    assert [tuple(s.elements[1:5]) for s in tokenize(clean) if s.tag == "HL"] == [
        tuple(s.elements[1:5]) for s in tokenize(data) if s.tag == "HL"]


def test_a_transaction_without_any_claim_is_kept():
    data = sample("837p-clean.x12")
    for cid in ("CLEAN0001", "CLEAN0002"):
        data = drop_clm(data, cid)
    clean, rejects = split(data)
    assert rejects == b""
    check_interchange(clean)
    assert [s.content for s in tokenize(clean) if s.tag != "SE"] == [
        s.content for s in tokenize(data) if s.tag != "SE"]


def test_a_transaction_cut_off_before_its_se_keeps_its_last_loop():
    full = drop_clm(sample("837p-clean.x12"), "CLEAN0002")
    data = full[:full.index(b"SE*")]
    clean, rejects = split(data)
    assert rejects == b""
    assert [s.content for s in tokenize(clean)] == [s.content for s in tokenize(data)]
