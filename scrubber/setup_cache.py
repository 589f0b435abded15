"""The setup cache: a run whose setup inputs have not changed skips building it.

Every start of the command line builds the same setup (reference data,
profiles, the per-claim selector) from the same files; building it means
reading the CSV tables, importing lxml, parsing and schema-checking every
profile.  :func:`cached` keeps the built setup in one pickle file per key and
loads it instead while nothing it was built from has changed.

The key, stored in the file and compared in full: this format, the package
version, the Python version, a stamp of the package's code (path, mtime and
size of every ``*.py`` file: an edit in a development checkout counts), the
:class:`~scrubber.batch.Settings` and the working folder (profiles keep paths
relative to it; relative paths in the settings resolve against it).  Beside
it, the files and folders the build read (:mod:`scrubber.deps`), checked
again with ``stat`` on every load: any difference means a rebuild.  The
folder is bounded (:func:`prune`): at most :data:`MAX_FILES` files, the
most recently written.

Where: ``$SCRUBBER_CACHE_DIR``, else ``$XDG_CACHE_HOME/scrubber``, else
``~/.cache/scrubber``; ``SCRUBBER_CACHE=off`` turns it off.  The cache never
makes a run fail: a folder that cannot be written, a damaged file, a file
that is not the user's own or that others could write (it is a pickle) are
passed over and the setup is built as without it.  The build's own errors
(a bad profile, bad reference data) propagate as before, and nothing is
written for them.
"""
from __future__ import annotations

import io
import os
import stat
import sys
import threading
import time

from . import __version__, deps

FORMAT = 2  # 2: dependencies recorded with inode and change time
PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
# A file changed less than this before the build began is not cached: a
# second change within the file system's timestamp granularity (a few ms on
# Linux, up to 2 s elsewhere) could leave its mtime and size unchanged.
RACY_NS = 2_000_000_000
PROTOCOL = 5
# The folder is kept bounded: a clearinghouse runs from many working folders
# and settings, one file each.  When a file is written, the oldest written
# beyond this many are removed (a removed one is only built again when next
# needed), and so is a temporary file that a writer left behind an hour ago.
MAX_FILES = 64
STALE_TMP_NS = 3600 * 1_000_000_000


def cache_dir() -> str | None:
    """The cache folder, or None when the cache is off."""
    env = os.environ
    if env.get("SCRUBBER_CACHE", "").strip().lower() == "off":
        return None
    if env.get("SCRUBBER_CACHE_DIR"):
        return env["SCRUBBER_CACHE_DIR"]
    xdg = env.get("XDG_CACHE_HOME", "")
    if os.path.isabs(xdg):  # the XDG spec: a relative value is ignored
        return os.path.join(xdg, "scrubber")
    return os.path.join(os.path.expanduser("~"), ".cache", "scrubber")


def code_stamp() -> tuple:
    """(path, mtime_ns, size) of every ``*.py`` file of the package, in path order."""
    found = []
    folders = [PACKAGE_DIR]
    while folders:
        with os.scandir(folders.pop()) as entries:
            for entry in entries:
                if entry.name.endswith(".py"):
                    st = entry.stat()
                    found.append((entry.path, st.st_mtime_ns, st.st_size))
                elif entry.name != "__pycache__" and entry.is_dir():
                    folders.append(entry.path)
    found.sort()
    return tuple(found)


def cache_file(folder: str, settings: tuple) -> str:
    """One file per settings and working folder (and installation): a new
    version or a code edit replaces the file rather than adding one."""
    name = repr((FORMAT, __version__, sys.version, PACKAGE_DIR, tuple(settings), os.getcwd()))
    # a short hash of it (the key inside is compared in full): the text as one
    # number modulo the largest 64-bit prime, with no module to import
    digest = int.from_bytes(name.encode(), "big") % 0xFFFFFFFFFFFFFFC5
    return os.path.join(folder, f"setup-{digest:016x}.pickle")


def setup_key(settings: tuple) -> tuple:
    return (FORMAT, __version__, sys.version, code_stamp(), tuple(settings), os.getcwd())


