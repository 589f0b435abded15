"""Scrub files: reading, atomic writing, and one clear outcome per file.

This is the file-level library API that the command line (and a pipeline)
uses.  An input is never modified; an output is written to a temporary file
in the target folder and renamed into place only when the whole input was
processed, so a failure leaves no partial output.  A symbolic link is
followed (the file it names is replaced, the link stays); a device or a named
pipe (``/dev/null``, ``/dev/stdout``) is written through at the end, never
replaced; a block device is refused.
"""
from __future__ import annotations

import errno
import io
import itertools
import os
import stat
import sys
from typing import Callable

from .findings import ERROR, Finding
from .pipeline import Scrubber, Stats
from .record import Record
from .x12.tokenizer import X12Error, tokenize

STDIO = "-"

PROCESSED = "processed"
FAILED = "failed"


class Outcome(Record):
    """What became of one file."""

    __slots__ = ("path", "status", "stats", "changed", "error")

    def __init__(self, path: str, status: str, stats: Stats, changed: bool = False, error: str = ""):
        self.path = path
        self.status = status  # processed | failed
        self.stats = stats
        self.changed = changed
        self.error = error

    @property
    def errors_remaining(self) -> int:
        return self.stats.errors_remaining


class PendingFile:
    """An output being written: a temporary file in the target's folder,
    renamed into place by :meth:`commit`, or removed by :meth:`discard`.
    Until then the target is untouched.  :meth:`prepare` (flush, ``fsync``,
    close) may come first, so that two outputs are both on disk before
    either is renamed.

    A symbolic link is followed: the file it names (even one that does not
    exist yet) is the one replaced, in its own folder, and the link stays.
    A target that is not a regular file (a device such as ``/dev/null``, a
    terminal, a named pipe) is never replaced: it is opened at once and what
    was written is written through to it by :meth:`commit` (nothing of it,
    should the file fail).  A folder or a socket cannot be written to."""

    def __init__(self, path: str):
        self.path = path
        self.prepared = False
        self.tmp = None
        self.device = None  # the file object of a target written through
        target, fd = _open_target(path)
        if fd is not None:
            try:
                self.device = os.fdopen(fd, "wb")
            except BaseException:
                os.close(fd)
                raise
            self.fh = _spool()  # written through at the end, as standard output is
            return
        self.target = target
        folder = os.path.dirname(target)
        fd = None
        try:  # (all of it: an exception from a signal between two steps must not leave the file)
            while True:  # a name of our own (short: the target's may be long): this process, a counter, O_EXCL
                self.tmp = os.path.join(folder, f".scrubber-{os.getpid()}-{next(_serial)}.tmp")
                try:
                    fd = os.open(self.tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                                 0o600)
                except FileExistsError:  # left by an earlier process of the same id
                    continue
                break
            os.chmod(self.tmp, _mode_for(target))  # a written file gets the usual mode
            self.fh = os.fdopen(fd, "wb")
        except BaseException:
            if fd is not None and not hasattr(self, "fh"):
                os.close(fd)
            self._remove()
            raise

    def write(self, data: bytes) -> int:
        try:
            return self.fh.write(data)
        except OSError as exc:  # told apart from a failure to read the input
            raise OutputError(self.path, exc) from exc

    def prepare(self) -> None:
        """Everything written is on disk (the file is closed)."""
        if self.prepared:
            return
        if self.device is not None:  # nothing to rename: the bytes go through in commit
            self.prepared = True
            return
        fh = self.fh
        try:
            fh.flush()
            os.fsync(fh.fileno())
            fh.close()
        except BaseException:
            self.discard()
            raise
        self.prepared = True

    def commit(self) -> None:
        self.prepare()
        if self.device is not None:
            self._write_through()
            return
        try:
            os.replace(self.tmp, self.target)
        except BaseException:
            self.discard()
            raise
        self.tmp = None

    def _write_through(self) -> None:
        device, self.device = self.device, None
        try:
            self.fh.seek(0)
            _copy(self.fh, device)
            device.flush()
            try:
                os.fsync(device.fileno())
            except OSError as exc:  # a pipe, a terminal, /dev/null: nothing to sync
                if exc.errno not in _NO_SYNC:
                    raise
        finally:
            try:
                self.fh.close()
            finally:
                device.close()

    def discard(self) -> None:
        """Remove the temporary file (nothing, once committed), even when
        closing it fails (what was buffered could not be written).  A target
        written through gets nothing."""
        try:
            self.fh.close()
        except OSError:
            pass
        finally:
            self._remove()
            device, self.device = self.device, None
            if device is not None:  # nothing was written to it: closing writes nothing
                try:
                    device.close()
                except OSError:
                    pass

    def _remove(self) -> None:
        if self.tmp is not None:
            _remove_quietly(self.tmp)
            self.tmp = None


