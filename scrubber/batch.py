"""Batches: many files, in parallel processes, with results in input order.

:class:`Settings` holds what a run needs to build its :class:`Scrubber`
(reference data files, profiles, rule selection) as plain picklable values,
so every worker process builds the same scrubber.  :func:`run_batch` scrubs
each input into its target(s) and yields ``(outcome, findings)`` in the order
of the inputs, whatever the number of jobs: ``--jobs 2`` gives the same
bytes and the same log as ``--jobs 1``.  With several workers, within each
window of a few inputs per worker the largest is started first
(:func:`largest_first`).
"""
from __future__ import annotations

import os
import signal
import stat
import sys
from typing import Iterable, Iterator, NamedTuple

from .files import FAILED, STDIO, FindingSpool, Outcome, OutputError, scrub_file
from .findings import ERROR, Finding
from .pipeline import Scrubber


class Settings(NamedTuple):
    crosswalks: tuple[str, ...] = ()
    profile: str | None = None  # NAME or PATH: one profile for every claim
    profile_dirs: tuple[str, ...] = ()
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()

    def scrubber(self) -> Scrubber:
        """Build the scrubber.  Raises RefDataError or ProfileError on bad input.

        The setup comes from the setup cache while none of its files has
        changed (:mod:`scrubber.setup_cache`)."""
        from .setup_cache import cached

        refdata, profile, selector = cached(self, self.setup)
        return Scrubber(profile, refdata, selector=selector)

    def selection_problems(self) -> list[str]:
        """What is wrong with the ``select`` and ``ignore`` values: one that
        starts no rule's code and no IG code (``--validate``) would select no
        rule at all (a typo, and the run passes a file full of errors), or
        turn nothing off."""
        if not (self.select or self.ignore):
            return []
        from .rules import RULES
        from .validate.codes import CHECKS
        from .x12.envelope import CHECKS as ENVELOPE

        codes = [r.code for r in RULES] + list(CHECKS)
        problems = []
        for p in self.select + self.ignore:
            if p and any(c.startswith(p) for c in codes):
                continue
            if p and any(c.startswith(p) for c in ENVELOPE):
                problems.append(f"--select/--ignore {p!r} names checks of the envelope, which are always on "
                                "(a profile may change their severity)")
            else:
                problems.append(f"--select/--ignore {p!r} starts no rule's code (see `scrubber rules`) and no "
                                "IG code")
        return problems

    def setup(self) -> tuple:
        """What the scrubber is made of, built from the files: ``(refdata,
        profile, selector)`` (``selector`` None with one forced profile)."""
        from .profiles import build_selector, load_profile
        from .refdata import load_refdata

        refdata = load_refdata(self.crosswalks)
        if self.profile:
            return refdata, load_profile(self.profile).with_selection(self.select, self.ignore), None
        default, selector = build_selector(self.profile_dirs, self.select, self.ignore)
        return refdata, default, selector


class Job(NamedTuple):
    """One input and where its results go."""

    path: str
    output: str | None = None
    reject: str | None = None
    check: bool = False
    validate: bool = False  # also run pyx12's implementation-guide validation
    ack: str | None = None  # write pyx12's 999 for the input here
    backup: str | None = None  # in place: keep the input here first
    diff: bool = False  # show a diff on stdout instead of writing


class PlanError(ValueError):
    """The options do not describe a run (a usage error)."""


