"""Independent reference ("oracle") for scrubber tests, built on pyx12 4.0.0.

This module deliberately does NOT import the ``scrubber`` package.  It answers
two questions with pyx12 alone, so tests can compare scrubber output against a
second, unrelated implementation:

``pyx12_service_line_tuples(path)``
    Every 837 service line, in file order, as
    ``(CLM01, LX01, procedure code, NDC, CTP04, CTP05-1)``, all ``str``:

    * procedure code = SV101-2 (837P) or SV202-2 (837I)
    * NDC            = LIN03 of the line's (first) 2410 loop, '' if none
    * CTP04 / CTP05  = 4th element / 1st component of the 5th element of that
      2410's CTP, '' if absent

    Loop membership comes from pyx12's ``X12ContextReader`` (5010 maps shipped
    inside pyx12): ``iter_segments('2300')`` yields one ``X12LoopDataNode`` per
    claim (for 2300 under 2000B *and* under 2000C) and plain
    ``X12SegmentDataNode`` objects for everything outside a 2300;
    ``claim.select('2400')`` gives the service lines, ``line.select('2410')``
    the drug loops.  Values are read from the raw segment by its real segment
    id (``Segment.get_value('SV101-2')``), never through pyx12's map-node
    matching.  Reason: when pyx12 meets a segment the map does not expect at
    that point, it does not raise; it hangs the segment on the *previous*
    segment's map node (``CL1`` is stored as a "DTP", an ``SV2`` under an
    837P map is stored as an "LX" and, since LX starts loop 2400, opens a
    bogus new 2400 repeat).  ``X12DataNode.get_value()`` then raises
    ``EngineError('Invalid Reference Designator ...')``.

    ``strict=True`` (default) raises :class:`OracleUnavailable` when any
    segment inside a 2300 tree was hung on a map node with a different id,
    i.e. when pyx12's own view of the claim is known to be garbled (e.g. an
    SV1 with no LX before it is stored as an "HI" of the 2300 and silently
    is not a service line).  ``strict=False`` returns pyx12's view anyway.

``pyx12_validate(path_or_bytes)``
    Full implementation-guide validation with ``pyx12.x12n_document`` (what
    the ``x12valid`` script runs), returning ``(ok, errors, ack)``.  pyx12
    writes a 999 (GS08 ``005010X231``) by itself whenever the *last* GS08 it
    read starts with ``005010`` and a 997 when it starts with ``004010``;
    nothing has to be configured.  The 999 contains the current date/time and
    a random GS06, so compare it structurally, not byte for byte.

Input handling (both functions): the file is read as bytes and decoded as
latin-1 into an ``io.StringIO`` which is handed to pyx12 (pyx12 accepts any
object with a ``.closed`` attribute; given a *path* it opens it with
``encoding="ascii"`` and dies with ``UnicodeDecodeError`` on any byte > 0x7F).
pyx12 itself does nothing about a BOM or leading whitespace: the first 106
characters must be the ISA, so a UTF-8 BOM gives
``X12Error("First line does not begin with 'ISA': ï»¿")``.  Pass
``strip_bom=True`` to remove a UTF-8 BOM (and to decode UTF-16 with BOM)
before pyx12 sees the text; the default is pyx12's own behaviour.

Exceptions: :class:`OracleUnavailable` means "pyx12 cannot give an answer for
this input" (not an X12 file for pyx12, ISA12 not 00401/00501, no map for
GS01/GS08 such as 005010X222A2, 005010X223A3 or 270 005010X279A1, internal
pyx12 error).  Tests should ``pytest.skip`` on it.

Known lossy behaviours of pyx12 4.0.0's reader (``RawX12File``/``X12Reader``),
pinned by tests/test_pyx12_oracle_selfcheck.py (inputs built by ``mk837p``
there: a clean 3-claim 837P, one LX/SV1/LIN/CTP per claim):

* Empty segment -- ``CTP****2*ML~~`` (same with ``~``, newline, ``~``) after claim 2:
  ``RawX12File.__iter__`` takes the empty segment for end of input.  The
  rest of the file is dropped with no error; claim 2 is dropped too, because
  ``iter_segments('2300')`` never yields a 2300 tree still open at EOF, so the
  tuples hold claim 1 only.  ``x12n_document`` reports only "IEA/GE/SE
  missing" (ISA 023, GS 3, ST 2), 999 ``IK5*R*2``.
* Second interchange with other delimiters -- interchange 1 with ``*``/``~``,
  then an ISA using ``|`` and newline: delimiters are taken once, from the
  first ISA, and the tail contains no ``~``, so the second interchange is
  silently discarded: tuples = interchange 1 only and ``x12n_document``
  returns True with no errors.  (Reverse order: each line of the ``~``
  interchange becomes one junk segment whose "id" is the whole line; tuples =
  the ``|`` interchange only; validation returns False.)
* Truncated file -- cut in the middle of claim 3's LIN: the partial segment is
  dropped and the open claim 3 is never yielded, so claims 1-2 only, no
  exception.  Validation: exactly the three "missing trailer" errors.
* Missing IEA: ``X12ContextReader`` returns every claim and reports nothing
  (it never calls ``X12Reader.cleanup()``).  ``x12n_document`` returns False
  with the one error ISA 023, but its 999 still says ``IK5*A``/``AK9*A``.
* Segments the map does not expect are not errors for ``X12ContextReader``:
  they are filed under the previous segment's map node (see ``strict``).
* Several interchanges/groups with the same delimiters are read correctly;
  ``x12n_document`` then writes one 999 interchange (envelope from the last
  ISA/GS) with one ST per input GS, plus a TA1 if ISA14=1.
"""

