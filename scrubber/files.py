"""Scrub files: reading, atomic writing, and one clear outcome per file.

This is the file-level library API that the command line (and a pipeline)
uses.  An input is never modified; an output is written to a temporary file
in the target folder and renamed into place only when the whole input was
processed, so a failure leaves no partial output.
"""
from __future__ import annotations

import io
import os
import sys
import tempfile
from dataclasses import dataclass
from typing import Callable

from .findings import ERROR, Finding
from .pipeline import Scrubber, Stats
from .x12.tokenizer import X12Error, tokenize

STDIO = "-"

PROCESSED = "processed"
FAILED = "failed"


@dataclass
class Outcome:
    path: str
    status: str  # processed | failed
    stats: Stats
    changed: bool = False
    error: str = ""

    @property
    def errors_remaining(self) -> int:
        return self.stats.errors_remaining


def atomic_write(path: str, write: Callable[[io.BufferedWriter], None]) -> None:
    """Write ``path`` through a temporary file in its folder, then rename."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".scrubber-", suffix=".tmp", dir=folder)
    try:
        os.chmod(tmp, _mode_for(path))  # mkstemp makes 0600; a written file gets the usual mode
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


_stdin_copy = None


def _mode_for(path: str) -> int:
    """The mode a file written here should have: the existing file's (in
    place), else what the umask gives a new file."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def read_input(path: str) -> bytes:
    """The whole input (for a second reader such as validation)."""
    with _open_input(path) as fh:
        return fh.read()


def _open_input(path: str):
    """Open an input.  Standard input is copied to a spool on first use, so
    that it can be read twice (for ``--diff``) and is never closed."""
    global _stdin_copy
    if path != STDIO:
        return open(path, "rb")
    if _stdin_copy is None:
        _stdin_copy = tempfile.SpooledTemporaryFile(max_size=8 << 20)
        _copy(sys.stdin.buffer, _stdin_copy)
    _stdin_copy.seek(0)
    return _Unclosed(_stdin_copy)


def scrub_file(
    scrubber: Scrubber,
    path: str,
    output: str | None,
    sink: Callable[[Finding], None],
    *,
    check: bool = False,
    diff_to=None,
    reject: str | None = None,
    backup: str | None = None,
) -> Outcome:
    """Scrub one input into ``output`` (a path, ``-`` for stdout, or None for none).

    The findings go to ``sink`` only when the whole file was read: a file
    that fails part way gives one finding (code ``FILE001``) and no output.
    """
    name = "<stdin>" if path == STDIO else path
    scrubber.file = name
    buffered: list[Finding] = []
    spool = tempfile.SpooledTemporaryFile(max_size=8 << 20)
    rejects = tempfile.SpooledTemporaryFile(max_size=8 << 20) if reject else None
    try:
        with _open_input(path) as inp:
            stats = scrubber.scrub_stream(inp, spool, buffered.append, rejects)
    except X12Error as exc:
        return failed_outcome(scrubber, name, sink, where_text(exc), exc.segment_index)
    except OSError as exc:
        return failed_outcome(scrubber, name, sink, f"cannot read: {exc.strerror or exc}", None)
    except MemoryError:
        return failed_outcome(scrubber, name, sink, "out of memory while reading", None)
    for f in buffered:
        sink(f)
    changed = stats.fixes > 0
    spool.seek(0)
    if diff_to is not None and changed:
        _write_diff(path, name, spool, diff_to)
    elif output is not None and not check:
        if output == STDIO:
            _copy(spool, sys.stdout.buffer)
            sys.stdout.buffer.flush()
        else:
            if backup:  # --in-place: keep the input first
                with open(path, "rb") as src:
                    atomic_write(backup, lambda fh: _copy(src, fh))
            atomic_write(output, lambda fh: _copy(spool, fh))
        if rejects is not None:
            rejects.seek(0)
            if reject == STDIO:
                _copy(rejects, sys.stdout.buffer)
            else:
                atomic_write(reject, lambda fh: _copy(rejects, fh))
    spool.close()
    if rejects is not None:
        rejects.close()
    return Outcome(name, PROCESSED, stats, changed)


def failed_outcome(scrubber: Scrubber, name: str, sink, message: str, index) -> Outcome:
    sink(Finding(code="FILE001", severity=ERROR, message=message, file=name, segment_index=index,
                 profile=scrubber.profile.name))
    return Outcome(name, FAILED, Stats(), error=message)


def where_text(exc: X12Error) -> str:
    where = f"byte {exc.offset}"
    if exc.segment_index:
        where += f" (segment {exc.segment_index})"
    return f"{where}: {exc.message}"


def _copy(src, dst) -> None:
    while True:
        block = src.read(1 << 20)
        if not block:
            break
        dst.write(block)


def _write_diff(path: str, name: str, spool, out) -> None:
    """A unified diff, one segment a line, of the input against the output."""
    import difflib  # only --diff needs it

    with _open_input(path) as fh:
        before = [s.raw.decode("latin-1").rstrip("\r\n") for s in tokenize(fh)]
    after = [s.raw.decode("latin-1").rstrip("\r\n") for s in tokenize(spool)]
    for line in difflib.unified_diff(before, after, f"{name}", f"{name} (scrubbed)", lineterm=""):
        out.write(line + "\n")


class _Unclosed:
    """A context manager over a stream that leaves it open."""

    def __init__(self, obj):
        self.obj = obj

    def __enter__(self):
        return self.obj

    def __exit__(self, *exc):
        return False


NOTICES = {"FILE001": ("error", "The file could not be processed: not X12, unreadable or truncated beyond repair. "
                                "No output is written for it.")}
