"""Property and fuzz suite: mutated 837s never crash the scrubber.

Seeds are the project's samples (and the shared corpus when it is there).
Each example flips bytes, drops, duplicates or swaps segments, changes a
delimiter or truncates the file.  Whatever comes in, the scrubber either
refuses it as not X12 (exit 2, X12Error) or returns a result for which:
- nothing fixed means the output is the input, byte for byte;
- every change is in the log (a changed output has a fixed finding);
- scrubbing the output again changes nothing and fixes nothing.

Examples are bounded and derandomized for CI (the same examples every run);
set SCRUBBER_SOAK=1 (or a number of examples) for a long, random soak.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scrubber import Scrubber
from scrubber.files import atomic_write, scrub_file
from scrubber.x12.tokenizer import X12Error, tokenize

from .conftest import corpus_files, dying_scrubber

ROOT = Path(__file__).resolve().parents[1]
SEEDS = [p.read_bytes() for p in sorted((ROOT / "edi_samples").glob("*.x12"))]
SEEDS += [p.read_bytes() for p in corpus_files() if p.stat().st_size < 20_000]

_soak = os.environ.get("SCRUBBER_SOAK", "")
EXAMPLES = (int(_soak) if _soak.isdigit() and int(_soak) > 1 else 20_000) if _soak else 150
SCRUBBER = Scrubber()


def segments_of(data: bytes) -> list[bytes]:
    try:
        return [s.raw for s in tokenize(data)]
    except X12Error:
        return [data]


@st.composite
def mutated(draw) -> bytes:
    data = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "drop", "dup", "swap", "delim", "truncate", "insert"]))
        if not data:
            break
        if kind == "flip":
            i = draw(st.integers(0, len(data) - 1))
            data = data[:i] + bytes([draw(st.integers(0, 255))]) + data[i + 1:]
        elif kind == "truncate":
            data = data[: draw(st.integers(0, len(data)))]
        elif kind == "delim":
            old = draw(st.sampled_from([b"*", b"~", b":", b"\n", b"^"]))
            new = draw(st.sampled_from([b"*", b"~", b":", b"|", b"\n", b"", b"**"]))
            data = data.replace(old, new, draw(st.integers(1, 50)))
        elif kind == "insert":
            i = draw(st.integers(0, len(data)))
            data = data[:i] + draw(st.binary(max_size=20)) + data[i:]
        else:
            segs = segments_of(data)
            i = draw(st.integers(0, len(segs) - 1))
            if kind == "drop":
                del segs[i]
            elif kind == "dup":
                segs.insert(i, segs[i])
            else:
                j = draw(st.integers(0, len(segs) - 1))
                segs[i], segs[j] = segs[j], segs[i]
            data = b"".join(segs)
    return data


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=not _soak)
@given(mutated())
def test_mutated_input_never_crashes_and_keeps_the_invariants(data):
    try:
        result = SCRUBBER.scrub(data)
    except X12Error:
        return  # refused as not X12: the command line says so and exits 2
    fixed = [f for f in result.findings if f.fixed]
    if not fixed:
        assert result.corrected == data
    else:
        assert result.corrected != data or all(f.code.startswith("ENV") for f in fixed)
    again = SCRUBBER.scrub(result.corrected)
    assert again.corrected == result.corrected
    assert not [f for f in again.findings if f.fixed]


@settings(max_examples=EXAMPLES // 3, deadline=None, suppress_health_check=list(HealthCheck),
          derandomize=not _soak)
@given(st.binary(max_size=400))
def test_random_bytes_never_crash(data):
    try:
        SCRUBBER.scrub(b"ISA*00*" + data)
    except X12Error:
        pass


def test_a_crash_during_a_write_leaves_no_partial_file(tmp_path):
    target = tmp_path / "out.837"

    def boom(fh):
        fh.write(b"ISA*half a file")
        raise OSError("disk full")

    with pytest.raises(OSError):
        atomic_write(str(target), boom)
    assert list(tmp_path.iterdir()) == []


def test_a_failure_mid_scrub_leaves_no_output(tmp_path):
    src = tmp_path / "in.837"
    src.write_bytes(SEEDS[0])
    out = tmp_path / "out.837"
    findings = []
    outcome = scrub_file(dying_scrubber(), str(src), str(out), findings.append)
    assert outcome.status == "failed" and not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["in.837"]  # the output's temporary file is gone too
    assert [f.code for f in findings] == ["FILE001"]
    assert scrub_file(Scrubber(), str(src), str(out), findings.append).status == "processed" and out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.837", "out.837"]


class _FullDisk:
    """A file whose writes fail as on a full disk; with ``buffered``, the
    failure comes when what it holds is flushed (on flush, and again on
    close), as a buffered writer's does."""

    def __init__(self, fh, buffered: bool = False):
        self.fh = fh
        self.buffered = buffered

    def write(self, data):
        if self.buffered:
            return len(data)
        raise OSError(28, "No space left on device")

    def flush(self):
        if self.buffered:
            raise OSError(28, "No space left on device")

    def close(self):
        self.fh.close()
        self.flush()

    def __getattr__(self, name):
        return getattr(self.fh, name)


