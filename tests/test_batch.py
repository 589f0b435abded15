"""Batches: several inputs, --jobs, --in-place, --reject-file, deterministic results."""
from __future__ import annotations

import json
import multiprocessing
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from scrubber.cli import main

from .test_split import build as build_split
from .test_tokenizer import interchange

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = sorted((ROOT / "edi_samples").glob("*.x12"))


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def batch(tmp_path):
    """The samples, a binary file and an 835, in one input folder."""
    inp = tmp_path / "in"
    inp.mkdir()
    for p in SAMPLES:
        shutil.copy(p, inp / p.name)
    (inp / "zz-binary.x12").write_bytes(b"\x00\x01\x02garbage\xff" * 50)
    (inp / "zz-remit.835").write_bytes(interchange().replace(b"837*0001*005010X222A1", b"835*0001*005010X221A1"))
    return inp


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_batch_jobs_2_equals_jobs_1(batch, tmp_path):
    before = snapshot(batch)
    results = {}
    for jobs in (1, 2):
        out, log = tmp_path / f"out{jobs}", tmp_path / f"log{jobs}.jsonl"
        r = run("scrub", batch, "--output-dir", out, "--log", log, "--jobs", jobs)
        assert r.exit_code == 2  # the binary file could not be processed
        results[jobs] = (snapshot(out), log.read_text())
    assert results[1] == results[2]
    outputs, log = results[1]
    assert snapshot(batch) == before  # inputs unchanged
    assert "zz-binary.x12" not in outputs  # no output for the bad file
    assert outputs["zz-remit.835"] == before["zz-remit.835"]  # passed through
    for p in SAMPLES:  # every good file corrected as its golden says
        assert outputs[p.name] == (ROOT / "edi_samples" / "expected" / (p.stem + ".out")).read_bytes()
    records = [json.loads(x) for x in log.splitlines()]
    bad = [r for r in records if r["code"] == "FILE001"]
    assert len(bad) == 1 and bad[0]["file"].endswith("zz-binary.x12")
    assert any(r["code"] == "TXN001" and r["file"].endswith("zz-remit.835") for r in records)
    files_in_order = list(dict.fromkeys(r["file"] for r in records))
    assert files_in_order == sorted(files_in_order)  # deterministic: input order


@pytest.mark.skipif(multiprocessing.get_start_method() != "fork", reason="workers are forked only where fork is the default")
def test_forked_workers_take_over_the_parents_scrubber(batch, tmp_path, monkeypatch):
    from scrubber import batch as batch_module

    settings = batch_module.Settings()
    scrubber = settings.scrubber()

    def no_second_build(self):
        raise AssertionError("a forked worker built its scrubber again")

    monkeypatch.setattr(batch_module.Settings, "scrubber", no_second_build)  # the workers inherit this
    jobs = batch_module.plan_jobs([str(p) for p in sorted(batch.iterdir())], output_dir=str(tmp_path / "out"))
    (tmp_path / "out").mkdir()
    done = list(batch_module.run_batch(jobs, settings, workers=2, scrubber=scrubber))
    assert [o.path for o, _ in done] == [j.path for j in jobs]
    assert [o.status for o, _ in done].count("failed") == 1  # the binary file, as with one job
    assert batch_module._inherited is None  # not kept after the batch


def test_exit_1_when_errors_remain_and_no_bad_file(tmp_path):
    src = ROOT / "edi_samples" / "837p-belantamab-ndc-under-j9307.x12"
    r = run("scrub", src, ROOT / "edi_samples" / "837p-clean.x12", "--output-dir", tmp_path / "o", "--log", tmp_path / "l")
    assert r.exit_code == 1


def test_in_place_keeps_a_backup(tmp_path):
    src = tmp_path / "waste.x12"
    shutil.copy(ROOT / "edi_samples" / "837p-j9307-undocumented-waste.x12", src)
    original = src.read_bytes()
    r = run("scrub", src, "--in-place", ".orig", "--log", tmp_path / "l")
    assert r.exit_code == 0
    assert (tmp_path / "waste.x12.orig").read_bytes() == original
    assert src.read_bytes() == (ROOT / "edi_samples" / "expected" / "837p-j9307-undocumented-waste.out").read_bytes()


def test_output_over_the_input_needs_in_place(tmp_path):
    src = tmp_path / "a.x12"
    shutil.copy(SAMPLES[0], src)
    r = run("scrub", src, "--output-dir", tmp_path)
    assert r.exit_code == 2 and "--in-place" in r.output


