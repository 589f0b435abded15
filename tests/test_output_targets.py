"""Output targets that are not plain files: symbolic links, devices, named pipes.

An output is written through a temporary file and renamed into place, but
only onto a regular file (or a name with no file yet).  A symbolic link is
followed (the file it names is replaced, the link stays); a device or a
named pipe is written through, never replaced; a folder or a socket is an
error for that file.  Whatever happens, no ``.scrubber-*.tmp`` is left.
"""
from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import threading

import pytest
from click.testing import CliRunner

from scrubber import Scrubber
from scrubber.cli import main
from scrubber.files import atomic_write, scrub_file

from .conftest import dying_scrubber
from .test_cli import claim_file

FIXED_LINE = b"SV1*HC:J9307:JZ*4000*UN*40***1~"
posix_only = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes and devices are POSIX")


def overbilled(tmp_path):
    """An input the scrubber corrects, and the corrected bytes (written to a plain file)."""
    src = tmp_path / "in.837"
    src.write_bytes(claim_file(units="50", charge="5000"))
    expected = tmp_path / "expected" / "out.837"
    expected.parent.mkdir()
    assert scrub_file(Scrubber(), str(src), str(expected), [].append).status == "processed"
    data = expected.read_bytes()
    assert FIXED_LINE in data
    return src, data


def leftovers(*folders) -> list[str]:
    return [p.name for folder in folders for p in folder.iterdir() if p.name.startswith(".scrubber-")]


class Reader(threading.Thread):
    """Reads a named pipe to its end (opening it waits for a writer)."""

    def __init__(self, path):
        super().__init__(daemon=True)  # never keeps the tests from ending
        self.path = path
        self.data = None

    def run(self):
        with open(self.path, "rb") as fh:
            self.data = fh.read()

    def result(self) -> bytes:
        self.join(timeout=20)
        assert not self.is_alive(), "nothing was written to the pipe (or it was never closed)"
        return self.data