@pytest.mark.parametrize("where", ["missing folder", "full disk"])
def test_an_output_that_cannot_be_written_fails_that_file_only(tmp_path, monkeypatch, where):
    src = tmp_path / "in.837"
    src.write_bytes(SEEDS[0])
    out = tmp_path / "out.837"
    if where == "missing folder":
        out = tmp_path / "missing" / "out.837"
        expected = f"cannot write {out}: No such file or directory"
    else:
        import scrubber.files as files

        real_fdopen = os.fdopen
        monkeypatch.setattr(files.os, "fdopen", lambda *a, **k: _FullDisk(real_fdopen(*a, **k)))
        expected = f"cannot write {out}: No space left on device"
    findings = []
    outcome = scrub_file(Scrubber(), str(src), str(out), findings.append)
    assert outcome.status == "failed" and outcome.error == expected
    assert [(f.code, f.message) for f in findings] == [("FILE001", expected)]
    assert [p.name for p in tmp_path.iterdir()] == ["in.837"] and src.read_bytes() == SEEDS[0]


def test_written_files_get_the_usual_mode(tmp_path):
    target = tmp_path / "new.837"
    atomic_write(str(target), lambda fh: fh.write(b"x"))
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask
    target.chmod(0o640)
    atomic_write(str(target), lambda fh: fh.write(b"y"))  # rewriting keeps the file's mode
    assert target.stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize("buffered", [False, True])
def test_a_full_disk_with_rejects_fails_that_file_and_leaves_nothing(tmp_path, monkeypatch, buffered):
    import scrubber.files as files

    src = tmp_path / "in.837"
    src.write_bytes(SEEDS[0])
    real_fdopen = os.fdopen
    monkeypatch.setattr(files.os, "fdopen", lambda *a, **k: _FullDisk(real_fdopen(*a, **k), buffered))
    findings = []
    outcome = scrub_file(Scrubber(), str(src), str(tmp_path / "out.837"), findings.append,
                         reject=str(tmp_path / "rej.837"))
    assert outcome.status == "failed" and "No space left on device" in outcome.error
    assert [f.code for f in findings] == ["FILE001"]
    assert [p.name for p in tmp_path.iterdir()] == ["in.837"]


def test_atomic_write_leaves_nothing_when_its_last_flush_fails(tmp_path, monkeypatch):
    import scrubber.files as files

    real_fdopen = os.fdopen
    monkeypatch.setattr(files.os, "fdopen", lambda *a, **k: _FullDisk(real_fdopen(*a, **k), True))
    with pytest.raises(OSError):
        atomic_write(str(tmp_path / "out.837"), lambda fh: fh.write(b"ISA*"))
    assert list(tmp_path.iterdir()) == []


def test_no_output_is_put_in_place_when_the_rejects_cannot_be(tmp_path):
    src = tmp_path / "in.837"
    src.write_bytes(SEEDS[0])
    (tmp_path / "rej.837").mkdir()  # a folder where the rejects file should go
    findings = []
    outcome = scrub_file(Scrubber(), str(src), str(tmp_path / "out.837"), findings.append,
                         reject=str(tmp_path / "rej.837"))
    assert outcome.status == "failed" and outcome.error.startswith(f"cannot write {tmp_path / 'rej.837'}")
    assert [f.code for f in findings] == ["FILE001"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.837", "rej.837"]  # no out.837, no temporary file


def test_a_long_output_name(tmp_path):
    src = tmp_path / "in.837"
    src.write_bytes(SEEDS[0])
    out = tmp_path / ("a" * 240 + ".837")
    assert scrub_file(Scrubber(), str(src), str(out), [].append).status == "processed" and out.exists()
