"""Differential test: the claim walker against pyx12's X12ContextReader.

For every 5010 837 in the shared corpus that pyx12 reads (strictly, with its
maps), the (CLM01, LX01, procedure code, NDC, CTP04, CTP05) tuples of our
walker must equal pyx12's."""
from __future__ import annotations

import pytest

from scrubber.claims import iter_claims
from scrubber.x12.tokenizer import X12Error, tokenize

from .conftest import SAMPLES, corpus_params
from .pyx12_oracle import OracleUnavailable, pyx12_service_line_tuples


def walker_tuples(data: bytes) -> list[tuple]:
    out = []
    for claim in iter_claims(tokenize(data)):
        for line in claim.lines:
            out.append((claim.claim_id.text, line.number.text, line.code.text, line.ndc.text,
                        line.ndc_quantity.text, line.ndc_unit.text))
    return out


def interchanges(data: bytes) -> list[bytes]:
    """The file cut at each ISA: pyx12 keeps the first ISA's delimiters for the
    whole file, so each interchange is given to it on its own."""
    isas = [s for s in tokenize(data) if s.tag == "ISA"]
    if len({s.delims for s in isas}) <= 1:
        return [data]
    starts = [0] + [s.offset for s in isas[1:]]
    return [data[a:b] for a, b in zip(starts, starts[1:] + [len(data)])]


def _compare(data: bytes):
    if b"005010X22" not in data:
        pytest.skip("not a 5010 837 (the walker passes other versions through)")
    theirs = []
    try:
        pieces = interchanges(data)
    except X12Error:
        pytest.skip("not X12 (no ISA): covered by the bad-input tests")
    try:
        for piece in pieces:
            theirs += pyx12_service_line_tuples(piece, strip_bom=True)
    except OracleUnavailable as exc:
        pytest.skip(f"pyx12 cannot read this file: {exc}")
    try:
        ours = walker_tuples(data)
    except X12Error as exc:  # pragma: no cover - pyx12 read it, so must we
        pytest.fail(f"walker refused a file pyx12 reads: {exc}")
    assert ours == theirs
    return ours


@pytest.mark.parametrize("path", corpus_params())
def test_walker_matches_pyx12_on_corpus(path):
    _compare(path.read_bytes())


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*.x12")), ids=lambda p: p.name)
def test_walker_matches_pyx12_on_samples(path):
    _compare(path.read_bytes())