def plan_jobs(paths: list[str], *, output: str | None = None, output_dir: str | None = None,
              reject_file: str | None = None, reject_dir: str | None = None, ack_dir: str | None = None,
              in_place: str | None = None, check: bool = False, diff: bool = False,
              validate: bool = False, log: str | None = None) -> list[Job]:
    """Turn the command line's inputs and targets into jobs.

    ``in_place`` is the backup suffix for ``--in-place`` (the only way an
    input is ever rewritten); ``log`` the log file, if any.  Raises
    :class:`PlanError` for options that do not fit together, or for a
    written file that would overwrite an input, another written file or an
    earlier backup (:func:`check_targets`).
    """
    if not paths:
        raise PlanError("no input files")
    if "" in paths:  # (shown as the file's name, it would be mistaken for '-', standard input)
        raise PlanError("an empty file name among the inputs")
    targets = [bool(output), bool(output_dir), in_place is not None]
    if sum(targets) > 1:
        raise PlanError("use one of -o/--output, --output-dir and --in-place")
    if not (any(targets) or check or diff):
        raise PlanError("say where the corrected file goes (-o FILE, --output-dir DIR or --in-place), "
                        "or use --check/--diff")
    if output and len(paths) != 1:
        raise PlanError("-o/--output takes a single input; use --output-dir for several")
    if reject_file and len(paths) != 1:
        raise PlanError("--reject-file takes a single input; use --reject-dir for several")
    if reject_file and reject_dir:
        raise PlanError("use either --reject-file or --reject-dir")
    if in_place is not None and not in_place:
        raise PlanError("--in-place needs a backup suffix, e.g. --in-place .orig")
    if STDIO in paths and len(paths) > 1:
        raise PlanError("'-' (standard input) cannot be mixed with other inputs")
    if in_place is not None and STDIO in paths:
        raise PlanError("--in-place cannot rewrite standard input")
    names: dict[str, str] = {}
    jobs = []
    for path in paths:
        base = os.path.basename(path) if path != STDIO else "stdin.837"
        if output_dir or reject_dir or ack_dir:
            if base in names:
                raise PlanError(f"{path} and {names[base]} would write the same file name")
            names[base] = path
        target = output or (os.path.join(output_dir, base) if output_dir else None)
        backup = None
        if in_place is not None:
            target, backup = path, path + in_place
        reject = reject_file or (os.path.join(reject_dir, base) if reject_dir else None)
        ack = os.path.join(ack_dir, base + ".999") if ack_dir else None
        jobs.append(Job(path, None if (check or diff) else target, None if (check or diff) else reject,
                        check=check, validate=validate, ack=ack, backup=backup, diff=diff))
    check_targets(jobs, log)
    return jobs


def check_targets(jobs: list[Job], log: str | None = None) -> None:
    """Every file a run writes must be its own: no input (but the one an
    ``--in-place`` job rewrites), no other written file, no backup that
    already exists, and standard output for one thing at most.  Raises
    :class:`PlanError` naming the clash."""
    inputs = {_identity(j.path): j.path for j in jobs if j.path != STDIO}
    written: list[tuple[str, str, Job | None]] = []  # (path, what, the job whose input it may rewrite)
    for j in jobs:
        if j.output:
            written.append((j.output, "the corrected file", j if j.backup else None))
        if j.reject:
            written.append((j.reject, "the rejects", None))
        if j.ack:
            written.append((j.ack, "the 999", None))
        if j.backup:
            written.append((j.backup, "the backup", None))
            if os.path.lexists(j.backup):
                raise PlanError(f"{j.backup} exists: --in-place would overwrite an earlier backup "
                                "(move it away or choose another suffix)")
        if j.diff:
            written.append((STDIO, "the diff", None))
    if log:
        written.append((log, "the log", None))
    seen: dict[tuple, str] = {}
    to_stdout = [what for path, what, _ in written if path == STDIO]
    if len(to_stdout) > 1:
        raise PlanError(f"{' and '.join(to_stdout)} cannot both go to standard output ('-')")
    for path, what, own in written:
        key = None if path == STDIO else _identity(path)
        if key is None:
            continue  # standard output, a terminal, /dev/null, a pipe: written through, never replaced
        clash = inputs.get(key)
        if clash is not None and not (own is not None and key == _identity(own.path)):
            hint = " (use --in-place to mean it)" if own is None and what == "the corrected file" else ""
            raise PlanError(f"{path}: {what} would overwrite the input {clash}{hint}")
        if key in seen:
            raise PlanError(f"{path}: {what} and {seen[key]} would be the same file")
        seen[key] = what


def _identity(path: str) -> tuple | None:
    """What tells two names of one file apart from two files: the inode of
    an existing file (hard and symbolic links included), else the resolved
    path; None for a character device or a pipe (``/dev/null``,
    ``/dev/stdout``), which an output writes through, never replaces."""
    try:
        st = os.stat(path)
    except OSError:
        return ("path", os.path.realpath(path))
    if stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode):
        return None
    return ("inode", st.st_dev, st.st_ino)


