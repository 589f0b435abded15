"""Findings held back until a file is done stay in bounded memory: past a
few thousand they go to a temporary file, and come back complete and in
order, in this process or across to another (a --jobs worker's results)."""
from __future__ import annotations

import errno
import json
import os
import pickle
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from scrubber.cli import main
from scrubber.files import FindingSpool
from scrubber.findings import Finding

from .conftest import dying_scrubber

ROOT = Path(__file__).resolve().parents[1]
CLEAN = ROOT / "edi_samples" / "837p-clean.x12"


def findings(n: int) -> list[Finding]:
    return [Finding(code="ENV009", severity="error", message="ZZ outside an ST/SE transaction", segment_index=i)
            for i in range(n)]


def spool_of(want: list[Finding], keep: int, batch: int) -> FindingSpool:
    spool = FindingSpool(keep=keep)
    spool.BATCH = batch
    spool.extend(want)
    return spool


@pytest.fixture
def temp_dir(tmp_path, monkeypatch):
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.mark.parametrize("n", [0, 3, 5, 5 + 4, 5 + 4 * 7 + 2])
def test_everything_comes_back_in_order(temp_dir, n):
    want = findings(n)
    spool = spool_of(want, keep=5, batch=4)
    assert len(spool) == n
    assert list(spool) == want
    assert list(spool) == want  # again: reading does not use it up
    spilled = list(temp_dir.iterdir())
    assert len(spilled) == (1 if n >= 5 + 4 else 0)
    spool.close()
    assert list(temp_dir.iterdir()) == []


def test_only_the_first_are_kept_in_memory(temp_dir):
    spool = spool_of(findings(1000), keep=5, batch=4)
    assert len(spool._kept) == 5 and len(spool._batch) < 4
    spool.close()


def test_a_spool_handed_to_another_process_takes_its_file_with_it(temp_dir):
    want = findings(20)
    spool = spool_of(want, keep=2, batch=3)
    copy = pickle.loads(pickle.dumps(spool))
    del spool  # the sender lets go: the file is the receiver's now
    assert len(list(temp_dir.iterdir())) == 1
    assert list(copy) == want and len(copy) == 20
    copy.close()
    assert list(temp_dir.iterdir()) == []


def test_a_spool_never_closed_leaves_no_file_once_collected(temp_dir):
    spool = spool_of(findings(3), keep=1, batch=1)
    assert list(temp_dir.iterdir())
    del spool
    assert list(temp_dir.iterdir()) == []


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_file_with_more_findings_than_are_kept_is_logged_whole(tmp_path, temp_dir, monkeypatch, jobs):
    """Every stray segment is a finding: the log has each, in order, with
    the findings spooled to a file in the worker and read in the parent."""
    monkeypatch.setattr(FindingSpool, "KEEP", 10)
    monkeypatch.setattr(FindingSpool, "BATCH", 7)
    isa = CLEAN.read_bytes().split(b"~")[0] + b"~"
    stray = tmp_path / "stray.x12"
    stray.write_bytes(isa + b"ZZ*1~" * 500)
    other = tmp_path / "other.x12"
    other.write_bytes(CLEAN.read_bytes())
    log = tmp_path / "log.jsonl"
    r = CliRunner().invoke(main, ["scrub", str(stray), str(other), "--check", "--log", str(log), "--jobs", jobs])
    assert r.exit_code == 1, r.output
    records = [json.loads(line) for line in log.read_text().splitlines()]
    strays = [x for x in records if x["code"] == "ENV009"]
    assert [x["segment_index"] for x in strays] == list(range(2, 502))
    assert [x["file"] for x in records] == [str(stray)] * len(records)  # the clean file has no finding
    assert list(temp_dir.iterdir()) == []


def test_a_spool_as_the_sink_holds_a_whole_files_findings(tmp_path, temp_dir):
    """scrub_file holding the findings in the caller's spool (a worker's)
    gives what it gives a plain sink, without a second copy."""
    from scrubber import Scrubber
    from scrubber.files import scrub_file

    isa = CLEAN.read_bytes().split(b"~")[0] + b"~"
    stray = tmp_path / "stray.x12"
    stray.write_bytes(isa + b"ZZ*1~" * 50)
    plain: list[Finding] = []
    scrub_file(Scrubber(), str(stray), None, plain.append, check=True)
    spool = FindingSpool(keep=10)
    spool.BATCH = 7
    outcome = scrub_file(Scrubber(), str(stray), None, spool, check=True)
    assert outcome.status == "processed" and list(spool) == plain and len(plain) > 50
    spool.close()