def read_pipe(tmp_path):
    """A named pipe in ``tmp_path`` and a started reader of it."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = Reader(fifo)
    reader.start()
    return fifo, reader


@posix_only
def test_a_named_pipe_is_written_through_not_replaced(tmp_path):
    src, expected = overbilled(tmp_path)
    fifo, reader = read_pipe(tmp_path)
    findings = []
    outcome = scrub_file(Scrubber(), str(src), str(fifo), findings.append)
    assert outcome.status == "processed" and outcome.changed and outcome.errors_remaining == 0
    assert reader.result() == expected
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert [f.code for f in findings] == ["UNT001"]
    assert leftovers(tmp_path) == []


@posix_only
def test_a_file_that_fails_sends_nothing_down_the_pipe(tmp_path):
    src, _ = overbilled(tmp_path)
    fifo, reader = read_pipe(tmp_path)
    findings = []
    outcome = scrub_file(dying_scrubber(), str(src), str(fifo), findings.append)
    assert outcome.status == "failed" and [f.code for f in findings] == ["FILE001"]
    assert reader.result() == b""  # the reader sees the end, and no partial file
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert leftovers(tmp_path) == []


@posix_only
def test_a_named_pipe_through_the_command_line(tmp_path):
    src, expected = overbilled(tmp_path)
    fifo, reader = read_pipe(tmp_path)
    r = CliRunner().invoke(main, ["scrub", str(src), "-o", str(fifo), "--log", os.devnull], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert reader.result() == expected
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and leftovers(tmp_path) == []


@pytest.mark.skipif(not os.path.exists("/dev/null") or not hasattr(os, "symlink"), reason="needs /dev/null")
def test_a_link_to_dev_null_stays_a_link_and_dev_null_a_device(tmp_path):
    src, _ = overbilled(tmp_path)
    link = tmp_path / "null"
    link.symlink_to("/dev/null")
    outcome = scrub_file(Scrubber(), str(src), str(link), [].append)
    assert outcome.status == "processed" and outcome.changed
    assert link.is_symlink() and os.readlink(link) == "/dev/null"
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert leftovers(tmp_path) == []
    # and through the command line, with the rejects going there too
    r = CliRunner().invoke(main, ["scrub", str(src), "-o", str(link), "--reject-file", str(link),
                                  "--log", os.devnull], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert link.is_symlink() and stat.S_ISCHR(os.stat("/dev/null").st_mode) and leftovers(tmp_path) == []


@posix_only
def test_a_link_to_a_file_stays_a_link_and_the_file_it_names_is_written(tmp_path):
    src, expected = overbilled(tmp_path)
    real_dir, link_dir = tmp_path / "real", tmp_path / "links"
    real_dir.mkdir()
    link_dir.mkdir()
    real = real_dir / "out.837"
    real.write_bytes(b"yesterday's output")
    real.chmod(0o640)
    link = link_dir / "out.837"
    link.symlink_to(os.path.join("..", "real", "out.837"))
    outcome = scrub_file(Scrubber(), str(src), str(link), [].append)
    assert outcome.status == "processed" and outcome.changed
    assert link.is_symlink() and os.readlink(link) == os.path.join("..", "real", "out.837")
    assert real.read_bytes() == expected
    assert stat.S_IMODE(real.stat().st_mode) == 0o640  # the file's mode is kept
    assert sorted(p.name for p in real_dir.iterdir()) == ["out.837"]
    assert sorted(p.name for p in link_dir.iterdir()) == ["out.837"]
    # atomic_write follows it as well
    atomic_write(str(link), lambda fh: fh.write(b"again"))
    assert link.is_symlink() and real.read_bytes() == b"again" and leftovers(real_dir, link_dir) == []


@posix_only
def test_a_dangling_link_gets_the_file_it_names(tmp_path):
    src, expected = overbilled(tmp_path)
    (tmp_path / "sub").mkdir()
    link = tmp_path / "out.837"
    link.symlink_to(os.path.join("sub", "new.837"))
    r = CliRunner().invoke(main, ["scrub", str(src), "-o", str(link), "--log", os.devnull], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert link.is_symlink() and os.readlink(link) == os.path.join("sub", "new.837")
    assert (tmp_path / "sub" / "new.837").read_bytes() == expected
    assert leftovers(tmp_path, tmp_path / "sub") == []


@posix_only
def test_in_place_through_a_link_rewrites_the_file_and_keeps_the_link(tmp_path):
    data = claim_file(units="50", charge="5000")
    real = tmp_path / "real.837"
    real.write_bytes(data)
    link = tmp_path / "in.837"
    link.symlink_to("real.837")
    r = CliRunner().invoke(main, ["scrub", str(link), "--in-place", ".orig", "--log", os.devnull],
                           catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert link.is_symlink() and FIXED_LINE in real.read_bytes()
    assert (tmp_path / "in.837.orig").read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.837", "in.837.orig", "real.837"]


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd")
def test_a_link_to_standard_output_writes_to_standard_output(tmp_path):
    src, expected = overbilled(tmp_path)
    link = tmp_path / "stdout"
    link.symlink_to("/proc/self/fd/1")
    proc = subprocess.run([sys.executable, "-m", "scrubber", "scrub", str(src), "-o", str(link),
                           "--log", os.devnull], capture_output=True)  # standard output is a pipe
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == expected
    assert link.is_symlink() and leftovers(tmp_path) == []


@pytest.mark.parametrize("kind", ["folder", "socket"])
@posix_only
def test_a_link_to_a_folder_or_a_socket_is_an_error_for_that_file(tmp_path, monkeypatch, kind):
    src, _ = overbilled(tmp_path)
    monkeypatch.chdir(tmp_path)  # a short name for the socket
    if kind == "folder":
        os.mkdir("there")
        reason = "Is a directory"
    else:
        sock = socket.socket(socket.AF_UNIX)
        sock.bind("there")
        sock.close()
        reason = "Is a socket"
    os.symlink("there", "out.837")
    findings = []
    outcome = scrub_file(Scrubber(), str(src), "out.837", findings.append)
    assert outcome.status == "failed" and outcome.error == f"cannot write out.837: {reason}"
    assert [(f.code, f.message) for f in findings] == [("FILE001", outcome.error)]
    assert os.path.islink("out.837") and os.readlink("out.837") == "there"
    assert (stat.S_ISDIR if kind == "folder" else stat.S_ISSOCK)(os.lstat("there").st_mode)
    assert leftovers(tmp_path) == []
    r = CliRunner().invoke(main, ["scrub", str(src), "-o", "out.837", "--log", os.devnull], catch_exceptions=False)
    assert r.exit_code == 2 and f"cannot write out.837: {reason}" in r.output
    assert os.path.islink("out.837") and leftovers(tmp_path) == []


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_device_that_cannot_take_the_bytes_fails_that_file(tmp_path):
    src, _ = overbilled(tmp_path)
    link = tmp_path / "full"
    link.symlink_to("/dev/full")
    outcome = scrub_file(Scrubber(), str(src), str(link), [].append)
    assert outcome.status == "failed" and outcome.error == f"cannot write {link}: No space left on device"
    assert link.is_symlink() and stat.S_ISCHR(os.stat("/dev/full").st_mode) and leftovers(tmp_path) == []
    with pytest.raises(OSError):
        atomic_write(str(link), lambda fh: fh.write(b"ISA*"))
    assert link.is_symlink() and leftovers(tmp_path) == []