def test_reject_file_from_the_command_line(tmp_path):
    src = tmp_path / "mixed.837"
    src.write_bytes(build_split())
    out, rej = tmp_path / "clean.837", tmp_path / "rejects.837"
    r = run("scrub", src, "-o", out, "--reject-file", rej, "--log", tmp_path / "l")
    assert r.exit_code == 1  # errors remain, in the reject file
    assert b"CLM*A1*" in out.read_bytes() and b"CLM*A2*" not in out.read_bytes()
    assert b"CLM*A2*" in rej.read_bytes() and b"CLM*B1*" in rej.read_bytes()


def test_progress_is_silent_when_stderr_is_not_a_terminal(tmp_path):
    r = CliRunner().invoke(main, ["scrub", str(SAMPLES[0]), "--check"])
    assert "\r[" not in r.output
    assert "file(s)" in r.output  # the closing summary


def test_validate_adds_ig_findings_and_ack_dir_holds_a_999(tmp_path):
    from .test_cli import claim_file

    src = tmp_path / "xx.837"
    src.write_bytes(claim_file().replace(b"CTP****2*ML", b"CTP****2*XX"))
    acks, log = tmp_path / "acks", tmp_path / "l.jsonl"
    r = run("scrub", src, "-o", tmp_path / "o.837", "--log", log, "--validate", "--ack-dir", acks, "--jobs", 2)
    assert r.exit_code == 1
    records = [json.loads(x) for x in log.read_text().splitlines()]
    ig = [x for x in records if x["code"].startswith("IG")]
    assert ig and any(x["segment"] == "CTP" and x["element"].startswith("CTP05") for x in ig), ig
    ack = (acks / "xx.837.999").read_bytes()
    assert b"ST*999*" in ack and b"IK5*" in ack


def test_ack_without_validate_writes_a_999_and_no_ig_findings(tmp_path):
    acks, log = tmp_path / "acks", tmp_path / "l.jsonl"
    src = ROOT / "edi_samples" / "837p-clean.x12"
    r = run("scrub", src, "--check", "--log", log, "--ack-dir", acks)
    assert r.exit_code == 0
    assert (acks / "837p-clean.x12.999").read_bytes().count(b"AK9*A") == 1
    assert log.read_text() == ""


def test_largest_first_orders_by_size_within_windows_and_keeps_ties_in_input_order(tmp_path):
    from scrubber.batch import Job, largest_first

    sizes = {"a": 10, "b": 300, "c": 10, "d": 50, "e": 1, "f": 400}
    for name, n in sizes.items():
        (tmp_path / name).write_bytes(b"x" * n)
    jobs = [Job(str(tmp_path / n), None, None) for n in sizes] + [Job(str(tmp_path / "missing"), None, None)]
    assert largest_first(jobs, 100) == [5, 1, 3, 0, 2, 4, 6]
    assert largest_first(jobs, 4) == [1, 3, 0, 2, 5, 4, 6]  # windows a-d, then e-missing
    assert largest_first(jobs, 1) == list(range(7))


def _batch_of_three(tmp_path):
    inp = tmp_path / "in"
    inp.mkdir()
    one = interchange()
    (inp / "a-small.x12").write_bytes(one)
    (inp / "b-big.x12").write_bytes(one + one + one)  # three interchanges
    (inp / "c-medium.x12").write_bytes(one + one)
    (tmp_path / "out").mkdir()
    return [str(p) for p in sorted(inp.iterdir())]


def test_the_largest_file_is_submitted_first_and_results_keep_input_order(tmp_path, monkeypatch):
    from concurrent.futures import ProcessPoolExecutor

    from scrubber import batch as batch_module

    submitted = []
    real_submit = ProcessPoolExecutor.submit

    def submit(self, fn, *args, **kwargs):
        submitted.append(os.path.basename(args[0].path))
        return real_submit(self, fn, *args, **kwargs)

    monkeypatch.setattr(ProcessPoolExecutor, "submit", submit)
    settings = batch_module.Settings()
    jobs = batch_module.plan_jobs(_batch_of_three(tmp_path), output_dir=str(tmp_path / "out"))
    done = list(batch_module.run_batch(jobs, settings, workers=2, scrubber=settings.scrubber()))
    assert submitted == ["b-big.x12", "c-medium.x12", "a-small.x12"]
    assert [o.path for o, _ in done] == [j.path for j in jobs]
    assert all(o.status != "failed" for o, _ in done)


