"""No run overwrites what it was not asked to: an input, another output of
the same run, an earlier backup, or standard output twice.  Each clash is a
usage error (exit 2) found before anything is written."""
from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from scrubber.batch import PlanError, plan_jobs
from scrubber.cli import main

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "edi_samples" / "837p-jw-jz-modifiers.x12"  # has claims that stay in error: rejects


@pytest.fixture
def work(tmp_path):
    a = tmp_path / "a.x12"
    shutil.copy(SAMPLE, a)
    os.chdir(tmp_path)
    return tmp_path


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("args, says", [
    (["--check", "--log", "a.x12"], "the log would overwrite the input a.x12"),
    (["-o", "o.x12", "--reject-file", "a.x12"], "the rejects would overwrite the input a.x12"),
    (["-o", "same.x12", "--reject-file", "same.x12"], "the rejects and the corrected file would be the same file"),
    (["-o", "lo.x12", "--log", "lo.x12"], "the log and the corrected file would be the same file"),
    (["-o", "-", "--log", "-"], "the corrected file and the log cannot both go to standard output"),
    (["-o", "-", "--reject-file", "-"], "the corrected file and the rejects cannot both go to standard output"),
    (["--diff", "--log", "-"], "the diff and the log cannot both go to standard output"),
    (["--in-place", ".orig", "--reject-file", "a.x12.orig"], "the backup and the rejects would be the same file"),
    (["--in-place", ".orig", "--reject-file", "a.x12"], "the rejects would overwrite the input a.x12"),
])
def test_a_clash_is_refused_before_anything_is_written(work, args, says):
    before = digest(work)
    r = CliRunner().invoke(main, ["scrub", "a.x12", *args])
    assert r.exit_code == 2, r.output
    assert says in r.output
    assert digest(work) == before  # the input intact, nothing written


def test_a_reject_dir_holding_the_input_is_refused(work):
    (work / "d").mkdir()
    shutil.move(work / "a.x12", work / "d" / "a.x12")
    before = digest(work)
    r = CliRunner().invoke(main, ["scrub", "d/a.x12", "--output-dir", "out", "--reject-dir", "d"])
    assert r.exit_code == 2
    assert "the rejects would overwrite the input d/a.x12" in r.output
    assert digest(work) == before


def test_a_link_to_the_input_is_the_input(work):
    os.link(work / "a.x12", work / "hard.x12")
    os.symlink(work / "a.x12", work / "soft.x12")
    for name in ("hard.x12", "soft.x12"):
        with pytest.raises(PlanError, match="would overwrite the input a.x12"):
            plan_jobs(["a.x12"], output="o.x12", log=name)


def test_in_place_never_overwrites_an_earlier_backup(work):
    original = (work / "a.x12").read_bytes()
    r = CliRunner().invoke(main, ["scrub", "a.x12", "--in-place", ".orig"])
    assert r.exit_code in (0, 1), r.output
    assert (work / "a.x12.orig").read_bytes() == original
    r = CliRunner().invoke(main, ["scrub", "a.x12", "--in-place", ".orig"])
    assert r.exit_code == 2
    assert "a.x12.orig exists: --in-place would overwrite an earlier backup" in r.output
    assert (work / "a.x12.orig").read_bytes() == original  # the true original is kept


def test_in_place_refuses_a_backup_that_is_another_input(work):
    shutil.copy(work / "a.x12", work / "a.x12.orig")
    with pytest.raises(PlanError, match="a.x12.orig exists"):
        plan_jobs(["a.x12", "a.x12.orig"], in_place=".orig")


def test_in_place_refuses_one_file_named_twice(work):
    with pytest.raises(PlanError, match="would be the same file"):
        plan_jobs(["a.x12", "./a.x12"], in_place=".orig")


def test_devices_and_ordinary_runs_pass(work):
    assert len(plan_jobs(["a.x12"], output=os.devnull, log=os.devnull)) == 1
    assert len(plan_jobs(["a.x12"], output="o.x12", reject_file="r.x12", log="l.jsonl")) == 1
    assert len(plan_jobs(["a.x12"], in_place=".orig", log="l.jsonl")) == 1
    assert len(plan_jobs(["a.x12"], output="-", log="l.jsonl")) == 1