_NO_SYNC = {errno.EINVAL, errno.EROFS, getattr(errno, "ENOTSUP", errno.EINVAL),
            getattr(errno, "EOPNOTSUPP", errno.EINVAL)}


def _open_target(path: str) -> tuple[str, int | None]:
    """Where an output for ``path`` goes: ``(file, None)`` for a regular
    file (or none yet) to be replaced through a temporary file, the links
    to it followed; ``(path, fd)`` for a device or a pipe to be written
    through, already open.  Raises :class:`OSError` for anything else."""
    try:
        st = os.stat(path)  # the kernel follows the links (even /proc/self/fd/N, which realpath cannot)
    except FileNotFoundError:  # a new file, or the one a dangling link names
        return os.path.realpath(path), None
    if stat.S_ISREG(st.st_mode):
        real = os.path.realpath(path)
        try:
            same = os.path.samestat(os.stat(real), st)
        except OSError:
            same = False
        if not same:  # e.g. /proc/self/fd/N for a deleted file
            raise OSError(errno.ENOENT, "the link does not name a file that can be replaced", path)
        return real, None
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
    if stat.S_ISBLK(st.st_mode):  # a disk: a claim file written over it would destroy it
        raise OSError(errno.EINVAL, "Is a block device", path)
    if not (stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode)):
        raise OSError(errno.EINVAL, "Is a socket" if stat.S_ISSOCK(st.st_mode) else "Not a file", path)
    fd = os.open(path, os.O_WRONLY | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0))
    try:
        regular = stat.S_ISREG(os.fstat(fd).st_mode)
    except BaseException:
        os.close(fd)
        raise
    if regular:  # it became a regular file meanwhile: replace it after all, never write into it
        os.close(fd)
        return _open_target(path)
    return path, fd


_serial = itertools.count(1)


class OutputError(Exception):
    """An output could not be written (while the input was being read)."""

    def __init__(self, path: str, cause: OSError):
        super().__init__(f"cannot write {path}: {cause.strerror or cause}")
        self.path = path
        self.cause = cause