from __future__ import annotations

import codecs
import io
import logging
import os
from typing import Iterator, Union

import pyx12
import pyx12.error_handler
import pyx12.errors
import pyx12.params
import pyx12.x12context
import pyx12.x12file
import pyx12.x12n_document

__all__ = [
    "OracleUnavailable",
    "PYX12_VERSION",
    "pyx12_service_line_tuples",
    "pyx12_validate",
    "read_latin1",
]

PYX12_VERSION = pyx12.__version__

# pyx12 logs every validation error at ERROR level on logger "pyx12".  With no
# handler configured Python's last-resort handler would print them all to
# stderr; a NullHandler stops that and still lets pytest's caplog see them.
logging.getLogger("pyx12").addHandler(logging.NullHandler())

PathOrBytes = Union[str, os.PathLike, bytes, bytearray]

ServiceLineTuple = tuple[str, str, str, str, str, str]


class OracleUnavailable(Exception):
    """pyx12 cannot produce an answer for this input (see module doc)."""


# --------------------------------------------------------------------------
# input
# --------------------------------------------------------------------------
def read_latin1(path_or_bytes: PathOrBytes, strip_bom: bool = False) -> str:
    """Return the input as text, decoded byte-for-byte as latin-1.

    With ``strip_bom`` a UTF-8 BOM is removed and UTF-16/32 input with a BOM
    is decoded properly; otherwise the bytes reach pyx12 unchanged.
    """
    if isinstance(path_or_bytes, (bytes, bytearray)):
        data = bytes(path_or_bytes)
    else:
        with open(path_or_bytes, "rb") as f:
            data = f.read()
    if strip_bom:
        if data.startswith(codecs.BOM_UTF8):
            data = data[len(codecs.BOM_UTF8):]
        elif data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
            return data.decode("utf-32")
        elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return data.decode("utf-16")
    return data.decode("latin-1")


def _params() -> pyx12.params.ParamsBase:
    # ParamsBase, not pyx12.params.params(): the latter also reads
    # ~/.pyx12.conf.xml and <prefix>/etc/pyx12.conf.xml, which would make the
    # oracle depend on the machine.  Defaults: charset "E", no excluded codes.
    return pyx12.params.ParamsBase()


# --------------------------------------------------------------------------
# 1. service-line tuples via X12ContextReader
# --------------------------------------------------------------------------
def _child_segments(loop, seg_id: str) -> Iterator:
    """Segments directly in ``loop`` whose *real* segment id is ``seg_id``."""
    for child in loop.children:
        if child.type == "seg" and child.seg_data.get_seg_id() == seg_id:
            yield child.seg_data


def _first_value(loop, seg_id: str, ref_des: str) -> str:
    for seg in _child_segments(loop, seg_id):
        val = seg.get_value(ref_des)
        return "" if val is None else val
    return ""


