"""Which files a build read: the dependencies of the setup cache.

The readers of the setup (the profile reader, the reference table reader, the
folder listings) call :func:`note_file` / :func:`note_dir` on every file and
folder they look at.  Nothing happens unless a :func:`recording` is open
(one global test); inside one, each call stats the path at once, before it
is read, so what is recorded describes what was read.  A setup built from a
source that has no path (a stream) cannot be checked later: such a reader
calls :func:`note_untracked` and the recording says so.

Functions that remember what they read for the life of the process use
:func:`memo` instead of :func:`functools.lru_cache`: it remembers the
dependencies of the first call with the value, and notes them again on every
later call, so a second build in the same process records them too.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from functools import lru_cache, wraps

_active: list | None = None  # the recording open now (None: nothing records)

UNTRACKED = ("?",)  # an entry for a source that has no path


def note_file(path) -> None:
    """A file the build reads (or looked for): ``("f", path, state)`` with
    the :func:`state` of the file, None when there is none."""
    if _active is not None:
        _active.append(("f", os.path.abspath(path), state(path, True)))


def note_dir(path) -> None:
    """A folder whose entries the build listed or looked up: ``("d", path,
    state)`` (a folder's mtime changes when an entry is added, removed or
    renamed)."""
    if _active is not None:
        _active.append(("d", os.path.abspath(path), state(path, False)))


def state(path, is_file: bool) -> tuple | None:
    """What tells a file (or folder) apart from an earlier version of it:
    modification time, size (of a file), inode and change time.  The
    change time cannot be set back by a user (``touch -r``, ``cp -p``,
    ``rsync -t`` set back only the modification time); None: absent."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size if is_file else None, st.st_ino, st.st_ctime_ns)


def note_untracked() -> None:
    """The build read something that has no path: it cannot be cached."""
    if _active is not None:
        _active.append(UNTRACKED)


@contextmanager
def recording():
    """Record what is noted inside; yields the list of entries.  Recordings
    nest: what an inner one saw is also seen by the outer one."""
    global _active
    outer = _active
    seen: list = []
    _active = seen
    try:
        yield seen
    finally:
        _active = outer
        if outer is not None:
            outer.extend(seen)


def memo(maxsize: int | None = 128):
    """:func:`functools.lru_cache` for a function that reads files: a call
    answered from memory notes the files the first call read."""

    def decorate(fn):
        @lru_cache(maxsize=maxsize)
        def first(*args):
            with recording() as seen:
                value = fn(*args)
            return value, tuple(seen)

        @wraps(fn)
        def call(*args):
            value, seen = first(*args)
            if _active is not None:
                _active.extend(seen)
            return value

        call.cache_clear = first.cache_clear
        call.cache_info = first.cache_info
        return call

    return decorate


def changed(entries) -> bool:
    """Whether any recorded file or folder differs now (or the recording
    holds a source that cannot be checked)."""
    for entry in entries:
        kind = entry[0]
        if kind != "f" and kind != "d":
            return True
        if state(entry[1], kind == "f") != entry[2]:
            return True
    return False