_worker_scrubber: Scrubber | None = None  # one per worker process
_inherited: Scrubber | None = None  # the parent's, for a worker made by fork


def _init_worker(settings: Settings) -> None:
    """A worker's scrubber: the parent's when the worker was forked from it
    (it is already in memory), else built from the settings."""
    global _worker_scrubber
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _stop)
    _worker_scrubber = _inherited if _inherited is not None else settings.scrubber()
    settle_memory()


class _Stopped(SystemExit):
    """Raised in a worker by a signal to stop."""


def _stop(signum, frame) -> None:
    """A worker told to stop (Ctrl-C, or the command line ending early):
    leave quietly, through the handlers that remove an unfinished output,
    and without a traceback.  A second signal (Ctrl-C reaches the workers
    and the command line, which then stops them too) must not cut that
    clean-up short."""
    for other in (signal.SIGINT, signal.SIGTERM):
        signal.signal(other, _stopping)
    raise _Stopped(128 + signum)


def _stopping(signum, frame) -> None:
    """Already stopping: a further signal changes nothing.  (Not SIG_IGN: a
    signal already on its way would then raise an error of its own.)"""


def settle_memory() -> None:
    """For a process that scrubs files (the command line, a worker): move what
    lives for the whole run (modules, reference data, profiles) out of the
    cyclic garbage collector's sight, and let it run less often.  A file's
    objects are short-lived and freed by reference counting; the collector
    only has to look at them, not at the reference data, again and again."""
    import gc

    gc.freeze()
    gc.set_threshold(10_000, 50, 50)


def _run_in_worker(job: Job) -> tuple[Outcome, FindingSpool]:
    """A job in a worker process.  Stopped in the middle, the worker ends
    once the job's outputs are cleaned up: the pool would otherwise take the
    exception as the job's result and wait for the next one."""
    try:
        return _run_one(job)
    except _Stopped as stop:
        os._exit(stop.code)


def _run_one(job: Job, scrubber: Scrubber | None = None) -> tuple[Outcome, FindingSpool]:
    s = scrubber or _worker_scrubber
    findings = FindingSpool()
    try:
        outcome = scrub_file(s, job.path, job.output, findings, check=job.check, reject=job.reject,
                             backup=job.backup, diff_to=sys.stdout if job.diff else None)
        if (job.validate or job.ack) and outcome.status != FAILED:
            _validated(job, s, outcome, findings)
    except BaseException:  # stopped (a worker is then ended without the interpreter's exit hooks)
        findings.close()
        raise
    return outcome, findings


def _validated(job: Job, s: Scrubber, outcome: Outcome, findings: FindingSpool) -> None:
    """pyx12's findings added to the file's (and counted as the scrubber's
    own are: exit code, summary); a 999 that cannot be written fails the
    file, and so does a full disk under the findings (FILE001 alone)."""
    try:
        checked = _validate(job, s)
        findings.extend(checked)
        for f in checked:
            outcome.stats.findings[f.code] += 1
            if f.remains:
                outcome.stats.errors_remaining += 1
    except (OSError, OutputError) as exc:  # the batch goes on
        outcome.status = FAILED
        if isinstance(exc, OutputError):
            outcome.error = str(exc)
            findings.clear()
        else:
            outcome.error = f"cannot write {job.ack}: {exc.strerror or exc}"
        findings.append(Finding(code="FILE001", severity=ERROR, message=outcome.error, file=outcome.path,
                                profile=s.profile.name))


def _validate(job: Job, scrubber: Scrubber) -> list[Finding]:
    """pyx12's implementation-guide validation of the input (and its 999)."""
    from .files import atomic_write, read_input
    from .validate import validate

    result = validate(read_input(job.path), file=scrubber.file, profile=scrubber.profile)
    if job.ack and result.ack:
        atomic_write(job.ack, lambda fh: fh.write(result.ack))
    return result.findings if job.validate else []