def _segments_in(node) -> Iterator:
    if node.type == "loop":
        for child in node.children:
            yield from _segments_in(child)
    elif node.type == "seg":
        yield node


def _misplaced(tree) -> list[str]:
    """Segments pyx12 stored under a map node of another segment id."""
    out = []
    for node in _segments_in(tree):
        real = node.seg_data.get_seg_id()
        if real != node.x12_map_node.id:
            out.append(f"{real!r} stored as {node.x12_map_node.id} at {node.x12_map_node.get_path()}")
    return out


def pyx12_service_line_tuples(
    path: PathOrBytes, *, strict: bool = True, strip_bom: bool = False
) -> list[ServiceLineTuple]:
    """``[(CLM01, LX01, proc, NDC, CTP04, CTP05-1), ...]`` in file order.

    :param path: file path, or the raw file bytes
    :param strict: raise OracleUnavailable if pyx12 mis-filed any segment
        inside a claim (2300 tree); see module doc
    :param strip_bom: drop a UTF-8 BOM / decode UTF-16 before pyx12 reads
    :raises OracleUnavailable: pyx12 cannot read the file (X12Error on the
        ISA, no map for the GS, EngineError while walking) or, with
        ``strict``, its reading of a claim is known to be wrong
    """
    text = read_latin1(path, strip_bom=strip_bom)
    errh = pyx12.error_handler.errh_null()
    out: list[ServiceLineTuple] = []
    try:
        reader = pyx12.x12context.X12ContextReader(_params(), errh, io.StringIO(text))
    except pyx12.errors.X12Error as e:
        raise OracleUnavailable(f"pyx12 X12Error: {e}") from e
    try:
        for node in reader.iter_segments("2300"):
            if node.type != "loop" or node.id != "2300":
                continue
            if strict:
                bad = _misplaced(node)
                if bad:
                    raise OracleUnavailable(
                        "pyx12 mis-filed segments in claim: " + "; ".join(bad[:5])
                    )
            clm01 = _first_value(node, "CLM", "CLM01")
            for line in node.select("2400"):
                lx01 = _first_value(line, "LX", "LX01")
                if any(True for _ in _child_segments(line, "SV1")):
                    proc = _first_value(line, "SV1", "SV101-2")
                else:
                    proc = _first_value(line, "SV2", "SV202-2")
                ndc = ctp04 = ctp05 = ""
                for drug in line.select("2410"):  # first 2410 only
                    ndc = _first_value(drug, "LIN", "LIN03")
                    ctp04 = _first_value(drug, "CTP", "CTP04")
                    ctp05 = _first_value(drug, "CTP", "CTP05-1")
                    break
                out.append((clm01, lx01, proc, ndc, ctp04, ctp05))
    except OracleUnavailable:
        raise
    except (pyx12.errors.EngineError, pyx12.errors.X12Error, pyx12.errors.X12PathError) as e:
        raise OracleUnavailable(f"pyx12 {type(e).__name__}: {e}") from e
    finally:
        reader.close()
    return out


