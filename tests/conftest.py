"""Shared test fixtures.

The third-party corpus lives in ``../shared/corpus`` beside a developer's or
CI's checkout, not beside a user's clone; tests that read it skip with a
reason when it is absent.  The project's own fixtures (edi_samples/ and the
files built in the tests) cover every rule without it.

The setup cache is off for every test unless the test turns it on.
"""
from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

# No test depends on what an earlier run left in the setup cache: it is off for
# the whole session (set here, at import, so the command lines the tests start
# inherit it); tests/test_setup_cache.py turns it on where it tests it.
os.environ["SCRUBBER_CACHE"] = "off"

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
SAMPLES = ROOT / "edi_samples"


def corpus_files() -> list[Path]:
    files = CORPUS / "files"
    if not files.is_dir():
        return []
    return sorted(p for p in files.iterdir() if p.is_file()) + sorted((CORPUS / "synthetic").glob("*"))


def corpus_manifest() -> dict[str, dict]:
    path = CORPUS / "MANIFEST.tsv"
    if not path.is_file():
        return {}
    with path.open(newline="", encoding="utf-8") as fh:
        return {row["filename"]: row for row in csv.DictReader(fh, delimiter="\t")}


def corpus_params():
    files = corpus_files()
    if not files:
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"shared corpus not found at {CORPUS}"))]
    return [pytest.param(p, id=p.name[:60]) for p in files]


@pytest.fixture(scope="session")
def refdata():
    from scrubber.refdata import load_refdata

    return load_refdata()


def dying_scrubber(findings=(), segment_index=None):
    """A scrubber whose every file fails part way through: it has written
    the start of an output and passed on ``findings``, then the input goes
    away (an X12Error at ``segment_index``)."""
    from scrubber import Scrubber
    from scrubber.x12.tokenizer import X12Error

    s = Scrubber()

    def dies(inp, out, sink, rejects=None):
        out.write(b"ISA*partial")
        for f in findings:
            sink(f)
        raise X12Error("the disk went away", 10, segment_index)

    s.scrub_stream = dies
    return s