class FindingSpool:
    """Findings held back until a file is done (its findings are logged only
    once the whole file was read): the first ``keep`` in memory, the rest
    pickled, a batch at a time, to a temporary file.  A file with millions
    of findings (every segment out of place) then needs no more memory than
    one with a few.  Iterating gives them all, in order, reading the file
    afresh each time (not while findings are still being added).
    :meth:`close` removes the file and empties the spool.

    A spool crosses to another process (a ``--jobs`` worker's results) once,
    with its file, which then belongs to the receiving side: its
    :meth:`close` removes it, or the spool's collection does, at the latest
    when that interpreter ends."""

    KEEP = 4096  # findings kept in memory; the rest go to the file,
    BATCH = 1024  # this many at a time

    def __init__(self, keep: int | None = None):
        self._keep = self.KEEP if keep is None else keep
        self._fd: int | None = None  # the file, open for writing
        self._remover = None
        self._forget()

    def _forget(self) -> None:
        self._kept: list[Finding] = []
        self._batch: list[Finding] = []
        self._path: str | None = None
        self.count = 0

    def append(self, finding: Finding) -> None:
        self.count += 1
        if len(self._kept) < self._keep:
            self._kept.append(finding)
            return
        self._batch.append(finding)
        if len(self._batch) >= self.BATCH:
            self._spill()

    def extend(self, findings) -> None:
        for f in findings:
            self.append(f)

    def __len__(self) -> int:
        return self.count

    def _spill(self) -> None:
        """The batch to the end of the file, whole or not at all (a write cut
        short by a full disk is taken back, so a reader never meets half a
        batch); an error is an :class:`OutputError`."""
        import pickle

        data = memoryview(pickle.dumps(self._batch, pickle.HIGHEST_PROTOCOL))
        try:
            fd = self._writer()
            end = os.lseek(fd, 0, os.SEEK_END)
            try:
                while data:
                    data = data[os.write(fd, data):]
            except OSError:
                os.ftruncate(fd, end)
                raise
        except OSError as exc:
            raise OutputError("a temporary file for the findings", exc) from None
        self._batch = []

    def _writer(self) -> int:
        if self._fd is None:
            if self._path is None:
                import tempfile

                self._fd, self._path = tempfile.mkstemp(prefix="scrubber-findings-", suffix=".pickle")
                self._remover = _remover(self, self._path)
            else:  # a spool handed over by another process, added to here
                self._fd = os.open(self._path, os.O_WRONLY)
        return self._fd

    def __iter__(self):
        yield from self._kept
        if self._path is not None:
            import pickle

            with open(self._path, "rb") as fh:
                while True:
                    try:
                        batch = pickle.load(fh)
                    except EOFError:
                        break
                    yield from batch
        yield from self._batch

    def close(self) -> None:
        """Remove the temporary file and forget every finding."""
        self._let_go()
        if self._remover is not None:
            self._remover()
            self._remover = None
        self._forget()

    clear = close

    def _let_go(self) -> None:
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = None

    def __getstate__(self):
        # handed to another process: the file is now the receiver's to remove
        self._let_go()
        if self._remover is not None:
            self._remover.detach()
            self._remover = None
        return self._kept, self._batch, self._keep, self._path, self.count

    def __setstate__(self, state) -> None:
        self._kept, self._batch, self._keep, self._path, self.count = state
        self._fd = None
        self._remover = _remover(self, self._path) if self._path is not None else None


def _remover(spool: FindingSpool, path: str):
    import weakref

    return weakref.finalize(spool, _remove_quietly, path)


def _remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def atomic_write(path: str, write: Callable[[io.BufferedWriter], None]) -> None:
    """Write ``path`` through a temporary file in its folder, then rename
    (a device or a pipe is written through instead: see :class:`PendingFile`)."""
    out = PendingFile(path)
    try:
        write(out.fh)
    except BaseException:
        out.discard()
        raise
    out.commit()


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
        _stdin_copy = _spool()
        _copy(sys.stdin.buffer, _stdin_copy)
    _stdin_copy.seek(0)
    return _Unclosed(_stdin_copy)