# --------------------------------------------------------------------------
# 2. full validation via x12n_document (what the x12valid script does)
# --------------------------------------------------------------------------
def _error_strings(errh) -> list[str]:
    """Flatten pyx12's err_handler tree.

    Format: ``"<n>:<where>: <level> <code>: <message>[ (<bad value>)]"``
    where ``<n>`` is pyx12's ``cur_line`` = 1-based ordinal of the segment in
    the file (pyx12 counts segments, not text lines; ISA is 1), ``<where>`` is
    ``ISA``/``GS``/``ST`` for envelope errors, ``ISA/IEA13``-style for element
    errors of envelope segments (pyx12 does not record which of the pair),
    the segment id for segment errors and e.g. ``CLM05-3`` for element
    errors; ``<level>`` is one of isa, gs, st, seg, ele, ``<code>`` pyx12's
    error code.  Sorted by ``<n>``.  Example:
    ``'10:N3: seg 3: Mandatory segment "Billing Provider Address" (N3) missing'``
    """
    out: list[str] = []

    def add(n, where, level, code, msg, val=None):
        s = f"{n}:{where}: {level} {code}: {msg}"
        if val not in (None, ""):
            s += f" ({val})"
        out.append(s)

    def env_elements(node, loop_name):
        # element errors of ISA/IEA, GS/GE, ST/SE are stored on the loop node
        for ele in getattr(node, "elements", []):
            for code, msg, val in ele.errors:
                add(node.get_cur_line(), f"{loop_name}{ele.ele_pos:02d}", "ele", code, msg, val)

    for isa in errh.children:
        for code, msg in isa.errors:
            add(isa.get_cur_line(), "ISA", "isa", code, msg)
        env_elements(isa, "ISA/IEA")
        for gs in isa.children:
            for code, msg in gs.errors:
                add(gs.get_cur_line(), "GS", "gs", code, msg)
            env_elements(gs, "GS/GE")
            for st in gs.children:
                for code, msg in st.errors:
                    add(st.get_cur_line(), "ST", "st", code, msg)
                env_elements(st, "ST/SE")
                for seg in st.children:
                    for code, msg, val in seg.errors:
                        add(seg.get_cur_line(), seg.seg_id, "seg", code, msg, val)
                    for ele in seg.elements:
                        where = f"{seg.seg_id}{ele.ele_pos:02d}"
                        if ele.subele_pos is not None:
                            where += f"-{ele.subele_pos}"
                        for code, msg, val in ele.errors:
                            add(seg.get_cur_line(), where, "ele", code, msg, val)
    # stable sort by segment ordinal: file order, tree order within a segment
    out.sort(key=lambda e: int(e.split(":", 1)[0]))
    return out


class _CapturingErrHandler(pyx12.error_handler.err_handler):
    """err_handler that remembers the last instance, so the tree built inside
    x12n_document (which creates its own and does not return it) can be read
    after the call."""

    last: "_CapturingErrHandler | None" = None

    def __init__(self) -> None:
        super().__init__()
        _CapturingErrHandler.last = self


def pyx12_validate(
    path_or_bytes: PathOrBytes, *, strip_bom: bool = False
) -> tuple[bool, list[str], bytes]:
    """Validate with pyx12's implementation-guide maps.

    :returns: ``(ok, errors, ack)`` -- ``ok`` is x12n_document's return value;
        ``errors`` as described in :func:`_error_strings` (empty if ok);
        ``ack`` the 999 (5010) or 997 (4010) pyx12 wrote, latin-1 bytes, or
        ``b""`` when pyx12 wrote none (input not X12 for pyx12, or GS01=FA).
        When pyx12 cannot even open the input (X12Error on the ISA, same as
        x12valid's "does not look like an X12 data file") the result is
        ``(False, ["0:ISA: fatal X12Error: <message>"], b"")``.
    :raises OracleUnavailable: pyx12 has no map for a GS (it raises
        ``EngineError("Map not found. icvn=..., fic=..., vriic=...")``; the
        x12valid script would crash) or another internal pyx12 error.
    """
    text = read_latin1(path_or_bytes, strip_bom=strip_bom)
    try:
        pyx12.x12file.X12Reader(io.StringIO(text))
    except pyx12.errors.X12Error as e:
        return (False, [f"0:ISA: fatal X12Error: {e}"], b"")

    fd_ack = io.StringIO()
    saved = pyx12.error_handler.err_handler
    _CapturingErrHandler.last = None
    # x12n_document looks the class up as pyx12.error_handler.err_handler at
    # call time; swap it for the capturing subclass for the duration.
    pyx12.error_handler.err_handler = _CapturingErrHandler  # type: ignore[misc]
    try:
        ok = pyx12.x12n_document.x12n_document(
            param=_params(),
            src_file=io.StringIO(text),
            fd_997=fd_ack,
            fd_html=None,
            fd_xmldoc=None,
            map_path=None,
        )
    except pyx12.errors.EngineError as e:
        raise OracleUnavailable(f"pyx12 EngineError: {e}") from e
    except Exception as e:  # pyx12 internal failure on odd input
        raise OracleUnavailable(f"pyx12 crashed: {type(e).__name__}: {e}") from e
    finally:
        pyx12.error_handler.err_handler = saved  # type: ignore[misc]
    errh = _CapturingErrHandler.last
    errors = _error_strings(errh) if errh is not None else []
    return (bool(ok), errors, fd_ack.getvalue().encode("latin-1"))