def test_a_spool_as_the_sink_keeps_only_the_failure_of_a_file_that_fails(tmp_path, temp_dir):
    from scrubber.files import scrub_file

    spool = FindingSpool(keep=10)
    spool.BATCH = 7
    outcome = scrub_file(dying_scrubber(findings(30), segment_index=4), str(CLEAN), None, spool, check=True)
    assert outcome.status == "failed"
    assert [(f.code, f.segment_index) for f in spool] == [("FILE001", 4)] and len(spool) == 1
    assert list(temp_dir.iterdir()) == []  # what was spilled is gone


class FullDisk:
    """os.write that writes ``room`` bytes in all, then fails as a full disk does."""

    def __init__(self, room: int):
        self.room = room
        self.real = os.write

    def __call__(self, fd, data):
        if self.room <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        n = self.real(fd, bytes(data[: self.room]))
        self.room -= n
        return n


def test_a_full_disk_takes_back_the_batch_cut_short(temp_dir, monkeypatch):
    """The batch that did not fit is not left half written: once there is
    room again, the spool reads back every finding, in order."""
    from scrubber.files import OutputError

    want = findings(40)
    spool = spool_of(want[:9], keep=5, batch=4)  # one batch on disk
    (spilled,) = temp_dir.iterdir()
    size = spilled.stat().st_size
    monkeypatch.setattr(os, "write", FullDisk(room=10))
    with pytest.raises(OutputError, match="a temporary file for the findings: No space left"):
        spool.extend(want[9:13])
    assert spilled.stat().st_size == size
    monkeypatch.undo()
    spool.extend(want[13:])
    assert list(spool) == want
    spool.close()
    assert list(temp_dir.iterdir()) == [] and list(spool) == [] and len(spool) == 0


def test_a_spool_received_from_another_process_can_be_added_to(temp_dir, monkeypatch):
    monkeypatch.setattr(FindingSpool, "BATCH", 3)  # (the class's: an instance's is not handed over)
    want = findings(30)
    spool = pickle.loads(pickle.dumps(spool_of(want[:20], keep=2, batch=3)))
    spool.extend(want[20:])
    assert list(spool) == want and len(spool) == 30
    spool.close()
    assert list(temp_dir.iterdir()) == []


def test_a_job_stopped_in_the_middle_leaves_no_spool_behind(temp_dir, monkeypatch):
    """A worker stopped by a signal ends without the interpreter's exit
    hooks: its spool's file is removed on the way out."""
    from scrubber import Scrubber
    from scrubber.batch import Job, _run_one

    class Stopped(Scrubber):
        def scrub_stream(self, inp, out, sink, rejects=None):
            for f in findings(50):
                sink(f)
            raise KeyboardInterrupt

    monkeypatch.setattr(FindingSpool, "KEEP", 5)
    monkeypatch.setattr(FindingSpool, "BATCH", 4)
    with pytest.raises(KeyboardInterrupt) as stopped:
        _run_one(Job(str(CLEAN), None, None, check=True), Stopped())
    assert list(temp_dir.iterdir()) == []  # (while the traceback, which holds the spool, is alive)
    del stopped


def test_a_full_disk_under_the_validation_findings_fails_the_file_with_one_finding(temp_dir, monkeypatch):
    from scrubber import Scrubber
    from scrubber import batch as batch_module

    monkeypatch.setattr(FindingSpool, "KEEP", 5)
    monkeypatch.setattr(FindingSpool, "BATCH", 4)
    monkeypatch.setattr(batch_module, "_validate", lambda job, s: findings(30))
    monkeypatch.setattr(os, "write", FullDisk(room=0))
    outcome, held = batch_module._run_one(batch_module.Job(str(CLEAN), None, None, check=True, validate=True),
                                          Scrubber())
    monkeypatch.undo()
    assert outcome.status == "failed" and "No space left" in outcome.error
    assert [f.code for f in held] == ["FILE001"]
    held.close()
    assert list(temp_dir.iterdir()) == []