def scrub_file(
    scrubber: Scrubber,
    path: str,
    output: str | None,
    sink: Callable[[Finding], None] | FindingSpool,
    *,
    check: bool = False,
    diff_to=None,
    reject: str | None = None,
    backup: str | None = None,
) -> Outcome:
    """Scrub one input into ``output`` (a path, ``-`` for stdout, or None for none).

    The findings go to ``sink`` only when the whole file was read and its
    outputs were written: a file that fails part way gives one finding (code
    ``FILE001``) and no output.  ``sink`` may be a :class:`FindingSpool`:
    the findings are held back in it, and it is left with only the FILE001
    of a file that fails.
    An output file is written while the input is read, beside its path, and
    put in place only at the end.
    """
    name = "<stdin>" if path == STDIO else path
    scrubber.file = name
    own = not isinstance(sink, FindingSpool)  # else the caller's spool holds them
    buffered = FindingSpool() if own else sink
    if not own:
        sink = _failed_into(buffered)
    writes = output is not None and not check
    keep = diff_to is not None  # --diff: what to write is known at the end

    def target(where: str | None):
        """Where one output goes while the input is read."""
        if keep:
            return _spool()
        if not writes:
            return _DISCARD
        return _spool() if where == STDIO else PendingFile(where)

    out = rejects = None
    try:
        try:
            out = target(output)
            rejects = target(reject) if reject is not None else None
        except OSError as exc:
            return failed_outcome(scrubber, name, sink, _cannot_write(output if out is None else reject, exc), None)
        try:
            with _open_input(path) as inp:
                stats = scrubber.scrub_stream(inp, out, buffered.append, rejects)
        except OutputError as exc:
            return failed_outcome(scrubber, name, sink, str(exc), None)
        except X12Error as exc:
            return failed_outcome(scrubber, name, sink, where_text(exc), exc.segment_index)
        except OSError as exc:
            return failed_outcome(scrubber, name, sink, f"cannot read: {exc.strerror or exc}", None)
        except MemoryError:
            return failed_outcome(scrubber, name, sink, "out of memory while reading", None)
        changed = stats.fixes > 0
        if keep and changed:
            out.seek(0)
            _write_diff(path, name, out, diff_to)
        elif writes:
            done: list[str] = []
            try:
                if backup:  # --in-place: keep the input first
                    where = backup
                    with open(path, "rb") as src:
                        atomic_write(backup, lambda fh: _copy(src, fh))
                # both outputs on disk before either is renamed: a failure up
                # to here leaves no output at all
                for w, where in ((out, output), (rejects, reject)):
                    if isinstance(w, PendingFile):
                        w.prepare()
                if rejects is not None:  # the rejects first: with --in-place the output replaces the input
                    where = reject
                    _finish(rejects, reject)
                    done.append(reject)
                where = output
                _finish(out, output)
            except OSError as exc:
                message = _cannot_write(where, exc)
                if done:  # (a rename that failed after the other's: both were on disk)
                    message += f"; {', '.join(done)} was written"
                return failed_outcome(scrubber, name, sink, message, None)
        if own:
            for f in buffered:
                sink(f)
        return Outcome(name, PROCESSED, stats, changed)
    finally:
        if own:
            buffered.close()
        for w in (out, rejects):
            if isinstance(w, PendingFile):
                w.discard()  # unless it was committed: nothing is left behind
            elif w is not None and w is not _DISCARD:
                w.close()


class _failed_into:
    """The sink of a file's FILE001 when its findings are held in ``spool``:
    what was held is dropped first (a file that fails gives that finding
    alone)."""

    def __init__(self, spool: FindingSpool):
        self.spool = spool

    def __call__(self, finding: Finding) -> None:
        self.spool.clear()
        self.spool.append(finding)


def _cannot_write(where: str, exc: OSError) -> str:
    return str(OutputError(where, exc))


def _spool():
    import tempfile  # only standard input, standard output and --diff need a spool

    return tempfile.SpooledTemporaryFile(max_size=8 << 20)


class _Discard:
    """An output nobody reads (``--check``)."""

    def write(self, data: bytes) -> int:
        return len(data)


_DISCARD = _Discard()


def _finish(w, where: str) -> None:
    """Put a written output where it belongs."""
    if isinstance(w, PendingFile):
        w.commit()
        return
    w.seek(0)
    if where == STDIO:
        _copy(w, sys.stdout.buffer)
        sys.stdout.buffer.flush()
    else:  # kept for --diff, and unchanged
        atomic_write(where, lambda fh: _copy(w, fh))


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


NOTICES = {"FILE001": ("error", "The file could not be processed: not X12, unreadable or truncated beyond repair, "
                                "or its output could not be written. No output is written for it.")}
