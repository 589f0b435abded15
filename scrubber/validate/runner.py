"""Drive pyx12's full validation (``x12n_document``) over our token stream.

pyx12 is fed text, never a path: its own reader opens files as ASCII and
crashes on any other byte.  One ``x12n_document`` call validates one *run*
of interchanges (see :mod:`.feed`) and writes one 999 for it, as pyx12 does;
a failure in one run does not stop the others.

Thread safety: nothing here touches module state.  pyx12 builds its error
tree inside ``x12n_document`` and does not return it; it is read through
pyx12's public per-segment ``callback`` hook, by looking at the ``errh``
local of the calling frame (no module global of pyx12 is replaced).  If that
ever fails (a later pyx12), the JSON error report pyx12 writes through its
public ``fd_json`` argument is used instead; it lacks only the element
errors of ISA/GS/ST segments.
"""
from __future__ import annotations

import io
import json
import logging
import sys
from dataclasses import dataclass, field

from ..x12.tokenizer import X12Error as TokenizerError
from .errors import RawError, errors_from_json, errors_from_tree
from .feed import Feed

_logging_done = False


def quiet_pyx12_logging() -> None:
    """pyx12 logs every error, with the bad value (a patient's name, a member
    id), at ERROR level on the ``pyx12`` logger.  Those records must not reach
    the application's log handlers or stderr: the logger gets a NullHandler
    and stops propagating.  Idempotent."""
    global _logging_done
    if not _logging_done:
        logger = logging.getLogger("pyx12")
        logger.addHandler(logging.NullHandler())
        logger.propagate = False
        _logging_done = True


@dataclass
class RunResult:
    errors: list[RawError] = field(default_factory=list)
    ack: str = ""
    failure: str = ""  # '', 'no-map', 'unreadable', 'crashed'
    failure_message: str = ""
    failure_line: int = 1  # pyx12 ordinal the failure is placed at


class _Capture:
    """pyx12's per-segment callback: remembers the reader and the error tree."""

    def __init__(self) -> None:
        self.src = None
        self.errh = None

    def __call__(self, seg, src, node, valid) -> None:
        if self.src is None:
            self.src = src
            self.errh = capture_errh(sys._getframe(1))


def capture_errh(frame):
    """The ``errh`` local of ``x12n_document`` (the caller of the callback)."""
    import pyx12.error_handler

    try:
        if frame.f_code.co_name != "x12n_document":
            return None
        errh = frame.f_locals.get("errh")
    finally:
        del frame
    return errh if isinstance(errh, pyx12.error_handler.err_handler) else None


def run_pyx12(feed: Feed) -> RunResult:
    """Validate one run with ``x12n_document``."""
    import pyx12.errors
    import pyx12.params
    import pyx12.rawx12file
    import pyx12.x12n_document

    quiet_pyx12_logging()
    result = RunResult()
    # pyx12 reads its first 106 characters as the ISA; if that fails,
    # x12n_document only logs and returns False.  Ask its reader first.
    head = feed.read(106)
    if len(feed.first_isa) != 106:
        feed.drain()
        result.failure = "unreadable"
        result.failure_message = f"its ISA is {len(feed.first_isa)} characters long, not the fixed 106"
        return result
    try:
        pyx12.rawx12file.RawX12File(io.StringIO(head))
    except pyx12.errors.X12Error as exc:
        feed.drain()
        result.failure = "no-map" if "Version Number is unknown" in str(exc) else "unreadable"
        result.failure_message = str(exc)
        return result
    feed.unread(head)

    capture = _Capture()
    ack = io.StringIO()
    report = io.StringIO()
    try:
        pyx12.x12n_document.x12n_document(
            param=pyx12.params.ParamsBase(),  # not params(): that one reads ~/.pyx12.conf.xml
            src_file=feed, fd_997=ack, fd_html=None, fd_xmldoc=None, fd_json=report,
            map_path=None, callback=capture,
        )
    except TokenizerError:  # our tokenizer gave up on the rest of the file: validate() reports it
        raise
    except pyx12.errors.EngineError as exc:
        msg = str(exc)
        result.failure = "no-map" if msg.startswith("Map not found") else "crashed"
        result.failure_message = f"EngineError: {msg}"
        result.failure_line = _line(capture, 0)
    except pyx12.errors.X12Error as exc:  # raised while reading a later segment
        result.failure = "unreadable"
        result.failure_message = str(exc)
        result.failure_line = _line(capture, 1)
    except Exception as exc:  # pyx12 internal failure on odd input
        result.failure = "crashed"
        result.failure_message = f"{type(exc).__name__}: {exc}"
        result.failure_line = _line(capture, 0)
    finally:
        feed.drain()
    try:
        result.errors = errors_from_tree(capture.errh) if capture.errh is not None else []
    except Exception:  # a later pyx12 with another tree: use its JSON report
        capture.errh = None
    if capture.errh is None and not result.failure:
        try:
            result.errors = errors_from_json(json.loads(report.getvalue() or "{}"))
        except Exception as exc:  # pragma: no cover - defensive
            result.failure, result.failure_message = "crashed", f"unreadable error report: {exc}"
    if not result.failure:
        result.ack = ack.getvalue()
    return result


def _line(capture: _Capture, ahead: int) -> int:
    if capture.src is None:
        return 1
    try:
        return capture.src.get_cur_line() + ahead
    except Exception:  # pragma: no cover - defensive
        return 1


