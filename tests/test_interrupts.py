"""A run that is stopped or cannot write part of its results ends with one
line and exit 2: no traceback, no unfinished output or temporary file, no
worker left running, and the other files of the batch are still done."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from scrubber.cli import main

ROOT = Path(__file__).resolve().parents[1]
CLEAN = ROOT / "edi_samples" / "837p-clean.x12"
FIXED = ROOT / "edi_samples" / "837p-j9307-overbilled.x12"


def test_an_output_folder_that_cannot_be_made_is_one_line(tmp_path):
    (tmp_path / "f").write_text("a file, not a folder")
    for option in ("--output-dir", "--reject-dir", "--ack-dir"):
        extra = [] if option == "--output-dir" else ["--output-dir", str(tmp_path / "out")]
        r = CliRunner().invoke(main, ["scrub", str(CLEAN), *extra, option, str(tmp_path / "f" / "sub")])
        assert r.exit_code == 2, r.output
        assert "cannot make the folder" in r.output and "Traceback" not in r.output


def test_a_999_that_cannot_be_written_fails_its_file_only(tmp_path):
    pytest.importorskip("pyx12")
    for name in ("a.x12", "b.x12"):
        shutil.copy(FIXED if name == "b.x12" else CLEAN, tmp_path / name)
    acks = tmp_path / "acks"
    (acks / "a.x12.999").mkdir(parents=True)  # a folder where the 999 would go: it cannot be written
    r = CliRunner().invoke(main, ["scrub", str(tmp_path / "a.x12"), str(tmp_path / "b.x12"),
                                  "--output-dir", str(tmp_path / "out"), "--ack-dir", str(acks)])
    assert r.exit_code == 2, r.output
    assert f"FILE001 error: cannot write {acks / 'a.x12.999'}" in r.output
    assert (acks / "b.x12.999").is_file()  # the next file is still done
    assert (tmp_path / "out" / "b.x12").is_file()
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".scrubber-")]


@pytest.mark.skipif(sys.platform != "linux", reason="needs a file system that takes any bytes in a name")
def test_a_file_name_that_is_not_utf8_is_logged_escaped(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    odd = os.path.join(os.fsencode(folder), b"X\xff.x12")
    shutil.copy(FIXED, os.fsdecode(odd))
    shutil.copy(CLEAN, folder / "z.x12")
    for fmt in ("jsonl", "csv"):
        log = tmp_path / f"log.{fmt}"
        r = CliRunner().invoke(main, ["scrub", str(folder), "--output-dir", str(tmp_path / f"out-{fmt}"),
                                      "--log", str(log), "--log-format", fmt])
        assert r.exit_code == 0, r.output
        assert "X\\udcff.x12" in log.read_text(encoding="utf-8")
        assert (tmp_path / f"out-{fmt}" / "z.x12").is_file()


def _big(tmp_path: Path) -> Path:
    sys.path.insert(0, str(ROOT))
    from bench.generate import generate

    path = tmp_path / "big.x12"
    with open(path, "w", newline="") as fh:
        generate(fh, "837P", 150_000, 0.01, seed=5)
    return path


def _processes_with(marker: str) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                    found.append(int(pid))
            except OSError:
                pass
    return found


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
@pytest.mark.parametrize("jobs, how", [("1", "TERM"), ("2", "TERM"), ("2", "INT"), ("2", "INT twice")])
def test_a_stopped_run_leaves_nothing_behind(tmp_path, jobs, how):
    big = _big(tmp_path)
    shutil.copy(CLEAN, tmp_path / "a.x12")
    out = tmp_path / f"out-{jobs}-{how}"
    before = big.read_bytes()
    proc = subprocess.Popen([sys.executable, "-m", "scrubber", "scrub", str(big), str(tmp_path / "a.x12"),
                             "--output-dir", str(out), "--log", str(tmp_path / "log.jsonl"), "--jobs", jobs],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not (out.is_dir() and any(p.name.startswith(".scrubber-") for p in out.iterdir())):
            assert time.monotonic() < deadline and proc.poll() is None, "the big file was never being written"
            time.sleep(0.02)
        if how.startswith("INT"):  # Ctrl-C on a terminal: the whole process group
            os.killpg(proc.pid, signal.SIGINT)
            if how == "INT twice":  # and again, at once, as an impatient user (or `timeout`) does
                proc.send_signal(signal.SIGINT)
        else:  # a pipeline's kill: the command line only
            proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        time.sleep(0.5)
        left = _processes_with(str(out))  # a worker going on alone
    finally:  # whatever happened, nothing of this test goes on running
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        for pid in _processes_with(str(out)):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    assert proc.returncode == 2
    assert err.strip().splitlines()[-1] == "scrubber: aborted" and "Traceback" not in err, err
    assert left == []
    if (out / "big.x12").exists():  # the stop came after the file was done (a slow machine): whole, then
        from scrubber import Scrubber

        assert (out / "big.x12").read_bytes() == Scrubber().scrub(before).corrected
    assert not [p for p in out.iterdir() if p.name.startswith(".scrubber-")]
    assert big.read_bytes() == before