def test_a_batch_left_early_stops_the_jobs_already_running(tmp_path, monkeypatch):
    """A consumer that stops (Ctrl-C, SIGTERM, an error writing the log)
    while a worker is in the middle of a file: that worker is stopped and
    gone, and so is the pool's thread, before the batch returns.  (A pool
    shut down without waiting forgets its workers and its thread; stopping
    those it no longer names stopped nothing: a stopped run went on with
    the running file to its end, and Python could fail at exit waking the
    thread as it closed.)"""
    import threading
    import time

    from scrubber import batch as batch_module

    real = batch_module._run_one

    def stuck(job, scrubber=None):  # forked workers inherit the patch
        if job.path.endswith("b-big.x12"):
            time.sleep(300)
        return real(job, scrubber)

    monkeypatch.setattr(batch_module, "_run_one", stuck)
    paths = _batch_of_three(tmp_path)[:2]
    jobs = [batch_module.Job(p, str(tmp_path / "out" / Path(p).name), None) for p in paths]
    settings = batch_module.Settings()
    before = set(threading.enumerate())
    results = batch_module.run_batch(jobs, settings, workers=2, scrubber=settings.scrubber())
    try:
        first = next(results)
        assert first[0].path == paths[0] and len(multiprocessing.active_children()) == 2
        t = time.monotonic()
        results.close()
        assert time.monotonic() - t < 15
        assert multiprocessing.active_children() == []
        assert [t for t in threading.enumerate() if t not in before] == []
    finally:  # whatever happened, no worker of this test sleeps on
        for child in multiprocessing.active_children():
            child.kill()
    assert not (tmp_path / "out" / "b-big.x12").exists()


def test_a_stop_while_the_jobs_are_submitted_stops_those_already_running(tmp_path, monkeypatch):
    """Ctrl-C or SIGTERM while the jobs are being handed to the pool: the
    jobs already running are stopped, not waited for to their end."""
    import concurrent.futures.process as pool_module
    import time

    from scrubber import batch as batch_module

    real = batch_module._run_one

    def slow(job, scrubber=None):  # forked workers inherit the patch
        time.sleep(60)
        return real(job, scrubber)

    submit = pool_module.ProcessPoolExecutor.submit
    submitted = []

    def interrupted(self, *args, **kwargs):
        if len(submitted) == 2:
            raise KeyboardInterrupt
        submitted.append(1)
        return submit(self, *args, **kwargs)

    monkeypatch.setattr(batch_module, "_run_one", slow)
    monkeypatch.setattr(pool_module.ProcessPoolExecutor, "submit", interrupted)
    paths = _batch_of_three(tmp_path)
    jobs = [batch_module.Job(p, None, None, check=True) for p in paths]
    settings = batch_module.Settings()
    t = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            list(batch_module.run_batch(jobs, settings, workers=2, scrubber=settings.scrubber()))
        assert time.monotonic() - t < 30
        assert multiprocessing.active_children() == []
    finally:
        for child in multiprocessing.active_children():
            child.kill()


def test_a_further_ctrl_c_while_the_workers_stop_kills_them_at_once():
    from scrubber.batch import _stop_workers

    class Worker:
        def __init__(self):
            self.calls = []

        def terminate(self):
            self.calls.append("terminate")

        def join(self, timeout=None):
            self.calls.append(f"join {timeout}")
            if timeout:
                raise KeyboardInterrupt

        def is_alive(self):
            return True

        def kill(self):
            self.calls.append("kill")

    workers = [Worker(), Worker()]
    try:
        _stop_workers(workers, grace=10.0)
    except KeyboardInterrupt:
        pytest.fail("the further Ctrl-C cut the stop short: a worker was left running")
    assert [w.calls for w in workers] == [["terminate", "join 10.0", "kill"], ["terminate", "join 0", "kill"]]


def test_a_batch_left_early_does_not_run_the_jobs_not_yet_started(tmp_path, monkeypatch):
    """A consumer that stops after the first result (an error writing the
    log, Ctrl-C): the pool does not go on to scrub every remaining file."""
    from scrubber import batch as batch_module

    monkeypatch.setattr(batch_module, "WINDOW_PER_WORKER", 1)  # input order: a-small comes first
    many = []
    for k in range(12):
        folder = tmp_path / f"b{k}"
        folder.mkdir()
        many += _batch_of_three(folder)
    out = tmp_path / "out"
    out.mkdir()
    jobs = [batch_module.Job(p, str(out / f"{i}.x12"), None) for i, p in enumerate(many)]
    settings = batch_module.Settings()
    results = batch_module.run_batch(jobs, settings, workers=2, scrubber=settings.scrubber())
    first = next(results)
    results.close()
    assert first[0].path == jobs[0].path
    written = list(out.iterdir())
    assert 1 <= len(written) < len(jobs) // 2