def run_batch(jobs: Iterable[Job], settings: Settings, workers: int = 1,
              scrubber: Scrubber | None = None) -> Iterator[tuple[Outcome, FindingSpool]]:
    """Scrub every job; yields ``(outcome, findings)`` in input order.

    With ``workers`` > 1 the files are scrubbed in that many processes; the
    results are the same as with one.  ``scrubber``, when given, must have
    been built from ``settings`` (``settings.scrubber()``): it is reused, and
    workers forked from this process take it over, while workers started
    another way build their own from ``settings``.
    """
    jobs = list(jobs)
    if any(j.diff or STDIO in (j.path, j.output, j.reject) for j in jobs):
        workers = 1  # standard streams are shared: one file at a time
    if workers <= 1 or len(jobs) <= 1:
        s = scrubber or settings.scrubber()
        for job in jobs:
            yield _run_one(job, s)
        return
    from concurrent.futures import ProcessPoolExecutor  # late: a one-file run needs no pool

    global _inherited
    _inherited = scrubber

    workers = min(workers, len(jobs), os.cpu_count() or 1) or 1
    try:
        with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(settings,)) as pool:
            futures = {}
            try:  # (a stop while the jobs are being submitted ends the run as well)
                for i in largest_first(jobs, WINDOW_PER_WORKER * workers):
                    futures[i] = pool.submit(_run_in_worker, jobs[i])
                for i in range(len(jobs)):
                    yield futures.pop(i).result()
            except BaseException:  # an error, Ctrl-C, SIGTERM or a consumer that stops early:
                # no job not yet started runs, and the workers end, each removing its unfinished
                # output.  (The pool cancels the jobs itself: cancelled here, one by one, Python
                # 3.11's pool, broken by the stop, would fail in its own thread setting its error
                # on a cancelled future.)  The workers and the pool's thread are taken first:
                # a shutdown without waiting lets go of both.
                processes, thread = _workers_and_thread(pool)
                pool.shutdown(wait=False, cancel_futures=True)
                _stop_workers(processes)
                _wait_for(thread)
                raise
    finally:
        _inherited = None


def _workers_and_thread(pool) -> tuple[list, object]:
    """The pool's worker processes and the thread that manages them.  The
    executor offers no public way to stop a running job, nor to wait for
    its thread once shut down without waiting; these are its (private)
    attributes, read before that shutdown clears them."""
    return list((getattr(pool, "_processes", None) or {}).values()), getattr(pool, "_executor_manager_thread", None)


def _wait_for(thread) -> None:
    """The end of the pool's thread, waited for here, whatever interrupts
    the wait (a second Ctrl-C): its workers are stopped, so it ends at once.
    Nothing of the pool is left for the interpreter to wait on, or to wake,
    at exit (waking it while it closes is an error of Python 3.11's own)."""
    while thread is not None:
        try:
            thread.join()
            return
        except KeyboardInterrupt:
            continue


def _stop_workers(processes, grace: float = 10.0) -> None:
    """SIGTERM to the pool's worker processes; each removes its unfinished
    output and ends.  One that has not ended after ``grace`` seconds is
    killed, so that the pool's thread never waits on it; so is every one
    still there after a further Ctrl-C (an impatient user of the library;
    the command line takes only the first)."""
    for process in processes:
        try:
            process.terminate()
        except OSError:
            pass
    for process in processes:
        try:
            process.join(grace)
        except KeyboardInterrupt:
            grace = 0
        except (OSError, ValueError, AssertionError):
            pass
        try:
            if process.is_alive():
                process.kill()
        except (OSError, ValueError, AssertionError):
            pass


# Jobs are reordered only within windows of this many per worker: the results
# must come back in input order (the log, the progress line), and a window
# bounds both how long a result waits for those before it and how many wait.
WINDOW_PER_WORKER = 4


def largest_first(jobs: list[Job], window: int) -> list[int]:
    """The order in which to start the jobs: in consecutive windows of
    ``window`` inputs, the largest first (ties in input order; an input
    that cannot be read counts as empty: it fails at once).  So a big file
    near the end of a batch is not left to run alone while the other
    workers wait."""
    def size(path: str) -> int:
        try:
            return os.path.getsize(path)
        except (OSError, ValueError):
            return 0

    sizes = [size(j.path) for j in jobs]
    order: list[int] = []
    for start in range(0, len(jobs), max(window, 1)):
        order.extend(sorted(range(start, min(start + window, len(jobs))), key=lambda i: -sizes[i]))
    return order