def cached(settings: tuple, build):
    """``build()``, or what it gave before for these settings while nothing
    it read has changed.  ``build``'s exceptions propagate."""
    folder = cache_dir()
    if folder is None:
        return build()
    try:
        key = setup_key(settings)
        path = cache_file(folder, settings)
    except Exception:  # e.g. the working folder is gone
        return build()
    found = _load(path, key)
    if found is not _MISSING:
        return found
    started = time.time_ns()
    with _building, deps.recording() as entries:  # one recording at a time
        value = build()
    entries = list(dict.fromkeys(entries))
    if _trustworthy(entries, started):
        _save(folder, path, key, entries, value)
    return value


_MISSING = object()
_building = threading.Lock()


def _trustworthy(entries: list, started: int) -> bool:
    """Every source has a path, and none changed just before the build."""
    newest = started - RACY_NS
    for entry in entries:
        if entry[0] not in ("f", "d"):  # deps.UNTRACKED
            return False
        st = entry[2]
        if st is not None and st[0] > newest:  # modified just before the build
            return False
    return True


def _pickle():
    """The C pickler alone: importing pickle.py too (its Python
    implementation) costs about 5 M instructions more, where loading the
    whole setup from the cache takes about 8 M."""
    try:
        import _pickle as pickle
    except ImportError:  # another Python than CPython
        import pickle
    return pickle


def _load(path: str, key: tuple):
    try:
        # O_NONBLOCK: a FIFO put in the cache's place (by anyone who may write
        # the folder) must not make the run wait for a writer forever
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return _MISSING
    try:
        with os.fdopen(fd, "rb") as fh:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode) or st.st_mode & 0o022:
                return _MISSING  # others could have written it
            getuid = getattr(os, "getuid", None)
            if getuid is not None and st.st_uid != getuid():
                return _MISSING  # not the user's own
            data = io.BytesIO(fh.read())
        pickle = _pickle()
        stored_key, entries = pickle.load(data)
        if stored_key != key or deps.changed(entries):
            return _MISSING
        return pickle.load(data)
    except Exception:  # damaged, truncated, a class that is gone: build it again
        return _MISSING


def _save(folder: str, path: str, key: tuple, entries: list, value) -> None:
    tmp = None
    try:
        pickle = _pickle()
        data = pickle.dumps((key, entries), PROTOCOL) + pickle.dumps(value, PROTOCOL)
        os.makedirs(folder, mode=0o700, exist_ok=True)
        name = f"{path}.{os.getpid()}-{os.urandom(4).hex()}.tmp"
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        tmp = name
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
        tmp = None
        prune(folder, keep=path)
    except Exception:  # a cache that cannot be written is no cache
        pass
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def prune(folder: str, keep: str | None = None, max_files: int | None = None) -> None:
    """Remove the oldest-written cache files beyond ``max_files`` (never
    ``keep``, the one just written) and temporary files older than an hour.
    Only names this module makes (:func:`cache_file`, and its temporary
    files) owned by the user are touched: the folder may be shared with
    other files and other users."""
    import re

    if max_files is None:
        max_files = MAX_FILES
    owned = re.compile(r"setup-[0-9a-f]{16}\.pickle(?P<tmp>\.[0-9]+-[0-9a-f]{8}\.tmp)?")
    getuid = getattr(os, "getuid", None)
    uid = getuid() if getuid is not None else None
    now = time.time_ns()
    found = []
    with os.scandir(folder) as entries:
        for entry in entries:
            m = owned.fullmatch(entry.name)
            if m is None:
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode) or (uid is not None and st.st_uid != uid):
                continue
            if m.group("tmp"):
                if now - st.st_mtime_ns > STALE_TMP_NS:
                    _remove(entry.path)
            elif entry.path != keep:
                found.append((st.st_mtime_ns, entry.path))
    found.sort(reverse=True)  # newest first
    for _, old in found[max(max_files - (keep is not None), 0):]:
        _remove(old)


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
