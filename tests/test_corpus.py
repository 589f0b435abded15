"""Every file of the shared corpus goes through `scrubber scrub` without a
traceback; a file with nothing fixed comes out byte-identical; scrubbing the
output again changes nothing (idempotence); every change is in the log."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from scrubber.cli import main

from .conftest import corpus_params
from .pyx12_oracle import OracleUnavailable, pyx12_validate


@pytest.mark.parametrize("path", corpus_params())
def test_corpus_file_scrubs_cleanly(path, tmp_path):
    before = path.read_bytes()
    out, log = tmp_path / "out", tmp_path / "log.jsonl"
    result = CliRunner().invoke(main, ["scrub", str(path), "-o", str(out), "--log", str(log)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert result.exit_code in (0, 1, 2)
    assert path.read_bytes() == before  # the input is never modified
    records = [json.loads(line) for line in log.read_text().splitlines()]
    if result.exit_code == 2:
        assert not out.exists()
        assert [r["code"] for r in records] == ["FILE001"] and records[0]["file"] == str(path)
        return
    corrected = out.read_bytes()
    fixed = [r for r in records if r["fixed"]]
    if not fixed:
        assert corrected == before
    else:
        assert corrected != before
        again, log2 = tmp_path / "again", tmp_path / "log2.jsonl"
        result2 = CliRunner().invoke(main, ["scrub", str(out), "-o", str(again), "--log", str(log2)])
        assert again.read_bytes() == corrected
        assert not [r for r in map(json.loads, log2.read_text().splitlines()) if r["fixed"]]
        assert result2.exit_code == (1 if any(r["severity"] == "error" and not r["fixed"] for r in records) else 0)
        _still_valid(before, corrected)


def _still_valid(before: bytes, corrected: bytes) -> None:
    """The corrected file passes pyx12 validation when the input did."""
    try:
        ok, _, _ = pyx12_validate(before, strip_bom=True)
        if ok:
            ok_after, errors, _ = pyx12_validate(corrected, strip_bom=True)
            assert ok_after, errors
    except OracleUnavailable:
        pass  # pyx12 has no map for it: nothing to compare
